// Bench tables: one row per measurement, the embedded store and etcd side by side.

export interface Row {
  metric: string;
  embedded: string;
  etcd: string;
  /** embedded / etcd, or etcd / embedded where lower is better; empty when not comparable. */
  ratio: string;
}

export function printTable(title: string, rows: Row[]): void {
  const head: Row = { metric: `${title}`, embedded: 'embedded', etcd: 'etcd', ratio: 'embedded/etcd' };
  const all = [head, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => r[k].length));
  const line = (r: Row) => `| ${r.metric.padEnd(w('metric'))} | ${r.embedded.padStart(w('embedded'))} | ${r.etcd.padStart(w('etcd'))} | ${r.ratio.padStart(w('ratio'))} |`;
  console.log(line(head));
  console.log(`|${'-'.repeat(w('metric') + 2)}|${'-'.repeat(w('embedded') + 1)}:|${'-'.repeat(w('etcd') + 1)}:|${'-'.repeat(w('ratio') + 1)}:|`);
  for (const r of rows) console.log(line(r));
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
