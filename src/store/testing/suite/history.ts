// Reads at past revisions (checked against a model of a random history) and the range options:
// limit, more, count, keysOnly, countOnly, open-ended ranges and byte order of keys.
import { describe, expect, it } from 'vitest';
import { FutureRevisionError } from '../../errors.ts';
import { prefixEnd } from '../../types.ts';
import type { SuiteContext } from './context.ts';
import { enc, plain, rejection, rng, type PlainKv } from './helpers.ts';

export function describePastReads(ctx: SuiteContext): void {
  const { k, allOfP, rangeP } = ctx;

  describe('reads at past revisions', () => {
    it('a read at every past revision sees exactly the state at that revision', async () => {
      const random = rng(20240613);
      const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
      const model = new Map<string, PlainKv>();
      const snapshots = new Map<number, PlainKv[]>();
      const snapshot = (): PlainKv[] => [...model.values()].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0)).map((kv) => ({ ...kv }));
      const start = await ctx.store.revision();
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
          newRev = (await ctx.store.put(key, enc(value))).header.revision;
          putModel(key, value, newRev);
        } else if (dice < 0.7) {
          const d = await ctx.store.delete(key);
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
          const to = b < names.length ? k(names[b]) : prefixEnd(ctx.P);
          const d = await ctx.store.delete(from, { end: to });
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
          const t = await ctx.store.txn({ success: [...puts.map((n) => ({ type: 'put' as const, key: k(n), value: enc(`t${i}${n}`) })), { type: 'delete', key: k(del) }] });
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
        const res = await ctx.store.range(ctx.P, { ...allOfP(), revision: r });
        expect(res.header.revision, 'the header of a past read reports the current revision').toBe(rev);
        expect(res.kvs.map(plain), `state at revision ${r}`).toEqual(snapshots.get(r));
        expect(res.count).toBe(snapshots.get(r)?.length);
        // Single-key reads at that revision agree.
        const one = await ctx.store.range(k('c'), { revision: r });
        expect(one.kvs.map(plain), `key c at revision ${r}`).toEqual(snapshots.get(r)?.filter((kv) => kv.key === k('c')));
      }
      expect(await rangeP()).toEqual(snapshots.get(rev));
    });

    it('a read at a future revision fails with FutureRevisionError', async () => {
      await ctx.store.put(k('a'), enc('1'));
      const rev = await ctx.store.revision();
      await rejection(ctx.store.range(k('a'), { revision: rev + 1 }), FutureRevisionError);
      await rejection(ctx.store.range(k('a'), { revision: rev + 1000 }), FutureRevisionError);
      await rejection(ctx.store.txn({ success: [{ type: 'range', key: k('a'), revision: rev + 5 }] }), FutureRevisionError);
      expect((await ctx.store.range(k('a'), { revision: rev })).count).toBe(1);
      expect(await ctx.store.revision()).toBe(rev);
    });
  });
}

