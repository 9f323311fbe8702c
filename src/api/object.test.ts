// JSON copies and comparisons as the write path uses them.
import { describe, expect, it } from 'vitest';
import { cloneJson, jsonDeepEqual } from './object.ts';

describe('cloneJson and jsonDeepEqual', () => {
  it('keep a "__proto__" key a key, however many times an object is copied', () => {
    const parsed = JSON.parse('{"data":{"__proto__":{"replicas":5},"a":"1"}}') as Record<string, unknown>;
    const twice = cloneJson(cloneJson(parsed));
    expect(JSON.stringify(twice)).toBe(JSON.stringify(parsed));
    expect(Object.keys(twice.data as object)).toEqual(['__proto__', 'a']);
    expect(jsonDeepEqual(twice, parsed)).toBe(true);
    expect(jsonDeepEqual(twice, JSON.parse('{"data":{"a":"1"}}'))).toBe(false);
  });
});
