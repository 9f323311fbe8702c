// Ad-hoc: node hack/bench/load-watch.ts KUBECONFIG [watchers] [events]
import { clientFromKubeconfig } from './api-client.ts';
import { startWatchers } from './watchers.ts';
const [kc, nw = '1000', ne = '100'] = process.argv.slice(2);
const W = Number(nw), E = Number(ne);
const c = clientFromKubeconfig(kc, 4);
const ns = `w${Date.now()}`;
await c.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
const list = JSON.parse((await c.call('GET', `/api/v1/namespaces/${ns}/configmaps`)).body) as { metadata: { resourceVersion: string } };
const w = startWatchers({ kubeconfig: kc, path: `/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${list.metadata.resourceVersion}`, count: W, lines: E });
await w.ready;
await new Promise((r) => setTimeout(r, 500));
const t0 = performance.timeOrigin + performance.now();
for (let i = 0; i < E; i++) await c.call('POST', `/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `w-${i}` }, data: { key: 'x'.repeat(200) } });
const tc = performance.timeOrigin + performance.now() - t0;
const at = await w.done;
console.log(`watch ${W}x${E}: ${(at - t0).toFixed(0)} ms (creates done at ${tc.toFixed(0)} ms)`);
await w.stop();
c.close();
