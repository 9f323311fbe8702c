// Integration tests: the official JavaScript client (@kubernetes/client-node) against
// `k8ts server` running as a child process, loading TLS from the generated kubeconfig.
// One server for the whole file; every scenario works in its own namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  ListWatch,
  PatchStrategy,
  Watch,
  makeInformer,
  setHeaderOptions,
  type KubernetesObject,
  type V1ConfigMap,
  type V1ConfigMapList,
} from '@kubernetes/client-node';
import { startServer, type TestServer } from './testing/server.ts';

let server: TestServer;
const WINDOW = 40;
let kc: KubeConfig;
let core: CoreV1Api;

beforeAll(async () => {
  // A small watch cache window: a few dozen writes make resourceVersion 1 "too old".
  server = await startServer({ env: { K8TS_WATCH_CACHE_WINDOW: String(WINDOW) } });
  kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
});

afterAll(async () => {
  await server?.stop();
});

async function createNamespace(name: string): Promise<void> {
  await core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
}

/** The label of this file's ConfigMaps: every namespace also holds kube-root-ca.crt, as on a real cluster. */
const MINE = 'suite=client-node';

function cm(name: string, data: Record<string, string>, labels?: Record<string, string>): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { suite: 'client-node', ...labels } }, data };
}

interface StatusBody {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

/** The HTTP code and the decoded Status of a failed call. */
async function apiError(p: Promise<unknown>): Promise<{ code: number; status: StatusBody }> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const e = err as ApiException<unknown>;
    const body = typeof e.body === 'string' ? (JSON.parse(e.body) as StatusBody) : (e.body as StatusBody);
    return { code: e.code, status: body };
  }
  throw new Error('expected the call to fail');
}

/** Polls `cond` every 25 ms until it holds; fails after `timeoutMs`. */
async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Enough ConfigMap writes to push the oldest ones out of the watch cache's window. */
async function fillWindow(ns: string): Promise<void> {
  await core.createNamespacedConfigMap({ namespace: ns, body: cm('filler', { n: '0' }) });
  for (let i = 1; i <= WINDOW * 2; i++) await core.replaceNamespacedConfigMap({ name: 'filler', namespace: ns, body: cm('filler', { n: String(i) }) });
  await core.deleteNamespacedConfigMap({ name: 'filler', namespace: ns });
}

