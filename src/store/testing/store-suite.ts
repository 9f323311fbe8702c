// One behavioural test suite for the storage interface (etcd v3 semantics), run against every
// backend. A backend's test file calls describeStoreBehaviour() with a harness factory.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CompactedError, FutureRevisionError, InvalidRequestError, LeaseNotFoundError, MAX_KEY_BYTES, MAX_VALUE_BYTES, UnavailableError } from '../errors.ts';
import { prefixEnd, type Compare, type CompareResult, type KeyValue, type Store, type WatchEvent, type WatchHandler, type WatchOptions, type Watcher } from '../types.ts';

/**
 * How the suite reaches a backend. The factory passed to describeStoreBehaviour() is called once
 * per test; the harness it returns must start with an empty keyspace (no keys; the revision and
 * the compact revision may be anything, e.g. left over from earlier tests on a shared server).
 */
export interface StoreHarness {
  /** A fresh client/handle on the same data. The suite closes the previous one first. */
  open(): Promise<Store>;
  /** Called between close() and open(): etcd restarts its server process; embedded does nothing. */
  restart(): Promise<void>;
  /** Called after every store of the test is closed: release everything the harness holds. */
  cleanup(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Helpers

const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const dec = (v: Uint8Array): string => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');

interface PlainKv {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

function plain(kv: KeyValue): PlainKv {
  return { key: kv.key, value: dec(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease };
}

interface PlainEvent {
  type: 'put' | 'delete';
  key: string;
  value: string;
  modRevision: number;
  createRevision: number;
  version: number;
}

function plainEvent(ev: WatchEvent): PlainEvent {
  return { type: ev.type, key: ev.kv.key, value: dec(ev.kv.value), modRevision: ev.kv.modRevision, createRevision: ev.kv.createRevision, version: ev.kv.version };
}

/** Deterministic PRNG (mulberry32) so that a failing history can be reproduced. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something other than undefined/false, or fails after `timeoutMs`. */
async function poll<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Awaits a promise that must reject with an error of class `cls`; returns the error. */
async function rejection<T extends Error>(p: Promise<unknown>, cls: abstract new (...args: never[]) => T): Promise<T> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`expected a rejection with ${cls.name}, but the call succeeded`);
  expect(err, `expected ${cls.name}, got ${String(err)}`).toBeInstanceOf(cls);
  return err as T;
}

/** Collects what a watch delivers. */
class Collector implements WatchHandler {
  readonly deliveries: Array<{ events: WatchEvent[]; revision: number }> = [];
  readonly events: WatchEvent[] = [];
  readonly progress: number[] = [];
  readonly errors: Error[] = [];
  /** Events (by revision) and progress notifications in the order they were delivered. */
  readonly timeline: Array<{ kind: 'event' | 'progress'; revision: number }> = [];

  onEvents(events: WatchEvent[], revision: number): void {
    this.deliveries.push({ events, revision });
    for (const ev of events) {
      this.events.push(ev);
      this.timeline.push({ kind: 'event', revision: ev.kv.modRevision });
    }
  }

  onProgress(revision: number): void {
    this.progress.push(revision);
    this.timeline.push({ kind: 'progress', revision });
  }

  /** A progress notification at r promises that every event up to r was delivered before it. */
  checkProgressConsistent(): void {
    let lastEvent = 0;
    let lastProgress = 0;
    for (const t of this.timeline) {
      if (t.kind === 'event') {
        expect(t.revision, `event at ${t.revision} after progress at ${lastProgress}`).toBeGreaterThan(lastProgress);
        lastEvent = t.revision;
      } else {
        expect(t.revision, `progress at ${t.revision} after event at ${lastEvent}`).toBeGreaterThanOrEqual(lastEvent);
        expect(t.revision, 'progress never goes backwards').toBeGreaterThanOrEqual(lastProgress);
        lastProgress = t.revision;
      }
    }
  }

  onError(err: Error): void {
    this.errors.push(err);
  }

  get lastEventRevision(): number {
    return this.events.length > 0 ? this.events[this.events.length - 1].kv.modRevision : 0;
  }

  /** Waits until an event at revision `rev` or later has been delivered. */
  async waitForRevision(rev: number, timeoutMs = 5000): Promise<void> {
    await poll(`a watch event at revision ${rev} (last seen ${this.lastEventRevision}, errors: ${this.errors.map(String).join('; ') || 'none'})`, () => this.lastEventRevision >= rev, timeoutMs);
  }

  async waitForCount(n: number, timeoutMs = 5000): Promise<void> {
    await poll(`${n} watch events (have ${this.events.length}, errors: ${this.errors.map(String).join('; ') || 'none'})`, () => this.events.length >= n, timeoutMs);
  }

  /** Events are in revision order, and no revision is split over or repeated in two deliveries. */
  checkOrdered(): void {
    let last = 0;
    for (const d of this.deliveries) {
      expect(d.events.length, 'a delivery carries at least one event').toBeGreaterThan(0);
      const first = d.events[0].kv.modRevision;
      expect(first, `delivery starting at revision ${first} follows one ending at ${last}`).toBeGreaterThan(last);
      for (let i = 1; i < d.events.length; i++) expect(d.events[i].kv.modRevision).toBeGreaterThanOrEqual(d.events[i - 1].kv.modRevision);
      last = d.events[d.events.length - 1].kv.modRevision;
      expect(d.revision, 'a delivery header revision is at least its last event revision').toBeGreaterThanOrEqual(last);
    }
  }
}

// ---------------------------------------------------------------------------------------------

let suiteCounter = 0;

export function describeStoreBehaviour(name: string, harness: () => Promise<StoreHarness>): void {
  describe(`store behaviour: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;
    let opened: Store[] = [];
    let watchers: Watcher[] = [];
    let P = '';

    /** A key of this test (every test has its own prefix). */
    const k = (s: string): string => P + s;
    const allOfP = (): { end: string } => ({ end: prefixEnd(P) });

    async function open(): Promise<Store> {
      const s = await h.open();
      opened.push(s);
      return s;
    }

    /** close → harness.restart() → open: a new handle on the same data. */
    async function reopen(): Promise<void> {
      for (const w of watchers) w.cancel();
      watchers = [];
      await store.close();
      await h.restart();
      store = await open();
    }

    async function watch(key: string, opts: WatchOptions, handler: WatchHandler = new Collector()): Promise<Watcher> {
      const w = await store.watch(key, opts, handler);
      watchers.push(w);
      return w;
    }

    async function watchCollect(key: string, opts: WatchOptions): Promise<{ c: Collector; w: Watcher }> {
      const c = new Collector();
      const w = await watch(key, opts, c);
      return { c, w };
    }

    async function rangeP(revision?: number): Promise<PlainKv[]> {
      const r = await store.range(P, { ...allOfP(), revision });
      return r.kvs.map(plain);
    }

    beforeEach(async () => {
      suiteCounter++;
      P = `/suite/${suiteCounter}-${Math.random().toString(36).slice(2, 8)}/`;
      opened = [];
      watchers = [];
      h = await harness();
      store = await open();
    });

    afterEach(async () => {
      for (const w of watchers) {
        try {
          w.cancel();
        } catch {
          // already gone
        }
      }
      for (const s of opened) await s.close().catch(() => undefined);
      await h.cleanup();
    });

    // -------------------------------------------------------------------------------------------
    describe('put and get', () => {
      it('put then range returns the value with createRevision, modRevision, version and lease', async () => {
        const r0 = await store.revision();
        const p1 = await store.put(k('a'), enc('v1'));
        expect(p1.header.revision).toBe(r0 + 1);
        let r = await store.range(k('a'));
        expect(r.header.revision).toBe(r0 + 1);
        expect(r.count).toBe(1);
        expect(r.more).toBe(false);
        expect(r.kvs.map(plain)).toEqual([{ key: k('a'), value: 'v1', createRevision: r0 + 1, modRevision: r0 + 1, version: 1, lease: 0 }]);

        await store.put(k('a'), enc('v2'));
        r = await store.range(k('a'));
        expect(r.kvs.map(plain)).toEqual([{ key: k('a'), value: 'v2', createRevision: r0 + 1, modRevision: r0 + 2, version: 2, lease: 0 }]);

        const d = await store.delete(k('a'));
        expect(d.deleted).toBe(1);
        expect(d.header.revision).toBe(r0 + 3);
        r = await store.range(k('a'));
        expect(r.kvs).toEqual([]);
        expect(r.count).toBe(0);

        // Re-created after a deletion: a new life with a new createRevision and version 1.
        await store.put(k('a'), enc('v3'));
        r = await store.range(k('a'));
        expect(r.kvs.map(plain)).toEqual([{ key: k('a'), value: 'v3', createRevision: r0 + 4, modRevision: r0 + 4, version: 1, lease: 0 }]);

        expect((await store.range(k('missing'))).kvs).toEqual([]);
      });

      it('values are bytes: binary and empty values round-trip', async () => {
        const bin = Buffer.from([0, 1, 2, 255, 254, 0, 128]);
        await store.put(k('bin'), bin);
        await store.put(k('empty'), Buffer.alloc(0));
        const r = await store.range(P, allOfP());
        expect(r.kvs.map((kv) => [kv.key, Buffer.from(kv.value).toString('hex')])).toEqual([
          [k('bin'), bin.toString('hex')],
          [k('empty'), ''],
        ]);
        expect(r.kvs[1].version).toBe(1);
      });

      it('a read right after an acknowledged write sees it, and revision() reports it', async () => {
        // Read-your-writes: the store's revision and reads reflect every acknowledged write.
        for (let i = 0; i < 20; i++) {
          const p = await store.put(k('ryw'), enc(`v${i}`));
          expect(await store.revision()).toBe(p.header.revision);
          const r = await store.range(k('ryw'));
          expect(r.kvs.map(plain)[0]?.value).toBe(`v${i}`);
          expect(r.kvs[0]?.modRevision).toBe(p.header.revision);
        }
      });

      it('every successful write creates exactly one new revision', async () => {
        const lease = await store.leaseGrant(30);
        let rev = await store.revision();
        const step = async (what: string, run: () => Promise<{ header: { revision: number } }>, touched: string[]): Promise<void> => {
          const res = await run();
          expect(res.header.revision, `${what}: header revision`).toBe(rev + 1);
          expect(await store.revision(), `${what}: revision()`).toBe(rev + 1);
          rev++;
          for (const key of touched) {
            const r = await store.range(key, { revision: rev });
            // A deleted key has no kv: check its deletion via the previous revision instead.
            if (r.kvs.length > 0) expect(r.kvs[0].modRevision, `${what}: modRevision of ${key}`).toBe(rev);
            else expect((await store.range(key, { revision: rev - 1 })).count, `${what}: ${key} existed before`).toBe(1);
          }
        };
        await step('put (create)', () => store.put(k('a'), enc('1')), [k('a')]);
        await step('put (update)', () => store.put(k('a'), enc('2')), [k('a')]);
        await step('put (same value again)', () => store.put(k('a'), enc('2')), [k('a')]);
        await step('put (other key)', () => store.put(k('b'), enc('1')), [k('b')]);
        await step('put (third key)', () => store.put(k('c'), enc('1')), [k('c')]);
        await step('delete one key', () => store.delete(k('c')), [k('c')]);
        await step('delete-range of two keys', () => store.delete(k('a'), { end: k('c') }), [k('a'), k('b')]);
        await step(
          'txn of three puts and a delete',
          () => store.txn({ success: [
            { type: 'put', key: k('x'), value: enc('1') },
            { type: 'put', key: k('y'), value: enc('1') },
            { type: 'put', key: k('z'), value: enc('1'), lease: lease.id },
          ] }),
          [k('x'), k('y'), k('z')],
        );
        await step('txn of a put and a delete', () => store.txn({ success: [{ type: 'put', key: k('w'), value: enc('1') }, { type: 'delete', key: k('x') }] }), [k('w'), k('x')]);
        await step('failed compare taking a failure branch that writes', () => store.txn({
          compare: [{ key: k('y'), target: 'version', result: '=', value: 99 }],
          success: [{ type: 'put', key: k('never'), value: enc('1') }],
          failure: [{ type: 'put', key: k('y'), value: enc('2') }],
        }), [k('y')]);
        // Revoking a lease deletes its keys in one revision.
        await store.put(k('z2'), enc('1'), { lease: lease.id });
        rev++;
        await step('lease revoke deleting two keys', async () => {
          await store.leaseRevoke(lease.id);
          return { header: { revision: await store.revision() } };
        }, [k('z'), k('z2')]);
        expect((await store.range(k('never'))).count).toBe(0);
      });

      it('a txn with several puts creates one revision shared by all its keys', async () => {
        const r0 = await store.revision();
        const t = await store.txn({ success: ['a', 'b', 'c', 'd'].map((s) => ({ type: 'put' as const, key: k(s), value: enc(s) })) });
        expect(t.succeeded).toBe(true);
        expect(t.header.revision).toBe(r0 + 1);
        expect(t.responses.map((r) => r.type)).toEqual(['put', 'put', 'put', 'put']);
        const kvs = await rangeP();
        expect(kvs.map((kv) => kv.key)).toEqual([k('a'), k('b'), k('c'), k('d')]);
        for (const kv of kvs) expect(kv).toMatchObject({ createRevision: r0 + 1, modRevision: r0 + 1, version: 1 });
        // The revision before the txn sees none of them: the txn is atomic.
        expect((await store.range(P, { ...allOfP(), revision: r0 })).count).toBe(0);
      });

      it('read-only txns, empty txns, lease grants and deletes of missing keys do not bump the revision', async () => {
        await store.put(k('a'), enc('1'));
        const rev = await store.revision();
        const ro = await store.txn({ success: [{ type: 'range', key: k('a') }] });
        expect(ro.header.revision).toBe(rev);
        expect(ro.succeeded).toBe(true);
        const empty = await store.txn({ compare: [{ key: k('a'), target: 'version', result: '=', value: 5 }] });
        expect(empty.succeeded).toBe(false);
        expect(empty.header.revision).toBe(rev);
        const emptyOk = await store.txn({});
        expect(emptyOk.succeeded).toBe(true);
        expect(emptyOk.header.revision).toBe(rev);
        const d = await store.delete(k('missing'));
        expect(d.deleted).toBe(0);
        expect(d.prevKvs).toEqual([]);
        expect(d.header.revision).toBe(rev);
        const dr = await store.delete(k('nothing/'), { end: prefixEnd(k('nothing/')), prevKv: true });
        expect(dr.deleted).toBe(0);
        expect(dr.header.revision).toBe(rev);
        const txnDel = await store.txn({ success: [{ type: 'delete', key: k('missing') }] });
        expect(txnDel.header.revision).toBe(rev);
        const lease = await store.leaseGrant(30);
        await store.leaseKeepAlive(lease.id);
        await store.leaseRevoke(lease.id); // no keys attached: nothing to delete
        await store.range(P, allOfP());
        expect(await store.revision()).toBe(rev);
        // The next write takes the very next revision.
        expect((await store.put(k('b'), enc('1'))).header.revision).toBe(rev + 1);
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('compare-and-swap', () => {
      it('of N concurrent txns comparing the same modRevision exactly one wins, round after round', async () => {
        const N = 20;
        await store.put(k('cas'), enc('init'));
        for (let round = 0; round < 5; round++) {
          const before = (await store.range(k('cas'))).kvs[0];
          const results = await Promise.all(Array.from({ length: N }, (_, i) => store.txn({
            compare: [{ key: k('cas'), target: 'modRevision', result: '=', value: before.modRevision }],
            success: [{ type: 'put', key: k('cas'), value: enc(`r${round}w${i}`) }],
            failure: [{ type: 'range', key: k('cas') }],
          })));
          const winners = results.map((r, i) => (r.succeeded ? i : -1)).filter((i) => i >= 0);
          expect(winners, `round ${round}: winners`).toHaveLength(1);
          const after = (await store.range(k('cas'))).kvs[0];
          expect(dec(after.value)).toBe(`r${round}w${winners[0]}`);
          expect(after.version).toBe(before.version + 1);
          expect(after.modRevision).toBe(results[winners[0]].header.revision);
          for (const r of results) {
            if (r.succeeded) continue;
            const seen = r.responses[0];
            expect(seen.type).toBe('range');
            if (seen.type === 'range') expect(seen.kvs[0].modRevision, 'a loser sees the winner’s write').toBeGreaterThan(before.modRevision);
          }
        }
      });

      it('of N concurrent txns comparing the same version exactly one wins', async () => {
        const N = 20;
        await store.put(k('v'), enc('0'));
        for (let round = 0; round < 3; round++) {
          const version = (await store.range(k('v'))).kvs[0].version;
          const results = await Promise.all(Array.from({ length: N }, (_, i) => store.txn({
            compare: [{ key: k('v'), target: 'version', result: '=', value: version }],
            success: [{ type: 'put', key: k('v'), value: enc(String(i)) }],
          })));
          expect(results.filter((r) => r.succeeded), `round ${round}`).toHaveLength(1);
          expect((await store.range(k('v'))).kvs[0].version).toBe(version + 1);
        }
      });

      it('of N concurrent txns comparing the same value exactly one wins', async () => {
        const N = 20;
        await store.put(k('val'), enc('gen0'));
        for (let round = 0; round < 3; round++) {
          const results = await Promise.all(Array.from({ length: N }, (_, i) => store.txn({
            compare: [{ key: k('val'), target: 'value', result: '=', value: enc(`gen${round}`) }],
            success: [{ type: 'put', key: k('val'), value: enc(`gen${round + 1}`) }, { type: 'put', key: k(`winner${round}`), value: enc(String(i)) }],
          })));
          const winners = results.map((r, i) => (r.succeeded ? i : -1)).filter((i) => i >= 0);
          expect(winners, `round ${round}`).toHaveLength(1);
          expect(dec((await store.range(k(`winner${round}`))).kvs[0].value)).toBe(String(winners[0]));
          expect((await store.range(k('val'))).kvs[0].version).toBe(round + 2);
        }
      });

      it('of N concurrent create-if-absent txns (createRevision = 0) exactly one creates the key', async () => {
        const N = 20;
        for (let round = 0; round < 3; round++) {
          const key = k(`lock${round}`);
          const results = await Promise.all(Array.from({ length: N }, (_, i) => store.txn({
            compare: [{ key, target: 'createRevision', result: '=', value: 0 }],
            success: [{ type: 'put', key, value: enc(`owner${i}`) }],
          })));
          const winners = results.map((r, i) => (r.succeeded ? i : -1)).filter((i) => i >= 0);
          expect(winners, `round ${round}`).toHaveLength(1);
          const kv = (await store.range(key)).kvs[0];
          expect(dec(kv.value)).toBe(`owner${winners[0]}`);
          expect(kv.version).toBe(1);
        }
      });

      it('a counter incremented by CAS-retry loops from 8 concurrent workers ends at exactly the number of increments', async () => {
        const WORKERS = 8;
        const PER_WORKER = 20;
        const key = k('counter');
        const start = await store.put(key, enc('0'));
        const committed: number[] = [];
        const deadline = Date.now() + 40_000;
        const worker = async (): Promise<void> => {
          let cur = (await store.range(key)).kvs[0];
          for (let done = 0; done < PER_WORKER;) {
            if (Date.now() > deadline) throw new Error('CAS workers did not finish in time');
            const n = Number(dec(cur.value));
            const t = await store.txn({
              compare: [{ key, target: 'modRevision', result: '=', value: cur.modRevision }],
              success: [{ type: 'put', key, value: enc(String(n + 1)) }],
              failure: [{ type: 'range', key }],
            });
            if (t.succeeded) {
              done++;
              committed.push(t.header.revision);
              cur = { ...cur, value: enc(String(n + 1)), modRevision: t.header.revision, version: cur.version + 1 };
            } else {
              const resp = t.responses[0];
              if (resp.type !== 'range') throw new Error('failure branch must answer with a range');
              cur = resp.kvs[0];
            }
          }
        };
        await Promise.all(Array.from({ length: WORKERS }, () => worker()));
        const kv = (await store.range(key)).kvs[0];
        expect(dec(kv.value)).toBe(String(WORKERS * PER_WORKER));
        expect(kv.version).toBe(WORKERS * PER_WORKER + 1);
        // Every successful increment had a revision of its own, and nothing else wrote.
        expect(new Set(committed).size).toBe(WORKERS * PER_WORKER);
        expect(kv.modRevision).toBe(start.header.revision + WORKERS * PER_WORKER);
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('compares', () => {
      const results: CompareResult[] = ['=', '!=', '<', '>'];
      const holds = (c: number, r: CompareResult): boolean => (r === '=' ? c === 0 : r === '!=' ? c !== 0 : r === '<' ? c < 0 : c > 0);

      it('compares on version, createRevision, modRevision and lease with = != < >', async () => {
        const lease = await store.leaseGrant(60);
        const created = (await store.put(k('a'), enc('x'))).header.revision;
        await store.put(k('other'), enc('x'));
        const modified = (await store.put(k('a'), enc('y'), { lease: lease.id })).header.revision;
        const actual = { version: 2, createRevision: created, modRevision: modified, lease: lease.id };
        const rev = await store.revision();
        for (const target of ['version', 'createRevision', 'modRevision', 'lease'] as const) {
          for (const result of results) {
            for (const value of [actual[target] - 1, actual[target], actual[target] + 1]) {
              const t = await store.txn({ compare: [{ key: k('a'), target, result, value }] });
              expect(t.succeeded, `${target} (${actual[target]}) ${result} ${value}`).toBe(holds(Math.sign(actual[target] - value), result));
            }
          }
        }
        expect(await store.revision()).toBe(rev);
        await store.leaseRevoke(lease.id);
      });

      it('compares on value with = != < > (byte order)', async () => {
        await store.put(k('a'), enc('mid'));
        for (const other of ['lid', 'mid', 'mie', 'mi', 'mida', '', 'zzz', 'MID']) {
          const c = Buffer.compare(Buffer.from('mid'), Buffer.from(other));
          for (const result of results) {
            const t = await store.txn({ compare: [{ key: k('a'), target: 'value', result, value: enc(other) }] });
            expect(t.succeeded, `value 'mid' ${result} '${other}'`).toBe(holds(c, result));
          }
        }
        await store.put(k('bin'), Buffer.from([0x80]));
        const t = await store.txn({ compare: [{ key: k('bin'), target: 'value', result: '>', value: Buffer.from([0x7f, 0xff]) }] });
        expect(t.succeeded, 'bytes compare unsigned').toBe(true);
      });

      it('compares against an absent key see version, createRevision, modRevision and lease as 0; value compares are false', async () => {
        await store.put(k('deleted'), enc('x'));
        await store.delete(k('deleted'));
        for (const key of [k('absent'), k('deleted')]) {
          for (const target of ['version', 'createRevision', 'modRevision', 'lease'] as const) {
            for (const result of results) {
              for (const value of [0, 1]) {
                const t = await store.txn({ compare: [{ key, target, result, value }] });
                expect(t.succeeded, `${key} ${target} ${result} ${value}`).toBe(holds(Math.sign(0 - value), result));
              }
            }
          }
          for (const result of results) {
            for (const value of ['', 'x']) {
              const t = await store.txn({ compare: [{ key, target: 'value', result, value: enc(value) }] });
              expect(t.succeeded, `${key} value ${result} '${value}'`).toBe(false);
            }
          }
        }
      });

      it('all compares of a txn must hold for the success branch', async () => {
        await store.put(k('a'), enc('1'));
        await store.put(k('b'), enc('2'));
        const yes: Compare = { key: k('a'), target: 'value', result: '=', value: enc('1') };
        const yes2: Compare = { key: k('b'), target: 'version', result: '=', value: 1 };
        const no: Compare = { key: k('b'), target: 'value', result: '=', value: enc('1') };
        expect((await store.txn({ compare: [yes, yes2] })).succeeded).toBe(true);
        expect((await store.txn({ compare: [yes, no] })).succeeded).toBe(false);
        expect((await store.txn({ compare: [no, yes] })).succeeded).toBe(false);
        expect((await store.txn({ compare: [] })).succeeded).toBe(true);
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('txn, prevKv and delete-range', () => {
      it('a failed compare runs the failure branch and nothing of the success branch', async () => {
        await store.put(k('guard'), enc('a'));
        await store.put(k('victim'), enc('v'));
        await store.put(k('seen'), enc('s'));
        const r0 = await store.revision();
        const t = await store.txn({
          compare: [{ key: k('guard'), target: 'value', result: '=', value: enc('b') }],
          success: [{ type: 'put', key: k('success'), value: enc('1') }, { type: 'delete', key: k('seen') }],
          failure: [
            { type: 'put', key: k('failure'), value: enc('1'), prevKv: true },
            { type: 'delete', key: k('victim'), prevKv: true },
            { type: 'range', key: k('seen') },
          ],
        });
        expect(t.succeeded).toBe(false);
        expect(t.header.revision).toBe(r0 + 1);
        expect(t.responses.map((r) => r.type)).toEqual(['put', 'delete', 'range']);
        const [put, del, rng] = t.responses;
        if (put.type === 'put') expect(put.prevKv).toBeUndefined();
        if (del.type === 'delete') {
          expect(del.deleted).toBe(1);
          expect(del.prevKvs.map(plain)).toEqual([{ key: k('victim'), value: 'v', createRevision: r0 - 1, modRevision: r0 - 1, version: 1, lease: 0 }]);
        }
        if (rng.type === 'range') {
          expect(rng.kvs.map(plain)).toEqual([{ key: k('seen'), value: 's', createRevision: r0, modRevision: r0, version: 1, lease: 0 }]);
          expect(rng.count).toBe(1);
        }
        expect((await rangeP()).map((kv) => kv.key)).toEqual([k('failure'), k('guard'), k('seen')]);
      });

      it('the success branch runs when the compares hold', async () => {
        await store.put(k('guard'), enc('a'));
        const t = await store.txn({
          compare: [{ key: k('guard'), target: 'value', result: '=', value: enc('a') }],
          success: [{ type: 'put', key: k('s'), value: enc('1') }],
          failure: [{ type: 'put', key: k('f'), value: enc('1') }],
        });
        expect(t.succeeded).toBe(true);
        expect(t.responses.map((r) => r.type)).toEqual(['put']);
        expect((await rangeP()).map((kv) => kv.key)).toEqual([k('guard'), k('s')]);
      });

      it('put with prevKv returns the previous version; none for a new key', async () => {
        const r1 = (await store.put(k('a'), enc('v1'), { prevKv: true }));
        expect(r1.prevKv).toBeUndefined();
        const r2 = await store.put(k('a'), enc('v2'), { prevKv: true });
        expect(r2.prevKv && plain(r2.prevKv)).toEqual({ key: k('a'), value: 'v1', createRevision: r1.header.revision, modRevision: r1.header.revision, version: 1, lease: 0 });
        const r3 = await store.put(k('a'), enc('v3'));
        expect(r3.prevKv).toBeUndefined();
        const t = await store.txn({ success: [{ type: 'put', key: k('a'), value: enc('v4'), prevKv: true }, { type: 'put', key: k('b'), value: enc('b'), prevKv: true }] });
        const [ta, tb] = t.responses;
        expect(ta.type === 'put' && ta.prevKv && plain(ta.prevKv)).toEqual({ key: k('a'), value: 'v3', createRevision: r1.header.revision, modRevision: r3.header.revision, version: 3, lease: 0 });
        expect(tb.type === 'put' && tb.prevKv).toBeUndefined();
      });

      it('delete with prevKv returns the deleted kvs in key order; without prevKv none', async () => {
        const ra = (await store.put(k('a'), enc('A'))).header.revision;
        const rb = (await store.put(k('b'), enc('B'))).header.revision;
        await store.put(k('c'), enc('C'));
        const d1 = await store.delete(k('a'), { end: k('c'), prevKv: true });
        expect(d1.deleted).toBe(2);
        expect(d1.prevKvs.map(plain)).toEqual([
          { key: k('a'), value: 'A', createRevision: ra, modRevision: ra, version: 1, lease: 0 },
          { key: k('b'), value: 'B', createRevision: rb, modRevision: rb, version: 1, lease: 0 },
        ]);
        const d2 = await store.delete(k('c'));
        expect(d2.deleted).toBe(1);
        expect(d2.prevKvs).toEqual([]);
        expect(await rangeP()).toEqual([]);
      });

      it('delete-range over a prefix (prefixEnd) deletes exactly the keys with that prefix, in one revision', async () => {
        const inside = ['dir/a', 'dir/b', 'dir/c/d', 'dir/\u00e9', 'dir/'];
        const outside = ['dir', 'dir0', 'dirz', 'di', 'dis/a', 'e'];
        await store.txn({ success: [...inside, ...outside].map((s) => ({ type: 'put' as const, key: k(s), value: enc(s) })) });
        const r0 = await store.revision();
        const d = await store.delete(k('dir/'), { end: prefixEnd(k('dir/')), prevKv: true });
        expect(d.deleted).toBe(inside.length);
        expect(d.header.revision).toBe(r0 + 1);
        expect(d.prevKvs.map((kv) => kv.key).sort()).toEqual(inside.map(k).sort());
        expect((await rangeP()).map((kv) => kv.key).sort()).toEqual(outside.map(k).sort());
        // The deleted keys are still readable at the revision before.
        expect((await store.range(k('dir/'), { end: prefixEnd(k('dir/')), revision: r0 })).count).toBe(inside.length);
      });

      it('range ops inside a txn read with their own options (limit, countOnly, keysOnly, past revision)', async () => {
        const r1 = (await store.put(k('a'), enc('1'))).header.revision;
        await store.put(k('b'), enc('2'));
        await store.put(k('c'), enc('3'));
        await store.put(k('a'), enc('1b'));
        const t = await store.txn({
          success: [
            { type: 'range', key: k(''), end: prefixEnd(P), limit: 2 },
            { type: 'range', key: k(''), end: prefixEnd(P), countOnly: true },
            { type: 'range', key: k('b'), keysOnly: true },
            { type: 'range', key: k('a'), revision: r1 },
            { type: 'put', key: k('z'), value: enc('z') },
            { type: 'range', key: k('nothing') },
          ],
        });
        expect(t.succeeded).toBe(true);
        const [lim, cnt, ko, past, put, none] = t.responses;
        expect(put.type).toBe('put');
        if (lim.type !== 'range' || cnt.type !== 'range' || ko.type !== 'range' || past.type !== 'range' || none.type !== 'range') throw new Error(`unexpected response types ${t.responses.map((r) => r.type).join()}`);
        expect(lim.kvs.map((kv) => kv.key)).toEqual([k('a'), k('b')]);
        expect(lim.count).toBe(3);
        expect(lim.more).toBe(true);
        expect(cnt.kvs).toEqual([]);
        expect(cnt.count).toBe(3);
        expect(ko.kvs.map((kv) => [kv.key, kv.value.byteLength, kv.version])).toEqual([[k('b'), 0, 1]]);
        expect(past.kvs.map(plain)).toEqual([{ key: k('a'), value: '1', createRevision: r1, modRevision: r1, version: 1, lease: 0 }]);
        expect(none.kvs).toEqual([]);
        expect(none.count).toBe(0);
        expect((await store.range(k('z'))).count).toBe(1);
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('reads at past revisions', () => {
      it('a read at every past revision sees exactly the state at that revision', async () => {
        const random = rng(20240613);
        const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
        const model = new Map<string, PlainKv>();
        const snapshots = new Map<number, PlainKv[]>();
        const snapshot = (): PlainKv[] => [...model.values()].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0)).map((kv) => ({ ...kv }));
        const start = await store.revision();
        snapshots.set(start, []);
        let rev = start;
        const putModel = (key: string, value: string, r: number): void => {
          const prev = model.get(key);
          model.set(key, { key, value, createRevision: prev ? prev.createRevision : r, modRevision: r, version: prev ? prev.version + 1 : 1, lease: 0 });
        };
        for (let i = 0; i < 80; i++) {
          const dice = random();
          const key = k(names[Math.floor(random() * names.length)]);
          let newRev: number | undefined;
          if (dice < 0.5) {
            const value = `v${i}`;
            newRev = (await store.put(key, enc(value))).header.revision;
            putModel(key, value, newRev);
          } else if (dice < 0.7) {
            const d = await store.delete(key);
            expect(d.deleted, `step ${i}: delete ${key}`).toBe(model.has(key) ? 1 : 0);
            if (d.deleted > 0) {
              newRev = d.header.revision;
              model.delete(key);
            } else {
              expect(d.header.revision).toBe(rev);
            }
          } else if (dice < 0.8) {
            const a = Math.floor(random() * names.length);
            const b = Math.min(names.length, a + 1 + Math.floor(random() * 3));
            const from = k(names[a]);
            const to = b < names.length ? k(names[b]) : prefixEnd(P);
            const d = await store.delete(from, { end: to });
            const expected = [...model.keys()].filter((x) => x >= from && x < to);
            expect(d.deleted, `step ${i}: delete-range [${from}, ${to})`).toBe(expected.length);
            if (d.deleted > 0) {
              newRev = d.header.revision;
              for (const x of expected) model.delete(x);
            }
          } else {
            const shuffled = [...names].sort(() => random() - 0.5);
            const puts = shuffled.slice(0, 2 + Math.floor(random() * 2));
            const del = shuffled[4];
            const t = await store.txn({ success: [...puts.map((n) => ({ type: 'put' as const, key: k(n), value: enc(`t${i}${n}`) })), { type: 'delete', key: k(del) }] });
            newRev = t.header.revision;
            for (const n of puts) putModel(k(n), `t${i}${n}`, newRev);
            model.delete(k(del));
          }
          if (newRev !== undefined) {
            expect(newRev, `step ${i}: one new revision`).toBe(rev + 1);
            rev = newRev;
            snapshots.set(rev, snapshot());
          }
        }
        expect(rev - start).toBeGreaterThan(50);
        for (let r = start; r <= rev; r++) {
          const res = await store.range(P, { ...allOfP(), revision: r });
          expect(res.header.revision, 'the header of a past read reports the current revision').toBe(rev);
          expect(res.kvs.map(plain), `state at revision ${r}`).toEqual(snapshots.get(r));
          expect(res.count).toBe(snapshots.get(r)?.length);
          // Single-key reads at that revision agree.
          const one = await store.range(k('c'), { revision: r });
          expect(one.kvs.map(plain), `key c at revision ${r}`).toEqual(snapshots.get(r)?.filter((kv) => kv.key === k('c')));
        }
        expect(await rangeP()).toEqual(snapshots.get(rev));
      });

      it('a read at a future revision fails with FutureRevisionError', async () => {
        await store.put(k('a'), enc('1'));
        const rev = await store.revision();
        await rejection(store.range(k('a'), { revision: rev + 1 }), FutureRevisionError);
        await rejection(store.range(k('a'), { revision: rev + 1000 }), FutureRevisionError);
        await rejection(store.txn({ success: [{ type: 'range', key: k('a'), revision: rev + 5 }] }), FutureRevisionError);
        expect((await store.range(k('a'), { revision: rev })).count).toBe(1);
        expect(await store.revision()).toBe(rev);
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('range options', () => {
      it('limit truncates in key order, more tells whether keys were left out, count ignores the limit', async () => {
        const names = Array.from({ length: 10 }, (_, i) => `key${String(i).padStart(2, '0')}`);
        for (const n of [...names].reverse()) await store.put(k(n), enc(n));
        for (const [limit, expected, more] of [[3, 3, true], [9, 9, true], [10, 10, false], [11, 10, false], [0, 10, false], [1, 1, true]] as const) {
          const r = await store.range(P, { ...allOfP(), limit });
          expect(r.kvs.map((kv) => kv.key), `limit ${limit}`).toEqual(names.slice(0, expected).map(k));
          expect(r.count, `count with limit ${limit}`).toBe(10);
          expect(r.more, `more with limit ${limit}`).toBe(more);
        }
        const sub = await store.range(k('key03'), { end: k('key07'), limit: 2 });
        expect(sub.kvs.map((kv) => kv.key)).toEqual([k('key03'), k('key04')]);
        expect(sub.count).toBe(4);
        expect(sub.more).toBe(true);
        // A range whose end is not after its start is empty.
        const empty = await store.range(k('key05'), { end: k('key05') });
        expect(empty.kvs).toEqual([]);
        expect(empty.count).toBe(0);
        // Limit applies at a past revision too.
        const rev = await store.revision();
        await store.delete(k('key00'));
        const past = await store.range(P, { ...allOfP(), revision: rev, limit: 2 });
        expect(past.kvs.map((kv) => kv.key)).toEqual([k('key00'), k('key01')]);
        expect(past.count).toBe(10);
      });

      it('keysOnly returns keys and metadata without values; countOnly returns only the count', async () => {
        const ra = (await store.put(k('a'), enc('value-a'))).header.revision;
        await store.put(k('b'), enc('value-b'));
        const ko = await store.range(P, { ...allOfP(), keysOnly: true });
        expect(ko.kvs.map((kv) => ({ key: kv.key, bytes: kv.value.byteLength }))).toEqual([{ key: k('a'), bytes: 0 }, { key: k('b'), bytes: 0 }]);
        expect(ko.kvs[0]).toMatchObject({ createRevision: ra, modRevision: ra, version: 1 });
        expect(ko.count).toBe(2);
        const co = await store.range(P, { ...allOfP(), countOnly: true });
        expect(co.kvs).toEqual([]);
        expect(co.count).toBe(2);
        const col = await store.range(P, { ...allOfP(), countOnly: true, limit: 1 });
        expect(col.kvs).toEqual([]);
        expect(col.count).toBe(2);
      });

      it("a range with end '\\0' reads every key from the start key on", async () => {
        const after = P.slice(0, -1) + '~'; // sorts after every key under P
        await store.put(k('a'), enc('1'));
        await store.put(k('b'), enc('2'));
        await store.put(k('c'), enc('3'));
        await store.put(after, enc('4'));
        const r = await store.range(k('b'), { end: '\0' });
        expect(r.kvs.map((kv) => kv.key)).toEqual([k('b'), k('c'), after]);
        expect(r.count).toBe(3);
        const lim = await store.range(k('b'), { end: '\0', limit: 1 });
        expect(lim.kvs.map((kv) => kv.key)).toEqual([k('b')]);
        expect(lim.more).toBe(true);
        expect(lim.count).toBe(3);
        // '\0' to '\0' is the whole keyspace (the harness starts every test empty).
        const all = await store.range('\0', { end: '\0' });
        expect(all.kvs.map((kv) => kv.key)).toEqual([k('a'), k('b'), k('c'), after]);
        const d = await store.delete(k('c'), { end: '\0' });
        expect(d.deleted).toBe(2);
        expect((await store.range('\0', { end: '\0' })).kvs.map((kv) => kv.key)).toEqual([k('a'), k('b')]);
      });

      it('keys are ordered by their UTF-8 bytes', async () => {
        // UTF-16 order would put the emoji (a surrogate pair, 0xD83D…) before U+FFFD; UTF-8 puts it after.
        const keys = ['z', '\u00e9', '\uFFFD', '\u{1F600}', 'A'];
        for (const s of keys) await store.put(k(s), enc(s));
        const byBytes = keys.map(k).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
        expect((await rangeP()).map((kv) => kv.key)).toEqual(byBytes);
        const lim = await store.range(P, { ...allOfP(), limit: 4 });
        expect(lim.kvs.map((kv) => kv.key)).toEqual(byBytes.slice(0, 4));
        const tail = await store.range(k('\uFFFD'), { end: prefixEnd(P) });
        expect(tail.kvs.map((kv) => kv.key)).toEqual([k('\uFFFD'), k('\u{1F600}')]);
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('watch', () => {
      it('delivers every acknowledged write exactly once, in revision order, under 8 concurrent writers', async () => {
        const { c } = await watchCollect(P, allOfP());
        const { c: withPrev } = await watchCollect(P, { ...allOfP(), prevKv: true });
        const start = await store.revision();
        const WRITERS = 8;
        const OPS = 50;
        const log: Array<{ rev: number; type: 'put' | 'delete'; key: string; value: string }> = [];
        const writer = async (w: number): Promise<void> => {
          const random = rng(1000 + w);
          for (let i = 0; i < OPS; i++) {
            const key = k(`k${Math.floor(random() * 12)}`);
            if (random() < 0.7) {
              const value = `w${w}-${i}`;
              const r = await store.put(key, enc(value));
              log.push({ rev: r.header.revision, type: 'put', key, value });
            } else {
              const r = await store.delete(key);
              if (r.deleted > 0) log.push({ rev: r.header.revision, type: 'delete', key, value: '' });
            }
          }
        };
        await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
        log.sort((a, b) => a.rev - b.rev);
        const end = await store.revision();
        // Each acknowledged write has its own revision, and together they fill (start, end].
        expect(log.map((e) => e.rev)).toEqual(Array.from({ length: end - start }, (_, i) => start + 1 + i));
        await c.waitForCount(log.length, 15_000);
        await sleep(50); // would let duplicates or stray events arrive
        expect(c.errors).toEqual([]);
        c.checkOrdered();
        expect(c.events.map((ev) => ({ rev: ev.kv.modRevision, type: ev.type, key: ev.kv.key, value: ev.type === 'put' ? dec(ev.kv.value) : '' }))).toEqual(log);
        // Replaying the events gives the final state.
        const replay = new Map<string, PlainKv>();
        for (const ev of c.events) {
          if (ev.type === 'put') {
            const prev = replay.get(ev.kv.key);
            expect(ev.kv.version, `version in put event at ${ev.kv.modRevision}`).toBe(prev ? prev.version + 1 : 1);
            expect(ev.kv.createRevision, `createRevision in put event at ${ev.kv.modRevision}`).toBe(prev ? prev.createRevision : ev.kv.modRevision);
            replay.set(ev.kv.key, plain(ev.kv));
          } else {
            replay.delete(ev.kv.key);
          }
        }
        const final = await rangeP();
        expect([...replay.values()].sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual(final);
        // A prevKv watcher sees the same stream, each event carrying the version it replaced.
        await withPrev.waitForCount(log.length, 15_000);
        expect(withPrev.errors).toEqual([]);
        withPrev.checkOrdered();
        expect(withPrev.events.map(plainEvent)).toEqual(c.events.map(plainEvent));
        const state = new Map<string, PlainKv>();
        for (const ev of withPrev.events) {
          const expectedPrev = state.get(ev.kv.key);
          expect(ev.prevKv && plain(ev.prevKv), `prevKv of the ${ev.type} of ${ev.kv.key} at ${ev.kv.modRevision}`).toEqual(expectedPrev);
          if (ev.type === 'put') state.set(ev.kv.key, plain(ev.kv));
          else state.delete(ev.kv.key);
        }
      });

      it('a watch resumed from a past revision while writers are active sees every revision exactly once', async () => {
        const start = await store.revision();
        const WRITERS = 4;
        const OPS = 60;
        let acked = 0;
        const writer = async (w: number): Promise<void> => {
          for (let i = 0; i < OPS; i++) {
            if (i % 5 === 4) await store.delete(k(`k${(w + i) % 7}`), { end: k(`k${(w + i) % 7}~`) });
            else await store.put(k(`k${(w * 3 + i) % 7}`), enc(`w${w}-${i}`));
            acked++;
          }
        };
        const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
        // Join in the middle: history is replayed while new writes keep arriving.
        await poll('the writers to get going', () => acked >= 40, 10_000, 2);
        const { c } = await watchCollect(P, { ...allOfP(), fromRevision: start + 1 });
        const { c: withPrev } = await watchCollect(P, { ...allOfP(), fromRevision: start + 1, prevKv: true });
        await writers;
        const end = await store.revision();
        expect(end - start).toBeGreaterThan(OPS * WRITERS * 0.7);
        // Every revision in (start, end] comes from a write under P; deletes of missing keys wrote none.
        for (const col of [c, withPrev]) {
          await col.waitForRevision(end, 15_000);
          await sleep(50);
          expect(col.errors).toEqual([]);
          col.checkOrdered();
          const revs = [...new Set(col.events.map((ev) => ev.kv.modRevision))];
          expect(revs).toEqual(Array.from({ length: end - start }, (_, i) => start + 1 + i));
          // No event twice: (revision, key) pairs are unique.
          expect(new Set(col.events.map((ev) => `${ev.kv.modRevision} ${ev.kv.key}`)).size).toBe(col.events.length);
        }
        expect(withPrev.events.map(plainEvent)).toEqual(c.events.map(plainEvent));
        // The events agree with reads at their revisions.
        const replay = new Map<string, string>();
        for (const ev of c.events) {
          if (ev.type === 'put') replay.set(ev.kv.key, dec(ev.kv.value));
          else replay.delete(ev.kv.key);
        }
        expect([...replay.entries()].sort()).toEqual((await rangeP()).map((kv) => [kv.key, kv.value]));
      });

      it('a watch of a single key sees only that key, with full put events and delete events', async () => {
        const { c } = await watchCollect(k('a'), {});
        const p1 = (await store.put(k('a'), enc('1'))).header.revision;
        await store.put(k('ab'), enc('x'));
        await store.put(k('b'), enc('x'));
        const p2 = (await store.put(k('a'), enc('2'))).header.revision;
        await store.put(k('a0'), enc('x'));
        const d = (await store.delete(k('a'))).header.revision;
        await store.delete(k('ab'));
        const p3 = (await store.put(k('a'), enc('3'))).header.revision;
        await c.waitForRevision(p3);
        await store.put(k('b'), enc('y'));
        await sleep(50);
        c.checkOrdered();
        expect(c.events.map(plainEvent)).toEqual([
          { type: 'put', key: k('a'), value: '1', modRevision: p1, createRevision: p1, version: 1 },
          { type: 'put', key: k('a'), value: '2', modRevision: p2, createRevision: p1, version: 2 },
          { type: 'delete', key: k('a'), value: '', modRevision: d, createRevision: 0, version: 0 },
          { type: 'put', key: k('a'), value: '3', modRevision: p3, createRevision: p3, version: 1 },
        ]);
        expect(c.events.every((ev) => ev.prevKv === undefined)).toBe(true);
      });

      it('watch events carry prevKv when asked', async () => {
        const lease = await store.leaseGrant(60);
        const { c } = await watchCollect(P, { ...allOfP(), prevKv: true });
        const r1 = (await store.put(k('a'), enc('1'))).header.revision;
        const r2 = (await store.put(k('a'), enc('2'), { lease: lease.id })).header.revision;
        const r3 = (await store.delete(k('a'))).header.revision;
        const r4 = (await store.txn({ success: [{ type: 'put', key: k('b'), value: enc('b') }, { type: 'put', key: k('c'), value: enc('c') }] })).header.revision;
        const r5 = (await store.delete(k('b'), { end: prefixEnd(P) })).header.revision;
        await c.waitForRevision(r5);
        await c.waitForCount(7);
        c.checkOrdered();
        const got = c.events.map((ev) => ({ type: ev.type, key: ev.kv.key, rev: ev.kv.modRevision, prev: ev.prevKv && plain(ev.prevKv) }));
        expect(got).toEqual([
          { type: 'put', key: k('a'), rev: r1, prev: undefined },
          { type: 'put', key: k('a'), rev: r2, prev: { key: k('a'), value: '1', createRevision: r1, modRevision: r1, version: 1, lease: 0 } },
          { type: 'delete', key: k('a'), rev: r3, prev: { key: k('a'), value: '2', createRevision: r1, modRevision: r2, version: 2, lease: lease.id } },
          { type: 'put', key: k('b'), rev: r4, prev: undefined },
          { type: 'put', key: k('c'), rev: r4, prev: undefined },
          { type: 'delete', key: k('b'), rev: r5, prev: { key: k('b'), value: 'b', createRevision: r4, modRevision: r4, version: 1, lease: 0 } },
          { type: 'delete', key: k('c'), rev: r5, prev: { key: k('c'), value: 'c', createRevision: r4, modRevision: r4, version: 1, lease: 0 } },
        ]);
        expect(c.events[1].kv.lease).toBe(lease.id);
        await store.leaseRevoke(lease.id);
      });

      it('a watch resumed from a past revision replays history from there, then continues live', async () => {
        const revs: number[] = [];
        for (let i = 0; i < 10; i++) {
          if (i === 6) revs.push((await store.delete(k('k1'))).header.revision);
          else revs.push((await store.put(k(`k${i % 3}`), enc(`v${i}`))).header.revision);
        }
        const mid = revs[4];
        const { c } = await watchCollect(P, { ...allOfP(), fromRevision: mid });
        const { c: withPrev } = await watchCollect(P, { ...allOfP(), fromRevision: mid, prevKv: true });
        for (let i = 10; i < 15; i++) revs.push((await store.put(k(`k${i % 3}`), enc(`v${i}`))).header.revision);
        const expected = revs.slice(4);
        await c.waitForCount(expected.length);
        await withPrev.waitForCount(expected.length);
        await sleep(50);
        for (const col of [c, withPrev]) {
          expect(col.errors).toEqual([]);
          col.checkOrdered();
          expect(col.events.map((ev) => ev.kv.modRevision)).toEqual(expected);
        }
        // prevKv of replayed events comes from history: the put at revs[4] (k1 = v4) replaced v1.
        const first = withPrev.events[0];
        expect(first.kv.key).toBe(k('k1'));
        expect(first.prevKv && plain(first.prevKv)).toMatchObject({ key: k('k1'), value: 'v1', modRevision: revs[1] });
        // The delete at revs[6] reports what it deleted.
        const del = withPrev.events[2];
        expect(del.type).toBe('delete');
        expect(del.prevKv && plain(del.prevKv)).toMatchObject({ key: k('k1'), value: 'v4', modRevision: revs[4] });
        // The history replay matches a read at each of those revisions.
        for (const ev of c.events) {
          if (ev.type !== 'put') continue;
          const r = await store.range(ev.kv.key, { revision: ev.kv.modRevision });
          expect(plain(r.kvs[0])).toEqual(plain(ev.kv));
        }
      });

      it('a watch starting at a future revision waits for it', async () => {
        const rev = await store.revision();
        const { c } = await watchCollect(P, { ...allOfP(), fromRevision: rev + 3 });
        const revs: number[] = [];
        for (let i = 0; i < 5; i++) revs.push((await store.put(k(`f${i}`), enc(String(i)))).header.revision);
        await c.waitForRevision(revs[4]);
        await sleep(50);
        expect(c.events.map((ev) => ev.kv.modRevision)).toEqual(revs.filter((r) => r >= rev + 3));
      });

      it('cancel stops delivery', async () => {
        const { c, w } = await watchCollect(P, allOfP());
        const r1 = (await store.put(k('a'), enc('1'))).header.revision;
        await c.waitForRevision(r1);
        w.cancel();
        w.cancel(); // idempotent
        const { c: control } = await watchCollect(P, allOfP());
        const r2 = (await store.put(k('a'), enc('2'))).header.revision;
        await store.put(k('b'), enc('2'));
        const r3 = (await store.delete(k('a'))).header.revision;
        await control.waitForRevision(r3);
        await sleep(150);
        expect(control.events.map((ev) => ev.kv.modRevision)[0]).toBe(r2);
        expect(c.events.map((ev) => ev.kv.modRevision)).toEqual([r1]);
        expect(c.errors).toEqual([]);
      });

      it('120 watchers can be opened at once, all get their events, and all can be cancelled', async () => {
        const KEYS = 40;
        const list = await Promise.all(Array.from({ length: 120 }, (_, i) => watchCollect(k(`w${i % KEYS}`), {})));
        const t1 = await store.txn({ success: Array.from({ length: KEYS }, (_, i) => ({ type: 'put' as const, key: k(`w${i}`), value: enc('1') })) });
        for (const { c } of list) await c.waitForRevision(t1.header.revision);
        const ids = new Set(list.map(({ w }) => w.id));
        expect(ids.size, 'watcher ids are distinct').toBe(120);
        list.forEach(({ c }, i) => {
          expect(c.events.map((ev) => [ev.kv.key, ev.kv.modRevision]), `watcher ${i}`).toEqual([[k(`w${i % KEYS}`), t1.header.revision]]);
        });
        for (const { w } of list) w.cancel();
        const { c: control } = await watchCollect(P, allOfP());
        const t2 = await store.txn({ success: Array.from({ length: KEYS }, (_, i) => ({ type: 'put' as const, key: k(`w${i}`), value: enc('2') })) });
        await control.waitForRevision(t2.header.revision);
        expect(control.events).toHaveLength(KEYS);
        await sleep(150);
        list.forEach(({ c }, i) => expect(c.events, `cancelled watcher ${i}`).toHaveLength(1));
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('compaction', () => {
      it('after compact(rev), reads below rev fail with CompactedError; reads at rev and later work', async () => {
        const revs: number[] = [];
        for (let i = 1; i <= 5; i++) revs.push((await store.put(k('a'), enc(`v${i}`))).header.revision);
        await store.put(k('b'), enc('b'));
        const before = await store.compactRevision();
        expect(before).toBeLessThan(revs[2]);
        const cur = await store.revision();
        await store.compact(revs[2]);
        expect(await store.compactRevision()).toBe(revs[2]);
        expect(await store.revision(), 'compaction does not create a revision').toBe(cur);
        const err = await rejection(store.range(k('a'), { revision: revs[1] }), CompactedError);
        expect(err.compactRevision).toBe(revs[2]);
        const err2 = await rejection(store.range(P, { ...allOfP(), revision: revs[0] }), CompactedError);
        expect(err2.compactRevision).toBe(revs[2]);
        for (let i = 2; i < 5; i++) {
          const r = await store.range(k('a'), { revision: revs[i] });
          expect(dec(r.kvs[0].value), `read at ${revs[i]}`).toBe(`v${i + 1}`);
          // createRevision still reports the key's creation, though that revision is compacted.
          expect(r.kvs[0].createRevision).toBe(revs[0]);
          expect(r.kvs[0].version).toBe(i + 1);
        }
        expect((await store.range(P, allOfP())).count).toBe(2);
        // Writes continue normally after a compaction.
        expect((await store.put(k('a'), enc('v6'))).header.revision).toBe(cur + 1);
      });

      it('compacting at or below the compact revision fails with CompactedError; above the current revision with FutureRevisionError', async () => {
        for (let i = 0; i < 4; i++) await store.put(k('a'), enc(String(i)));
        const rev = await store.revision();
        await store.compact(rev - 1);
        const again = await rejection(store.compact(rev - 1), CompactedError);
        expect(again.compactRevision).toBe(rev - 1);
        await rejection(store.compact(rev - 2), CompactedError);
        await rejection(store.compact(rev + 1), FutureRevisionError);
        expect(await store.compactRevision()).toBe(rev - 1);
        await store.compact(rev);
        expect(await store.compactRevision()).toBe(rev);
        expect((await store.range(k('a'))).kvs.map(plain)[0]?.value).toBe('3');
      });

      it('a watch from below the compact revision is rejected with CompactedError; from above it replays', async () => {
        const revs: number[] = [];
        for (let i = 0; i < 6; i++) revs.push((await store.put(k('a'), enc(`v${i}`))).header.revision);
        await store.compact(revs[3]);
        const c = new Collector();
        const err = await rejection(store.watch(P, { ...allOfP(), fromRevision: revs[1] }, c), CompactedError);
        expect(err.compactRevision).toBe(revs[3]);
        expect(c.events).toEqual([]);
        const { c: ok } = await watchCollect(P, { ...allOfP(), fromRevision: revs[4] });
        await ok.waitForRevision(revs[5]);
        expect(ok.events.map((ev) => ev.kv.modRevision)).toEqual([revs[4], revs[5]]);
        expect(ok.errors).toEqual([]);
      });

      it('a watch from exactly the compact revision is rejected with CompactedError (the contract: at or below)', async () => {
        const revs: number[] = [];
        for (let i = 0; i < 4; i++) revs.push((await store.put(k('a'), enc(`v${i}`))).header.revision);
        await store.compact(revs[2]);
        const c = new Collector();
        const err = await rejection(store.watch(P, { ...allOfP(), fromRevision: revs[2] }, c), CompactedError);
        expect(err.compactRevision).toBe(revs[2]);
        await sleep(50);
        expect(c.events).toEqual([]);
        expect(c.errors, 'a rejected watch calls no handler').toEqual([]);
      });

      it('deleted keys stay deleted after compaction', async () => {
        await store.put(k('a'), enc('1'));
        await store.put(k('b'), enc('1'));
        await store.delete(k('a'));
        await store.put(k('c'), enc('1'));
        const rev = await store.revision();
        await store.compact(rev);
        expect((await rangeP()).map((kv) => kv.key)).toEqual([k('b'), k('c')]);
        expect((await store.range(P, { ...allOfP(), revision: rev })).kvs.map((kv) => kv.key)).toEqual([k('b'), k('c')]);
        const t = await store.txn({ compare: [{ key: k('a'), target: 'createRevision', result: '=', value: 0 }], success: [{ type: 'put', key: k('a'), value: enc('2') }] });
        expect(t.succeeded).toBe(true);
        expect((await store.range(k('a'))).kvs[0]).toMatchObject({ version: 1, createRevision: rev + 1 });
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('progress notifications', () => {
      it('an idle watcher with progressNotify gets onProgress with a revision at or beyond the last write', async () => {
        const { c } = await watchCollect(k('watched/'), { end: prefixEnd(k('watched/')), progressNotify: true });
        const inRange = (await store.put(k('watched/a'), enc('1'))).header.revision;
        await c.waitForRevision(inRange);
        let last = 0;
        for (let i = 0; i < 3; i++) last = (await store.put(k('elsewhere'), enc(String(i)))).header.revision;
        const t0 = Date.now();
        await poll(`a progress notification at revision ≥ ${last} (got ${c.progress.join(', ') || 'none'})`, () => c.progress.some((r) => r >= last), 5000);
        expect(Date.now() - t0).toBeLessThan(5000);
        expect(c.errors).toEqual([]);
        // Progress never reports a revision below an event already delivered.
        expect(Math.min(...c.progress.filter((r) => r >= last))).toBeGreaterThanOrEqual(c.lastEventRevision);
        expect(c.events).toHaveLength(1);
        // More events, then idle again: progress catches up once more, never behind an event.
        await store.put(k('watched/b'), enc('2'));
        const lastIn = (await store.put(k('watched/a'), enc('3'))).header.revision;
        await c.waitForRevision(lastIn);
        const n = c.progress.length;
        await poll(`a progress notification at revision ≥ ${lastIn}`, () => c.progress.slice(n).some((r) => r >= lastIn), 5000);
        c.checkProgressConsistent();
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('leases', () => {
      it('grant returns an id and TTL; keys put with the lease report it', async () => {
        const lease = await store.leaseGrant(30);
        expect(lease.id).toBeGreaterThan(0);
        expect(Number.isSafeInteger(lease.id)).toBe(true);
        expect(lease.ttl).toBe(30);
        const other = await store.leaseGrant(30);
        expect(other.id).not.toBe(lease.id);
        await store.put(k('a'), enc('1'), { lease: lease.id });
        await store.txn({ success: [{ type: 'put', key: k('b'), value: enc('1'), lease: other.id }] });
        await store.put(k('c'), enc('1'));
        expect((await rangeP()).map((kv) => [kv.key, kv.lease])).toEqual([[k('a'), lease.id], [k('b'), other.id], [k('c'), 0]]);
        // Putting without a lease detaches the key; putting with another lease moves it.
        await store.put(k('a'), enc('2'));
        expect((await store.range(k('a'))).kvs[0].lease).toBe(0);
        await store.put(k('c'), enc('2'), { lease: lease.id });
        await store.put(k('c'), enc('3'), { lease: other.id });
        await store.leaseRevoke(lease.id);
        expect((await rangeP()).map((kv) => kv.key), 'keys moved off a lease survive its revocation').toEqual([k('a'), k('b'), k('c')]);
        await store.leaseRevoke(other.id);
        expect((await rangeP()).map((kv) => kv.key)).toEqual([k('a')]);
      });

      it('keepAlive keeps a lease and its keys alive past the TTL', async () => {
        const lease = await store.leaseGrant(2);
        expect(lease.ttl).toBe(2);
        await store.put(k('a'), enc('1'), { lease: lease.id });
        const until = Date.now() + 3500;
        let n = 0;
        while (Date.now() < until && n < 20) {
          const ka = await store.leaseKeepAlive(lease.id);
          expect(ka).toEqual({ id: lease.id, ttl: 2 });
          n++;
          await sleep(500);
        }
        expect(n).toBeGreaterThanOrEqual(5);
        expect((await store.range(k('a'))).kvs.map((kv) => kv.lease)).toEqual([lease.id]);
        await store.leaseRevoke(lease.id);
      });

      it('revoke deletes the attached keys in one revision, seen by a watcher as delete events', async () => {
        const lease = await store.leaseGrant(60);
        await store.put(k('a'), enc('1'), { lease: lease.id });
        await store.put(k('b'), enc('1'), { lease: lease.id });
        await store.put(k('c'), enc('1'));
        await store.put(k('d'), enc('1'), { lease: lease.id });
        const { c } = await watchCollect(P, { ...allOfP(), prevKv: true });
        const rev = await store.revision();
        await store.leaseRevoke(lease.id);
        expect(await store.revision()).toBe(rev + 1);
        expect((await rangeP()).map((kv) => kv.key)).toEqual([k('c')]);
        await c.waitForCount(3);
        c.checkOrdered();
        expect(c.events.map((ev) => [ev.type, ev.kv.key, ev.kv.modRevision, ev.prevKv?.lease]).sort()).toEqual([
          ['delete', k('a'), rev + 1, lease.id],
          ['delete', k('b'), rev + 1, lease.id],
          ['delete', k('d'), rev + 1, lease.id],
        ]);
        await rejection(store.leaseRevoke(lease.id), LeaseNotFoundError);
      });

      it('an expired lease deletes its keys (delete events) within a bounded time', async () => {
        const { c } = await watchCollect(P, allOfP());
        const t0 = Date.now();
        const lease = await store.leaseGrant(2);
        await store.put(k('a'), enc('1'), { lease: lease.id });
        await store.put(k('b'), enc('1'), { lease: lease.id });
        await store.put(k('keep'), enc('1'));
        const rev = await store.revision();
        await poll('the lease to expire and its keys to be deleted', async () => (await store.range(k('a'), { end: k('c') })).count === 0, 10_000, 100);
        const elapsed = Date.now() - t0;
        expect(elapsed, 'not deleted long before the TTL').toBeGreaterThan(1000);
        expect((await rangeP()).map((kv) => kv.key)).toEqual([k('keep')]);
        expect(await store.revision(), 'expiry deletes the keys in one revision').toBe(rev + 1);
        await c.waitForCount(5);
        expect(c.events.slice(3).map((ev) => [ev.type, ev.kv.key, ev.kv.modRevision]).sort()).toEqual([
          ['delete', k('a'), rev + 1],
          ['delete', k('b'), rev + 1],
        ]);
        await rejection(store.leaseKeepAlive(lease.id), LeaseNotFoundError);
      });

      it('put with an unknown lease fails with LeaseNotFoundError and writes nothing', async () => {
        const rev = await store.revision();
        const unknown = 7_000_000_000_001;
        await rejection(store.put(k('a'), enc('1'), { lease: unknown }), LeaseNotFoundError);
        await rejection(store.txn({ success: [{ type: 'put', key: k('b'), value: enc('1') }, { type: 'put', key: k('c'), value: enc('1'), lease: unknown }] }), LeaseNotFoundError);
        expect(await store.revision()).toBe(rev);
        expect(await rangeP()).toEqual([]);
      });

      it('keepAlive and revoke of a revoked or unknown lease fail with LeaseNotFoundError', async () => {
        const lease = await store.leaseGrant(30);
        await store.leaseRevoke(lease.id);
        await rejection(store.leaseKeepAlive(lease.id), LeaseNotFoundError);
        await rejection(store.leaseRevoke(lease.id), LeaseNotFoundError);
        await rejection(store.leaseKeepAlive(7_000_000_000_003), LeaseNotFoundError);
        await rejection(store.put(k('a'), enc('1'), { lease: lease.id }), LeaseNotFoundError);
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('restart', () => {
      it('state, revision and history survive a restart; new writes continue from the old revision', async () => {
        const ra = (await store.put(k('a'), enc('1'))).header.revision;
        await store.put(k('b'), enc('1'));
        await store.put(k('a'), enc('2'));
        await store.txn({ success: [{ type: 'put', key: k('c'), value: enc('c') }, { type: 'put', key: k('d'), value: enc('d') }] });
        const mid = await store.revision();
        await store.delete(k('b'));
        await store.put(k('e'), Buffer.from([0, 255, 1]));
        await store.delete(k('d'), { end: k('f') }); // the last write is a deletion
        const rev = await store.revision();
        const state = await store.range(P, allOfP());
        const atMid = await store.range(P, { ...allOfP(), revision: mid });
        expect(state.kvs.map((kv) => kv.key)).toEqual([k('a'), k('c')]);
        await reopen();
        expect(await store.revision()).toBe(rev);
        const after = await store.range(P, allOfP());
        expect(after.header.revision).toBe(rev);
        expect(after.kvs.map(plain)).toEqual(state.kvs.map(plain));
        expect((await store.range(P, { ...allOfP(), revision: mid })).kvs.map(plain)).toEqual(atMid.kvs.map(plain));
        expect((await store.range(k('e'), { revision: rev - 1 })).kvs.map((kv) => Buffer.from(kv.value).toString('hex'))).toEqual(['00ff01']);
        const p = await store.put(k('a'), enc('3'));
        expect(p.header.revision, 'the revision continues; it never goes backwards').toBe(rev + 1);
        expect((await store.range(k('a'))).kvs.map(plain)).toEqual([{ key: k('a'), value: '3', createRevision: ra, modRevision: rev + 1, version: 3, lease: 0 }]);
        const pd = await store.put(k('d'), enc('new'));
        expect((await store.range(k('d'))).kvs[0]).toMatchObject({ createRevision: pd.header.revision, version: 1 });
        // Twice in a row, with nothing written in between.
        await reopen();
        expect(await store.revision()).toBe(rev + 2);
        expect((await rangeP()).map((kv) => kv.key)).toEqual([k('a'), k('c'), k('d')]);
      });

      it('a watch from an old revision after a restart replays history, then continues live', async () => {
        const revs: number[] = [];
        revs.push((await store.put(k('a'), enc('1'))).header.revision);
        revs.push((await store.put(k('b'), enc('1'))).header.revision);
        revs.push((await store.put(k('a'), enc('2'))).header.revision);
        revs.push((await store.delete(k('b'))).header.revision);
        revs.push((await store.put(k('c'), enc('1'))).header.revision);
        await reopen();
        const { c } = await watchCollect(P, { ...allOfP(), fromRevision: revs[0], prevKv: true });
        await c.waitForRevision(revs[4]);
        const live = (await store.put(k('a'), enc('3'))).header.revision;
        await c.waitForRevision(live);
        c.checkOrdered();
        expect(c.events.map((ev) => [ev.type, ev.kv.key, ev.kv.modRevision, dec(ev.kv.value)])).toEqual([
          ['put', k('a'), revs[0], '1'],
          ['put', k('b'), revs[1], '1'],
          ['put', k('a'), revs[2], '2'],
          ['delete', k('b'), revs[3], ''],
          ['put', k('c'), revs[4], '1'],
          ['put', k('a'), live, '3'],
        ]);
        expect(c.events[3].prevKv && dec(c.events[3].prevKv.value)).toBe('1');
        expect(c.events[5].prevKv?.modRevision).toBe(revs[2]);
      });

      it('compaction survives a restart', async () => {
        const revs: number[] = [];
        for (let i = 0; i < 4; i++) revs.push((await store.put(k('a'), enc(`v${i}`))).header.revision);
        await store.compact(revs[2]);
        await reopen();
        expect(await store.compactRevision()).toBe(revs[2]);
        const err = await rejection(store.range(k('a'), { revision: revs[1] }), CompactedError);
        expect(err.compactRevision).toBe(revs[2]);
        expect(dec((await store.range(k('a'), { revision: revs[2] })).kvs[0].value)).toBe('v2');
        expect(dec((await store.range(k('a'))).kvs[0].value)).toBe('v3');
      });

      it('leases and their attached keys survive a restart', async () => {
        const lease = await store.leaseGrant(60);
        await store.put(k('a'), enc('1'), { lease: lease.id });
        await store.put(k('b'), enc('1'));
        await reopen();
        expect((await rangeP()).map((kv) => [kv.key, kv.lease])).toEqual([[k('a'), lease.id], [k('b'), 0]]);
        expect(await store.leaseKeepAlive(lease.id)).toEqual({ id: lease.id, ttl: 60 });
        await store.leaseRevoke(lease.id);
        expect((await rangeP()).map((kv) => kv.key)).toEqual([k('b')]);
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('bad input', () => {
      it('a value over 1.5 MiB is refused with InvalidRequestError and nothing is written', async () => {
        const rev = await store.revision();
        const big = Buffer.alloc(MAX_VALUE_BYTES + 1, 0x61);
        await rejection(store.put(k('big'), big), InvalidRequestError);
        await rejection(store.txn({ success: [{ type: 'put', key: k('small'), value: enc('1') }, { type: 'put', key: k('big'), value: big }] }), InvalidRequestError);
        await rejection(store.txn({ compare: [{ key: k('x'), target: 'version', result: '=', value: 1 }], failure: [{ type: 'put', key: k('big'), value: big }] }), InvalidRequestError);
        expect(await store.revision()).toBe(rev);
        expect(await rangeP()).toEqual([]);
      });

      it('a key over 1.5 MiB is refused with InvalidRequestError and nothing is written', async () => {
        const rev = await store.revision();
        const bigKey = k('x'.repeat(MAX_KEY_BYTES + 1));
        await rejection(store.put(bigKey, enc('1')), InvalidRequestError);
        await rejection(store.txn({ success: [{ type: 'put', key: k('small'), value: enc('1') }, { type: 'put', key: bigKey, value: enc('1') }] }), InvalidRequestError);
        expect(await store.revision()).toBe(rev);
        expect(await rangeP()).toEqual([]);
      });

      it('an empty key is refused with InvalidRequestError', async () => {
        const rev = await store.revision();
        await rejection(store.put('', enc('1')), InvalidRequestError);
        await rejection(store.delete(''), InvalidRequestError);
        await rejection(store.txn({ success: [{ type: 'put', key: k('ok'), value: enc('1') }, { type: 'put', key: '', value: enc('1') }] }), InvalidRequestError);
        await rejection(store.range(''), InvalidRequestError);
        expect(await store.revision()).toBe(rev);
        expect(await rangeP()).toEqual([]);
      });

      it('a txn writing the same key twice is refused with InvalidRequestError', async () => {
        const rev = await store.revision();
        await rejection(store.txn({ success: [{ type: 'put', key: k('a'), value: enc('1') }, { type: 'put', key: k('a'), value: enc('2') }] }), InvalidRequestError);
        expect(await store.revision()).toBe(rev);
        expect(await rangeP()).toEqual([]);
      });

      it('a 1 MiB value and a value of exactly 1.5 MiB work', async () => {
        const mib = Buffer.alloc(1024 * 1024);
        for (let i = 0; i < mib.length; i++) mib[i] = (i * 31 + 7) & 0xff;
        const p = await store.put(k('mib'), mib);
        const r = await store.range(k('mib'));
        expect(r.kvs).toHaveLength(1);
        expect(Buffer.compare(Buffer.from(r.kvs[0].value), mib)).toBe(0);
        expect(r.kvs[0].modRevision).toBe(p.header.revision);
        const max = Buffer.alloc(MAX_VALUE_BYTES, 0x62);
        await store.put(k('max'), max);
        expect((await store.range(k('max'))).kvs[0].value.byteLength).toBe(MAX_VALUE_BYTES);
      });

      it('operations on a closed store fail with UnavailableError', async () => {
        await store.put(k('a'), enc('1'));
        await store.close();
        await rejection(store.put(k('a'), enc('2')), UnavailableError);
        await rejection(store.range(k('a')), UnavailableError);
        await rejection(store.revision(), UnavailableError);
        await rejection(store.watch(k('a'), {}, new Collector()), UnavailableError);
        await store.close(); // closing twice is harmless
        store = await open();
        expect(dec((await store.range(k('a'))).kvs[0].value)).toBe('1');
      });
    });
  });
}
