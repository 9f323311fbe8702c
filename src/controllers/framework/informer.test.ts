// Informers against an in-process k8ts ApiServer: initial sync (paged), handlers, indexes, and
// recovery from 410 Gone through the watch window (more than 12,500 writes while the informer
// is not watching) and from an API server restart, without losing or duplicating state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/object.ts';
import { KubeClient, type ListOptions, type ObjectList, type Watch, type WatchOptions } from '../../client/kube-client.ts';
import { Resources, type GVR } from '../../client/resources.ts';
import { inProcessTransport } from '../../client/transport.ts';
import { ADMIN, startInProcess, type InProcessServer } from '../../client/testing/in-process.ts';
import { DeletedFinalStateUnknown, Informer, SharedInformerFactory, deletedObject, type EventHandlers } from './informer.ts';
import { Indexer, Indexers, keyOf } from './store.ts';
import { silentLogger } from './log.ts';
import { InformerPool } from './informer-pool.ts';

let env: InProcessServer;

beforeAll(async () => {
  env = await startInProcess({ namespaces: ['inf', 'sel', 'gap', 'filler', 'restart', 'idx'] });
});

afterAll(async () => {
  await env?.stop();
});

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cm = (name: string, data: Record<string, string> = {}, labels?: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data });

/** A client that counts lists and can hold back watches (a gate), remembering the last one. */
class GatedClient extends KubeClient {
  gate: Promise<void> | undefined;
  lastWatch: Watch<KubeObject> | undefined;
  lists = 0;
  watches = 0;
  override list<T extends KubeObject = KubeObject>(gvr: GVR, ns: string | undefined, opts?: ListOptions): Promise<ObjectList<T>> {
    this.lists++;
    return super.list<T>(gvr, ns, opts);
  }
  override async watch<T extends KubeObject = KubeObject>(gvr: GVR, ns: string | undefined, opts?: WatchOptions): Promise<Watch<T>> {
    this.watches++;
    if (this.gate) await this.gate;
    const w = await super.watch<T>(gvr, ns, opts);
    this.lastWatch = w as unknown as Watch<KubeObject>;
    return w;
  }
}

/**
 * Applies handler calls to a model of the store, failing on anything impossible: an add of a
 * key already there (a duplicate), an update or delete of one that is not (a lost add).
 */
function modelHandlers(model: Map<string, KubeObject>, problems: string[], counts = { add: 0, update: 0, delete: 0, tombstones: 0 }): EventHandlers & { counts: typeof counts } {
  return {
    counts,
    onAdd(obj) {
      counts.add++;
      if (model.has(keyOf(obj))) problems.push(`duplicate add ${keyOf(obj)}`);
      model.set(keyOf(obj), obj);
    },
    onUpdate(old, obj) {
      counts.update++;
      if (!model.has(keyOf(obj))) problems.push(`update of unknown ${keyOf(obj)}`);
      if (model.get(keyOf(obj))?.metadata?.resourceVersion !== old.metadata?.resourceVersion) problems.push(`update ${keyOf(obj)} with a stale old object`);
      model.set(keyOf(obj), obj);
    },
    onDelete(x) {
      counts.delete++;
      if (x instanceof DeletedFinalStateUnknown) counts.tombstones++;
      const obj = deletedObject(x);
      if (!model.delete(keyOf(obj))) problems.push(`delete of unknown ${keyOf(obj)}`);
    },
  };
}

/** name → resourceVersion of what the server holds now in `ns`. */
async function serverState(c: KubeClient, ns: string): Promise<Record<string, string>> {
  const l = await c.listAll(Resources.configmaps, ns);
  return Object.fromEntries(l.items.map((o) => [o.metadata!.name!, o.metadata!.resourceVersion!]));
}

function storeState(inf: Informer): Record<string, string> {
  return Object.fromEntries(inf.store.list().map((o) => [o.metadata!.name!, o.metadata!.resourceVersion!]));
}

