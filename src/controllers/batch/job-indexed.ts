// Indexed Jobs: succeeded and failed indexes, backoffLimitPerIndex bookkeeping, the success
// policy, and which pods to remove (duplicate or out-of-range indexes, then the least advanced).
import { firstPendingIndexes, hasIndex, mergeIntervals, parseIndexes, totalIndexes, withIndexes, type Intervals } from './indexes.ts';
import { completionIndexOf, finishedTime, hasTrackingFinalizer, isActive, isIndexed, isPodFailed, isPodReady, isTerminating, onlyReplaceFailedPods, remainingBackoffMs } from './job-util.ts';
import { matchPodFailurePolicy } from './pod-failure-policy.ts';
import type { IndexFailureCounts } from './job-pods.ts';
import { INDEX_FAILURE_COUNT, INDEX_IGNORED_FAILURE_COUNT, type Job, type Pod } from './types.ts';

const completionsOf = (job: Job): number => job.spec.completions ?? 0;

function annotationCount(p: Pod, key: string): number {
  const v = p.metadata.annotations?.[key];
  if (v === undefined || !/^\d+$/.test(v)) return 0;
  const n = Number.parseInt(v, 10);
  return n > 2_147_483_647 ? 0 : n;
}

export const indexFailureCount = (p: Pod): number => annotationCount(p, INDEX_FAILURE_COUNT);
const absoluteFailureCount = (p: Pod): number => annotationCount(p, INDEX_FAILURE_COUNT) + annotationCount(p, INDEX_IGNORED_FAILURE_COUNT);

const validIndex = (job: Job, p: Pod): number => {
  const ix = completionIndexOf(p);
  return ix >= 0 && ix < completionsOf(job) ? ix : -1;
};

/** The indexes in status.completedIndexes, and those plus the newly succeeded pods' (not yet counted). */
export function succeededIndexes(job: Job, pods: Pod[]): { prev: Intervals; all: Intervals } {
  const prev = parseIndexes(job.status?.completedIndexes, completionsOf(job));
  const fresh: number[] = [];
  for (const p of pods) {
    const ix = validIndex(job, p);
    if (p.status?.phase === 'Succeeded' && ix >= 0 && hasTrackingFinalizer(p)) fresh.push(ix);
  }
  return { prev, all: withIndexes(prev, fresh) };
}

function isIndexFailed(job: Job, p: Pod): boolean {
  if (!isPodFailed(p, job)) return false;
  let counted = true;
  if (job.spec.podFailurePolicy) {
    const m = matchPodFailurePolicy(job.spec.podFailurePolicy.rules, p);
    if (m.action === 'FailIndex') return true;
    counted = m.countFailed;
  }
  return counted && indexFailureCount(p) >= (job.spec.backoffLimitPerIndex ?? 0);
}

/** status.failedIndexes plus the indexes that just ran out of retries. */
export function failedIndexes(job: Job, pods: Pod[]): Intervals {
  const prev = parseIndexes(job.status?.failedIndexes, completionsOf(job));
  const fresh = pods.filter((p) => validIndex(job, p) >= 0 && hasTrackingFinalizer(p) && isIndexFailed(job, p)).map(completionIndexOf);
  return withIndexes(prev, fresh);
}

/**
 * Per index, the last failed pod whose finalizer removal waits until its replacement exists (so
 * the replacement can carry the index's failure count).
 */
export function podsWithDelayedDeletion(job: Job, pods: Pod[], succeeded: Intervals, failed: Intervals, expectedRm: ReadonlySet<string>): Map<number, Pod> {
  const activeIx = new Set(pods.filter(isActive).map(completionIndexOf));
  const out = new Map<number, Pod>();
  for (const p of pods) {
    if (!hasTrackingFinalizer(p) || expectedRm.has(p.metadata.uid ?? '') || !isPodFailed(p, job)) continue;
    const ix = validIndex(job, p);
    if (ix < 0 || hasIndex(succeeded, ix) || hasIndex(failed, ix) || activeIx.has(ix)) continue;
    const last = out.get(ix);
    if (!last || (absoluteFailureCount(last) <= absoluteFailureCount(p) && finishedTime(p) >= finishedTime(last))) out.set(ix, p);
  }
  return out;
}

