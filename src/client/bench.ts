// Requests per second of the in-process transport against loopback HTTPS, same server, same
// process, same client library: GET of one ConfigMap and ConfigMap create, at a few concurrencies.
//   node src/client/bench.ts [--seconds 3] [--concurrency 1,16,64] [--json FILE]
import { writeFileSync } from 'node:fs';
import { startInProcess } from './testing/in-process.ts';
import { Resources } from './resources.ts';
import type { KubeClient } from './kube-client.ts';

interface Row {
  transport: string;
  op: string;
  concurrency: number;
  requests: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

const seconds = Number(arg('seconds', '3'));
const concurrencies = arg('concurrency', '1,16,64').split(',').map(Number);
const jsonOut = process.argv.includes('--json') ? arg('json', '') : '';

async function measure(client: KubeClient, op: (i: number) => Promise<unknown>, concurrency: number, ms: number): Promise<{ n: number; lat: number[]; elapsed: number }> {
  // Warm-up: open the connections.
  await Promise.all(Array.from({ length: concurrency }, (_, i) => op(-1 - i)));
  const lat: number[] = [];
  let n = 0;
  let seq = 0;
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await op(seq++);
        lat.push(performance.now() - t);
        n++;
      }
    }),
  );
  void client;
  return { n, lat, elapsed: performance.now() - start };
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] : 0;
}

const env = await startInProcess({ namespaces: ['bench'] });
const clients: Record<string, KubeClient> = { 'in-process': env.client({ maxConnections: 128 }), https: env.tlsClient({ maxConnections: 128 }) };
const rows: Row[] = [];
try {
  await clients['in-process'].create(Resources.configmaps, 'bench', { metadata: { name: 'target' }, data: { k: 'v'.repeat(200) } });
  let run = 0;
  for (const c of concurrencies) {
    for (const [transport, client] of Object.entries(clients)) {
      run++;
      const ops: Record<string, (i: number) => Promise<unknown>> = {
        get: () => client.get(Resources.configmaps, 'bench', 'target'),
        create: (i) => client.create(Resources.configmaps, 'bench', { metadata: { name: `cm-${run}-${i < 0 ? `w${-i}` : i}` }, data: { k: 'v'.repeat(200) } }),
      };
      for (const [op, fn] of Object.entries(ops)) {
        const r = await measure(client, fn, c, seconds * 1000);
        const sorted = r.lat.sort((a, b) => a - b);
        rows.push({ transport, op, concurrency: c, requests: r.n, perSecond: Math.round((r.n * 1000) / r.elapsed), p50ms: +pct(sorted, 50).toFixed(2), p99ms: +pct(sorted, 99).toFixed(2) });
      }
    }
  }
} finally {
  await env.stop();
}

console.log(`client transports, one process (server + client), ${seconds} s per cell, Node ${process.versions.node}`);
console.log('| op | concurrency | in-process req/s | HTTPS req/s | ratio | in-process p50/p99 ms | HTTPS p50/p99 ms |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const op of ['get', 'create']) {
  for (const c of concurrencies) {
    const a = rows.find((r) => r.op === op && r.concurrency === c && r.transport === 'in-process')!;
    const b = rows.find((r) => r.op === op && r.concurrency === c && r.transport === 'https')!;
    console.log(`| ${op} | ${c} | ${a.perSecond} | ${b.perSecond} | ${(a.perSecond / b.perSecond).toFixed(2)}× | ${a.p50ms} / ${a.p99ms} | ${b.p50ms} / ${b.p99ms} |`);
  }
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
