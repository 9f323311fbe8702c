// Ad-hoc load generator for profiling: node hack/bench/load.ts KUBECONFIG CONCURRENCY TOTAL
import { clientFromKubeconfig } from './api-client.ts';
const [kc, conc = '32', total = '10000', prefix = 'load'] = process.argv.slice(2);
const c = clientFromKubeconfig(kc, 64);
const n = Number(total);
let next = 0;
const lat: number[] = [];
const t0 = performance.now();
await Promise.all(Array.from({ length: Number(conc) }, async () => {
  for (let i = next++; i < n; i = next++) {
    const s = performance.now();
    const r = await c.call('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${prefix}-${i}` }, data: { key: 'x'.repeat(200) } });
    if (r.status !== 201) throw new Error(`${r.status} ${r.body}`);
    lat.push(performance.now() - s);
  }
}));
lat.sort((a, b) => a - b);
console.log(`${(n / ((performance.now() - t0) / 1000)).toFixed(0)}/s p50 ${lat[Math.floor(n / 2)].toFixed(2)} p99 ${lat[Math.floor(n * 0.99)].toFixed(2)}`);
c.close();
