// KubeClient against a real k8ts server over both transports: TLS to `k8ts server` running as a
// child process (the integration harness), and in-process connections to an ApiServer in this
// process. The same scenarios run on both; errors must be the server's Status either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatusError } from '../api/status.ts';
import { startServer, type TestServer } from '../apiserver/testing/server.ts';
import { ConnectionError } from './http.ts';
import { KubeClient, isAlreadyExists, isConflict, isNotFound, type WatchEvent } from './kube-client.ts';
import { Resources, lookupResource, resourceOf, resourcePath, type GVR } from './resources.ts';
import { startInProcess, type InProcessServer } from './testing/in-process.ts';
import { loadKubeconfig, tlsTransport } from './transport.ts';
import type { KubeObject } from '../api/object.ts';

interface Target {
  client: KubeClient;
  stop(): Promise<void>;
}

/** A small watch cache window: a few dozen writes make resourceVersion 1 "too old". */
const WINDOW = 40;

const targets: Record<string, () => Promise<Target>> = {
  'TLS (k8ts server child process, kubeconfig)': async () => {
    const server: TestServer = await startServer({ env: { K8TS_WATCH_CACHE_WINDOW: String(WINDOW) } });
    const client = KubeClient.fromKubeconfig(server.kubeconfig);
    return { client, stop: async () => (client.close(), await server.stop()) };
  },
  'in-process (ApiServer.connectInProcess)': async () => {
    const before = process.env.K8TS_WATCH_CACHE_WINDOW;
    process.env.K8TS_WATCH_CACHE_WINDOW = String(WINDOW);
    let env: InProcessServer;
    try {
      env = await startInProcess();
    } finally {
      if (before === undefined) delete process.env.K8TS_WATCH_CACHE_WINDOW;
      else process.env.K8TS_WATCH_CACHE_WINDOW = before;
    }
    return { client: env.client(), stop: () => env.stop() };
  },
};

