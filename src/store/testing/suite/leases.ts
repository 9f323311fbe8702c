// Leases: grant, attach and move keys, keepAlive, revoke and expiry (deleting the keys in one
// revision), and unknown leases.
import { describe, expect, it } from 'vitest';
import { LeaseNotFoundError } from '../../errors.ts';
import type { SuiteContext } from './context.ts';
import { enc, poll, rejection, sleep } from './helpers.ts';

export function describeLeases(ctx: SuiteContext): void {
  const { k, allOfP, watchCollect, rangeP } = ctx;

  describe('leases', () => {
    it('grant returns an id and TTL; keys put with the lease report it', async () => {
      const lease = await ctx.store.leaseGrant(30);
      expect(lease.id).toBeGreaterThan(0);
      expect(Number.isSafeInteger(lease.id)).toBe(true);
      expect(lease.ttl).toBe(30);
      const other = await ctx.store.leaseGrant(30);
      expect(other.id).not.toBe(lease.id);
      await ctx.store.put(k('a'), enc('1'), { lease: lease.id });
      await ctx.store.txn({ success: [{ type: 'put', key: k('b'), value: enc('1'), lease: other.id }] });
      await ctx.store.put(k('c'), enc('1'));
      expect((await rangeP()).map((kv) => [kv.key, kv.lease])).toEqual([[k('a'), lease.id], [k('b'), other.id], [k('c'), 0]]);
      // Putting without a lease detaches the key; putting with another lease moves it.
      await ctx.store.put(k('a'), enc('2'));
      expect((await ctx.store.range(k('a'))).kvs[0].lease).toBe(0);
      await ctx.store.put(k('c'), enc('2'), { lease: lease.id });
      await ctx.store.put(k('c'), enc('3'), { lease: other.id });
      await ctx.store.leaseRevoke(lease.id);
      expect((await rangeP()).map((kv) => kv.key), 'keys moved off a lease survive its revocation').toEqual([k('a'), k('b'), k('c')]);
      await ctx.store.leaseRevoke(other.id);
      expect((await rangeP()).map((kv) => kv.key)).toEqual([k('a')]);
    });

    it('keepAlive keeps a lease and its keys alive past the TTL', async () => {
      const lease = await ctx.store.leaseGrant(2);
      expect(lease.ttl).toBe(2);
      await ctx.store.put(k('a'), enc('1'), { lease: lease.id });
      const until = Date.now() + 3500;
      let n = 0;
      while (Date.now() < until && n < 20) {
        const ka = await ctx.store.leaseKeepAlive(lease.id);
        expect(ka).toEqual({ id: lease.id, ttl: 2 });
        n++;
        await sleep(500);
      }
      expect(n).toBeGreaterThanOrEqual(5);
      expect((await ctx.store.range(k('a'))).kvs.map((kv) => kv.lease)).toEqual([lease.id]);
      await ctx.store.leaseRevoke(lease.id);
    });

    it('revoke deletes the attached keys in one revision, seen by a watcher as delete events', async () => {
      const lease = await ctx.store.leaseGrant(60);
      await ctx.store.put(k('a'), enc('1'), { lease: lease.id });
      await ctx.store.put(k('b'), enc('1'), { lease: lease.id });
      await ctx.store.put(k('c'), enc('1'));
      await ctx.store.put(k('d'), enc('1'), { lease: lease.id });
      const { c } = await watchCollect(ctx.P, { ...allOfP(), prevKv: true });
      const rev = await ctx.store.revision();
      await ctx.store.leaseRevoke(lease.id);
      expect(await ctx.store.revision()).toBe(rev + 1);
      expect((await rangeP()).map((kv) => kv.key)).toEqual([k('c')]);
      await c.waitForCount(3);
      c.checkOrdered();
      expect(c.events.map((ev) => [ev.type, ev.kv.key, ev.kv.modRevision, ev.prevKv?.lease]).sort()).toEqual([
        ['delete', k('a'), rev + 1, lease.id],
        ['delete', k('b'), rev + 1, lease.id],
        ['delete', k('d'), rev + 1, lease.id],
      ]);
      await rejection(ctx.store.leaseRevoke(lease.id), LeaseNotFoundError);
    });

    it('an expired lease deletes its keys (delete events) within a bounded time', async () => {
      const { c } = await watchCollect(ctx.P, allOfP());
      const t0 = Date.now();
      const lease = await ctx.store.leaseGrant(2);
      await ctx.store.put(k('a'), enc('1'), { lease: lease.id });
      await ctx.store.put(k('b'), enc('1'), { lease: lease.id });
      await ctx.store.put(k('keep'), enc('1'));
      const rev = await ctx.store.revision();
      await poll('the lease to expire and its keys to be deleted', async () => (await ctx.store.range(k('a'), { end: k('c') })).count === 0, 10_000, 100);
      const elapsed = Date.now() - t0;
      expect(elapsed, 'not deleted long before the TTL').toBeGreaterThan(1000);
      expect((await rangeP()).map((kv) => kv.key)).toEqual([k('keep')]);
      expect(await ctx.store.revision(), 'expiry deletes the keys in one revision').toBe(rev + 1);
      await c.waitForCount(5);
      expect(c.events.slice(3).map((ev) => [ev.type, ev.kv.key, ev.kv.modRevision]).sort()).toEqual([
        ['delete', k('a'), rev + 1],
        ['delete', k('b'), rev + 1],
      ]);
      await rejection(ctx.store.leaseKeepAlive(lease.id), LeaseNotFoundError);
    });

    it('put with an unknown lease fails with LeaseNotFoundError and writes nothing', async () => {
      const rev = await ctx.store.revision();
      const unknown = 7_000_000_000_001;
      await rejection(ctx.store.put(k('a'), enc('1'), { lease: unknown }), LeaseNotFoundError);
      await rejection(ctx.store.txn({ success: [{ type: 'put', key: k('b'), value: enc('1') }, { type: 'put', key: k('c'), value: enc('1'), lease: unknown }] }), LeaseNotFoundError);
      expect(await ctx.store.revision()).toBe(rev);
      expect(await rangeP()).toEqual([]);
    });

    it('keepAlive and revoke of a revoked or unknown lease fail with LeaseNotFoundError', async () => {
      const lease = await ctx.store.leaseGrant(30);
      await ctx.store.leaseRevoke(lease.id);
      await rejection(ctx.store.leaseKeepAlive(lease.id), LeaseNotFoundError);
      await rejection(ctx.store.leaseRevoke(lease.id), LeaseNotFoundError);
      await rejection(ctx.store.leaseKeepAlive(7_000_000_000_003), LeaseNotFoundError);
      await rejection(ctx.store.put(k('a'), enc('1'), { lease: lease.id }), LeaseNotFoundError);
    });
  });
}
