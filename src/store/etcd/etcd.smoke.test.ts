// Smoke test of EtcdStore against a real etcd (skipped when etcd is not installed).
// The behavioural suite shared by both backends lives elsewhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompactedError, FutureRevisionError, InvalidRequestError, LeaseNotFoundError, MAX_VALUE_BYTES, UnavailableError } from '../errors.ts';
import { etcdAvailable, startEtcd, type EtcdServer } from '../testing/etcd-server.ts';
import { prefixEnd, type WatchEvent } from '../types.ts';
import { EtcdStore } from './index.ts';

const enc = (s: string) => Buffer.from(s, 'utf8');
const dec = (b: Uint8Array) => Buffer.from(b).toString('utf8');

async function until(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!etcdAvailable())('EtcdStore (real etcd)', () => {
  let server: EtcdServer;
  let store: EtcdStore;

  beforeAll(async () => {
    server = await startEtcd({ progressNotifyIntervalMs: 100 });
    store = await EtcdStore.connect({ endpoints: [server.endpoint] });
  });

  afterAll(async () => {
    await store?.close();
    await server?.cleanup();
  });

  it('puts, gets and ranges', async () => {
    const r1 = await store.put('/a/1', enc('one'));
    const r2 = await store.put('/a/2', enc('two'));
    const r3 = await store.put('/a/1', enc('uno'), { prevKv: true });
    expect(r2.header.revision).toBe(r1.header.revision + 1);
    expect(dec(r3.prevKv!.value)).toBe('one');

    const got = await store.range('/a/1');
    expect(got.kvs).toHaveLength(1);
    expect(got.kvs[0]).toMatchObject({ key: '/a/1', createRevision: r1.header.revision, modRevision: r3.header.revision, version: 2, lease: 0 });
    expect(dec(got.kvs[0]!.value)).toBe('uno');

    const page = await store.range('/a/', { end: prefixEnd('/a/'), limit: 1 });
    expect(page).toMatchObject({ count: 2, more: true });
    expect(page.kvs.map((kv) => kv.key)).toEqual(['/a/1']);
    expect((await store.range('/a/', { end: prefixEnd('/a/'), countOnly: true })).count).toBe(2);
    expect(await store.revision()).toBe(r3.header.revision);

    const old = await store.range('/a/1', { revision: r1.header.revision });
    expect(dec(old.kvs[0]!.value)).toBe('one');
    await expect(store.range('/a/1', { revision: 1_000_000 })).rejects.toBeInstanceOf(FutureRevisionError);

    const del = await store.delete('/a/', { end: prefixEnd('/a/'), prevKv: true });
    expect(del.deleted).toBe(2);
    expect(del.prevKvs.map((kv) => kv.key)).toEqual(['/a/1', '/a/2']);
  });

  it('runs transactions', async () => {
    const { header } = await store.put('/t/x', enc('1'));
    const ok = await store.txn({
      compare: [{ key: '/t/x', target: 'modRevision', result: '=', value: header.revision }],
      success: [
        { type: 'put', key: '/t/x', value: enc('2'), prevKv: true },
        { type: 'range', key: '/t/', end: prefixEnd('/t/') },
        { type: 'delete', key: '/t/y' },
      ],
      failure: [{ type: 'range', key: '/t/x' }],
    });
    expect(ok.succeeded).toBe(true);
    expect(ok.header.revision).toBe(header.revision + 1);
    expect(ok.responses[0]).toMatchObject({ type: 'put', prevKv: { key: '/t/x', version: 1 } });
    expect(ok.responses[1]).toMatchObject({ type: 'range', count: 1 });
    expect(ok.responses[2]).toEqual({ type: 'delete', deleted: 0, prevKvs: [] });

    const no = await store.txn({
      compare: [{ key: '/t/x', target: 'value', result: '=', value: enc('1') }],
      success: [{ type: 'put', key: '/t/x', value: enc('3') }],
      failure: [{ type: 'range', key: '/t/x' }],
    });
    expect(no.succeeded).toBe(false);
    expect(no.header.revision).toBe(ok.header.revision);
    const [r] = no.responses;
    expect(r?.type === 'range' && dec(r.kvs[0]!.value)).toBe('2');
  });

  it('enforces request limits', async () => {
    await store.put('/big/ok', new Uint8Array(MAX_VALUE_BYTES));
    expect((await store.range('/big/ok')).kvs[0]!.value.byteLength).toBe(MAX_VALUE_BYTES);
    await expect(store.put('/big/no', new Uint8Array(MAX_VALUE_BYTES + 1))).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(store.put('', enc('x'))).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it('watches with prevKv, progress and cancel', async () => {
    const start = (await store.put('/w/a', enc('0'))).header.revision;
    const batches: { events: WatchEvent[]; revision: number }[] = [];
    const progress: number[] = [];
    const w = await store.watch('/w/', { end: prefixEnd('/w/'), fromRevision: start, prevKv: true, progressNotify: true }, {
      onEvents: (events, revision) => batches.push({ events, revision }),
      onProgress: (revision) => progress.push(revision),
    });
    await store.put('/w/a', enc('1'));
    await store.delete('/w/a');
    const events = () => batches.flatMap((b) => b.events);
    await until(() => events().length === 3);
    expect(events().map((e) => [e.type, e.kv.modRevision])).toEqual([['put', start], ['put', start + 1], ['delete', start + 2]]);
    expect(dec(events()[1]!.prevKv!.value)).toBe('0');
    expect(dec(events()[2]!.prevKv!.value)).toBe('1');
    await until(() => progress.some((r) => r >= start + 2));

    w.cancel();
    const seen = batches.length + progress.length;
    await store.put('/w/a', enc('after cancel'));
    await new Promise((r) => setTimeout(r, 300));
    expect(batches.length + progress.length).toBe(seen);
  });

  it('compacts', async () => {
    await store.put('/c/k', enc('1'));
    const rev = (await store.put('/c/k', enc('2'))).header.revision;
    await store.compact(rev - 1);
    expect(await store.compactRevision()).toBe(rev - 1);
    const err = await store.range('/c/k', { revision: rev - 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompactedError);
    expect((err as CompactedError).compactRevision).toBe(rev - 1);
    await expect(store.watch('/c/k', { fromRevision: rev - 2 }, { onEvents() {} })).rejects.toBeInstanceOf(CompactedError);
    await expect(store.compact(rev - 1)).rejects.toBeInstanceOf(CompactedError);

    // A second client learns the compact revision from etcd alone.
    const other = await EtcdStore.connect({ endpoints: [server.endpoint] });
    try {
      expect(await other.compactRevision()).toBe(rev - 1);
    } finally {
      await other.close();
    }
  });

  it('grants, renews and revokes leases', async () => {
    const lease = await store.leaseGrant(10);
    expect(lease.id).toBeGreaterThan(0);
    expect(Number.isSafeInteger(lease.id)).toBe(true);
    expect(lease.ttl).toBe(10);
    await store.put('/l/k', enc('v'), { lease: lease.id });
    expect((await store.range('/l/k')).kvs[0]!.lease).toBe(lease.id);
    expect(await store.leaseKeepAlive(lease.id)).toEqual({ id: lease.id, ttl: 10 });
    await store.leaseRevoke(lease.id);
    expect((await store.range('/l/k')).count).toBe(0);
    await expect(store.leaseKeepAlive(lease.id)).rejects.toBeInstanceOf(LeaseNotFoundError);
    await expect(store.leaseRevoke(lease.id)).rejects.toBeInstanceOf(LeaseNotFoundError);
    await expect(store.put('/l/k', enc('v'), { lease: lease.id })).rejects.toBeInstanceOf(LeaseNotFoundError);
  });

  it('reports a lost etcd and recovers after a restart', async () => {
    const errors: Error[] = [];
    await store.watch('/r/k', {}, { onEvents() {}, onError: (e) => errors.push(e) });
    await server.kill();
    await until(() => errors.length === 1);
    expect(errors[0]).toBeInstanceOf(UnavailableError);
    await expect(store.range('/r/k')).rejects.toBeInstanceOf(UnavailableError);

    await server.restart();
    let rev = 0;
    for (let i = 0; i < 100 && rev === 0; i++) {
      rev = await store.revision().catch(() => new Promise<number>((r) => setTimeout(() => r(0), 50)));
    }
    expect(rev).toBeGreaterThan(0);
    const got: string[] = [];
    await store.watch('/r/k', {}, { onEvents: (evs) => got.push(...evs.map((e) => dec(e.kv.value))) });
    await store.put('/r/k', enc('back'));
    await until(() => got.length === 1);
    expect(got).toEqual(['back']);
  });

  it('rejects everything once closed', async () => {
    const s = await EtcdStore.connect({ endpoints: [server.endpoint] });
    const errors: Error[] = [];
    await s.watch('/z', {}, { onEvents() {}, onError: (e) => errors.push(e) });
    const pending = s.range('/z');
    await s.close();
    await expect(pending).rejects.toBeInstanceOf(UnavailableError);
    await expect(s.put('/z', enc('x'))).rejects.toBeInstanceOf(UnavailableError);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(UnavailableError);
  });
});