/** The StatusError a call fails with. */
async function statusOf(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

/** The next `n` events of a watch, within `timeoutMs`. */
async function take<T extends KubeObject>(it: AsyncIterator<WatchEvent<T>>, n: number, timeoutMs = 10_000): Promise<WatchEvent<T>[]> {
  const out: WatchEvent<T>[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${n} watch events; got ${JSON.stringify(out.map((e) => e.type))}`);
    let t: NodeJS.Timeout | undefined;
    const r = await Promise.race([it.next(), new Promise<'timeout'>((res) => (t = setTimeout(() => res('timeout'), left)))]);
    clearTimeout(t);
    if (r === 'timeout') continue;
    if (r.done) throw new Error(`watch ended after ${JSON.stringify(out.map((e) => e.type))}`);
    out.push(r.value);
  }
  return out;
}

const cm = (name: string, data: Record<string, string> = {}, labels?: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data });

describe.each(Object.keys(targets))('KubeClient over %s', (which) => {
  let t: Target;
  let c: KubeClient;
  const ns = 'client-test';

  beforeAll(async () => {
    t = await targets[which]();
    c = t.client;
    await c.create(Resources.namespaces, undefined, { metadata: { name: ns } });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('creates, gets, lists, updates and deletes', async () => {
    const created = await c.create(Resources.configmaps, ns, cm('a', { k: '1' }, { app: 'x' }));
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.resourceVersion).toMatch(/^\d+$/);
    const got = await c.get(Resources.configmaps, ns, 'a');
    expect(got.data).toEqual({ k: '1' });
    await c.create(Resources.configmaps, ns, cm('b', {}, { app: 'y' }));
    const list = await c.list(Resources.configmaps, ns, { labelSelector: 'app=x' });
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['a']);
    expect(list.metadata.resourceVersion).toMatch(/^\d+$/);
    const updated = await c.update(Resources.configmaps, ns, { ...got, data: { k: '2' } });
    expect(updated.data).toEqual({ k: '2' });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(got.metadata?.resourceVersion));
    const del = await c.delete(Resources.configmaps, ns, 'a');
    expect((del as KubeObject).metadata?.name ?? (del as { status?: string }).status).toBeTruthy();
    expect(isNotFound(await statusOf(c.get(Resources.configmaps, ns, 'a')))).toBe(true);
  });

  it('throws the server Status: 404 NotFound with details', async () => {
    const e = await statusOf(c.get(Resources.configmaps, ns, 'missing'));
    expect(e.code).toBe(404);
    expect(e.reason).toBe('NotFound');
    expect(e.message).toBe('configmaps "missing" not found');
    expect(e.status.details).toMatchObject({ name: 'missing', kind: 'configmaps' });
    const nsErr = await statusOf(c.get(Resources.namespaces, undefined, 'no-such-namespace'));
    expect(nsErr.code).toBe(404);
  });

  it('throws 409 AlreadyExists and 409 Conflict (stale resourceVersion, failed precondition)', async () => {
    const obj = await c.create(Resources.configmaps, ns, cm('dup'));
    const exists = await statusOf(c.create(Resources.configmaps, ns, cm('dup')));
    expect([exists.code, exists.reason]).toEqual([409, 'AlreadyExists']);
    expect(isAlreadyExists(exists)).toBe(true);
    await c.update(Resources.configmaps, ns, { ...obj, data: { v: '1' } });
    const stale = await statusOf(c.update(Resources.configmaps, ns, { ...obj, data: { v: '2' } }));
    expect([stale.code, stale.reason]).toEqual([409, 'Conflict']);
    expect(isConflict(stale)).toBe(true);
    const pre = await statusOf(c.delete(Resources.configmaps, ns, 'dup', { preconditions: { uid: 'not-the-uid' } }));
    expect([pre.code, pre.reason]).toEqual([409, 'Conflict']);
    expect(pre.message).toMatch(/Precondition failed/);
    await c.delete(Resources.configmaps, ns, 'dup', { preconditions: { uid: obj.metadata!.uid }, propagationPolicy: 'Background', gracePeriodSeconds: 0 });
  });

  it('throws 422 Invalid with field causes', async () => {
    const e = await statusOf(c.create(Resources.pods, ns, { metadata: { name: 'bad' }, spec: { containers: [] } }));
    expect([e.code, e.reason]).toEqual([422, 'Invalid']);
    expect(e.status.details?.causes).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'spec.containers', reason: 'FieldValueRequired' })]));
  });

  it('updates status through the status subresource only', async () => {
    // No scheduler takes this pod (it would write its status meanwhile and make the update stale).
    const pod = await c.create(Resources.pods, ns, { metadata: { name: 'p1' }, spec: { schedulerName: 'nobody', containers: [{ name: 'c', image: 'busybox' }] } });
    const withStatus = await c.updateStatus(Resources.pods, ns, { ...pod, status: { phase: 'Running' }, spec: { ...(pod.spec as object), activeDeadlineSeconds: 5 } });
    expect((withStatus.status as { phase?: string }).phase).toBe('Running');
    expect((withStatus.spec as { activeDeadlineSeconds?: number }).activeDeadlineSeconds).toBeUndefined();
    await c.delete(Resources.pods, ns, 'p1', { gracePeriodSeconds: 0 });
  });

  it('patches: merge, strategic, json; apply with fieldManager and force', async () => {
    await c.create(Resources.configmaps, ns, cm('p', { a: '1' }));
    let o = await c.patch(Resources.configmaps, ns, 'p', 'merge', { data: { b: '2' } });
    expect(o.data).toEqual({ a: '1', b: '2' });
    o = await c.patch(Resources.configmaps, ns, 'p', 'strategic', { metadata: { labels: { l: 'v' } } });
    expect(o.metadata?.labels).toEqual({ l: 'v' });
    o = await c.patch(Resources.configmaps, ns, 'p', 'json', [{ op: 'remove', path: '/data/a' }]);
    expect(o.data).toEqual({ b: '2' });
    const bad = await statusOf(c.patch(Resources.configmaps, ns, 'p', 'json', [{ op: 'test', path: '/data/b', value: 'nope' }]));
    expect(bad.code).toBeGreaterThanOrEqual(400);
    expect(() => c.patch(Resources.configmaps, ns, 'p', 'apply', {})).toThrow(/fieldManager/);
    o = await c.patch(Resources.configmaps, ns, 'applied', 'apply', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied' }, data: { x: '1' } }, { fieldManager: 'tester', force: true });
    expect(o.data).toEqual({ x: '1' });
    expect(JSON.stringify(o.metadata?.managedFields)).toContain('"manager":"tester"');
  });

  it('lists in pages with limit and continue', async () => {
    for (let i = 0; i < 5; i++) await c.create(Resources.configmaps, ns, cm(`page-${i}`, {}, { paged: 'yes' }));
    const names: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const l = await c.list(Resources.configmaps, ns, { labelSelector: 'paged=yes', limit: 2, continue: cont });
      names.push(...l.items.map((i) => i.metadata!.name!));
      cont = l.metadata.continue;
      pages++;
    } while (cont && pages < 10);
    expect(names).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    expect(pages).toBe(3);
    const all = await c.listAll(Resources.configmaps, ns, { labelSelector: 'paged=yes', limit: 2 });
    expect(all.items).toHaveLength(5);
  });

  it('watches: ADDED, MODIFIED, DELETED in order, from a resourceVersion', async () => {
    const l = await c.list(Resources.configmaps, ns);
    const w = await c.watch(Resources.configmaps, ns, { resourceVersion: l.metadata.resourceVersion, labelSelector: 'w=1' });
    const it = w[Symbol.asyncIterator]();
    const o = await c.create(Resources.configmaps, ns, cm('watched', { v: '1' }, { w: '1' }));
    await c.update(Resources.configmaps, ns, { ...o, data: { v: '2' } });
    await c.delete(Resources.configmaps, ns, 'watched');
    const evs = await take(it, 3);
    expect(evs.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(evs.map((e) => e.object.metadata?.name)).toEqual(['watched', 'watched', 'watched']);
    expect((evs[1].object as KubeObject).data).toEqual({ v: '2' });
    w.stop();
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('a selector watch sees objects enter (ADDED) and leave (DELETED) its selection as their labels change', async () => {
    const l = await c.list(Resources.configmaps, ns);
    const w = await c.watch(Resources.configmaps, ns, { resourceVersion: l.metadata.resourceVersion, labelSelector: 'sel=in' });
    const it = w[Symbol.asyncIterator]();
    let o = await c.create(Resources.configmaps, ns, cm('mover', { v: '0' }, { sel: 'out' }));
    for (const [sel, v] of [['in', '1'], ['in', '2'], ['out', '3'], ['in', '4']]) {
      o = await c.update(Resources.configmaps, ns, { ...o, metadata: { ...o.metadata, labels: { sel } }, data: { v } });
    }
    const evs = await take(it, 4);
    expect(evs.map((e) => [e.type, ((e.object as KubeObject).data as Record<string, string> | undefined)?.v, (e.object.metadata?.labels as Record<string, string> | undefined)?.sel])).toEqual([
      ['ADDED', '1', 'in'],
      ['MODIFIED', '2', 'in'],
      ['DELETED', '2', 'in'],
      ['ADDED', '4', 'in'],
    ]);
    w.stop();
  });

  it('watches with bookmarks (streaming list: initial events, then the initial-events-end bookmark)', async () => {
    await c.create(Resources.configmaps, ns, cm('bm', {}, { bm: '1' }));
    const w = await c.watch(Resources.configmaps, ns, { labelSelector: 'bm=1', sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', resourceVersion: '0', allowWatchBookmarks: true });
    const it = w[Symbol.asyncIterator]();
    const evs = await take(it, 2);
    expect(evs[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'bm' } } });
    expect(evs[1].type).toBe('BOOKMARK');
    expect(evs[1].object.metadata?.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    expect(Number(evs[1].object.metadata?.resourceVersion)).toBeGreaterThan(0);
    w.stop();
    await w.done;
  });

  it('delivers a 410 for a too-old resourceVersion as an ERROR event carrying the Status', async () => {
    // Enough ConfigMap writes to push resourceVersion 1 out of the window.
    await c.create(Resources.configmaps, ns, cm('filler', { n: '0' }));
    for (let i = 1; i <= WINDOW * 2; i++) await c.update(Resources.configmaps, ns, cm('filler', { n: String(i) }));
    await c.delete(Resources.configmaps, ns, 'filler');
    const w = await c.watch(Resources.configmaps, '', { resourceVersion: '1' });
    const [ev] = await take(w[Symbol.asyncIterator](), 1);
    expect(ev.type).toBe('ERROR');
    expect(ev.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    w.stop();
  });

  it('refuses a bad watch with a StatusError', async () => {
    const e = await statusOf(c.watch(Resources.configmaps, ns, { resourceVersion: 'abc' }));
    expect(e.code).toBe(400);
  });

  it('posts subresources (pods/binding; 405 while the server lacks it)', async () => {
    await c.create(Resources.pods, ns, { metadata: { name: 'bind-me' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bind-me' }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' } };
    try {
      await c.createSubresource(Resources.pods, ns, 'bind-me', 'binding', binding);
      const pod = await c.get(Resources.pods, ns, 'bind-me');
      expect((pod.spec as { nodeName?: string }).nodeName).toBe('node-1');
    } catch (err) {
      expect(err).toBeInstanceOf(StatusError);
      expect((err as StatusError).code).toBe(405);
      expect((err as StatusError).message).toMatch(/pods\/binding/);
    }
  });

  it('keeps requests on a few pooled connections', async () => {
    await Promise.all(Array.from({ length: 50 }, () => c.get(Resources.namespaces, undefined, ns)));
    expect(c.http.connections).toBeLessThanOrEqual(32);
  });
});

describe('transports and resources', () => {
  let env: InProcessServer;
  beforeAll(async () => {
    env = await startInProcess();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('TLS without a client certificate is 401 Unauthorized; with PEM strings it authenticates', async () => {
    const anon = KubeClient.tls({ server: env.url, ca: env.tls.ca });
    const e = await statusOf(anon.get(Resources.namespaces, undefined, 'default'));
    expect([e.code, e.reason]).toEqual([401, 'Unauthorized']);
    anon.close();
    const admin = KubeClient.tls(env.tls);
    expect((await admin.get(Resources.namespaces, undefined, 'default')).metadata?.name).toBe('default');
    admin.close();
  });

  it('TLS with the wrong CA fails to connect with ConnectionError', async () => {
    const wrong = KubeClient.tls({ ...env.tls, ca: undefined });
    await expect(wrong.get(Resources.namespaces, undefined, 'default')).rejects.toBeInstanceOf(ConnectionError);
    wrong.close();
  });

  it('a stopped server surfaces as ConnectionError', async () => {
    const other = await startInProcess();
    const c = other.client();
    await c.get(Resources.namespaces, undefined, 'default');
    await other.stop();
    await expect(c.get(Resources.namespaces, undefined, 'default')).rejects.toBeInstanceOf(ConnectionError);
  });

  it('an in-process watch stopped by the client ends on the server too', async () => {
    const c = env.client();
    const reg = env.server.registries.get('', 'v1', 'configmaps')!;
    const before = reg.cache.watcherCount;
    const w = await c.watch(Resources.configmaps, 'default', {});
    expect(reg.cache.watcherCount).toBe(before + 1);
    w.stop();
    for (let i = 0; i < 100 && reg.cache.watcherCount !== before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(reg.cache.watcherCount).toBe(before);
  });

  it('reads kubeconfig credentials and builds paths from the catalogue', () => {
    expect(tlsTransport({ server: 'https://127.0.0.1:6443' }).host).toBe('127.0.0.1:6443');
    expect(() => loadKubeconfig('/nonexistent/kubeconfig')).toThrow();
    for (const [name, gvr] of Object.entries(Resources) as Array<[string, GVR]>) {
      const info = lookupResource(gvr.group, gvr.version, gvr.resource);
      expect(info, name).toBeDefined();
      expect(info!.namespaced, name).toBe(gvr.namespaced);
      expect(info!.kind, name).toBe(gvr.kind);
    }
    expect(resourceOf('apps/v1', 'Deployment')).toMatchObject({ group: 'apps', resource: 'deployments', namespaced: true });
    expect(resourcePath(Resources.pods, 'ns', 'p', 'binding')).toBe('/api/v1/namespaces/ns/pods/p/binding');
    expect(resourcePath(Resources.pods, '')).toBe('/api/v1/pods');
    expect(resourcePath(Resources.leases, 'kube-system', 'l')).toBe('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/l');
    expect(resourcePath(Resources.nodes, 'ignored', 'n1')).toBe('/api/v1/nodes/n1');
  });
});
