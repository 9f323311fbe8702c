// node hack/bench/lease-ab.ts ROOT_A ROOT_B [--windows N] [--seconds S] [--settle S]
// Paired A/B of the server CPU that 1,000 nodes' Lease renewals cost: two servers (built trees
// ROOT_A and ROOT_B, each with dist/) run side by side, each with its own 1,000-node agent, and
// are read over the same windows. This VM's speed drifts by up to ~1.7x within minutes; both
// servers see the same drift, so the ratio B/A per window is steady (two copies of one build read
// 0.989 ± 0.010 over six 30 s windows) where separate runs differ by a third.
// K8TS_AB_ARGS_A / K8TS_AB_ARGS_B: extra node flags for that server (e.g. --single-threaded-gc);
// K8TS_AB_ENV_A / K8TS_AB_ENV_B: extra environment for it, as space-separated NAME=value.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NODES, procStat, startAgent, startServer, stop } from './scheduler.ts';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { windows: { type: 'string', default: '6' }, seconds: { type: 'string', default: '30' }, settle: { type: 'string', default: '60' } },
});
if (positionals.length !== 2) {
  process.stderr.write('usage: node hack/bench/lease-ab.ts ROOT_A ROOT_B [--windows N] [--seconds S] [--settle S]\n');
  process.exit(2);
}
const roots = positionals.map((p) => resolve(p));
const WINDOWS = Number(values.windows);
const SECONDS = Number(values.seconds);

const words = (s: string | undefined): string[] => (s ?? '').split(' ').filter(Boolean);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const procs: ChildProcess[] = [];
const dirs: string[] = [];

/** Server `side` (0 = A, 1 = B) with its agent's nodes registered; returns the server's pid. */
async function up(side: number): Promise<number> {
  const tag = 'AB'[side];
  const dir = mkdtempSync(join(tmpdir(), `lease-ab-${tag}-`));
  dirs.push(dir);
  const env = Object.fromEntries(words(process.env[`K8TS_AB_ENV_${tag}`]).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const s = await startServer(dir, [], { root: roots[side], nodeArgs: words(process.env[`K8TS_AB_ARGS_${tag}`]), env });
  procs.push(s.proc);
  // Node names and pod CIDRs apart, though the two servers share nothing.
  procs.push(await startAgent(s.kubeconfig, { root: roots[side], nodeName: `ab${tag.toLowerCase()}`, firstIndex: 1024 + side * NODES }));
  return s.proc.pid as number;
}

try {
  const pids = [await up(0), await up(1)];
  process.stderr.write(`both servers have ${NODES} nodes; settling ${values.settle} s\n`);
  await sleep(Number(values.settle) * 1000);
  const ratios: number[] = [];
  const sums = [0, 0];
  for (let i = 0; i < WINDOWS; i++) {
    const before = pids.map((p) => procStat(p).cpuS);
    await sleep(SECONDS * 1000);
    const pct = pids.map((p, j) => ((procStat(p).cpuS - before[j]) / SECONDS) * 100);
    sums[0] += pct[0];
    sums[1] += pct[1];
    ratios.push(pct[1] / pct[0]);
    process.stdout.write(`window ${i + 1}: A ${pct[0].toFixed(2)} %  B ${pct[1].toFixed(2)} %  B/A ${(pct[1] / pct[0]).toFixed(3)}\n`);
  }
  const mean = ratios.reduce((s, r) => s + r, 0) / ratios.length;
  const sd = Math.sqrt(ratios.reduce((s, r) => s + (r - mean) ** 2, 0) / ratios.length);
  process.stdout.write(`mean: A ${(sums[0] / WINDOWS).toFixed(2)} %  B ${(sums[1] / WINDOWS).toFixed(2)} %  B/A ${mean.toFixed(3)} ± ${sd.toFixed(3)} (sd of ${WINDOWS} windows of ${SECONDS} s)\n`);
} finally {
  await Promise.all(procs.map(stop));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
