import { describe, expect, it } from 'vitest';
import { duplicateJsonKeys, duplicateKeysOf } from './fields.ts';

const dups = (text: string) => duplicateKeysOf(text, JSON.parse(text));

describe('duplicate JSON keys', () => {
  it('finds none in ordinary bodies, whatever the strings hold', () => {
    expect(dups('{"a":1,"b":{"c":[{"d":"x"},{"d":"y"}]}}')).toEqual([]);
    expect(dups('{"a":"\\"b\\":1","b":"{\\"a\\":2}"}')).toEqual([]);
    expect(dups('{ "a" : "x:y" , "c" :\n {"a": 1}}')).toEqual([]);
    expect(dups('[{"a":1},{"a":2}]')).toEqual([]);
    expect(dups('{}')).toEqual([]);
  });

  it('names duplicates at the top level, nested, inside lists and with escaped names', () => {
    expect(dups('{"a":1,"a":2}')).toEqual(['a']);
    expect(dups('{"metadata":{"name":"x","labels":{"k":"1","k":"2"}}}')).toEqual(['metadata.labels.k']);
    expect(dups('{"spec":{"containers":[{"name":"a","image":"x","image":"y"}]}}')).toEqual(['spec.containers[0].image']);
    expect(dups('{"a\\u0062":1,"ab":2}')).toEqual(['ab']);
  });

  it('finds a duplicate whose later value holds more keys than the one it replaced', () => {
    // The parsed value always holds fewer keys than the text spells out once one is repeated.
    const text = '{"a":{"x":1,"y":2},"a":{"x":1,"y":2,"z":3}}';
    expect(dups(text)).toEqual(['a']);
    expect(duplicateJsonKeys(text)).toEqual(['a']);
  });
});