describe('@kubernetes/client-node against k8ts server', () => {
  it('lists the built-in namespaces', async () => {
    // limit=500 as kubectl does: a paged list is read from storage (see the next test for the cache).
    const list = await core.listNamespace({ limit: 500 });
    const names = list.items.map((n) => n.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public', 'kube-node-lease']));
    expect(list.metadata?.resourceVersion).toMatch(/^\d+$/);
  });

  it('listNamespace (no limit) right after a write to another resource answers promptly', async () => {
    await createNamespace('prompt');
    for (let i = 0; i < 3; i++) {
      await core.createNamespacedConfigMap({ namespace: 'prompt', body: cm(`p-${i}`, { i: String(i) }) });
      const started = performance.now();
      const list = await core.listNamespace();
      expect(list.items.map((n) => n.metadata?.name)).toContain('prompt');
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });

  describe('ConfigMap CRUD', () => {
    const ns = 'crud';
    beforeAll(() => createNamespace(ns));

    it('create, read, replace, merge patch, JSON patch, strategic patch, delete', async () => {
      const created = await core.createNamespacedConfigMap({ namespace: ns, body: cm('settings', { color: 'red', size: 'L' }, { app: 'shop' }) });
      expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.metadata?.namespace).toBe(ns);
      expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
      const rv1 = created.metadata!.resourceVersion!;

      const read = await core.readNamespacedConfigMap({ name: 'settings', namespace: ns });
      expect(read.data).toEqual({ color: 'red', size: 'L' });
      expect(read.metadata?.labels).toEqual({ suite: 'client-node', app: 'shop' });
      expect(read.metadata?.resourceVersion).toBe(rv1);

      read.data = { color: 'blue', size: 'L' };
      const replaced = await core.replaceNamespacedConfigMap({ name: 'settings', namespace: ns, body: read });
      expect(replaced.data).toEqual({ color: 'blue', size: 'L' });
      expect(Number(replaced.metadata!.resourceVersion)).toBeGreaterThan(Number(rv1));
      expect(replaced.metadata?.uid).toBe(created.metadata?.uid);

      const merged = await core.patchNamespacedConfigMap(
        { name: 'settings', namespace: ns, body: { data: { size: null, shape: 'round' }, metadata: { labels: { tier: 'front' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      expect(merged.data).toEqual({ color: 'blue', shape: 'round' });
      expect(merged.metadata?.labels).toEqual({ suite: 'client-node', app: 'shop', tier: 'front' });

      // The generated client's default patch Content-Type is application/json-patch+json.
      const jsonPatched = await core.patchNamespacedConfigMap({
        name: 'settings',
        namespace: ns,
        body: [
          { op: 'test', path: '/data/color', value: 'blue' },
          { op: 'replace', path: '/data/color', value: 'green' },
          { op: 'remove', path: '/metadata/labels/tier' },
        ],
      });
      expect(jsonPatched.data).toEqual({ color: 'green', shape: 'round' });
      expect(jsonPatched.metadata?.labels).toEqual({ suite: 'client-node', app: 'shop' });

      const strategic = await core.patchNamespacedConfigMap(
        { name: 'settings', namespace: ns, body: { data: { extra: 'x' } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      expect(strategic.data).toEqual({ color: 'green', shape: 'round', extra: 'x' });

      const deleted = await core.deleteNamespacedConfigMap({ name: 'settings', namespace: ns });
      expect(deleted).toBeDefined();
      const gone = await apiError(core.readNamespacedConfigMap({ name: 'settings', namespace: ns }));
      expect(gone.code).toBe(404);
      expect(gone.status.reason).toBe('NotFound');
      expect(gone.status.message).toBe('configmaps "settings" not found');
    });

    it('a create of an existing name fails with 409 AlreadyExists', async () => {
      await core.createNamespacedConfigMap({ namespace: ns, body: cm('twice', { a: '1' }) });
      const e = await apiError(core.createNamespacedConfigMap({ namespace: ns, body: cm('twice', { a: '2' }) }));
      expect(e.code).toBe(409);
      expect(e.status.reason).toBe('AlreadyExists');
    });

    it('a replace with a stale resourceVersion fails with 409 Conflict', async () => {
      const created = await core.createNamespacedConfigMap({ namespace: ns, body: cm('stale', { v: '1' }) });
      await core.patchNamespacedConfigMap({ name: 'stale', namespace: ns, body: { data: { v: '2' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      const e = await apiError(core.replaceNamespacedConfigMap({ name: 'stale', namespace: ns, body: { ...created, data: { v: '3' } } }));
      expect(e.code).toBe(409);
      expect(e.status.reason).toBe('Conflict');
      expect(e.status.message).toContain('the object has been modified');
      expect((await core.readNamespacedConfigMap({ name: 'stale', namespace: ns })).data).toEqual({ v: '2' });
    });

    it('a JSON patch whose test op fails is rejected and changes nothing', async () => {
      await core.createNamespacedConfigMap({ namespace: ns, body: cm('guarded', { v: '1' }) });
      const e = await apiError(
        core.patchNamespacedConfigMap({
          name: 'guarded',
          namespace: ns,
          body: [
            { op: 'test', path: '/data/v', value: 'nope' },
            { op: 'replace', path: '/data/v', value: '2' },
          ],
        }),
      );
      expect(e.code).toBeGreaterThanOrEqual(400);
      expect(e.code).toBeLessThan(500);
      expect(e.status.kind).toBe('Status');
      expect((await core.readNamespacedConfigMap({ name: 'guarded', namespace: ns })).data).toEqual({ v: '1' });
    });
  });

  it('lists with limit=3 over 10 objects, following continue, and gets all 10 exactly once', async () => {
    const ns = 'paging';
    await createNamespace(ns);
    const expected: string[] = [];
    for (let i = 0; i < 10; i++) {
      const name = `item-${String(i).padStart(2, '0')}`;
      expected.push(name);
      await core.createNamespacedConfigMap({ namespace: ns, body: cm(name, { i: String(i) }) });
    }
    // The namespace also holds kube-root-ca.crt (published by a controller, as on a real cluster).
    for (let i = 0; i < 80; i++) {
      const found = await core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace: ns }).then(() => true, () => false);
      if (found) break;
      await sleep(250);
    }
    expected.push('kube-root-ca.crt');
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let token: string | undefined;
    let listRv: string | undefined;
    for (let page = 0; page < 20; page++) {
      const list: V1ConfigMapList = await core.listNamespacedConfigMap({ namespace: ns, limit: 3, _continue: token });
      pageSizes.push(list.items.length);
      seen.push(...list.items.map((c) => c.metadata!.name!));
      // Every page of one paginated list is served at the same resourceVersion.
      listRv ??= list.metadata?.resourceVersion;
      expect(list.metadata?.resourceVersion).toBe(listRv);
      token = list.metadata?._continue || undefined;
      if (token) expect(list.metadata?.remainingItemCount).toBe(11 - seen.length);
      if (!token) break;
    }
    expect(token).toBeUndefined();
    expect(pageSizes).toEqual([3, 3, 3, 2]);
    expect(seen).toEqual(expected);
  });

  it('a paginated list is a consistent snapshot: objects created mid-way are not in it', async () => {
    const ns = 'snapshot';
    await createNamespace(ns);
    for (let i = 0; i < 4; i++) await core.createNamespacedConfigMap({ namespace: ns, body: cm(`a-${i}`, { i: String(i) }) });
    const first = await core.listNamespacedConfigMap({ namespace: ns, limit: 2, labelSelector: MINE });
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('z-late', { i: 'late' }) });
    await core.deleteNamespacedConfigMap({ name: 'a-3', namespace: ns });
    const second = await core.listNamespacedConfigMap({ namespace: ns, limit: 10, _continue: first.metadata!._continue!, labelSelector: MINE });
    expect([...first.items, ...second.items].map((c) => c.metadata!.name)).toEqual(['a-0', 'a-1', 'a-2', 'a-3']);
  });

  describe('informers', () => {
    it('an informer (makeInformer) sees add, update and delete events and keeps its cache', async () => {
      const ns = 'informer';
      await createNamespace(ns);
      await core.createNamespacedConfigMap({ namespace: ns, body: cm('before', { a: '1' }) });
      const informer = makeInformer<V1ConfigMap>(kc, `/api/v1/namespaces/${ns}/configmaps`, () => core.listNamespacedConfigMap({ namespace: ns, labelSelector: MINE }), MINE);
      const events: string[] = [];
      const errors: unknown[] = [];
      informer.on('add', (o) => events.push(`add ${o.metadata?.name}`));
      informer.on('update', (o) => events.push(`update ${o.metadata?.name} ${o.data?.a}`));
      informer.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
      informer.on('error', (e) => errors.push(e));
      await informer.start();
      try {
        await until('initial add', () => events.includes('add before'));
        await core.createNamespacedConfigMap({ namespace: ns, body: cm('during', { a: '1' }) });
        await until('add of during', () => events.includes('add during'));
        await core.patchNamespacedConfigMap({ name: 'during', namespace: ns, body: { data: { a: '2' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
        await until('update of during', () => events.includes('update during 2'));
        await core.deleteNamespacedConfigMap({ name: 'before', namespace: ns });
        await until('delete of before', () => events.includes('delete before'));
        expect(informer.list(ns).map((o) => o.metadata?.name)).toEqual(['during']);
        expect(informer.get('during', ns)?.data).toEqual({ a: '2' });
        expect(events).toEqual(['add before', 'add during', 'update during 2', 'delete before']);
        expect(errors).toEqual([]);
      } finally {
        await informer.stop();
      }
    });

    it('a watch from a too-old resourceVersion gets an ERROR event with 410 Expired, then the server closes it', async () => {
      const ns = 'expired';
      await createNamespace(ns);
      await fillWindow(ns);
      await core.createNamespacedConfigMap({ namespace: ns, body: cm('x', { a: '1' }) });
      const got: Array<{ type: string; obj: StatusBody }> = [];
      let done: ((err: unknown) => void) | undefined;
      const closed = new Promise<unknown>((res) => (done = res));
      const controller = await new Watch(kc).watch(
        `/api/v1/namespaces/${ns}/configmaps`,
        { resourceVersion: '1' },
        (type: string, obj: StatusBody) => got.push({ type, obj }),
        (err: unknown) => done!(err),
      );
      const timeout = sleep(10_000).then(() => 'timeout');
      const result = await Promise.race([closed.then(() => 'closed'), timeout]);
      controller.abort();
      expect(result).toBe('closed');
      expect(got).toHaveLength(1);
      expect(got[0].type).toBe('ERROR');
      expect(got[0].obj).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    });

    it('a watch of a quiet resource from its list resourceVersion is served after other writes move the revision on', async () => {
      const ns = 'quiet';
      await createNamespace(ns);
      // Nothing else in this file writes PodTemplates: their cache window stays empty.
      const list = await core.listNamespacedPodTemplate({ namespace: ns });
      const rv = list.metadata?.resourceVersion ?? '';
      for (let i = 0; i < 5; i++) await core.createNamespacedConfigMap({ namespace: ns, body: cm(`move-${i}`, { i: String(i) }) });
      // A consistent read brings the PodTemplate cache up to the newest revision (a progress notification).
      expect(Number((await core.listPodTemplateForAllNamespaces()).metadata?.resourceVersion)).toBeGreaterThan(Number(rv));
      const got: Array<{ type: string; name?: string; code?: number }> = [];
      const controller = await new Watch(kc).watch(
        `/api/v1/namespaces/${ns}/podtemplates`,
        { resourceVersion: rv },
        (type: string, obj: { metadata?: { name?: string }; code?: number }) => got.push({ type, name: obj.metadata?.name, code: obj.code }),
        () => undefined,
      );
      try {
        await core.createNamespacedPodTemplate({ namespace: ns, body: { metadata: { name: 't' }, template: { spec: { containers: [{ name: 'c', image: 'x' }] } } } });
        await until('the ADDED event', () => got.length > 0);
        expect(got).toEqual([{ type: 'ADDED', name: 't', code: undefined }]);
      } finally {
        controller.abort();
      }
    });

    it('an informer whose watch gets 410 Expired re-lists and keeps receiving events', async () => {
      const ns = 'relist';
      await createNamespace(ns);
      await fillWindow(ns);
      await core.createNamespacedConfigMap({ namespace: ns, body: cm('old', { a: '1' }) });
      let lists = 0;
      // The first list pretends to be from resourceVersion 1, which the watch cache no longer
      // holds: the watch that follows gets 410 Expired and the informer must list again.
      const listFn = async () => {
        lists++;
        const list = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: MINE });
        if (lists === 1) list.metadata = { ...list.metadata, resourceVersion: '1' };
        return list;
      };
      const lw = new ListWatch<V1ConfigMap>(`/api/v1/namespaces/${ns}/configmaps`, new Watch(kc), listFn, false, MINE);
      const added: string[] = [];
      const errors: unknown[] = [];
      lw.on('add', (o) => added.push(o.metadata!.name!));
      lw.on('error', (e) => errors.push(e));
      await lw.start();
      try {
        await until('the re-list after 410', () => lists >= 2);
        // The re-list is followed by a watch from a current resourceVersion.
        await until('a resourceVersion newer than 1', () => Number(lw.latestResourceVersion()) > 1);
        await core.createNamespacedConfigMap({ namespace: ns, body: cm('new', { a: '1' }) });
        await until('add of new', () => added.includes('new'));
        expect(lw.list(ns).map((o) => o.metadata?.name).sort()).toEqual(['new', 'old']);
        expect(lists).toBe(2);
        expect(errors).toEqual([]);
      } finally {
        await lw.stop();
      }
    });

    it('an informer resumes from its resourceVersion when the server ends the watch (timeoutSeconds)', async () => {
      const ns = 'resume';
      await createNamespace(ns);
      await core.createNamespacedConfigMap({ namespace: ns, body: cm('first', { a: '1' }) });
      let watches = 0;
      let lists = 0;
      // Asks the server to end every watch after 1 s, as it does with its own timeouts.
      class ShortWatch extends Watch {
        override watch(...args: Parameters<Watch['watch']>): Promise<AbortController> {
          const [path, queryParams, callback, done] = args;
          watches++;
          return super.watch(path, { ...queryParams, timeoutSeconds: 1 }, callback, done);
        }
      }
      const listFn = () => {
        lists++;
        return core.listNamespacedConfigMap({ namespace: ns, labelSelector: MINE });
      };
      const lw = new ListWatch<V1ConfigMap>(`/api/v1/namespaces/${ns}/configmaps`, new ShortWatch(kc), listFn, false, MINE);
      const seen: string[] = [];
      const errors: unknown[] = [];
      lw.on('add', (o: KubernetesObject) => seen.push(`add ${o.metadata!.name}`));
      lw.on('update', (o: KubernetesObject) => seen.push(`update ${o.metadata!.name}`));
      lw.on('delete', (o: KubernetesObject) => seen.push(`delete ${o.metadata!.name}`));
      lw.on('error', (e) => errors.push(e));
      await lw.start();
      try {
        await until('two watches (the first ended by the server)', () => watches >= 2, 10_000);
        // A change while the informer is between watches must not be lost.
        await core.createNamespacedConfigMap({ namespace: ns, body: cm('second', { a: '1' }) });
        await until('add of second', () => seen.includes('add second'), 10_000);
        await until('a third watch', () => watches >= 3, 10_000);
        await core.deleteNamespacedConfigMap({ name: 'first', namespace: ns });
        await until('delete of first', () => seen.includes('delete first'), 10_000);
        expect(lists).toBe(1);
        expect(seen).toEqual(['add first', 'add second', 'delete first']);
        expect(errors).toEqual([]);
      } finally {
        await lw.stop();
      }
    });
  });
});
