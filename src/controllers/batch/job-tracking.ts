// Job status tracking with finalizers, as upstream: finished pods go first into
// status.uncountedTerminatedPods (written), then lose the batch.kubernetes.io/job-tracking
// finalizer, then move from the uncounted lists into succeeded/failed (written). A Job gets its
// terminal condition (Complete / Failed) only when nothing is uncounted and no pod terminates.
import type { Intervals } from './indexes.ts';
import { formatIndexes, hasIndex, totalIndexes, withIndexes } from './indexes.ts';
import type { Expectations, FinalizerExpectations } from './job-pods.ts';
import { completionIndexOf, findCondition, hasTrackingFinalizer, isIndexed, isPodFailed, newCondition, type BackoffRecord } from './job-util.ts';
import { matchPodFailurePolicy } from './pod-failure-policy.ts';
import type { Condition, Job, JobStatus, Pod } from './types.ts';

/** Pods created, deleted or counted per sync at most (upstream MaxUncountedPods, MaxPodCreateDeletePerSync). */
export const MAX_UNCOUNTED = 500;

/** What a Job sync needs from the outside world (the controller, or a test). */
export interface JobDeps {
  now(): Date;
  /** Creates the pod, recording SuccessfulCreate / FailedCreate; throws on failure. */
  createPod(job: Job, pod: Pod): Promise<void>;
  /** Deletes the pod (keeping its finalizers), recording SuccessfulDelete; false if it was gone already. */
  deletePod(job: Job, pod: Pod): Promise<boolean>;
  /** Removes the tracking finalizer; a missing pod is fine. */
  removeFinalizer(pod: Pod): Promise<void>;
  updateStatus(job: Job): Promise<Job>;
  event(job: Job, type: 'Normal' | 'Warning', reason: string, message: string): void;
  requeueAfter(key: string, ms: number): void;
  expectations: Expectations;
  finalizerExpectations: FinalizerExpectations;
  backoff: Map<string, BackoffRecord>;
}

export interface SyncCtx {
  key: string;
  job: Job;
  pods: Pod[];
  active: Pod[];
  ready: number;
  terminating: number;
  succeeded: number;
  failed: number;
  uncounted: { succeeded: Set<string>; failed: Set<string> };
  expectedRm: ReadonlySet<string>;
  /** The condition the Job is heading for: FailureTarget/SuccessCriteriaMet first, then Failed/Complete. */
  finished?: Condition;
  prevSucceededIndexes: Intervals;
  succeededIndexes: Intervals;
  failedIndexes?: Intervals;
  delayedDeletion: Map<number, Pod>;
  newBackoff: BackoffRecord;
}

function uncountedOf(status: JobStatus): { succeeded: string[]; failed: string[] } {
  const u = (status.uncountedTerminatedPods ??= {});
  u.succeeded ??= [];
  u.failed ??= [];
  return u as { succeeded: string[]; failed: string[] };
}

/** Moves uncounted pods that no longer carry the finalizer into the counters. */
function cleanUncounted(status: JobStatus, withFinalizer: Set<string>): boolean {
  const u = uncountedOf(status);
  const s = u.succeeded.filter((uid) => withFinalizer.has(uid));
  const f = u.failed.filter((uid) => withFinalizer.has(uid));
  if (s.length === u.succeeded.length && f.length === u.failed.length) return false;
  status.succeeded = (status.succeeded ?? 0) + u.succeeded.length - s.length;
  status.failed = (status.failed ?? 0) + u.failed.length - f.length;
  u.succeeded = s;
  u.failed = f;
  return true;
}

/** The status as upstream serialises it: zero counters and empty lists omitted. */
function normalized(job: Job): Job {
  const s = { ...job.status } as JobStatus & Record<string, unknown>;
  for (const k of ['active', 'succeeded', 'failed'] as const) if (!s[k]) delete s[k];
  if (!s.completedIndexes) delete s.completedIndexes;
  if (s.failedIndexes === undefined) delete s.failedIndexes;
  const u = s.uncountedTerminatedPods ?? {};
  const out: { succeeded?: string[]; failed?: string[] } = {};
  if (u.succeeded?.length) out.succeeded = [...u.succeeded];
  if (u.failed?.length) out.failed = [...u.failed];
  s.uncountedTerminatedPods = out;
  if (s.conditions && s.conditions.length === 0) delete s.conditions;
  return { ...job, status: s };
}

async function write(ctx: SyncCtx, deps: JobDeps): Promise<void> {
  const written = await deps.updateStatus(normalized(ctx.job));
  written.status ??= {};
  uncountedOf(written.status);
  ctx.job = written;
}

function canRemoveFinalizer(ctx: SyncCtx, pod: Pod, failed: boolean): boolean {
  if (ctx.job.metadata.deletionTimestamp || ctx.finished || pod.status?.phase === 'Succeeded') return true;
  if (!failed) return false;
  const ix = completionIndexOf(pod);
  return !(ix >= 0 && ctx.delayedDeletion.get(ix)?.metadata.uid === pod.metadata.uid);
}