export function describeRangeOptions(ctx: SuiteContext): void {
  const { k, allOfP, rangeP } = ctx;

  describe('range options', () => {
    it('limit truncates in key order, more tells whether keys were left out, count ignores the limit', async () => {
      const names = Array.from({ length: 10 }, (_, i) => `key${String(i).padStart(2, '0')}`);
      for (const n of [...names].reverse()) await ctx.store.put(k(n), enc(n));
      for (const [limit, expected, more] of [[3, 3, true], [9, 9, true], [10, 10, false], [11, 10, false], [0, 10, false], [1, 1, true]] as const) {
        const r = await ctx.store.range(ctx.P, { ...allOfP(), limit });
        expect(r.kvs.map((kv) => kv.key), `limit ${limit}`).toEqual(names.slice(0, expected).map(k));
        expect(r.count, `count with limit ${limit}`).toBe(10);
        expect(r.more, `more with limit ${limit}`).toBe(more);
      }
      const sub = await ctx.store.range(k('key03'), { end: k('key07'), limit: 2 });
      expect(sub.kvs.map((kv) => kv.key)).toEqual([k('key03'), k('key04')]);
      expect(sub.count).toBe(4);
      expect(sub.more).toBe(true);
      // A range whose end is not after its start is empty.
      const empty = await ctx.store.range(k('key05'), { end: k('key05') });
      expect(empty.kvs).toEqual([]);
      expect(empty.count).toBe(0);
      // Limit applies at a past revision too.
      const rev = await ctx.store.revision();
      await ctx.store.delete(k('key00'));
      const past = await ctx.store.range(ctx.P, { ...allOfP(), revision: rev, limit: 2 });
      expect(past.kvs.map((kv) => kv.key)).toEqual([k('key00'), k('key01')]);
      expect(past.count).toBe(10);
    });

    it('keysOnly returns keys and metadata without values; countOnly returns only the count', async () => {
      const ra = (await ctx.store.put(k('a'), enc('value-a'))).header.revision;
      await ctx.store.put(k('b'), enc('value-b'));
      const ko = await ctx.store.range(ctx.P, { ...allOfP(), keysOnly: true });
      expect(ko.kvs.map((kv) => ({ key: kv.key, bytes: kv.value.byteLength }))).toEqual([{ key: k('a'), bytes: 0 }, { key: k('b'), bytes: 0 }]);
      expect(ko.kvs[0]).toMatchObject({ createRevision: ra, modRevision: ra, version: 1 });
      expect(ko.count).toBe(2);
      const co = await ctx.store.range(ctx.P, { ...allOfP(), countOnly: true });
      expect(co.kvs).toEqual([]);
      expect(co.count).toBe(2);
      const col = await ctx.store.range(ctx.P, { ...allOfP(), countOnly: true, limit: 1 });
      expect(col.kvs).toEqual([]);
      expect(col.count).toBe(2);
    });

    it("a range with end '\\0' reads every key from the start key on", async () => {
      const after = ctx.P.slice(0, -1) + '~'; // sorts after every key under P
      await ctx.store.put(k('a'), enc('1'));
      await ctx.store.put(k('b'), enc('2'));
      await ctx.store.put(k('c'), enc('3'));
      await ctx.store.put(after, enc('4'));
      const r = await ctx.store.range(k('b'), { end: '\0' });
      expect(r.kvs.map((kv) => kv.key)).toEqual([k('b'), k('c'), after]);
      expect(r.count).toBe(3);
      const lim = await ctx.store.range(k('b'), { end: '\0', limit: 1 });
      expect(lim.kvs.map((kv) => kv.key)).toEqual([k('b')]);
      expect(lim.more).toBe(true);
      expect(lim.count).toBe(3);
      // '\0' to '\0' is the whole keyspace (the harness starts every test empty).
      const all = await ctx.store.range('\0', { end: '\0' });
      expect(all.kvs.map((kv) => kv.key)).toEqual([k('a'), k('b'), k('c'), after]);
      const d = await ctx.store.delete(k('c'), { end: '\0' });
      expect(d.deleted).toBe(2);
      expect((await ctx.store.range('\0', { end: '\0' })).kvs.map((kv) => kv.key)).toEqual([k('a'), k('b')]);
    });

    it('keys are ordered by their UTF-8 bytes', async () => {
      // UTF-16 order would put the emoji (a surrogate pair, 0xD83D…) before U+FFFD; UTF-8 puts it after.
      const keys = ['z', '\u00e9', '\uFFFD', '\u{1F600}', 'A'];
      for (const s of keys) await ctx.store.put(k(s), enc(s));
      const byBytes = keys.map(k).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect((await rangeP()).map((kv) => kv.key)).toEqual(byBytes);
      const lim = await ctx.store.range(ctx.P, { ...allOfP(), limit: 4 });
      expect(lim.kvs.map((kv) => kv.key)).toEqual(byBytes.slice(0, 4));
      const tail = await ctx.store.range(k('\uFFFD'), { end: prefixEnd(ctx.P) });
      expect(tail.kvs.map((kv) => kv.key)).toEqual([k('\uFFFD'), k('\u{1F600}')]);
    });
  });
}
