// Table output (Accept: application/json;as=Table;v=v1;g=meta.k8s.io): the columns kubectl shows.
import type { KubeObject } from '../api/object.ts';
import { printers } from './printers.ts';

export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object: unknown;
}

export function age(ts: string | null | undefined, now = Date.now()): string {
  if (!ts) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y${d % 365 ? `${d % 365}d` : ''}`;
}

export function toTable(kind: string, items: KubeObject[], listMeta: Record<string, unknown>, includeObject: string): Record<string, unknown> {
  const p = printers[kind];
  const cols = p?.columns ?? [];
  // Age follows the default columns (unless the printer places it); -o wide columns (priority 1) come after it.
  const ageAt = p?.ageAt ?? cols.filter(([, , prio]) => !prio).length;
  if (p?.bare) {
    const bareRows: TableRow[] = items.map((o) => ({ cells: p.cells(o), object: includeObject === 'None' ? undefined : includeObject === 'Object' ? o : partialMetadata(o) }));
    const bareCols: TableColumn[] = cols.map(([name, type, priority]) => ({ name, type, format: name === 'Name' ? 'name' : '', description: name, priority: priority ?? 0 }));
    return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, columnDefinitions: bareCols, rows: bareRows };
  }
  const columns: TableColumn[] = [
    { name: 'Name', type: 'string', format: 'name', description: 'Name of the object', priority: 0 },
    ...cols.slice(0, ageAt).map(([name, type]) => ({ name, type, format: '', description: name, priority: 0 })),
    { name: 'Age', type: 'string', format: '', description: 'Time since the object was created', priority: 0 },
    ...cols.slice(ageAt).map(([name, type, priority]) => ({ name, type, format: '', description: name, priority: priority ?? 1 })),
  ];
  const now = Date.now();
  const rows: TableRow[] = items.map((o) => {
    const cells = p ? p.cells(o) : [];
    return {
      cells: [p?.name ? p.name(o) : (o.metadata?.name ?? ''), ...cells.slice(0, ageAt), age(o.metadata?.creationTimestamp, now), ...cells.slice(ageAt)],
      object: includeObject === 'None' ? undefined : includeObject === 'Object' ? o : partialMetadata(o),
    };
  });
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, columnDefinitions: columns, rows };
}

export function partialMetadata(o: KubeObject): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}