export async function trackJobStatus(ctx: SyncCtx, needsFlush: boolean, deps: JobDeps): Promise<void> {
  const job = ctx.job;
  const status = (job.status ??= {});
  const indexed = isIndexed(job);
  const completions = job.spec.completions ?? 0;
  const uncounted = uncountedOf(status);
  const pods = indexed ? [...ctx.pods].sort((a, b) => completionIndexOf(a) - completionIndexOf(b)) : ctx.pods;
  const withFinalizer = new Set<string>();
  for (const p of pods) if (hasTrackingFinalizer(p) && !ctx.expectedRm.has(p.metadata.uid ?? '')) withFinalizer.add(p.metadata.uid ?? '');
  if (cleanUncounted(status, withFinalizer)) needsFlush = true;
  const toRemove: Pod[] = [];
  const newIndexes: number[] = [];
  let reachedMax = false;
  for (const pod of pods) {
    const uid = pod.metadata.uid ?? '';
    if (!hasTrackingFinalizer(pod) || ctx.expectedRm.has(uid)) continue;
    const failed = isPodFailed(pod, job);
    if (!canRemoveFinalizer(ctx, pod, failed)) continue;
    toRemove.push(pod);
    const ix = completionIndexOf(pod);
    if (pod.status?.phase === 'Succeeded' && !ctx.uncounted.failed.has(uid)) {
      if (indexed) {
        if (ix >= 0 && ix < completions && !hasIndex(ctx.prevSucceededIndexes, ix)) {
          newIndexes.push(ix);
          needsFlush = true;
        }
      } else if (!ctx.uncounted.succeeded.has(uid)) {
        uncounted.succeeded.push(uid);
        needsFlush = true;
      }
    } else if (failed || (ctx.finished && ctx.finished.type !== 'SuccessCriteriaMet')) {
      if (!ctx.uncounted.failed.has(uid) && (!indexed || (ix >= 0 && ix < completions))) {
        if (!job.spec.podFailurePolicy || matchPodFailurePolicy(job.spec.podFailurePolicy.rules, pod).countFailed) {
          uncounted.failed.push(uid);
          needsFlush = true;
        }
      }
    }
    if (newIndexes.length + uncounted.succeeded.length + uncounted.failed.length >= MAX_UNCOUNTED) {
      reachedMax = true;
      break;
    }
  }
  if (indexed) {
    ctx.succeededIndexes = withIndexes(ctx.succeededIndexes, newIndexes);
    const text = formatIndexes(ctx.succeededIndexes);
    if (text !== (status.completedIndexes ?? '')) needsFlush = true;
    status.succeeded = totalIndexes(ctx.succeededIndexes);
    status.completedIndexes = text;
    const failedText = ctx.failedIndexes ? formatIndexes(ctx.failedIndexes) : undefined;
    if (failedText !== status.failedIndexes) {
      status.failedIndexes = failedText;
      needsFlush = true;
    }
  }
  const now = deps.now();
  if (ctx.finished?.type === 'FailureTarget') {
    (status.conditions ??= []).push(ctx.finished);
    needsFlush = true;
    ctx.finished = newCondition('Failed', 'True', ctx.finished.reason ?? '', ctx.finished.message ?? '', now);
  }
  if (ctx.finished?.type === 'SuccessCriteriaMet') {
    if (findCondition(status.conditions, 'SuccessCriteriaMet')?.status !== 'True') {
      (status.conditions ??= []).push(ctx.finished);
      needsFlush = true;
    }
    ctx.finished = newCondition('Complete', 'True', ctx.finished.reason ?? '', ctx.finished.message ?? '', now);
  }
  needsFlush = await flushAndRemoveFinalizers(ctx, toRemove, withFinalizer, needsFlush, deps);
  const finished = !reachedMax && enactFinished(ctx);
  if (finished || needsFlush) {
    await write(ctx, deps);
    if (finished) recordFinished(ctx.job, ctx.finished!, deps);
  }
}

async function flushAndRemoveFinalizers(ctx: SyncCtx, toRemove: Pod[], withFinalizer: Set<string>, needsFlush: boolean, deps: JobDeps): Promise<boolean> {
  if (needsFlush) {
    await write(ctx, deps);
    deps.backoff.set(ctx.key, ctx.newBackoff);
    needsFlush = false;
  }
  let rmErr: unknown;
  if (toRemove.length > 0) {
    deps.finalizerExpectations.expectRemoved(ctx.key, toRemove.map((p) => p.metadata.uid ?? ''));
    await Promise.all(
      toRemove.map(async (p) => {
        const uid = p.metadata.uid ?? '';
        try {
          await deps.removeFinalizer(p);
          withFinalizer.delete(uid);
        } catch (err) {
          deps.finalizerExpectations.observed(ctx.key, uid);
          rmErr ??= err;
        }
      }),
    );
  }
  if (cleanUncounted(ctx.job.status!, withFinalizer)) needsFlush = true;
  if (rmErr !== undefined) {
    if (needsFlush) await write(ctx, deps);
    throw rmErr;
  }
  return needsFlush;
}

function enactFinished(ctx: SyncCtx): boolean {
  const cond = ctx.finished;
  if (!cond) return false;
  const status = ctx.job.status!;
  const u = uncountedOf(status);
  if (u.succeeded.length + u.failed.length > 0) return false;
  if (ctx.terminating > 0) return false;
  const conds = (status.conditions ??= []);
  const i = conds.findIndex((c) => c.type === cond.type);
  if (i >= 0) conds[i] = cond;
  else conds.push(cond);
  if (cond.type === 'Complete') status.completionTime = cond.lastTransitionTime ?? undefined;
  return true;
}

function recordFinished(job: Job, cond: Condition, deps: JobDeps): void {
  if (cond.type === 'Complete') {
    const completions = job.spec.completions;
    if (completions !== null && completions !== undefined && (job.status?.succeeded ?? 0) > completions) {
      deps.event(job, 'Warning', 'TooManySucceededPods', 'Too many succeeded pods running after completion count reached');
    }
    deps.event(job, 'Normal', 'Completed', 'Job completed');
  } else {
    deps.event(job, 'Warning', cond.reason ?? '', cond.message ?? '');
  }
}