describe('Informer', () => {
  it('syncs with a paged list, then reports adds, updates and deletes', async () => {
    const c = new GatedClient(inProcessTransport(env.server, ADMIN));
    for (let i = 0; i < 25; i++) await c.create(Resources.configmaps, 'inf', cm(`cm-${i}`, { i: String(i) }));
    const inf = new Informer(c, Resources.configmaps, { namespace: 'inf', pageSize: 10, logger: silentLogger });
    const initial: boolean[] = [];
    const updates: Array<[string, string]> = [];
    const deletes: KubeObject[] = [];
    inf.addEventHandler({
      onAdd: (_o, isInitial) => initial.push(isInitial),
      onUpdate: (o, n) => updates.push([String(o.data && (o.data as Record<string, string>).i), String((n.data as Record<string, string>).i)]),
      onDelete: (o) => deletes.push(deletedObject(o)),
    });
    expect(inf.hasSynced()).toBe(false);
    inf.start();
    await inf.waitForSync(10_000);
    expect(inf.hasSynced()).toBe(true);
    expect(c.lists).toBe(3); // 25 objects in pages of 10
    expect(inf.store.size).toBe(25);
    expect(initial.filter((x) => x)).toHaveLength(25);
    expect(inf.store.get('inf', 'cm-7')?.data).toEqual({ i: '7' });

    await c.create(Resources.configmaps, 'inf', cm('new', { i: 'new' }));
    await until('the add', () => initial.length === 26);
    expect(initial[25]).toBe(false);
    const cur = await c.get(Resources.configmaps, 'inf', 'cm-1');
    await c.update(Resources.configmaps, 'inf', { ...cur, data: { i: 'one' } });
    await until('the update', () => updates.length === 1);
    expect(updates[0]).toEqual(['1', 'one']);
    await c.delete(Resources.configmaps, 'inf', 'cm-2');
    await until('the delete', () => deletes.length === 1);
    expect(deletes[0].metadata?.name).toBe('cm-2');
    expect(inf.store.get('inf', 'cm-2')).toBeUndefined();
    expect(storeState(inf)).toEqual(await serverState(c, 'inf'));
    expect(Number(inf.lastSyncResourceVersion)).toBeGreaterThan(0);

    // A handler added later is told about everything already there.
    let replayed = 0;
    inf.addEventHandler({ onAdd: (_o, isInitial) => void (isInitial && replayed++) });
    expect(replayed).toBe(25);
    await inf.stop();
    c.close();
  });

  it('with a label selector, an object that stops matching is deleted from the store', async () => {
    const c = env.client();
    await c.create(Resources.configmaps, 'sel', cm('in', {}, { pick: 'yes' }));
    await c.create(Resources.configmaps, 'sel', cm('out', {}, { pick: 'no' }));
    const inf = new Informer(c, Resources.configmaps, { namespace: 'sel', labelSelector: 'pick=yes', logger: silentLogger });
    const deleted: string[] = [];
    inf.addEventHandler({ onDelete: (o) => deleted.push(deletedObject(o).metadata!.name!) });
    inf.start();
    await inf.waitForSync();
    expect(inf.store.keys()).toEqual(['sel/in']);
    await c.patch(Resources.configmaps, 'sel', 'in', 'merge', { metadata: { labels: { pick: 'no' } } });
    await until('the object to leave the selection', () => deleted.length === 1);
    expect(inf.store.size).toBe(0);
    await inf.stop();
  });

  it('keeps custom indexes (by node name, by owner uid) up to date', async () => {
    const c = env.client();
    const inf = new Informer(c, Resources.pods, { namespace: 'idx', indexers: { nodeName: Indexers.nodeName, ownerUid: Indexers.ownerUid }, logger: silentLogger });
    inf.start();
    await inf.waitForSync();
    const owner = await c.create(Resources.configmaps, 'idx', cm('owner'));
    const pod = (name: string, nodeName?: string): KubeObject => ({
      metadata: { name, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! }] },
      spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] },
    });
    await c.create(Resources.pods, 'idx', pod('a', 'n1'));
    await c.create(Resources.pods, 'idx', pod('b', 'n1'));
    await c.create(Resources.pods, 'idx', pod('c'));
    await until('three pods', () => inf.store.size === 3);
    expect(inf.store.byIndex('nodeName', 'n1').map((p) => p.metadata!.name).sort()).toEqual(['a', 'b']);
    expect(inf.store.byIndex('nodeName', '').map((p) => p.metadata!.name)).toEqual(['c']);
    expect(inf.store.byIndex('ownerUid', owner.metadata!.uid!)).toHaveLength(3);
    expect(inf.store.byIndex('namespace', 'idx')).toHaveLength(3);
    await c.delete(Resources.pods, 'idx', 'a', { gracePeriodSeconds: 0 });
    await until('the delete', () => inf.store.size === 2);
    expect(inf.store.byIndex('nodeName', 'n1').map((p) => p.metadata!.name)).toEqual(['b']);
    await inf.stop();
  });

  it('recovers from a 410 (watch window passed while disconnected) by re-listing, without losing or duplicating state', async () => {
    const c = new GatedClient(inProcessTransport(env.server, ADMIN), { maxConnections: 64 });
    for (let i = 0; i < 10; i++) await c.create(Resources.configmaps, 'gap', cm(`g-${i}`, { v: '0' }));
    const inf = new Informer(c, Resources.configmaps, { namespace: 'gap', pageSize: 4, backoff: { initialMs: 20, maxMs: 200 }, logger: silentLogger });
    const model = new Map<string, KubeObject>();
    const problems: string[] = [];
    const h = modelHandlers(model, problems);
    inf.addEventHandler(h);
    inf.start();
    await inf.waitForSync();
    // Live events first, so the informer's resourceVersion comes from the watch.
    await c.patch(Resources.configmaps, 'gap', 'g-0', 'merge', { data: { v: '1' } });
    await until('the live update', () => h.counts.update === 1);
    const rvBefore = inf.lastSyncResourceVersion;

    // Disconnect: hold the next watch and drop the current one.
    let open!: () => void;
    c.gate = new Promise((r) => (open = r));
    c.lastWatch!.stop();
    await until('the informer to try to watch again', () => c.watches === 2);

    // Meanwhile: an add, an update and a delete in the informer's namespace ...
    await c.create(Resources.configmaps, 'gap', cm('g-new'));
    await c.patch(Resources.configmaps, 'gap', 'g-3', 'merge', { data: { v: '2' } });
    await c.delete(Resources.configmaps, 'gap', 'g-4');
    // ... and more configmap writes elsewhere than the watch cache keeps (window 10,000, trimmed past 12,500).
    const total = 12_600;
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        for (let i = next++; i < total; i = next++) await c.create(Resources.configmaps, 'filler', { metadata: { name: `f-${i}` } });
      }),
    );
    const listsBefore = inf.stats.lists;
    c.gate = undefined;
    open();
    await until('the re-list after 410', () => inf.stats.lists === listsBefore + 1, 20_000);
    await until('the store to match the server', () => inf.store.has('gap/g-new'));

    expect(inf.stats.expired).toBe(1);
    expect(Number(inf.lastSyncResourceVersion)).toBeGreaterThan(Number(rvBefore));
    expect(problems).toEqual([]);
    expect(h.counts).toMatchObject({ add: 11, update: 2, delete: 1, tombstones: 1 });
    const server = await serverState(c, 'gap');
    expect(storeState(inf)).toEqual(server);
    expect(Object.fromEntries([...model.values()].map((o) => [o.metadata!.name!, o.metadata!.resourceVersion!]))).toEqual(server);

    // And it keeps watching after the re-list.
    await c.delete(Resources.configmaps, 'gap', 'g-5');
    await until('the delete after recovery', () => h.counts.delete === 2);
    expect(h.counts.tombstones).toBe(1);
    expect(problems).toEqual([]);
    await inf.stop();
    c.close();
  });

  it('survives an API server restart (connections lost, new watch cache) without losing or duplicating state', async () => {
    const c = env.client();
    for (let i = 0; i < 5; i++) await c.create(Resources.configmaps, 'restart', cm(`r-${i}`));
    const inf = new Informer(c, Resources.configmaps, { namespace: 'restart', backoff: { initialMs: 20, maxMs: 200 }, logger: silentLogger });
    const model = new Map<string, KubeObject>();
    const problems: string[] = [];
    const h = modelHandlers(model, problems);
    inf.addEventHandler(h);
    inf.start();
    await inf.waitForSync();
    await env.restart();
    const c2 = env.client();
    await c2.delete(Resources.configmaps, 'restart', 'r-0');
    await c2.create(Resources.configmaps, 'restart', cm('r-new'));
    // Resumed from its resourceVersion (the new cache still holds it) or re-listed after a 410: either way the same state.
    await until('the changes made after the restart', () => inf.store.has('restart/r-new') && !inf.store.has('restart/r-0'), 20_000);
    expect(inf.stats.failures).toBeGreaterThanOrEqual(1);
    expect(problems).toEqual([]);
    expect(h.counts).toMatchObject({ add: 6, delete: 1 });
    expect(storeState(inf)).toEqual(await serverState(c2, 'restart'));
    await c2.create(Resources.configmaps, 'restart', cm('r-after'));
    await until('a live add after the restart', () => inf.store.has('restart/r-after'));
    await inf.stop();
  });

  it('resyncs periodically with onUpdate(obj, obj)', async () => {
    const c = env.client();
    const inf = new Informer(c, Resources.namespaces, { resyncPeriodMs: 50, logger: silentLogger });
    let same = 0;
    inf.addEventHandler({ onUpdate: (o, n) => void (o === n && same++) });
    inf.start();
    await inf.waitForSync();
    await until('two resyncs', () => same >= 2 * inf.store.size, 5_000);
    await inf.stop();
  });

  it('with stripManagedFields keeps no managedFields; an update from its copy keeps the stored ones', async () => {
    const c = env.client();
    await c.create(Resources.configmaps, 'inf', cm('trimmed', { a: '1' }), { fieldManager: 'first' });
    const inf = new Informer(c, Resources.configmaps, { namespace: 'inf', stripManagedFields: true, logger: silentLogger });
    let updated: KubeObject | undefined;
    inf.addEventHandler({ onUpdate: (_o, n) => void (n.metadata?.name === 'trimmed' && (updated = n)) });
    inf.start();
    try {
      await inf.waitForSync();
      const listed = inf.store.getByKey('inf/trimmed')!;
      expect(listed.metadata?.managedFields).toBeUndefined();
      const after = await c.update(Resources.configmaps, 'inf', { ...listed, data: { a: '2' } }, { fieldManager: 'second' });
      expect((after.metadata?.managedFields as Array<{ manager: string }> | undefined)?.map((m) => m.manager)).toEqual(['first', 'second']);
      await until('the update event', () => updated !== undefined);
      expect(updated!.data).toEqual({ a: '2' });
      expect(updated!.metadata?.managedFields).toBeUndefined();
    } finally {
      await inf.stop();
    }
  });

  it('waitForSync rejects when the informer stops first, and after a timeout', async () => {
    const c = new GatedClient(inProcessTransport(env.server, ADMIN));
    c.close(); // every request fails: the informer never syncs
    const inf = new Informer(c, Resources.configmaps, { backoff: { initialMs: 10, maxMs: 50 }, logger: silentLogger });
    inf.start();
    await expect(inf.waitForSync(100)).rejects.toThrow(/did not sync within 100 ms/);
    const p = inf.waitForSync(10_000);
    await inf.stop();
    await expect(p).rejects.toThrow(/stopped before it synced/);
    expect(inf.stats.failures).toBeGreaterThan(0);
  });
});

