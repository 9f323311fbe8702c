// Watches: every write delivered once and in order under concurrent writers, single keys, prevKv,
// resuming from past or future revisions, cancel, many watchers; and progress notifications.
import { describe, expect, it } from 'vitest';
import { prefixEnd } from '../../types.ts';
import type { SuiteContext } from './context.ts';
import { dec, enc, plain, plainEvent, poll, rng, sleep, type PlainKv } from './helpers.ts';

export function describeWatch(ctx: SuiteContext): void {
  const { k, allOfP, watchCollect, rangeP } = ctx;

  describe('watch', () => {
    it('delivers every acknowledged write exactly once, in revision order, under 8 concurrent writers', async () => {
      const { c } = await watchCollect(ctx.P, allOfP());
      const { c: withPrev } = await watchCollect(ctx.P, { ...allOfP(), prevKv: true });
      const start = await ctx.store.revision();
      const WRITERS = 8;
      const OPS = 50;
      const log: Array<{ rev: number; type: 'put' | 'delete'; key: string; value: string }> = [];
      const writer = async (w: number): Promise<void> => {
        const random = rng(1000 + w);
        for (let i = 0; i < OPS; i++) {
          const key = k(`k${Math.floor(random() * 12)}`);
          if (random() < 0.7) {
            const value = `w${w}-${i}`;
            const r = await ctx.store.put(key, enc(value));
            log.push({ rev: r.header.revision, type: 'put', key, value });
          } else {
            const r = await ctx.store.delete(key);
            if (r.deleted > 0) log.push({ rev: r.header.revision, type: 'delete', key, value: '' });
          }
        }
      };
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
      log.sort((a, b) => a.rev - b.rev);
      const end = await ctx.store.revision();
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
      const start = await ctx.store.revision();
      const WRITERS = 4;
      const OPS = 60;
      let acked = 0;
      const writer = async (w: number): Promise<void> => {
        for (let i = 0; i < OPS; i++) {
          if (i % 5 === 4) await ctx.store.delete(k(`k${(w + i) % 7}`), { end: k(`k${(w + i) % 7}~`) });
          else await ctx.store.put(k(`k${(w * 3 + i) % 7}`), enc(`w${w}-${i}`));
          acked++;
        }
      };
      const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
      // Join in the middle: history is replayed while new writes keep arriving.
      await poll('the writers to get going', () => acked >= 40, 10_000, 2);
      const { c } = await watchCollect(ctx.P, { ...allOfP(), fromRevision: start + 1 });
      const { c: withPrev } = await watchCollect(ctx.P, { ...allOfP(), fromRevision: start + 1, prevKv: true });
      await writers;
      const end = await ctx.store.revision();
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
      const p1 = (await ctx.store.put(k('a'), enc('1'))).header.revision;
      await ctx.store.put(k('ab'), enc('x'));
      await ctx.store.put(k('b'), enc('x'));
      const p2 = (await ctx.store.put(k('a'), enc('2'))).header.revision;
      await ctx.store.put(k('a0'), enc('x'));
      const d = (await ctx.store.delete(k('a'))).header.revision;
      await ctx.store.delete(k('ab'));
      const p3 = (await ctx.store.put(k('a'), enc('3'))).header.revision;
      await c.waitForRevision(p3);
      await ctx.store.put(k('b'), enc('y'));
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
      const lease = await ctx.store.leaseGrant(60);
      const { c } = await watchCollect(ctx.P, { ...allOfP(), prevKv: true });
      const r1 = (await ctx.store.put(k('a'), enc('1'))).header.revision;
      const r2 = (await ctx.store.put(k('a'), enc('2'), { lease: lease.id })).header.revision;
      const r3 = (await ctx.store.delete(k('a'))).header.revision;
      const r4 = (await ctx.store.txn({ success: [{ type: 'put', key: k('b'), value: enc('b') }, { type: 'put', key: k('c'), value: enc('c') }] })).header.revision;
      const r5 = (await ctx.store.delete(k('b'), { end: prefixEnd(ctx.P) })).header.revision;
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
      await ctx.store.leaseRevoke(lease.id);
    });

    it('a watch resumed from a past revision replays history from there, then continues live', async () => {
      const revs: number[] = [];
      for (let i = 0; i < 10; i++) {
        if (i === 6) revs.push((await ctx.store.delete(k('k1'))).header.revision);
        else revs.push((await ctx.store.put(k(`k${i % 3}`), enc(`v${i}`))).header.revision);
      }
      const mid = revs[4];
      const { c } = await watchCollect(ctx.P, { ...allOfP(), fromRevision: mid });
      const { c: withPrev } = await watchCollect(ctx.P, { ...allOfP(), fromRevision: mid, prevKv: true });
      for (let i = 10; i < 15; i++) revs.push((await ctx.store.put(k(`k${i % 3}`), enc(`v${i}`))).header.revision);
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
        const r = await ctx.store.range(ev.kv.key, { revision: ev.kv.modRevision });
        expect(plain(r.kvs[0])).toEqual(plain(ev.kv));
      }
    });

    it('a watch starting at a future revision waits for it', async () => {
      const rev = await ctx.store.revision();
      const { c } = await watchCollect(ctx.P, { ...allOfP(), fromRevision: rev + 3 });
      const revs: number[] = [];
      for (let i = 0; i < 5; i++) revs.push((await ctx.store.put(k(`f${i}`), enc(String(i)))).header.revision);
      await c.waitForRevision(revs[4]);
      await sleep(50);
      expect(c.events.map((ev) => ev.kv.modRevision)).toEqual(revs.filter((r) => r >= rev + 3));
    });

    it('cancel stops delivery', async () => {
      const { c, w } = await watchCollect(ctx.P, allOfP());
      const r1 = (await ctx.store.put(k('a'), enc('1'))).header.revision;
      await c.waitForRevision(r1);
      w.cancel();
      w.cancel(); // idempotent
      const { c: control } = await watchCollect(ctx.P, allOfP());
      const r2 = (await ctx.store.put(k('a'), enc('2'))).header.revision;
      await ctx.store.put(k('b'), enc('2'));
      const r3 = (await ctx.store.delete(k('a'))).header.revision;
      await control.waitForRevision(r3);
      await sleep(150);
      expect(control.events.map((ev) => ev.kv.modRevision)[0]).toBe(r2);
      expect(c.events.map((ev) => ev.kv.modRevision)).toEqual([r1]);
      expect(c.errors).toEqual([]);
    });

    it('120 watchers can be opened at once, all get their events, and all can be cancelled', async () => {
      const KEYS = 40;
      const list = await Promise.all(Array.from({ length: 120 }, (_, i) => watchCollect(k(`w${i % KEYS}`), {})));
      const t1 = await ctx.store.txn({ success: Array.from({ length: KEYS }, (_, i) => ({ type: 'put' as const, key: k(`w${i}`), value: enc('1') })) });
      for (const { c } of list) await c.waitForRevision(t1.header.revision);
      const ids = new Set(list.map(({ w }) => w.id));
      expect(ids.size, 'watcher ids are distinct').toBe(120);
      list.forEach(({ c }, i) => {
        expect(c.events.map((ev) => [ev.kv.key, ev.kv.modRevision]), `watcher ${i}`).toEqual([[k(`w${i % KEYS}`), t1.header.revision]]);
      });
      for (const { w } of list) w.cancel();
      const { c: control } = await watchCollect(ctx.P, allOfP());
      const t2 = await ctx.store.txn({ success: Array.from({ length: KEYS }, (_, i) => ({ type: 'put' as const, key: k(`w${i}`), value: enc('2') })) });
      await control.waitForRevision(t2.header.revision);
      expect(control.events).toHaveLength(KEYS);
      await sleep(150);
      list.forEach(({ c }, i) => expect(c.events, `cancelled watcher ${i}`).toHaveLength(1));
    });
  });
}

