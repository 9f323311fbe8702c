// npm run bench -- api: the API server over HTTPS, on the embedded store and on etcd.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { etcdAvailable, startEtcd } from '../../src/store/testing/etcd-server.ts';
import { clientFromKubeconfig, type ApiClient } from './api-client.ts';
import { startWatchers } from './watchers.ts';
import { fmt, percentile, type Row } from './table.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const log = (s: string) => process.stderr.write(`  ${s}\n`);

interface Server {
  proc: ChildProcess;
  kubeconfig: string;
  startMs: number;
  stop(): Promise<void>;
}

async function startServer(dataDir: string, extra: string[] = []): Promise<Server> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [join(root, 'dist/cli/main.js'), 'server', '--data-dir', dataDir, '--secure-port', '0', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let kubeconfig = '';
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 60_000);
    proc.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      const m = err.match(/KUBECONFIG=(\S+)/);
      if (m) {
        kubeconfig = m[1];
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
  // Ready means /readyz answers ok.
  const client = clientFromKubeconfig(kubeconfig, 1);
  for (let i = 0; i < 200; i++) {
    const r = await client.call('GET', '/readyz').catch(() => ({ status: 0, body: '' }));
    if (r.status === 200) break;
    await new Promise((r2) => setTimeout(r2, 10));
  }
  client.close();
  const startMs = performance.now() - t0;
  return {
    proc,
    kubeconfig,
    startMs,
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      }),
  };
}

function rssMiB(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : NaN;
}

const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { key: 'x'.repeat(200) } });

