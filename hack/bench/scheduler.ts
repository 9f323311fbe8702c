// npm run bench -- scheduler: 1,000 simulated nodes in a `k8ts agent` process beside the server
// (as kubelets are on their own machines); the server CPU their Lease renewals cost in the steady
// state (130-250 s after they registered; also 30-60 s after, while V8 still compiles), 10,000
// pods created by 32 clients and bound by the scheduler (pods/s from the first create to the last
// binding, both durable), a 3,000-replica Deployment until fully available, and the server's RSS
// during and after. Then the same Lease renewals with the 1,000 nodes inside the server process
// (`--simulate-nodes`), where the server also pays the nodes' side. For reading the Lease target
// against the machine: the same renewals on etcd (`--datastore etcd`, etcd's own CPU beside the
// server's), and the floor of any HTTPS server answering 100 PUTs a second, with and without one
// durable write each (lease-floor.ts), measured first so that it describes the machine the Lease
// rows ran on.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { etcdAvailable, startEtcd } from '../../src/store/testing/etcd-server.ts';
import { clientFromKubeconfig, type ApiClient } from './api-client.ts';
import { fmt, type Row } from './table.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const log = (s: string) => process.stderr.write(`  ${s}\n`);
export const NODES = 1000;
const PODS = 10_000;
const REPLICAS = 3000;
const SETTLE_MS = 30_000;
/** The steady-state Lease window: 120 s from 130 s after registration (see run()). */
const STEADY_AFTER_MS = 130_000;
const STEADY_S = 120;

export function procStat(pid: number): { cpuS: number; rssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return { cpuS: ticks / 100, rssMiB: m ? Number(m[1]) / 1024 : NaN };
}

/** Which built tree to run (default: this one), with what node flags and extra environment (lease-ab.ts runs two). */
export interface Tree {
  root?: string;
  nodeArgs?: string[];
  env?: Record<string, string>;
}

export async function startServer(dir: string, extra: string[] = [], tree: Tree = {}): Promise<{ proc: ChildProcess; kubeconfig: string }> {
  const main = join(tree.root ?? root, 'dist/cli/main.js');
  const proc = spawn(process.execPath, [...(tree.nodeArgs ?? []), main, 'server', '--data-dir', dir, '--secure-port', '0', ...extra], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, K8TS_LOG: 'warn', ...tree.env } });
  const simulated = extra.includes('--simulate-nodes');
  let err = '';
  const kubeconfig = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err.slice(-2000)}`)), 300_000);
    proc.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      if (err.length > 100_000) err = err.slice(-50_000);
      const m = err.match(/KUBECONFIG=(\S+)/);
      if (m && (!simulated || /simulated nodes registered/.test(err))) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited ${code}: ${err.slice(-2000)}`)));
  });
  return { proc, kubeconfig };
}

