// JSON value helpers with Go's conventions, where managedFields and messages must match what a
// Kubernetes API server writes: Go's JSON escaping and key order, structured-merge-diff's total
// order of values, and the way it prints a value inside a path.
import { isPlainObject, jsonDeepEqual } from '../object.ts';

const GO_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/** JSON as Go's encoding/json writes it: object keys sorted, HTML characters escaped. */
export function goJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys(value[k]);
    return out;
  }
  return value === undefined ? null : value;
}

/** How structured-merge-diff prints a value in a path: strings quoted, lists bracketed. */
export function goString(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(goString).join(',')}]`;
  if (isPlainObject(value)) return Object.keys(value).map((k) => `${k}=${goString(value[k])}`).join('');
  return String(value);
}

const RANK = { number: 0, string: 1, boolean: 2, list: 3, map: 4, null: 5 } as const;

function rank(v: unknown): number {
  if (typeof v === 'number') return RANK.number;
  if (typeof v === 'string') return RANK.string;
  if (typeof v === 'boolean') return RANK.boolean;
  if (Array.isArray(v)) return RANK.list;
  if (isPlainObject(v)) return RANK.map;
  return RANK.null;
}

/** A total order over JSON values: numbers, strings, booleans, lists, maps, then null. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compareValues(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
      if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
      const c = compareValues(a[ka[i]], b[kb[i]]);
      if (c !== 0) return c;
    }
    return ka.length - kb.length;
  }
  return 0;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return jsonDeepEqual(a, b);
}

/** An empty or null list/map counts as absent in several SMD rules. */
export function isEmptyCollection(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isPlainObject(v)) return Object.keys(v).length === 0;
  return false;
}
