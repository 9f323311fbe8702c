import { describe, expect, it } from 'vitest';
import { parseCPU, parseMemory, parseQuantity, QuantityError } from './parse.ts';

describe('quantity parsing', () => {
  it.each([
    ['100m', 100],
    ['1', 1000],
    ['0.5', 500],
    ['1.5', 1500],
    ['.5', 500],
    ['2.', 2000],
    ['250m', 250],
    ['0.1m', 1], // finer than a millicore rounds up
    ['1n', 1],
    ['1e3', 1_000_000],
    ['+3', 3000],
    [4, 4000],
  ])('cpu %s → %i millicores', (s, want) => {
    expect(parseCPU(s)).toBe(want);
  });

  it.each([
    ['128Mi', 128 * 1024 * 1024],
    ['1Gi', 1024 ** 3],
    ['1Ki', 1024],
    ['1.5Ki', 1536],
    ['0.1Ki', 103], // 102.4 rounds up
    ['1e3', 1000],
    ['1E3', 1000],
    ['5e-1', 1],
    ['500M', 500_000_000],
    ['1k', 1000],
    ['1G', 1_000_000_000],
    ['1T', 1e12],
    ['129m', 1], // 0.129 bytes rounds up to 1
    ['0', 0],
    ['123', 123],
  ])('memory %s → %i bytes', (s, want) => {
    expect(parseMemory(s)).toBe(want);
  });

  it('keeps exact nano precision and large values', () => {
    expect(parseQuantity('1E')).toBe(10n ** 18n * 10n ** 9n); // exa, not an exponent
    expect(parseQuantity('1Ei')).toBe(2n ** 60n * 10n ** 9n);
    expect(parseQuantity('-1.5')).toBe(-1_500_000_000n);
    expect(parseQuantity('0.0000000001')).toBe(1n); // rounded up to one nano
  });

  it.each(['', '.', 'abc', '1K', '1 Mi', '1.2.3', 'Mi', '1ki', '1e', '--1', '1Mi2'])('rejects %j', (s) => {
    expect(() => parseQuantity(s)).toThrow(QuantityError);
  });
});