/** `k8ts agent --runtime=simulated --nodes N`: the nodes in a process of their own. */
export async function startAgent(kubeconfig: string, o: { root?: string; nodeName?: string; firstIndex?: number } = {}): Promise<ChildProcess> {
  const first = o.firstIndex === undefined ? [] : ['--first-index', String(o.firstIndex)];
  const proc = spawn(process.execPath, [join(o.root ?? root, 'dist/cli/main.js'), 'agent', '--kubeconfig', kubeconfig, '--runtime', 'simulated', '--node-name', o.nodeName ?? 'sim', '--nodes', String(NODES), ...first], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not register: ${err.slice(-2000)}`)), 300_000);
    proc.stderr?.on('data', (c: Buffer) => {
      err = (err + c.toString()).slice(-50_000);
      if (/registered \(simulated runtime\)/.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => reject(new Error(`agent exited ${code}: ${err.slice(-2000)}`)));
  });
  return proc;
}

export async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(t);
}

/** CPU % of one core used by each process over `seconds`. */
async function cpuOver(seconds: number, ...pids: number[]): Promise<number[]> {
  const a = pids.map((p) => procStat(p).cpuS);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return pids.map((p, i) => ((procStat(p).cpuS - a[i]) / seconds) * 100);
}

/**
 * The two Lease windows, called right after the nodes registered: CPU % of each process 30-60 s
 * after (the registration's aftermath, 1,000 RegisteredNode events and controllers reacting to
 * the new nodes, takes ~20 s before it; V8 still compiles the request path during it), and the
 * steady state, 120 s from 130 s after. The steady window ends before the nodes' 5-minute status
 * reports (which start ~270 s after registration), and is 120 s long because 30 s windows of the
 * same code spread by ±1 point of a core on this VM.
 */
async function leaseWindows(...pids: number[]): Promise<{ first: number[]; steady: number[] }> {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const first = await cpuOver(30, ...pids);
  await new Promise((r) => setTimeout(r, STEADY_AFTER_MS - SETTLE_MS - 30_000));
  return { first, steady: await cpuOver(STEADY_S, ...pids) };
}

async function count(c: ApiClient, path: string): Promise<number> {
  const r = await c.call('GET', path);
  return (JSON.parse(r.body) as { items: unknown[] }).items.length;
}

const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'bench' } },
  spec: { containers: [{ name: 'c', image: 'registry.example/app:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
});

async function createPods(c: ApiClient, n: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    for (let i = next++; i < n; i = next++) {
      const r = await c.call('POST', '/api/v1/namespaces/default/pods', pod(`p-${i}`));
      if (r.status !== 201) throw new Error(`create pod: ${r.status} ${r.body.slice(0, 200)}`);
    }
  }));
}

/** Polls until `done()` or the time limit; returns seconds taken, or NaN. */
async function until(limitS: number, done: () => Promise<boolean>, every = 250): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < limitS * 1000) {
    if (await done()) return (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, every));
  }
  return NaN;
}

/** Server CPU % of lease-floor.ts (`plain` or `dsync`) under 1,000 renewers, over 30 s after 15 s. */
async function floorCpu(mode: 'plain' | 'dsync', dir: string): Promise<number> {
  const script = join(root, 'hack/bench/lease-floor.ts');
  const srv = spawn(process.execPath, [script, 'server', mode, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let cl: ChildProcess | undefined;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      srv.stdout?.on('data', (c: Buffer) => {
        const m = (out += c.toString()).match(/PORT (\d+)/);
        if (m) resolve(Number(m[1]));
      });
      srv.on('exit', (code) => reject(new Error(`lease-floor server exited ${code}`)));
    });
    cl = spawn(process.execPath, [script, 'client', String(port)], { stdio: 'inherit' });
    await new Promise((r) => setTimeout(r, 15_000));
    const [cpu] = await cpuOver(30, srv.pid as number);
    return cpu;
  } finally {
    if (cl) await stop(cl);
    await stop(srv);
  }
}

/** The agent's Lease renewals with the server on etcd, in the same windows as on the embedded store: server and etcd CPU %. */
async function etcdLeases(dir: string): Promise<{ server: number; etcd: number; firstServer: number; firstEtcd: number }> {
  const etcd = await startEtcd();
  try {
    const s = await startServer(dir, ['--datastore', 'etcd', '--etcd-servers', etcd.endpoint]);
    let agent: ChildProcess | undefined;
    try {
      agent = await startAgent(s.kubeconfig);
      const { first, steady } = await leaseWindows(s.proc.pid as number, etcd.pid);
      return { server: steady[0], etcd: steady[1], firstServer: first[0], firstEtcd: first[1] };
    } finally {
      if (agent) await stop(agent);
      await stop(s.proc);
    }
  } finally {
    await etcd.cleanup();
  }
}

export async function run(): Promise<{ rows: Row[]; figures: Record<string, number> }> {
  const build = (await import('node:child_process')).spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-bench-sched-'));
  const f: Record<string, number> = {};
  // The floor first, right before the Lease windows it is read against: this VM's speed drifts by
  // up to ~1.7x within minutes (the same build's first Lease row read 6.3, then 3.9 three minutes
  // later), so a floor taken at the end of the run, ~10 minutes on, describes another machine.
  log('the machine floor: a bare HTTPS server answering 100 Lease PUTs a second, 30 s each without and with one O_DSYNC write per request');
  try {
    f['scheduler.lease_floor.https_cpu_pct'] = await floorCpu('plain', mkdtempSync(join(dir, 'floor-')));
    f['scheduler.lease_floor.https_dsync_cpu_pct'] = await floorCpu('dsync', mkdtempSync(join(dir, 'floor-')));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const s = await startServer(join(dir, 'split'));
  const pid = s.proc.pid as number;
  const c = clientFromKubeconfig(s.kubeconfig, 64);
  let agent: ChildProcess | undefined;
  try {
    agent = await startAgent(s.kubeconfig);
    // The headline is the steady state; the first window pays a one-time warm-up of the server
    // process (a second agent registering the same nodes again costs no more than it).
    log(`${NODES} simulated nodes up in an agent process; measuring idle Lease renewals 30-60 s and 130-250 s after registration`);
    const { first, steady } = await leaseWindows(pid, agent.pid as number);
    f['scheduler.lease1000.first_cpu_pct'] = first[0];
    f['scheduler.lease1000.over_floor'] = first[0] / f['scheduler.lease_floor.https_dsync_cpu_pct'];
    [f['scheduler.lease1000.cpu_pct'], f['scheduler.lease1000.agent_cpu_pct']] = steady;
    f['scheduler.idle_rss_mib'] = procStat(pid).rssMiB;
    log(`creating ${PODS} pods`);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, procStat(pid).rssMiB)), 500);
    const t0 = performance.now();
    await createPods(c, PODS);
    f['scheduler.create10k_s'] = (performance.now() - t0) / 1000;
    // Served from the watch cache (resourceVersion=0), so that polling costs the server little.
    const bound = await until(300, async () => (await count(c, '/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3D&resourceVersion=0')) === 0, 200);
    f['scheduler.bound10k_s'] = bound + f['scheduler.create10k_s'];
    f['scheduler.pods_per_s'] = PODS / f['scheduler.bound10k_s'];
    log(`bound ${PODS} pods in ${fmt(f['scheduler.bound10k_s'], 1)} s`);
    const del = await c.call('DELETE', '/api/v1/namespaces/default/pods?labelSelector=app%3Dbench', { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 });
    if (del.status !== 200) throw new Error(`delete pods: ${del.status}`);
    await until(300, async () => (await count(c, '/api/v1/namespaces/default/pods?labelSelector=app%3Dbench&resourceVersion=0')) === 0, 500);
    log(`deployment of ${REPLICAS}`);
    const t1 = performance.now();
    const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'big' }, spec: { replicas: REPLICAS, selector: { matchLabels: { app: 'big' } }, template: { metadata: { labels: { app: 'big' } }, spec: { containers: [{ name: 'c', image: 'registry.example/app:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } } } };
    const cr = await c.call('POST', '/apis/apps/v1/namespaces/default/deployments', d);
    if (cr.status !== 201) throw new Error(`create deployment: ${cr.status}`);
    f['scheduler.deploy3000.available_s'] = await until(600, async () => {
      const r = JSON.parse((await c.call('GET', '/apis/apps/v1/namespaces/default/deployments/big')).body) as { status?: { availableReplicas?: number } };
      return (r.status?.availableReplicas ?? 0) >= REPLICAS;
    }, 500);
    if (Number.isFinite(f['scheduler.deploy3000.available_s'])) f['scheduler.deploy3000.available_s'] = (performance.now() - t1) / 1000;
    clearInterval(sampler);
    f['scheduler.rss_mib'] = peak;
    await new Promise((r) => setTimeout(r, 5000));
    f['scheduler.rss_after_mib'] = procStat(pid).rssMiB;
  } finally {
    c.close();
    if (agent) await stop(agent);
    await stop(s.proc);
  }
  const e: Record<string, number> = {};
  try {
    log(`${NODES} simulated nodes inside the server; measuring idle Lease renewals for 30 s after 30 s`);
    const inProcess = await startServer(join(dir, 'inprocess'), ['--simulate-nodes', String(NODES)]);
    try {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      [f['scheduler.lease1000.inprocess_cpu_pct']] = await cpuOver(30, inProcess.proc.pid as number);
    } finally {
      await stop(inProcess.proc);
    }
    if (etcdAvailable()) {
      log(`${NODES} nodes (agent process) with the server on etcd; measuring idle Lease renewals 30-60 s and 130-250 s after registration`);
      const r = await etcdLeases(join(dir, 'etcd'));
      e['scheduler.lease1000.cpu_pct'] = f['scheduler.etcd.lease1000.server_cpu_pct'] = r.server;
      e['scheduler.lease1000.etcd_cpu_pct'] = f['scheduler.etcd.lease1000.etcd_cpu_pct'] = r.etcd;
      e['scheduler.lease1000.first_cpu_pct'] = f['scheduler.etcd.lease1000.first_server_cpu_pct'] = r.firstServer;
      e['scheduler.lease1000.first_etcd_cpu_pct'] = f['scheduler.etcd.lease1000.first_etcd_cpu_pct'] = r.firstEtcd;
    } else log('no etcd binary (hack/install-test-deps installs one): the etcd column stays empty');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rows: Row[] = [
    ['scheduler.lease1000.cpu_pct', `${NODES} nodes (agent process) renewing Leases every 10 s, server CPU % (130-250 s after registration)`, 1],
    ['scheduler.lease1000.etcd_cpu_pct', '  etcd itself (the etcd column), CPU %', 1],
    ['scheduler.lease1000.agent_cpu_pct', '  the agent process running them, CPU %', 1],
    ['scheduler.lease1000.first_cpu_pct', '  the same 30-60 s after registration (V8 still compiling), server CPU %', 1],
    ['scheduler.lease1000.first_etcd_cpu_pct', '    etcd itself then, CPU %', 1],
    ['scheduler.lease1000.over_floor', '  the 30-60 s figure over the O_DSYNC floor (measured just before it) x', 2],
    ['scheduler.lease1000.inprocess_cpu_pct', `  ${NODES} nodes inside the server (--simulate-nodes, 30-60 s), server CPU %`, 1],
    ['scheduler.idle_rss_mib', `  server RSS with ${NODES} nodes MiB`, 0],
    ['scheduler.create10k_s', `${PODS} pods created by 32 clients s`, 1],
    ['scheduler.bound10k_s', '  all bound after first create s', 1],
    ['scheduler.pods_per_s', '  pods bound per second', 0],
    ['scheduler.deploy3000.available_s', `Deployment of ${REPLICAS} fully available s`, 1],
    ['scheduler.rss_mib', 'server RSS peak MiB', 0],
    ['scheduler.rss_after_mib', 'server RSS after MiB', 0],
    ['scheduler.lease_floor.https_cpu_pct', 'floor (measured first): bare Node HTTPS server, 100 Lease PUTs/s, CPU %', 1],
    ['scheduler.lease_floor.https_dsync_cpu_pct', '  the same with one 1 KB O_DSYNC write per request, CPU %', 1],
  ].map(([k, label, digits]) => ({ metric: String(label), embedded: (k as string) in f ? fmt(f[k as string], Number(digits)) : '', etcd: k in e ? fmt(e[k as string], Number(digits)) : '', ratio: '' }));
  for (const [k, v] of Object.entries(f)) f[k] = Math.round(v * 1000) / 1000;
  return { rows, figures: f };
}