export function describeProgressNotifications(ctx: SuiteContext): void {
  const { k, watchCollect } = ctx;

  describe('progress notifications', () => {
    it('an idle watcher with progressNotify gets onProgress with a revision at or beyond the last write', async () => {
      const { c } = await watchCollect(k('watched/'), { end: prefixEnd(k('watched/')), progressNotify: true });
      const inRange = (await ctx.store.put(k('watched/a'), enc('1'))).header.revision;
      await c.waitForRevision(inRange);
      let last = 0;
      for (let i = 0; i < 3; i++) last = (await ctx.store.put(k('elsewhere'), enc(String(i)))).header.revision;
      const t0 = Date.now();
      await poll(`a progress notification at revision ≥ ${last} (got ${c.progress.join(', ') || 'none'})`, () => c.progress.some((r) => r >= last), 5000);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(c.errors).toEqual([]);
      // Progress never reports a revision below an event already delivered.
      expect(Math.min(...c.progress.filter((r) => r >= last))).toBeGreaterThanOrEqual(c.lastEventRevision);
      expect(c.events).toHaveLength(1);
      // More events, then idle again: progress catches up once more, never behind an event.
      await ctx.store.put(k('watched/b'), enc('2'));
      const lastIn = (await ctx.store.put(k('watched/a'), enc('3'))).header.revision;
      await c.waitForRevision(lastIn);
      const n = c.progress.length;
      await poll(`a progress notification at revision ≥ ${lastIn}`, () => c.progress.slice(n).some((r) => r >= lastIn), 5000);
      c.checkProgressConsistent();
    });
  });
}
