import { describe, expect, it } from 'vitest';
import { addList, addQ, count, formatQ, parseList, parseQ, prettyPrint, zero } from './resource-list.ts';

describe('Quantity canonical form', () => {
  it.each([
    ['500m', '500m'],
    ['1000m', '1'],
    ['1500m', '1500m'],
    ['0.5', '500m'],
    ['0.1', '100m'],
    ['2', '2'],
    ['1000', '1k'],
    ['1500000', '1500k'],
    ['100M', '100M'],
    ['1G', '1G'],
    ['1Gi', '1Gi'],
    ['1024Mi', '1Gi'],
    ['1536Mi', '1536Mi'],
    ['1.5Gi', '1536Mi'],
    ['1Ki', '1Ki'],
    ['1.5Ki', '1536'],
    ['0.5Ki', '512'],
    ['1e3', '1e3'],
    ['1.5e3', '1500'],
    ['0', '0'],
    ['0Gi', '0'],
    ['-500m', '-500m'],
    ['1n', '1n'],
    ['10u', '10u'],
  ])('%s prints as %s', (input, want) => {
    expect(formatQ(parseQ(input))).toBe(want);
  });

  it('a sum keeps the left format unless the left is zero', () => {
    expect(formatQ(addQ(parseQ('128Mi'), parseQ('128Mi')))).toBe('256Mi');
    expect(formatQ(addQ(parseQ('500m'), parseQ('500m')))).toBe('1');
    expect(formatQ(addQ(zero(), parseQ('1Gi')))).toBe('1Gi');
    // DecimalSI left side: 1Gi + 1Gi printed in decimal.
    expect(formatQ(addQ(parseQ('1'), parseQ('2Gi')))).toBe('2147483649');
    expect(formatQ(addQ(count(1), count(1)))).toBe('2');
  });

  it('lists add, parse and print sorted', () => {
    const a = parseList({ pods: '1', 'requests.cpu': '250m' });
    const b = parseList({ pods: '2', 'requests.memory': '1Gi', junk: 'not-a-quantity' });
    expect(b.junk).toBeUndefined();
    expect(prettyPrint(addList(a, b))).toBe('pods=3,requests.cpu=250m,requests.memory=1Gi');
  });
});
