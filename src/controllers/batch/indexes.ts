// Sets of completion indexes in the compressed text form of status.completedIndexes and
// status.failedIndexes: increasing, comma-separated, runs of three or more as `first-last`
// ("1,3-5,7"; two consecutive numbers stay "1,2").

export interface Interval {
  first: number;
  last: number;
}

export type Intervals = Interval[];

/** Parses the text form, dropping indexes at or above `completions` and malformed parts. */
export function parseIndexes(text: string | undefined, completions: number): Intervals {
  if (!text) return [];
  const out: Intervals = [];
  for (const part of text.split(',')) {
    const [a, b] = part.split('-');
    const first = Number.parseInt(a ?? '', 10);
    if (!Number.isFinite(first) || !/^\d+$/.test(a ?? '')) continue;
    if (first >= completions) break;
    let last = first;
    if (b !== undefined) {
      if (!/^\d+$/.test(b)) continue;
      last = Math.min(Number.parseInt(b, 10), completions - 1);
    }
    const prev = out[out.length - 1];
    if (prev && prev.last === first - 1) prev.last = last;
    else out.push({ first, last });
  }
  return out;
}

export function formatIndexes(iv: Intervals): string {
  const parts: string[] = [];
  for (const { first, last } of iv) {
    if (last === first) parts.push(String(first));
    else if (last === first + 1) parts.push(`${first},${last}`);
    else parts.push(`${first}-${last}`);
  }
  return parts.join(',');
}

/** The union of two interval lists (both ordered). */
export function mergeIntervals(a: Intervals, b: Intervals): Intervals {
  const all = [...a, ...b].sort((x, y) => x.first - y.first);
  const out: Intervals = [];
  for (const iv of all) {
    const prev = out[out.length - 1];
    if (!prev || iv.first > prev.last + 1) out.push({ ...iv });
    else if (iv.last > prev.last) prev.last = iv.last;
  }
  return out;
}

export function withIndexes(iv: Intervals, indexes: Iterable<number>): Intervals {
  return mergeIntervals(iv, [...new Set(indexes)].sort((x, y) => x - y).map((i) => ({ first: i, last: i })));
}

export function totalIndexes(iv: Intervals): number {
  let n = 0;
  for (const { first, last } of iv) n += last - first + 1;
  return n;
}

export function hasIndex(iv: Intervals, ix: number): boolean {
  return iv.some((r) => r.first <= ix && ix <= r.last);
}

/** The first `count` indexes below `completions` not in `taken`. */
export function firstPendingIndexes(taken: Intervals, count: number, completions: number): number[] {
  const out: number[] = [];
  let candidate = 0;
  for (const iv of taken) {
    for (; candidate < completions && out.length < count && candidate < iv.first; candidate++) out.push(candidate);
    if (candidate < iv.last + 1) candidate = iv.last + 1;
  }
  for (; candidate < completions && out.length < count; candidate++) out.push(candidate);
  return out;
}
