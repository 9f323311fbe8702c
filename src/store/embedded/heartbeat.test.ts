// Heartbeats (txns that say `coalesce`, e.g. node Lease renewals) may wait for company before
// their durable write: alone they go after the hold, any other write takes them along at once,
// and either way they are answered, seen and kept only once durable.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { WatchEvent } from '../types.ts';
import { sleep } from '../testing/suite/helpers.ts';
import { EmbeddedStore } from './index.ts';

/** `p`, or a rejection after `ms` saying what did not happen. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('EmbeddedStore heartbeats', () => {
  const dirs: string[] = [];
  const stores: EmbeddedStore[] = [];
  const open = async (dir: string, heartbeatHoldMs: number): Promise<EmbeddedStore> => {
    const s = await EmbeddedStore.open(dir, { heartbeatHoldMs });
    stores.push(s);
    return s;
  };
  const newDir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'k8ts-heartbeat-test-'));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  const beat = (s: EmbeddedStore, key: string, value: string) => s.txn({ success: [{ type: 'put', key, value: Buffer.from(value) }], coalesce: true });

  it('a heartbeat waits unseen for company, and the next other write takes it along at once', async () => {
    const store = await open(await newDir(), 60_000);
    const r0 = await store.revision();
    const events: WatchEvent[] = [];
    const w = await store.watch('/', { end: '\0', fromRevision: r0 + 1 }, { onEvents: (evs) => events.push(...evs) });
    const batches = store.stats().batches;
    let answered = false;
    const hb = beat(store, '/leases/n1', 'renewed').then((r) => ((answered = true), r));
    await sleep(200);
    // Held: not answered, not readable, not watched, not written.
    expect(answered).toBe(false);
    expect(await store.revision()).toBe(r0);
    expect((await store.range('/leases/n1')).kvs).toEqual([]);
    expect(events).toEqual([]);
    expect(store.stats().batches).toBe(batches);

    const other = await within(store.put('/pods/p1', Buffer.from('created')), 5000, 'the other write was not answered');
    const r = await within(hb, 5000, 'the heartbeat was not answered with the other write');
    expect(r.header.revision).toBe(r0 + 1);
    expect(other.header.revision).toBe(r0 + 2);
    expect(store.stats().batches).toBe(batches + 1);
    expect(Buffer.from((await store.range('/leases/n1')).kvs[0].value).toString()).toBe('renewed');
    for (let i = 0; i < 100 && events.length < 2; i++) await sleep(10);
    expect(events.map((e) => [e.kv.key, e.kv.modRevision])).toEqual([
      ['/leases/n1', r0 + 1],
      ['/pods/p1', r0 + 2],
    ]);
    w.cancel();
  });

  it('heartbeats alone share one durable write after the hold, and survive a reopen', async () => {
    const dir = await newDir();
    const store = await open(dir, 1000);
    const batches = store.stats().batches;
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < 5; i++) {
      pending.push(beat(store, `/leases/n${i}`, `beat-${i}`));
      await sleep(20);
    }
    const results = await within(Promise.all(pending), 10_000, 'the held heartbeats were not written');
    expect(results).toHaveLength(5);
    expect(store.stats().batches).toBe(batches + 1);
    await store.close();
    const again = await open(dir, 1000);
    const kvs = (await again.range('/leases/', { end: '/leases0' })).kvs;
    expect(kvs.map((kv) => Buffer.from(kv.value).toString())).toEqual(['beat-0', 'beat-1', 'beat-2', 'beat-3', 'beat-4']);
  });

  it('with a hold of 0 every heartbeat goes to disk on its own, as any other write', async () => {
    const store = await open(await newDir(), 0);
    const batches = store.stats().batches;
    for (let i = 0; i < 5; i++) {
      await within(beat(store, `/leases/n${i}`, 'x'), 5000, 'a heartbeat was not answered');
      await sleep(20);
    }
    expect(store.stats().batches).toBe(batches + 5);
  });
});
