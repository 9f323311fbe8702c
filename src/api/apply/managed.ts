// metadata.managedFields: decoding and encoding the entries, the identity that keys them (Apply
// entries per manager and subresource; Update entries per manager, apiVersion and subresource),
// upstream's entry order, the cap on Update entries, and the conflict error.
import { isPlainObject } from '../object.ts';
import { StatusError } from '../status.ts';
import { fieldElement, FieldSet, renderPath, type Path } from './fieldpath.ts';

export type Operation = 'Apply' | 'Update';

export interface ManagedFieldsEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** One decoded entry: who, how, at which version, and the fields it owns. */
export interface ManagerSet {
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** Identity → entry. */
export type Managed = Map<string, ManagerSet>;

/** The key of an entry: Apply entries do not depend on the apiVersion, Update entries do. */
export function identity(m: Pick<ManagerSet, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify([m.manager, m.operation, m.operation === 'Apply' ? '' : m.apiVersion, m.subresource ?? '']);
}

export function withSet(m: ManagerSet, set: FieldSet): ManagerSet {
  return { ...m, set };
}

/** Reads managedFields; throws an Error (upstream's wording) when an entry is malformed. */
export function decodeManagedFields(raw: unknown): Managed {
  const out: Managed = new Map();
  if (raw === undefined || raw === null) return out;
  if (!Array.isArray(raw)) throw new Error('managedFields must be a list');
  raw.forEach((e: unknown, i) => {
    if (!isPlainObject(e)) throw new Error(`managed fields entry ${i} must be an object`);
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (typeof e.apiVersion !== 'string' || e.apiVersion === '') throw new Error('apiVersion must not be empty');
    if (e.fieldsType === undefined || e.fieldsType === '') throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (e.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType ${JSON.stringify(e.fieldsType)} in managed fields entry ${i}`);
    const m: ManagerSet = {
      manager: typeof e.manager === 'string' ? e.manager : '',
      operation: e.operation,
      apiVersion: e.apiVersion,
      set: e.fieldsV1 === undefined || e.fieldsV1 === null ? new FieldSet() : FieldSet.fromFieldsV1(e.fieldsV1),
    };
    if (typeof e.subresource === 'string' && e.subresource !== '') m.subresource = e.subresource;
    if (typeof e.time === 'string') m.time = e.time;
    out.set(identity(m), m);
  });
  return out;
}

/** `[{}]`: a client's request to clear managedFields. */
export function isResetRequest(raw: unknown): boolean {
  return Array.isArray(raw) && raw.length === 1 && isPlainObject(raw[0]) && Object.keys(raw[0]).length === 0;
}

const seconds = (time: string | undefined): number => {
  const ms = time === undefined ? NaN : Date.parse(time);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
};
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The entries in upstream's order: Apply before Update, then oldest first, then by name. */
export function encodeManagedFields(managed: Managed): ManagedFieldsEntry[] {
  const entries = [...managed.values()].map((m): ManagedFieldsEntry => {
    // Key order as Go writes the entry: manager, operation, apiVersion, time, fieldsType, fieldsV1, subresource.
    return {
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      ...(m.time !== undefined ? { time: m.time } : {}),
      fieldsType: 'FieldsV1',
      fieldsV1: m.set.toFieldsV1(),
      ...(m.subresource ? { subresource: m.subresource } : {}),
    };
  });
  return encodeOrder(entries);
}

/** Sorts entries (in place) in upstream's order. */
export function encodeOrder(entries: ManagedFieldsEntry[]): ManagedFieldsEntry[] {
  return entries.sort(
    (p, q) =>
      cmp(p.operation, q.operation) ||
      seconds(p.time) - seconds(q.time) ||
      cmp(p.manager, q.manager) ||
      cmp(p.apiVersion, q.apiVersion) ||
      cmp(p.subresource ?? '', q.subresource ?? ''),
  );
}

export const MAX_UPDATE_MANAGERS = 10;
export const ANCIENT_CHANGES = 'ancient-changes';

/**
 * Keeps at most `max` Update entries: the oldest are folded, per apiVersion, into an
 * `ancient-changes` entry (the oldest of each version waits until a second one joins it).
 */
export function capUpdateManagers(managed: Managed, max = MAX_UPDATE_MANAGERS): Managed {
  const updaters = [...managed.entries()].filter(([, m]) => m.operation === 'Update');
  if (updaters.length <= max) return managed;
  const out = new Map(managed);
  updaters.sort(([ia, a], [ib, b]) => seconds(a.time) - seconds(b.time) || cmp(ia, ib));
  const firstOfVersion = new Map<string, string>();
  let count = updaters.length;
  for (const [id, m] of updaters) {
    if (count <= max) break;
    const first = firstOfVersion.get(m.apiVersion);
    if (first === undefined) {
      firstOfVersion.set(m.apiVersion, id);
      continue;
    }
    const bucketId = identity({ manager: ANCIENT_CHANGES, operation: 'Update', apiVersion: m.apiVersion });
    if (id === bucketId) continue;
    if (!out.has(bucketId)) {
      const moved = out.get(first)!;
      out.delete(first);
      out.set(bucketId, { manager: ANCIENT_CHANGES, operation: 'Update', apiVersion: m.apiVersion, set: moved.set, ...(moved.time ? { time: moved.time } : {}) });
    }
    const bucket = out.get(bucketId)!;
    out.set(bucketId, { ...bucket, set: m.set.union(bucket.set), ...(m.time ? { time: m.time } : {}) });
    out.delete(id);
    count--;
  }
  return out;
}

/** Fields nobody owns: type, identity and bookkeeping metadata. */
const STRIPPED = FieldSet.of(
  [['apiVersion'], ['kind'], ['metadata'], ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'].map((f) => ['metadata', f])].map(
    (p) => p.map(fieldElement),
  ),
);

export const stripMeta = (set: FieldSet): FieldSet => set.difference(STRIPPED);

/** How a conflict message names a manager: `"kubectl"`, `"kube-controller-manager" using apps/v1`. */
export function describeManager(m: Pick<ManagerSet, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  return m.operation === 'Update' ? `${s} using ${m.apiVersion}` : s;
}

export interface Conflict {
  manager: ManagerSet;
  path: Path;
}

/** 409 Conflict listing every conflicting field, in upstream's message and causes format. */
export function conflictError(conflicts: Conflict[]): StatusError {
  // metav1.StatusCause keeps its type under the JSON key "reason".
  const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${describeManager(c.manager)}`, field: renderPath(c.path) }));
  let message: string;
  if (conflicts.length === 1) message = `Apply failed with 1 conflict: conflict with ${describeManager(conflicts[0].manager)}: ${renderPath(conflicts[0].path)}`;
  else {
    const byManager = new Map<string, Conflict[]>();
    for (const c of conflicts) {
      const name = describeManager(c.manager);
      byManager.set(name, [...(byManager.get(name) ?? []), c]);
    }
    const lines: string[] = [];
    for (const name of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${name}:`);
      for (const c of byManager.get(name)!) lines.push(`- ${renderPath(c.path)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, { causes });
}
