// Txn branches and their responses, prevKv on puts and deletes, delete-range over a prefix, and
// range ops inside a txn.
import { describe, expect, it } from 'vitest';
import { prefixEnd } from '../../types.ts';
import type { SuiteContext } from './context.ts';
import { enc, plain } from './helpers.ts';

export function describeTxn(ctx: SuiteContext): void {
  const { k, rangeP } = ctx;

  describe('txn, prevKv and delete-range', () => {
    it('heartbeats (coalesce) are written as any txn, alone or with another write, and kept', async () => {
      const r0 = await ctx.store.revision();
      const alone = await ctx.store.txn({ success: [{ type: 'put', key: k('lease'), value: enc('1') }], coalesce: true });
      expect(alone.succeeded).toBe(true);
      expect(alone.header.revision).toBe(r0 + 1);
      const [beat, other] = await Promise.all([
        ctx.store.txn({ compare: [{ key: k('lease'), target: 'modRevision', result: '=', value: r0 + 1 }], success: [{ type: 'put', key: k('lease'), value: enc('2') }], coalesce: true }),
        ctx.store.put(k('pod'), enc('p')),
      ]);
      expect(beat.succeeded).toBe(true);
      expect([beat.header.revision, other.header.revision].sort((a, b) => a - b)).toEqual([r0 + 2, r0 + 3]);
      const stale = await ctx.store.txn({ compare: [{ key: k('lease'), target: 'modRevision', result: '=', value: r0 + 1 }], success: [{ type: 'put', key: k('lease'), value: enc('3') }], coalesce: true });
      expect(stale.succeeded).toBe(false);
      await ctx.reopen();
      expect((await rangeP()).map((kv) => [kv.key, kv.value])).toEqual([
        [k('lease'), '2'],
        [k('pod'), 'p'],
      ]);
    });

    it('a failed compare runs the failure branch and nothing of the success branch', async () => {
      await ctx.store.put(k('guard'), enc('a'));
      await ctx.store.put(k('victim'), enc('v'));
      await ctx.store.put(k('seen'), enc('s'));
      const r0 = await ctx.store.revision();
      const t = await ctx.store.txn({
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
      await ctx.store.put(k('guard'), enc('a'));
      const t = await ctx.store.txn({
        compare: [{ key: k('guard'), target: 'value', result: '=', value: enc('a') }],
        success: [{ type: 'put', key: k('s'), value: enc('1') }],
        failure: [{ type: 'put', key: k('f'), value: enc('1') }],
      });
      expect(t.succeeded).toBe(true);
      expect(t.responses.map((r) => r.type)).toEqual(['put']);
      expect((await rangeP()).map((kv) => kv.key)).toEqual([k('guard'), k('s')]);
    });

    it('put with prevKv returns the previous version; none for a new key', async () => {
      const r1 = (await ctx.store.put(k('a'), enc('v1'), { prevKv: true }));
      expect(r1.prevKv).toBeUndefined();
      const r2 = await ctx.store.put(k('a'), enc('v2'), { prevKv: true });
      expect(r2.prevKv && plain(r2.prevKv)).toEqual({ key: k('a'), value: 'v1', createRevision: r1.header.revision, modRevision: r1.header.revision, version: 1, lease: 0 });
      const r3 = await ctx.store.put(k('a'), enc('v3'));
      expect(r3.prevKv).toBeUndefined();
      const t = await ctx.store.txn({ success: [{ type: 'put', key: k('a'), value: enc('v4'), prevKv: true }, { type: 'put', key: k('b'), value: enc('b'), prevKv: true }] });
      const [ta, tb] = t.responses;
      expect(ta.type === 'put' && ta.prevKv && plain(ta.prevKv)).toEqual({ key: k('a'), value: 'v3', createRevision: r1.header.revision, modRevision: r3.header.revision, version: 3, lease: 0 });
      expect(tb.type === 'put' && tb.prevKv).toBeUndefined();
    });

    it('delete with prevKv returns the deleted kvs in key order; without prevKv none', async () => {
      const ra = (await ctx.store.put(k('a'), enc('A'))).header.revision;
      const rb = (await ctx.store.put(k('b'), enc('B'))).header.revision;
      await ctx.store.put(k('c'), enc('C'));
      const d1 = await ctx.store.delete(k('a'), { end: k('c'), prevKv: true });
      expect(d1.deleted).toBe(2);
      expect(d1.prevKvs.map(plain)).toEqual([
        { key: k('a'), value: 'A', createRevision: ra, modRevision: ra, version: 1, lease: 0 },
        { key: k('b'), value: 'B', createRevision: rb, modRevision: rb, version: 1, lease: 0 },
      ]);
      const d2 = await ctx.store.delete(k('c'));
      expect(d2.deleted).toBe(1);
      expect(d2.prevKvs).toEqual([]);
      expect(await rangeP()).toEqual([]);
    });

    it('delete-range over a prefix (prefixEnd) deletes exactly the keys with that prefix, in one revision', async () => {
      const inside = ['dir/a', 'dir/b', 'dir/c/d', 'dir/\u00e9', 'dir/'];
      const outside = ['dir', 'dir0', 'dirz', 'di', 'dis/a', 'e'];
      await ctx.store.txn({ success: [...inside, ...outside].map((s) => ({ type: 'put' as const, key: k(s), value: enc(s) })) });
      const r0 = await ctx.store.revision();
      const d = await ctx.store.delete(k('dir/'), { end: prefixEnd(k('dir/')), prevKv: true });
      expect(d.deleted).toBe(inside.length);
      expect(d.header.revision).toBe(r0 + 1);
      expect(d.prevKvs.map((kv) => kv.key).sort()).toEqual(inside.map(k).sort());
      expect((await rangeP()).map((kv) => kv.key).sort()).toEqual(outside.map(k).sort());
      // The deleted keys are still readable at the revision before.
      expect((await ctx.store.range(k('dir/'), { end: prefixEnd(k('dir/')), revision: r0 })).count).toBe(inside.length);
    });

    it('range ops inside a txn read with their own options (limit, countOnly, keysOnly, past revision)', async () => {
      const r1 = (await ctx.store.put(k('a'), enc('1'))).header.revision;
      await ctx.store.put(k('b'), enc('2'));
      await ctx.store.put(k('c'), enc('3'));
      await ctx.store.put(k('a'), enc('1b'));
      const t = await ctx.store.txn({
        success: [
          { type: 'range', key: k(''), end: prefixEnd(ctx.P), limit: 2 },
          { type: 'range', key: k(''), end: prefixEnd(ctx.P), countOnly: true },
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
      expect((await ctx.store.range(k('z'))).count).toBe(1);
    });
  });
}
