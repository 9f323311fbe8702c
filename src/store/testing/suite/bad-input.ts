// Bad input: size limits on keys and values, empty keys, a txn writing a key twice, and a closed
// store.
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, MAX_KEY_BYTES, MAX_VALUE_BYTES, UnavailableError } from '../../errors.ts';
import type { SuiteContext } from './context.ts';
import { Collector, dec, enc, rejection } from './helpers.ts';

export function describeBadInput(ctx: SuiteContext): void {
  const { k, open, rangeP } = ctx;

  describe('bad input', () => {
    it('a value over 1.5 MiB is refused with InvalidRequestError and nothing is written', async () => {
      const rev = await ctx.store.revision();
      const big = Buffer.alloc(MAX_VALUE_BYTES + 1, 0x61);
      await rejection(ctx.store.put(k('big'), big), InvalidRequestError);
      await rejection(ctx.store.txn({ success: [{ type: 'put', key: k('small'), value: enc('1') }, { type: 'put', key: k('big'), value: big }] }), InvalidRequestError);
      await rejection(ctx.store.txn({ compare: [{ key: k('x'), target: 'version', result: '=', value: 1 }], failure: [{ type: 'put', key: k('big'), value: big }] }), InvalidRequestError);
      expect(await ctx.store.revision()).toBe(rev);
      expect(await rangeP()).toEqual([]);
    });

    it('a key over 1.5 MiB is refused with InvalidRequestError and nothing is written', async () => {
      const rev = await ctx.store.revision();
      const bigKey = k('x'.repeat(MAX_KEY_BYTES + 1));
      await rejection(ctx.store.put(bigKey, enc('1')), InvalidRequestError);
      await rejection(ctx.store.txn({ success: [{ type: 'put', key: k('small'), value: enc('1') }, { type: 'put', key: bigKey, value: enc('1') }] }), InvalidRequestError);
      expect(await ctx.store.revision()).toBe(rev);
      expect(await rangeP()).toEqual([]);
    });

    it('an empty key is refused with InvalidRequestError', async () => {
      const rev = await ctx.store.revision();
      await rejection(ctx.store.put('', enc('1')), InvalidRequestError);
      await rejection(ctx.store.delete(''), InvalidRequestError);
      await rejection(ctx.store.txn({ success: [{ type: 'put', key: k('ok'), value: enc('1') }, { type: 'put', key: '', value: enc('1') }] }), InvalidRequestError);
      await rejection(ctx.store.range(''), InvalidRequestError);
      expect(await ctx.store.revision()).toBe(rev);
      expect(await rangeP()).toEqual([]);
    });

    it('a txn writing the same key twice is refused with InvalidRequestError', async () => {
      const rev = await ctx.store.revision();
      await rejection(ctx.store.txn({ success: [{ type: 'put', key: k('a'), value: enc('1') }, { type: 'put', key: k('a'), value: enc('2') }] }), InvalidRequestError);
      expect(await ctx.store.revision()).toBe(rev);
      expect(await rangeP()).toEqual([]);
    });

    it('a 1 MiB value and a value of exactly 1.5 MiB work', async () => {
      const mib = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < mib.length; i++) mib[i] = (i * 31 + 7) & 0xff;
      const p = await ctx.store.put(k('mib'), mib);
      const r = await ctx.store.range(k('mib'));
      expect(r.kvs).toHaveLength(1);
      expect(Buffer.compare(Buffer.from(r.kvs[0].value), mib)).toBe(0);
      expect(r.kvs[0].modRevision).toBe(p.header.revision);
      const max = Buffer.alloc(MAX_VALUE_BYTES, 0x62);
      await ctx.store.put(k('max'), max);
      expect((await ctx.store.range(k('max'))).kvs[0].value.byteLength).toBe(MAX_VALUE_BYTES);
    });

    it('operations on a closed store fail with UnavailableError', async () => {
      await ctx.store.put(k('a'), enc('1'));
      await ctx.store.close();
      await rejection(ctx.store.put(k('a'), enc('2')), UnavailableError);
      await rejection(ctx.store.range(k('a')), UnavailableError);
      await rejection(ctx.store.revision(), UnavailableError);
      await rejection(ctx.store.watch(k('a'), {}, new Collector()), UnavailableError);
      await ctx.store.close(); // closing twice is harmless
      ctx.store = await open();
      expect(dec((await ctx.store.range(k('a'))).kvs[0].value)).toBe('1');
    });
  });
}
