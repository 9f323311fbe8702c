// Restart (close → harness.restart() → open): state, history, watches, compaction and leases
// survive it.
import { describe, expect, it } from 'vitest';
import { CompactedError } from '../../errors.ts';
import type { SuiteContext } from './context.ts';
import { dec, enc, plain, rejection } from './helpers.ts';

export function describeRestart(ctx: SuiteContext): void {
  const { k, allOfP, reopen, watchCollect, rangeP } = ctx;

  describe('restart', () => {
    it('state, revision and history survive a restart; new writes continue from the old revision', async () => {
      const ra = (await ctx.store.put(k('a'), enc('1'))).header.revision;
      await ctx.store.put(k('b'), enc('1'));
      await ctx.store.put(k('a'), enc('2'));
      await ctx.store.txn({ success: [{ type: 'put', key: k('c'), value: enc('c') }, { type: 'put', key: k('d'), value: enc('d') }] });
      const mid = await ctx.store.revision();
      await ctx.store.delete(k('b'));
      await ctx.store.put(k('e'), Buffer.from([0, 255, 1]));
      await ctx.store.delete(k('d'), { end: k('f') }); // the last write is a deletion
      const rev = await ctx.store.revision();
      const state = await ctx.store.range(ctx.P, allOfP());
      const atMid = await ctx.store.range(ctx.P, { ...allOfP(), revision: mid });
      expect(state.kvs.map((kv) => kv.key)).toEqual([k('a'), k('c')]);
      await reopen();
      expect(await ctx.store.revision()).toBe(rev);
      const after = await ctx.store.range(ctx.P, allOfP());
      expect(after.header.revision).toBe(rev);
      expect(after.kvs.map(plain)).toEqual(state.kvs.map(plain));
      expect((await ctx.store.range(ctx.P, { ...allOfP(), revision: mid })).kvs.map(plain)).toEqual(atMid.kvs.map(plain));
      expect((await ctx.store.range(k('e'), { revision: rev - 1 })).kvs.map((kv) => Buffer.from(kv.value).toString('hex'))).toEqual(['00ff01']);
      const p = await ctx.store.put(k('a'), enc('3'));
      expect(p.header.revision, 'the revision continues; it never goes backwards').toBe(rev + 1);
      expect((await ctx.store.range(k('a'))).kvs.map(plain)).toEqual([{ key: k('a'), value: '3', createRevision: ra, modRevision: rev + 1, version: 3, lease: 0 }]);
      const pd = await ctx.store.put(k('d'), enc('new'));
      expect((await ctx.store.range(k('d'))).kvs[0]).toMatchObject({ createRevision: pd.header.revision, version: 1 });
      // Twice in a row, with nothing written in between.
      await reopen();
      expect(await ctx.store.revision()).toBe(rev + 2);
      expect((await rangeP()).map((kv) => kv.key)).toEqual([k('a'), k('c'), k('d')]);
    });

    it('a watch from an old revision after a restart replays history, then continues live', async () => {
      const revs: number[] = [];
      revs.push((await ctx.store.put(k('a'), enc('1'))).header.revision);
      revs.push((await ctx.store.put(k('b'), enc('1'))).header.revision);
      revs.push((await ctx.store.put(k('a'), enc('2'))).header.revision);
      revs.push((await ctx.store.delete(k('b'))).header.revision);
      revs.push((await ctx.store.put(k('c'), enc('1'))).header.revision);
      await reopen();
      const { c } = await watchCollect(ctx.P, { ...allOfP(), fromRevision: revs[0], prevKv: true });
      await c.waitForRevision(revs[4]);
      const live = (await ctx.store.put(k('a'), enc('3'))).header.revision;
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
      for (let i = 0; i < 4; i++) revs.push((await ctx.store.put(k('a'), enc(`v${i}`))).header.revision);
      await ctx.store.compact(revs[2]);
      await reopen();
      expect(await ctx.store.compactRevision()).toBe(revs[2]);
      const err = await rejection(ctx.store.range(k('a'), { revision: revs[1] }), CompactedError);
      expect(err.compactRevision).toBe(revs[2]);
      expect(dec((await ctx.store.range(k('a'), { revision: revs[2] })).kvs[0].value)).toBe('v2');
      expect(dec((await ctx.store.range(k('a'))).kvs[0].value)).toBe('v3');
    });

    it('leases and their attached keys survive a restart', async () => {
      const lease = await ctx.store.leaseGrant(60);
      await ctx.store.put(k('a'), enc('1'), { lease: lease.id });
      await ctx.store.put(k('b'), enc('1'));
      await reopen();
      expect((await rangeP()).map((kv) => [kv.key, kv.lease])).toEqual([[k('a'), lease.id], [k('b'), 0]]);
      expect(await ctx.store.leaseKeepAlive(lease.id)).toEqual({ id: lease.id, ttl: 60 });
      await ctx.store.leaseRevoke(lease.id);
      expect((await rangeP()).map((kv) => kv.key)).toEqual([k('b')]);
    });
  });
}