/** The failure counts the replacement of `replaced` carries. */
export function newIndexFailureCounts(job: Job, replaced: Pod | undefined): IndexFailureCounts {
  if (!replaced) return { failed: 0, ignored: 0 };
  const counts = { failed: indexFailureCount(replaced), ignored: annotationCount(replaced, INDEX_IGNORED_FAILURE_COUNT) };
  if (job.spec.podFailurePolicy && !matchPodFailurePolicy(job.spec.podFailurePolicy.rules, replaced).countFailed) counts.ignored++;
  else counts.failed++;
  return counts;
}

/** Of `indexes`, those whose per-index backoff has passed; else the shortest wait. */
export function creatableIndexes(indexes: number[], delayed: Map<number, Pod>, now: number): { now: number[]; waitMs: number } {
  const ready: number[] = [];
  let wait: number | undefined;
  for (const ix of indexes) {
    const last = delayed.get(ix);
    const ms = last ? remainingBackoffMs(absoluteFailureCount(last) + 1, finishedTime(last), now) : 0;
    if (ms === 0) ready.push(ix);
    else if (wait === undefined || ms < wait) wait = ms;
  }
  return ready.length ? { now: ready, waitMs: 0 } : { now: [], waitMs: wait ?? 0 };
}

/** The indexes to create pods for: the lowest not succeeded, failed, active (or terminating, if only Failed pods are replaced). */
export function pendingIndexes(job: Job, pods: Pod[], succeeded: Intervals, failed: Intervals | undefined, count: number): number[] {
  let taken = withIndexes(succeeded, pods.filter(isActive).map(completionIndexOf).filter((i) => i >= 0));
  if (onlyReplaceFailedPods(job)) taken = withIndexes(taken, pods.filter(isTerminating).map(completionIndexOf).filter((i) => i >= 0));
  if (failed) taken = mergeIntervals(taken, failed);
  return firstPendingIndexes(taken, count, completionsOf(job));
}

/** spec.successPolicy: the message of the first rule the succeeded indexes satisfy. */
export function matchSuccessPolicy(job: Job, succeeded: Intervals): string | undefined {
  const rules = job.spec.successPolicy?.rules;
  if (!rules || succeeded.length === 0) return undefined;
  for (const [i, rule] of rules.entries()) {
    if (rule.succeededIndexes !== undefined && rule.succeededIndexes !== null) {
      const required = parseIndexes(rule.succeededIndexes, completionsOf(job));
      if (required.length === 0) continue;
      let contains = 0;
      for (const r of required) for (const s of succeeded) contains += Math.max(0, Math.min(r.last, s.last) - Math.max(r.first, s.first) + 1);
      if (contains === totalIndexes(required) || (rule.succeededCount !== undefined && contains >= rule.succeededCount)) return `Matched rules at index ${i}`;
    } else if (rule.succeededCount !== undefined && totalIndexes(succeeded) >= rule.succeededCount) {
      return `Matched rules at index ${i}`;
    }
  }
  return undefined;
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** Orders pods from the first to delete: unscheduled, pending, not ready, more restarts, newer. */
export function compareForDeletion(a: Pod, b: Pod): number {
  const sa = a.spec?.nodeName ? 1 : 0;
  const sb = b.spec?.nodeName ? 1 : 0;
  if (sa !== sb) return sa - sb;
  const pa = PHASE_RANK[a.status?.phase ?? 'Pending'] ?? 0;
  const pb = PHASE_RANK[b.status?.phase ?? 'Pending'] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a) ? 1 : 0;
  const rb = isPodReady(b) ? 1 : 0;
  if (ra !== rb) return ra - rb;
  const restarts = (p: Pod) => Math.max(0, ...(p.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0));
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  return (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '');
}

/** Active pods to delete: duplicates and invalid indexes of an Indexed Job, then the first of the rest. */
export function activePodsForRemoval(job: Job, active: Pod[], rmAtLeast: number): Pod[] {
  const rm: Pod[] = [];
  let left = active;
  if (isIndexed(job)) {
    left = [];
    const byIx = new Map<number, Pod[]>();
    for (const p of active) {
      const ix = validIndex(job, p);
      if (ix < 0) rm.push(p);
      else byIx.set(ix, [...(byIx.get(ix) ?? []), p]);
    }
    for (const group of byIx.values()) {
      group.sort(compareForDeletion);
      rm.push(...group.slice(0, -1));
      left.push(group[group.length - 1]!);
    }
  }
  if (rm.length < rmAtLeast) rm.push(...[...left].sort(compareForDeletion).slice(0, rmAtLeast - rm.length));
  return rm;
}
