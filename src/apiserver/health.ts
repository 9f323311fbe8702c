// /healthz, /livez and /readyz with ?verbose and per-check paths, and /version.
import type { ServerResponse } from 'node:http';

export type Check = { name: string; run: () => Promise<void> | void };

export const VERSION_INFO = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.0-k8ts.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-11-23T00:00:00Z',
  goVersion: 'n/a (k8ts runs on Node.js)',
  compiler: 'k8ts',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

/** /healthz, /livez, /readyz and their checks' paths (a cheap test before the async serveHealth). */
export function isHealthPath(path: string): boolean {
  return path.startsWith('/healthz') || path.startsWith('/livez') || path.startsWith('/readyz');
}

export async function serveHealth(path: string, q: URLSearchParams, checks: Record<string, Check[]>, res: ServerResponse): Promise<boolean> {
  const [, endpoint, only] = path.split('/');
  const list = checks[endpoint];
  if (!list) return false;
  const selected = only ? list.filter((c) => c.name === only) : list;
  if (only && selected.length === 0) return false;
  const excluded = new Set(q.getAll('exclude'));
  const lines: string[] = [];
  let failed = false;
  for (const c of selected) {
    if (excluded.has(c.name)) {
      lines.push(`[+]${c.name} excluded: ok`);
      continue;
    }
    try {
      await c.run();
      lines.push(`[+]${c.name} ok`);
    } catch {
      failed = true;
      lines.push(`[-]${c.name} failed: reason withheld`);
    }
  }
  const verbose = q.has('verbose') || failed;
  const body = only ? (failed ? `internal server error: ${only} failed\n` : 'ok') : verbose ? `${lines.join('\n')}\n${endpoint} check ${failed ? 'failed' : 'passed'}\n` : 'ok';
  res.writeHead(failed ? 500 : 200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache, private' });
  res.end(body);
  return true;
}
