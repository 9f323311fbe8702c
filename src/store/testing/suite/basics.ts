// The suite's basics: put, get and delete, bytes values, read-your-writes, and which operations
// create a revision (exactly one per successful write; none for reads and no-ops).
import { describe, expect, it } from 'vitest';
import { prefixEnd } from '../../types.ts';
import type { SuiteContext } from './context.ts';
import { enc, plain } from './helpers.ts';

export function describePutAndGet(ctx: SuiteContext): void {
  const { k, allOfP, rangeP } = ctx;

  describe('put and get', () => {
    it('put then range returns the value with createRevision, modRevision, version and lease', async () => {
      const r0 = await ctx.store.revision();
      const p1 = await ctx.store.put(k('a'), enc('v1'));
      expect(p1.header.revision).toBe(r0 + 1);
      let r = await ctx.store.range(k('a'));
      expect(r.header.revision).toBe(r0 + 1);
      expect(r.count).toBe(1);
      expect(r.more).toBe(false);
      expect(r.kvs.map(plain)).toEqual([{ key: k('a'), value: 'v1', createRevision: r0 + 1, modRevision: r0 + 1, version: 1, lease: 0 }]);

      await ctx.store.put(k('a'), enc('v2'));
      r = await ctx.store.range(k('a'));
      expect(r.kvs.map(plain)).toEqual([{ key: k('a'), value: 'v2', createRevision: r0 + 1, modRevision: r0 + 2, version: 2, lease: 0 }]);

      const d = await ctx.store.delete(k('a'));
      expect(d.deleted).toBe(1);
      expect(d.header.revision).toBe(r0 + 3);
      r = await ctx.store.range(k('a'));
      expect(r.kvs).toEqual([]);
      expect(r.count).toBe(0);

      // Re-created after a deletion: a new life with a new createRevision and version 1.
      await ctx.store.put(k('a'), enc('v3'));
      r = await ctx.store.range(k('a'));
      expect(r.kvs.map(plain)).toEqual([{ key: k('a'), value: 'v3', createRevision: r0 + 4, modRevision: r0 + 4, version: 1, lease: 0 }]);

      expect((await ctx.store.range(k('missing'))).kvs).toEqual([]);
    });

    it('values are bytes: binary and empty values round-trip', async () => {
      const bin = Buffer.from([0, 1, 2, 255, 254, 0, 128]);
      await ctx.store.put(k('bin'), bin);
      await ctx.store.put(k('empty'), Buffer.alloc(0));
      const r = await ctx.store.range(ctx.P, allOfP());
      expect(r.kvs.map((kv) => [kv.key, Buffer.from(kv.value).toString('hex')])).toEqual([
        [k('bin'), bin.toString('hex')],
        [k('empty'), ''],
      ]);
      expect(r.kvs[1].version).toBe(1);
    });

    it('a read right after an acknowledged write sees it, and revision() reports it', async () => {
      // Read-your-writes: the store's revision and reads reflect every acknowledged write.
      for (let i = 0; i < 20; i++) {
        const p = await ctx.store.put(k('ryw'), enc(`v${i}`));
        expect(await ctx.store.revision()).toBe(p.header.revision);
        const r = await ctx.store.range(k('ryw'));
        expect(r.kvs.map(plain)[0]?.value).toBe(`v${i}`);
        expect(r.kvs[0]?.modRevision).toBe(p.header.revision);
      }
    });

    it('every successful write creates exactly one new revision', async () => {
      const lease = await ctx.store.leaseGrant(30);
      let rev = await ctx.store.revision();
      const step = async (what: string, run: () => Promise<{ header: { revision: number } }>, touched: string[]): Promise<void> => {
        const res = await run();
        expect(res.header.revision, `${what}: header revision`).toBe(rev + 1);
        expect(await ctx.store.revision(), `${what}: revision()`).toBe(rev + 1);
        rev++;
        for (const key of touched) {
          const r = await ctx.store.range(key, { revision: rev });
          // A deleted key has no kv: check its deletion via the previous revision instead.
          if (r.kvs.length > 0) expect(r.kvs[0].modRevision, `${what}: modRevision of ${key}`).toBe(rev);
          else expect((await ctx.store.range(key, { revision: rev - 1 })).count, `${what}: ${key} existed before`).toBe(1);
        }
      };
      await step('put (create)', () => ctx.store.put(k('a'), enc('1')), [k('a')]);
      await step('put (update)', () => ctx.store.put(k('a'), enc('2')), [k('a')]);
      await step('put (same value again)', () => ctx.store.put(k('a'), enc('2')), [k('a')]);
      await step('put (other key)', () => ctx.store.put(k('b'), enc('1')), [k('b')]);
      await step('put (third key)', () => ctx.store.put(k('c'), enc('1')), [k('c')]);
      await step('delete one key', () => ctx.store.delete(k('c')), [k('c')]);
      await step('delete-range of two keys', () => ctx.store.delete(k('a'), { end: k('c') }), [k('a'), k('b')]);
      await step(
        'txn of three puts and a delete',
        () => ctx.store.txn({ success: [
          { type: 'put', key: k('x'), value: enc('1') },
          { type: 'put', key: k('y'), value: enc('1') },
          { type: 'put', key: k('z'), value: enc('1'), lease: lease.id },
        ] }),
        [k('x'), k('y'), k('z')],
      );
      await step('txn of a put and a delete', () => ctx.store.txn({ success: [{ type: 'put', key: k('w'), value: enc('1') }, { type: 'delete', key: k('x') }] }), [k('w'), k('x')]);
      await step('failed compare taking a failure branch that writes', () => ctx.store.txn({
        compare: [{ key: k('y'), target: 'version', result: '=', value: 99 }],
        success: [{ type: 'put', key: k('never'), value: enc('1') }],
        failure: [{ type: 'put', key: k('y'), value: enc('2') }],
      }), [k('y')]);
      // Revoking a lease deletes its keys in one revision.
      await ctx.store.put(k('z2'), enc('1'), { lease: lease.id });
      rev++;
      await step('lease revoke deleting two keys', async () => {
        await ctx.store.leaseRevoke(lease.id);
        return { header: { revision: await ctx.store.revision() } };
      }, [k('z'), k('z2')]);
      expect((await ctx.store.range(k('never'))).count).toBe(0);
    });

    it('a txn with several puts creates one revision shared by all its keys', async () => {
      const r0 = await ctx.store.revision();
      const t = await ctx.store.txn({ success: ['a', 'b', 'c', 'd'].map((s) => ({ type: 'put' as const, key: k(s), value: enc(s) })) });
      expect(t.succeeded).toBe(true);
      expect(t.header.revision).toBe(r0 + 1);
      expect(t.responses.map((r) => r.type)).toEqual(['put', 'put', 'put', 'put']);
      const kvs = await rangeP();
      expect(kvs.map((kv) => kv.key)).toEqual([k('a'), k('b'), k('c'), k('d')]);
      for (const kv of kvs) expect(kv).toMatchObject({ createRevision: r0 + 1, modRevision: r0 + 1, version: 1 });
      // The revision before the txn sees none of them: the txn is atomic.
      expect((await ctx.store.range(ctx.P, { ...allOfP(), revision: r0 })).count).toBe(0);
    });

    it('read-only txns, empty txns, lease grants and deletes of missing keys do not bump the revision', async () => {
      await ctx.store.put(k('a'), enc('1'));
      const rev = await ctx.store.revision();
      const ro = await ctx.store.txn({ success: [{ type: 'range', key: k('a') }] });
      expect(ro.header.revision).toBe(rev);
      expect(ro.succeeded).toBe(true);
      const empty = await ctx.store.txn({ compare: [{ key: k('a'), target: 'version', result: '=', value: 5 }] });
      expect(empty.succeeded).toBe(false);
      expect(empty.header.revision).toBe(rev);
      const emptyOk = await ctx.store.txn({});
      expect(emptyOk.succeeded).toBe(true);
      expect(emptyOk.header.revision).toBe(rev);
      const d = await ctx.store.delete(k('missing'));
      expect(d.deleted).toBe(0);
      expect(d.prevKvs).toEqual([]);
      expect(d.header.revision).toBe(rev);
      const dr = await ctx.store.delete(k('nothing/'), { end: prefixEnd(k('nothing/')), prevKv: true });
      expect(dr.deleted).toBe(0);
      expect(dr.header.revision).toBe(rev);
      const txnDel = await ctx.store.txn({ success: [{ type: 'delete', key: k('missing') }] });
      expect(txnDel.header.revision).toBe(rev);
      const lease = await ctx.store.leaseGrant(30);
      await ctx.store.leaseKeepAlive(lease.id);
      await ctx.store.leaseRevoke(lease.id); // no keys attached: nothing to delete
      await ctx.store.range(ctx.P, allOfP());
      expect(await ctx.store.revision()).toBe(rev);
      // The next write takes the very next revision.
      expect((await ctx.store.put(k('b'), enc('1'))).header.revision).toBe(rev + 1);
    });
  });
}
