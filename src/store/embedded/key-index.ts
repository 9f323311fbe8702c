// The in-memory MVCC key index: for every key, the pointers of its stored versions in order.
// A negative pointer is a tombstone (the key's deletion). Values live on disk; the index holds
// just enough to answer compares and to find which record a read at a given revision needs.
import { OrderedMap } from '@js-sdsl/ordered-map';
import { END_OF_KEYSPACE } from '../types.ts';
import { revisionOf } from './codec.ts';

export class KeyHistory {
  /** Pointers ascending by absolute value; negative for tombstones. */
  pointers: number[] = [];
  /** State of the live key (meaningless when the last pointer is a tombstone). */
  createRevision = 0;
  version = 0;
  lease = 0;

  get live(): boolean {
    const n = this.pointers.length;
    return n > 0 && this.pointers[n - 1] > 0;
  }

  latestPointer(): number {
    return this.pointers[this.pointers.length - 1] ?? 0;
  }

  /** The newest pointer at or below `revision` (possibly a tombstone), or 0. */
  pointerAt(revision: number): number {
    const p = this.pointers;
    // Reads are mostly at or near the newest revision: scan from the end.
    for (let i = p.length - 1; i >= 0; i--) if (revisionOf(p[i]) <= revision) return p[i];
    return 0;
  }

  /** The version stored just before `pointer`, or 0. */
  pointerBefore(pointer: number): number {
    const p = this.pointers;
    const abs = Math.abs(pointer);
    for (let i = p.length - 1; i >= 0; i--) if (Math.abs(p[i]) < abs) return p[i];
    return 0;
  }
}

const ABOVE_BMP_START = /[\uD800-\uFFFF]/;

/**
 * Compares keys by their UTF-8 bytes (= code point order). JavaScript's `<` compares UTF-16 code
 * units, which differs only between surrogate pairs and U+E000..U+FFFF; those are rare, so the
 * native comparison is used unless both keys contain such characters.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  if (!ABOVE_BMP_START.test(a) || !ABOVE_BMP_START.test(b)) return a < b ? -1 : 1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}

export class KeyIndex {
  private readonly tree = new OrderedMap<string, KeyHistory>([], compareKeys);

  get size(): number {
    return this.tree.size();
  }

  get(key: string): KeyHistory | undefined {
    return this.tree.getElementByKey(key);
  }

  getOrCreate(key: string): KeyHistory {
    let h = this.tree.getElementByKey(key);
    if (!h) {
      h = new KeyHistory();
      this.tree.setElement(key, h);
    }
    return h;
  }

  remove(key: string): void {
    this.tree.eraseElementByKey(key);
  }

  /** Calls `fn` for each key in `[start, end)` (or just `start` when `end` is undefined), in order. */
  forEachInRange(start: string, end: string | undefined, fn: (key: string, h: KeyHistory) => boolean | void): void {
    if (end === undefined) {
      const h = this.tree.getElementByKey(start);
      if (h) fn(start, h);
      return;
    }
    const unbounded = end === END_OF_KEYSPACE;
    const stop = this.tree.end();
    for (let it = this.tree.lowerBound(start); !it.equals(stop); it = it.next()) {
      const k = it.pointer[0];
      if (!unbounded && compareKeys(k, end) >= 0) break;
      if (fn(k, it.pointer[1]) === false) break;
    }
  }

  /** Keys after `after` (exclusive; '' for the start), at most `limit` of them: used to walk the index in chunks. */
  keysAfter(after: string | undefined, limit: number): string[] {
    const out: string[] = [];
    const stop = this.tree.end();
    let it = after === undefined ? this.tree.begin() : this.tree.upperBound(after);
    for (; !it.equals(stop) && out.length < limit; it = it.next()) out.push(it.pointer[0]);
    return out;
  }
}

export function inRange(key: string, start: string, end: string | undefined): boolean {
  if (end === undefined) return key === start;
  return compareKeys(key, start) >= 0 && (end === END_OF_KEYSPACE || compareKeys(key, end) < 0);
}
