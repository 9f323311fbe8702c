// Compaction: reads and watches below the compact revision fail with CompactedError, later ones
// work; compacting twice or into the future is refused.
import { describe, expect, it } from 'vitest';
import { CompactedError, FutureRevisionError } from '../../errors.ts';
import type { SuiteContext } from './context.ts';
import { Collector, dec, enc, plain, rejection, sleep } from './helpers.ts';

export function describeCompaction(ctx: SuiteContext): void {
  const { k, allOfP, watchCollect, rangeP } = ctx;

  describe('compaction', () => {
    it('after compact(rev), reads below rev fail with CompactedError; reads at rev and later work', async () => {
      const revs: number[] = [];
      for (let i = 1; i <= 5; i++) revs.push((await ctx.store.put(k('a'), enc(`v${i}`))).header.revision);
      await ctx.store.put(k('b'), enc('b'));
      const before = await ctx.store.compactRevision();
      expect(before).toBeLessThan(revs[2]);
      const cur = await ctx.store.revision();
      await ctx.store.compact(revs[2]);
      expect(await ctx.store.compactRevision()).toBe(revs[2]);
      expect(await ctx.store.revision(), 'compaction does not create a revision').toBe(cur);
      const err = await rejection(ctx.store.range(k('a'), { revision: revs[1] }), CompactedError);
      expect(err.compactRevision).toBe(revs[2]);
      const err2 = await rejection(ctx.store.range(ctx.P, { ...allOfP(), revision: revs[0] }), CompactedError);
      expect(err2.compactRevision).toBe(revs[2]);
      for (let i = 2; i < 5; i++) {
        const r = await ctx.store.range(k('a'), { revision: revs[i] });
        expect(dec(r.kvs[0].value), `read at ${revs[i]}`).toBe(`v${i + 1}`);
        // createRevision still reports the key's creation, though that revision is compacted.
        expect(r.kvs[0].createRevision).toBe(revs[0]);
        expect(r.kvs[0].version).toBe(i + 1);
      }
      expect((await ctx.store.range(ctx.P, allOfP())).count).toBe(2);
      // Writes continue normally after a compaction.
      expect((await ctx.store.put(k('a'), enc('v6'))).header.revision).toBe(cur + 1);
    });

    it('compacting at or below the compact revision fails with CompactedError; above the current revision with FutureRevisionError', async () => {
      for (let i = 0; i < 4; i++) await ctx.store.put(k('a'), enc(String(i)));
      const rev = await ctx.store.revision();
      await ctx.store.compact(rev - 1);
      const again = await rejection(ctx.store.compact(rev - 1), CompactedError);
      expect(again.compactRevision).toBe(rev - 1);
      await rejection(ctx.store.compact(rev - 2), CompactedError);
      await rejection(ctx.store.compact(rev + 1), FutureRevisionError);
      expect(await ctx.store.compactRevision()).toBe(rev - 1);
      await ctx.store.compact(rev);
      expect(await ctx.store.compactRevision()).toBe(rev);
      expect((await ctx.store.range(k('a'))).kvs.map(plain)[0]?.value).toBe('3');
    });

    it('a watch from below the compact revision is rejected with CompactedError; from above it replays', async () => {
      const revs: number[] = [];
      for (let i = 0; i < 6; i++) revs.push((await ctx.store.put(k('a'), enc(`v${i}`))).header.revision);
      await ctx.store.compact(revs[3]);
      const c = new Collector();
      const err = await rejection(ctx.store.watch(ctx.P, { ...allOfP(), fromRevision: revs[1] }, c), CompactedError);
      expect(err.compactRevision).toBe(revs[3]);
      expect(c.events).toEqual([]);
      const { c: ok } = await watchCollect(ctx.P, { ...allOfP(), fromRevision: revs[4] });
      await ok.waitForRevision(revs[5]);
      expect(ok.events.map((ev) => ev.kv.modRevision)).toEqual([revs[4], revs[5]]);
      expect(ok.errors).toEqual([]);
    });

    it('a watch from exactly the compact revision is rejected with CompactedError (the contract: at or below)', async () => {
      const revs: number[] = [];
      for (let i = 0; i < 4; i++) revs.push((await ctx.store.put(k('a'), enc(`v${i}`))).header.revision);
      await ctx.store.compact(revs[2]);
      const c = new Collector();
      const err = await rejection(ctx.store.watch(ctx.P, { ...allOfP(), fromRevision: revs[2] }, c), CompactedError);
      expect(err.compactRevision).toBe(revs[2]);
      await sleep(50);
      expect(c.events).toEqual([]);
      expect(c.errors, 'a rejected watch calls no handler').toEqual([]);
    });

    it('deleted keys stay deleted after compaction', async () => {
      await ctx.store.put(k('a'), enc('1'));
      await ctx.store.put(k('b'), enc('1'));
      await ctx.store.delete(k('a'));
      await ctx.store.put(k('c'), enc('1'));
      const rev = await ctx.store.revision();
      await ctx.store.compact(rev);
      expect((await rangeP()).map((kv) => kv.key)).toEqual([k('b'), k('c')]);
      expect((await ctx.store.range(ctx.P, { ...allOfP(), revision: rev })).kvs.map((kv) => kv.key)).toEqual([k('b'), k('c')]);
      const t = await ctx.store.txn({ compare: [{ key: k('a'), target: 'createRevision', result: '=', value: 0 }], success: [{ type: 'put', key: k('a'), value: enc('2') }] });
      expect(t.succeeded).toBe(true);
      expect((await ctx.store.range(k('a'))).kvs[0]).toMatchObject({ version: 1, createRevision: rev + 1 });
    });
  });
}