async function creates(c: ApiClient, prefix: string, concurrency: number, total: number): Promise<{ perS: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const s = performance.now();
        const r = await c.call('POST', '/api/v1/namespaces/default/configmaps', cm(`${prefix}-${i}`));
        if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.body}`);
        lat.push(performance.now() - s);
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { perS: total / ((performance.now() - t0) / 1000), p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** A Deployment of ten containers, as an apply configuration. */
function deploy10(name: string): unknown {
  const containers = Array.from({ length: 10 }, (_, i) => ({
    name: `c${i}`,
    image: `registry.example/app-${i}:1.0`,
    args: ['--port', String(8000 + i)],
    ports: [{ containerPort: 8000 + i, name: `p${i}` }],
    env: [{ name: 'MODE', value: 'bench' }, { name: 'INDEX', value: String(i) }],
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
  }));
  // replicas 0: the row measures the apply, not the pods the controllers would start for it.
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: { app: name } }, spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers } } } };
}

async function applies(c: ApiClient, n: number): Promise<{ create: { p50: number; p99: number }; noop: { p50: number; p99: number } }> {
  const path = (name: string) => `/apis/apps/v1/namespaces/default/deployments/${name}?fieldManager=bench`;
  const call = async (name: string, want: number) => {
    const r = await c.call('PATCH', path(name), deploy10(name), 'application/apply-patch+yaml');
    if (r.status !== want) throw new Error(`apply ${name}: ${r.status} ${r.body.slice(0, 300)}`);
  };
  let i = 0;
  const create = await timed(n, () => call(`apply-${i++}`, 201));
  i = 0;
  const noop = await timed(n, () => call(`apply-${i++}`, 200));
  return { create, noop };
}

async function timed(n: number, fn: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await fn();
    lat.push(performance.now() - s);
  }
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

async function watchFanOut(c: ApiClient, kubeconfig: string): Promise<number> {
  await c.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'watched' } });
  // The namespace gets kube-root-ca.crt from a controller: let it land before the list.
  for (let i = 0; i < 100 && (await c.call('GET', '/api/v1/namespaces/watched/configmaps/kube-root-ca.crt')).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
  const list = JSON.parse((await c.call('GET', '/api/v1/namespaces/watched/configmaps')).body) as { metadata: { resourceVersion: string } };
  const w = startWatchers({ kubeconfig, path: `/api/v1/namespaces/watched/configmaps?watch=1&resourceVersion=${list.metadata.resourceVersion}`, count: 1000, lines: 100 });
  try {
    await w.ready;
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.timeOrigin + performance.now();
    for (let i = 0; i < 100; i++) await c.call('POST', '/api/v1/namespaces/watched/configmaps', cm(`w-${i}`));
    return (await w.done) - t0;
  } finally {
    await w.stop();
  }
}

async function measure(label: string, extra: string[], full: boolean): Promise<Record<string, number>> {
  const r: Record<string, number> = {};
  const dir = mkdtempSync(join(tmpdir(), `k8ts-bench-api-${label}-`));
  try {
    const s = await startServer(dir, extra);
    log(`${label}: server up in ${s.startMs.toFixed(0)} ms`);
    const c = clientFromKubeconfig(s.kubeconfig, 64);
    await new Promise((res) => setTimeout(res, 1000));
    r.idle_rss_mib = rssMiB(s.proc.pid as number);
    await creates(c, 'warm', 8, 500);
    const c1 = await creates(c, 'seq', 1, 1000);
    r['create.c1.per_s'] = c1.perS;
    r['create.c1.p50_ms'] = c1.p50;
    r['create.c1.p99_ms'] = c1.p99;
    const c32 = await creates(c, 'par', 32, 10_000);
    r['create.c32.per_s'] = c32.perS;
    r['create.c32.p50_ms'] = c32.p50;
    r['create.c32.p99_ms'] = c32.p99;
    log(`${label}: creates ${fmt(c1.perS)}/s c1, ${fmt(c32.perS)}/s c32`);
    const get = await timed(2000, async () => void (await c.call('GET', '/api/v1/namespaces/default/configmaps/seq-1')));
    const ap = await applies(c, 300);
    r['apply.deploy10.p50_ms'] = ap.create.p50;
    r['apply.deploy10.p99_ms'] = ap.create.p99;
    r['apply.deploy10.noop.p50_ms'] = ap.noop.p50;
    r['apply.deploy10.noop.p99_ms'] = ap.noop.p99;
    r['get.p50_ms'] = get.p50;
    r['get.p99_ms'] = get.p99;
    const list = await timed(20, async () => void (await c.call('GET', '/api/v1/namespaces/default/configmaps')));
    r['list10k.p50_ms'] = list.p50;
    r['list10k.p99_ms'] = list.p99;
    r.rss_10k_mib = rssMiB(s.proc.pid as number);
    r['watch.w1000x100.ms'] = await watchFanOut(c, s.kubeconfig);
    log(`${label}: watch done`);
    c.close();
    await s.stop();
    if (full) {
      const empty = mkdtempSync(join(tmpdir(), 'k8ts-bench-cold-'));
      const warm = await startServer(empty); // first start generates certificates
      await warm.stop();
      const cold = await startServer(empty);
      r.cold_start_ms = cold.startMs;
      const cc = clientFromKubeconfig(cold.kubeconfig, 64);
      await creates(cc, 'bulk', 64, 100_000);
      cc.close();
      await cold.stop();
      const cold100k = await startServer(empty);
      r.cold_start_100k_ms = cold100k.startMs;
      await cold100k.stop();
      rmSync(empty, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return r;
}

const ROWS: Array<[key: string, label: string, digits: number, up: boolean]> = [
  ['create.c1.per_s', 'ConfigMap creates/s, 1 client', 0, true],
  ['create.c1.p50_ms', '  p50 ms', 2, false],
  ['create.c1.p99_ms', '  p99 ms', 2, false],
  ['create.c32.per_s', 'ConfigMap creates/s, 32 clients', 0, true],
  ['create.c32.p50_ms', '  p50 ms', 2, false],
  ['create.c32.p99_ms', '  p99 ms', 2, false],
  ['apply.deploy10.p50_ms', 'apply of a 10-container Deployment (create, 0 replicas) p50 ms', 2, false],
  ['apply.deploy10.p99_ms', '  p99 ms', 2, false],
  ['apply.deploy10.noop.p50_ms', 'no-op re-apply of it p50 ms', 2, false],
  ['apply.deploy10.noop.p99_ms', '  p99 ms', 2, false],
  ['get.p50_ms', 'GET p50 ms', 2, false],
  ['get.p99_ms', 'GET p99 ms', 2, false],
  ['list10k.p50_ms', 'LIST of 10k ConfigMaps p50 ms', 1, false],
  ['list10k.p99_ms', 'LIST of 10k ConfigMaps p99 ms', 1, false],
  ['watch.w1000x100.ms', '1,000 watchers × 100 events ms', 0, false],
  ['idle_rss_mib', 'idle RSS MiB', 0, false],
  ['rss_10k_mib', 'RSS with 10k objects MiB', 0, false],
  ['cold_start_ms', 'cold start to /readyz, empty ms', 0, false],
  ['cold_start_100k_ms', 'cold start to /readyz, 100k objects ms', 0, false],
];

export async function run(): Promise<{ rows: Row[]; figures: Record<string, number> }> {
  const build = (await import('node:child_process')).spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  const emb = await measure('embedded', [], true);
  let etc: Record<string, number> = {};
  if (etcdAvailable()) {
    const etcd = await startEtcd();
    try {
      etc = await measure('etcd', ['--datastore', 'etcd', '--etcd-servers', etcd.endpoint], false);
    } finally {
      await etcd.cleanup();
    }
  }
  const figures: Record<string, number> = {};
  for (const [k, v] of Object.entries(emb)) figures[`api.${k}`] = Math.round(v * 1000) / 1000;
  for (const [k, v] of Object.entries(etc)) figures[`api.etcd.${k}`] = Math.round(v * 1000) / 1000;
  const rows = ROWS.map(([key, label, digits, up]) => {
    const a = emb[key];
    const b = etc[key];
    const ratio = a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}×` : '';
    return { metric: `${label} ${up ? '↑' : '↓'}`, embedded: fmt(a, digits), etcd: fmt(b, digits), ratio };
  });
  return { rows, figures };
}