describe('SharedInformerFactory', () => {
  it('shares one informer per resource, namespace and selectors', async () => {
    const f = new SharedInformerFactory(env.client(), { logger: silentLogger });
    const a = f.informerFor(Resources.configmaps, { namespace: 'inf' });
    const b = f.informerFor(Resources.configmaps, { namespace: 'inf' }, { byKey: (o) => [String(o.metadata?.name)] });
    const other = f.informerFor(Resources.configmaps, { namespace: 'inf', labelSelector: 'x=y' });
    expect(b).toBe(a);
    expect(other).not.toBe(a);
    expect(a.store.hasIndex('byKey')).toBe(true);
    f.start();
    await f.waitForSync(10_000);
    expect(f.hasSynced()).toBe(true);
    const late = f.informerFor(Resources.namespaces);
    await late.waitForSync(10_000);
    expect(late.store.get(undefined, 'default')).toBeDefined();
    await f.stop();
  });

  it('factories on one InformerPool share one list and watch, each with its own handlers, indexes and lifetime', async () => {
    const c = new GatedClient(inProcessTransport(env.server, ADMIN));
    const pool = new InformerPool(c, { logger: silentLogger });
    const seen = { a: [] as string[], b: [] as string[], late: [] as string[] };
    const record = (who: keyof typeof seen): EventHandlers => ({
      onAdd: (o) => seen[who].push(`add ${o.metadata?.name}`),
      onUpdate: (_o, n) => seen[who].push(`update ${n.metadata?.name} ${String((n as KubeObject & { data?: { v?: string } }).data?.v)}`),
      onDelete: (x) => seen[who].push(`delete ${deletedObject(x).metadata?.name}`),
    });
    const fa = new SharedInformerFactory(c, { logger: silentLogger }, pool);
    const fb = new SharedInformerFactory(c, { logger: silentLogger }, pool);
    const a = fa.informerFor(Resources.configmaps, { namespace: 'pool' });
    const b = fb.informerFor(Resources.configmaps, { namespace: 'pool' }, { byV: (o) => [String((o as KubeObject & { data?: { v?: string } }).data?.v)] });
    a.addEventHandler(record('a'));
    b.addEventHandler(record('b'));
    await c.create(Resources.namespaces, undefined, { metadata: { name: 'pool' } });
    await c.create(Resources.configmaps, 'pool', cm('one', { v: '1' }));
    fa.start();
    fb.start();
    await fa.waitForSync(10_000);
    await fb.waitForSync(10_000);
    expect(pool.size).toBe(1);
    expect(c.lists).toBe(1);
    expect(c.watches).toBe(1);
    const one = await c.get(Resources.configmaps, 'pool', 'one');
    await c.update(Resources.configmaps, 'pool', { ...one, data: { v: '2' } });
    await until('both see the update', () => seen.a.length === 2 && seen.b.length === 2);
    expect(a.store.getByKey('pool/one')).toBe(b.store.getByKey('pool/one'));
    expect(b.store.byIndex('byV', '2').map(keyOf)).toEqual(['pool/one']);
    expect(a.store.hasIndex('byV')).toBe(false);
    // One factory stops (its leader election lost): the other goes on, on the same watch.
    await fa.stop();
    await c.create(Resources.configmaps, 'pool', cm('two', { v: '1' }));
    await until('b sees two', () => seen.b.includes('add two'));
    expect(seen.a).toEqual(['add one', 'update one 2']);
    // A factory started later gets the current objects first.
    const fl = new SharedInformerFactory(c, { logger: silentLogger }, pool);
    fl.informerFor(Resources.configmaps, { namespace: 'pool' }).addEventHandler(record('late'));
    fl.start();
    await fl.waitForSync(10_000);
    expect(seen.late.sort()).toEqual(['add one', 'add two']);
    await c.delete(Resources.configmaps, 'pool', 'one');
    await until('deletes', () => seen.b.includes('delete one') && seen.late.includes('delete one'));
    expect(c.watches).toBe(1);
    await fb.stop();
    await fl.stop();
    expect(pool.size).toBe(0);
  });
});

