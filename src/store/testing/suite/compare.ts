// Txn compares: concurrent compare-and-swap (exactly one winner), and every compare target and
// result against present and absent keys.
import { describe, expect, it } from 'vitest';
import type { Compare, CompareResult } from '../../types.ts';
import type { SuiteContext } from './context.ts';
import { dec, enc } from './helpers.ts';

export function describeCompareAndSwap(ctx: SuiteContext): void {
  const { k } = ctx;

  describe('compare-and-swap', () => {
    it('of N concurrent txns comparing the same modRevision exactly one wins, round after round', async () => {
      const N = 20;
      await ctx.store.put(k('cas'), enc('init'));
      for (let round = 0; round < 5; round++) {
        const before = (await ctx.store.range(k('cas'))).kvs[0];
        const results = await Promise.all(Array.from({ length: N }, (_, i) => ctx.store.txn({
          compare: [{ key: k('cas'), target: 'modRevision', result: '=', value: before.modRevision }],
          success: [{ type: 'put', key: k('cas'), value: enc(`r${round}w${i}`) }],
          failure: [{ type: 'range', key: k('cas') }],
        })));
        const winners = results.map((r, i) => (r.succeeded ? i : -1)).filter((i) => i >= 0);
        expect(winners, `round ${round}: winners`).toHaveLength(1);
        const after = (await ctx.store.range(k('cas'))).kvs[0];
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
      await ctx.store.put(k('v'), enc('0'));
      for (let round = 0; round < 3; round++) {
        const version = (await ctx.store.range(k('v'))).kvs[0].version;
        const results = await Promise.all(Array.from({ length: N }, (_, i) => ctx.store.txn({
          compare: [{ key: k('v'), target: 'version', result: '=', value: version }],
          success: [{ type: 'put', key: k('v'), value: enc(String(i)) }],
        })));
        expect(results.filter((r) => r.succeeded), `round ${round}`).toHaveLength(1);
        expect((await ctx.store.range(k('v'))).kvs[0].version).toBe(version + 1);
      }
    });

    it('of N concurrent txns comparing the same value exactly one wins', async () => {
      const N = 20;
      await ctx.store.put(k('val'), enc('gen0'));
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all(Array.from({ length: N }, (_, i) => ctx.store.txn({
          compare: [{ key: k('val'), target: 'value', result: '=', value: enc(`gen${round}`) }],
          success: [{ type: 'put', key: k('val'), value: enc(`gen${round + 1}`) }, { type: 'put', key: k(`winner${round}`), value: enc(String(i)) }],
        })));
        const winners = results.map((r, i) => (r.succeeded ? i : -1)).filter((i) => i >= 0);
        expect(winners, `round ${round}`).toHaveLength(1);
        expect(dec((await ctx.store.range(k(`winner${round}`))).kvs[0].value)).toBe(String(winners[0]));
        expect((await ctx.store.range(k('val'))).kvs[0].version).toBe(round + 2);
      }
    });

    it('of N concurrent create-if-absent txns (createRevision = 0) exactly one creates the key', async () => {
      const N = 20;
      for (let round = 0; round < 3; round++) {
        const key = k(`lock${round}`);
        const results = await Promise.all(Array.from({ length: N }, (_, i) => ctx.store.txn({
          compare: [{ key, target: 'createRevision', result: '=', value: 0 }],
          success: [{ type: 'put', key, value: enc(`owner${i}`) }],
        })));
        const winners = results.map((r, i) => (r.succeeded ? i : -1)).filter((i) => i >= 0);
        expect(winners, `round ${round}`).toHaveLength(1);
        const kv = (await ctx.store.range(key)).kvs[0];
        expect(dec(kv.value)).toBe(`owner${winners[0]}`);
        expect(kv.version).toBe(1);
      }
    });

    it('a counter incremented by CAS-retry loops from 8 concurrent workers ends at exactly the number of increments', async () => {
      const WORKERS = 8;
      const PER_WORKER = 20;
      const key = k('counter');
      const start = await ctx.store.put(key, enc('0'));
      const committed: number[] = [];
      const deadline = Date.now() + 40_000;
      const worker = async (): Promise<void> => {
        let cur = (await ctx.store.range(key)).kvs[0];
        for (let done = 0; done < PER_WORKER;) {
          if (Date.now() > deadline) throw new Error('CAS workers did not finish in time');
          const n = Number(dec(cur.value));
          const t = await ctx.store.txn({
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
      const kv = (await ctx.store.range(key)).kvs[0];
      expect(dec(kv.value)).toBe(String(WORKERS * PER_WORKER));
      expect(kv.version).toBe(WORKERS * PER_WORKER + 1);
      // Every successful increment had a revision of its own, and nothing else wrote.
      expect(new Set(committed).size).toBe(WORKERS * PER_WORKER);
      expect(kv.modRevision).toBe(start.header.revision + WORKERS * PER_WORKER);
    });
  });
}

export function describeCompares(ctx: SuiteContext): void {
  const { k } = ctx;

  describe('compares', () => {
    const results: CompareResult[] = ['=', '!=', '<', '>'];
    const holds = (c: number, r: CompareResult): boolean => (r === '=' ? c === 0 : r === '!=' ? c !== 0 : r === '<' ? c < 0 : c > 0);

    it('compares on version, createRevision, modRevision and lease with = != < >', async () => {
      const lease = await ctx.store.leaseGrant(60);
      const created = (await ctx.store.put(k('a'), enc('x'))).header.revision;
      await ctx.store.put(k('other'), enc('x'));
      const modified = (await ctx.store.put(k('a'), enc('y'), { lease: lease.id })).header.revision;
      const actual = { version: 2, createRevision: created, modRevision: modified, lease: lease.id };
      const rev = await ctx.store.revision();
      for (const target of ['version', 'createRevision', 'modRevision', 'lease'] as const) {
        for (const result of results) {
          for (const value of [actual[target] - 1, actual[target], actual[target] + 1]) {
            const t = await ctx.store.txn({ compare: [{ key: k('a'), target, result, value }] });
            expect(t.succeeded, `${target} (${actual[target]}) ${result} ${value}`).toBe(holds(Math.sign(actual[target] - value), result));
          }
        }
      }
      expect(await ctx.store.revision()).toBe(rev);
      await ctx.store.leaseRevoke(lease.id);
    });

    it('compares on value with = != < > (byte order)', async () => {
      await ctx.store.put(k('a'), enc('mid'));
      for (const other of ['lid', 'mid', 'mie', 'mi', 'mida', '', 'zzz', 'MID']) {
        const c = Buffer.compare(Buffer.from('mid'), Buffer.from(other));
        for (const result of results) {
          const t = await ctx.store.txn({ compare: [{ key: k('a'), target: 'value', result, value: enc(other) }] });
          expect(t.succeeded, `value 'mid' ${result} '${other}'`).toBe(holds(c, result));
        }
      }
      await ctx.store.put(k('bin'), Buffer.from([0x80]));
      const t = await ctx.store.txn({ compare: [{ key: k('bin'), target: 'value', result: '>', value: Buffer.from([0x7f, 0xff]) }] });
      expect(t.succeeded, 'bytes compare unsigned').toBe(true);
    });

    it('compares against an absent key see version, createRevision, modRevision and lease as 0; value compares are false', async () => {
      await ctx.store.put(k('deleted'), enc('x'));
      await ctx.store.delete(k('deleted'));
      for (const key of [k('absent'), k('deleted')]) {
        for (const target of ['version', 'createRevision', 'modRevision', 'lease'] as const) {
          for (const result of results) {
            for (const value of [0, 1]) {
              const t = await ctx.store.txn({ compare: [{ key, target, result, value }] });
              expect(t.succeeded, `${key} ${target} ${result} ${value}`).toBe(holds(Math.sign(0 - value), result));
            }
          }
        }
        for (const result of results) {
          for (const value of ['', 'x']) {
            const t = await ctx.store.txn({ compare: [{ key, target: 'value', result, value: enc(value) }] });
            expect(t.succeeded, `${key} value ${result} '${value}'`).toBe(false);
          }
        }
      }
    });

    it('all compares of a txn must hold for the success branch', async () => {
      await ctx.store.put(k('a'), enc('1'));
      await ctx.store.put(k('b'), enc('2'));
      const yes: Compare = { key: k('a'), target: 'value', result: '=', value: enc('1') };
      const yes2: Compare = { key: k('b'), target: 'version', result: '=', value: 1 };
      const no: Compare = { key: k('b'), target: 'value', result: '=', value: enc('1') };
      expect((await ctx.store.txn({ compare: [yes, yes2] })).succeeded).toBe(true);
      expect((await ctx.store.txn({ compare: [yes, no] })).succeeded).toBe(false);
      expect((await ctx.store.txn({ compare: [no, yes] })).succeeded).toBe(false);
      expect((await ctx.store.txn({ compare: [] })).succeeded).toBe(true);
    });
  });
}