describe('Indexer', () => {
  it('indexes, re-indexes on update, and unindexes on delete', () => {
    const s = new Indexer({ label: (o) => Object.values(o.metadata?.labels ?? {}) });
    s.set({ metadata: { namespace: 'a', name: 'x', labels: { k: 'v1' } } });
    s.set({ metadata: { namespace: 'b', name: 'x', labels: { k: 'v1' } } });
    expect(s.byIndex('label', 'v1')).toHaveLength(2);
    s.set({ metadata: { namespace: 'a', name: 'x', labels: { k: 'v2' } } });
    expect(s.byIndex('label', 'v1').map(keyOf)).toEqual(['b/x']);
    expect(s.byIndex('label', 'v2').map(keyOf)).toEqual(['a/x']);
    expect(s.byIndex('namespace', 'a')).toHaveLength(1);
    s.delete('b/x');
    expect(s.byIndex('label', 'v1')).toEqual([]);
    expect(s.indexValues('label')).toEqual(['v2']);
    s.addIndexers({ name: (o) => [o.metadata!.name!] });
    expect(s.byIndex('name', 'x')).toHaveLength(1);
    expect(() => s.byIndex('nope', '')).toThrow();
    expect(s.get(undefined, 'x')).toBeUndefined();
    expect(s.get('a', 'x')).toBeDefined();
  });
});
