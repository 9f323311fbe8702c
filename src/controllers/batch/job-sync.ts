// One sync of a Job against its pods (upstream syncJob / manageJob): counts finished pods, decides
// whether the Job failed (backoffLimit, activeDeadlineSeconds, podFailurePolicy, failed indexes)
// or met its success criteria, creates or deletes pods towards parallelism, handles suspension,
// and hands the status to job-tracking.ts.
import { totalIndexes } from './indexes.ts';
import { activePodsForRemoval, creatableIndexes, failedIndexes, matchSuccessPolicy, newIndexFailureCounts, pendingIndexes, podsWithDelayedDeletion, succeededIndexes } from './job-indexed.ts';
import { podForJob } from './job-pods.ts';
import { MAX_UNCOUNTED, trackJobStatus, type JobDeps, type SyncCtx } from './job-tracking.ts';
import {
  clone, completionIndexOf, ensureCondition, findCondition, hasBackoffLimitPerIndex, hasTrackingFinalizer, isActive, isIndexed, isJobFinished, isPodFailed, isPodReady, isSuspended, isTerminating, newCondition, nextBackoffRecord, onlyReplaceFailedPods, parseTime, remainingBackoffMs, rfc3339,
} from './job-util.ts';
import { matchPodFailurePolicy } from './pod-failure-policy.ts';
import type { Condition, Job, Pod } from './types.ts';

const SYNC_BATCH_MS = 1000;

function trueCondition(conds: Condition[] | undefined, type: string): Condition | undefined {
  const c = findCondition(conds, type);
  return c?.status === 'True' ? c : undefined;
}

/** Pods finished since the last count: carrying the finalizer, not uncounted, not expected gone. */
function newFinishedPods(ctx: SyncCtx): { succeeded: Pod[]; failed: Pod[] } {
  const valid = (p: Pod, skip: Set<string>) => {
    const uid = p.metadata.uid ?? '';
    if (!hasTrackingFinalizer(p) || skip.has(uid) || ctx.expectedRm.has(uid)) return false;
    if (!isIndexed(ctx.job)) return true;
    const ix = completionIndexOf(p);
    return ix >= 0 && ix < (ctx.job.spec.completions ?? 0);
  };
  return {
    succeeded: ctx.pods.filter((p) => valid(p, ctx.uncounted.succeeded) && p.status?.phase === 'Succeeded'),
    failed: ctx.pods.filter((p) => valid(p, ctx.uncounted.failed) && isPodFailed(p, ctx.job)),
  };
}

/** restartPolicy OnFailure: the container restarts of running pods reach backoffLimit. */
function pastBackoffLimitOnFailure(job: Job, pods: Pod[], limit: number): boolean {
  if (job.spec.template.spec?.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const p of pods) {
    if (p.status?.phase !== 'Running' && p.status?.phase !== 'Pending') continue;
    for (const c of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) restarts += c.restartCount ?? 0;
  }
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

/** `needsSync`: the expectations as they were before `pods` was read (upstream reads them first). */
export async function syncJob(key: string, shared: Job, pods: Pod[], deps: JobDeps, needsSync?: boolean): Promise<void> {
  if (isJobFinished(shared)) {
    deps.backoff.delete(key);
    return;
  }
  const mode = shared.spec.completionMode;
  if (mode && mode !== 'NonIndexed' && mode !== 'Indexed') {
    deps.event(shared, 'Warning', 'UnknownCompletionMode', 'Skipped Job sync because completion mode is unknown');
    return;
  }
  const job = clone(shared);
  const status = (job.status ??= {});
  status.uncountedTerminatedPods ??= {};
  const now = deps.now();
  const satisfied = needsSync ?? deps.expectations.satisfied(key);
  const active = pods.filter(isActive);
  const ctx: SyncCtx = {
    key, job, pods, active,
    ready: active.filter(isPodReady).length,
    terminating: pods.filter(isTerminating).length,
    succeeded: 0, failed: 0,
    uncounted: { succeeded: new Set(status.uncountedTerminatedPods.succeeded ?? []), failed: new Set(status.uncountedTerminatedPods.failed ?? []) },
    expectedRm: deps.finalizerExpectations.expected(key),
    prevSucceededIndexes: [], succeededIndexes: [],
    delayedDeletion: new Map(),
    newBackoff: { failuresAfterLastSuccess: 0 },
  };
  const fresh = newFinishedPods(ctx);
  const rules = job.spec.podFailurePolicy?.rules;
  const newFailedCounted = rules ? fresh.failed.filter((p) => matchPodFailurePolicy(rules, p).countFailed).length : fresh.failed.length;
  ctx.succeeded = (status.succeeded ?? 0) + fresh.succeeded.length + ctx.uncounted.succeeded.size;
  ctx.failed = (status.failed ?? 0) + newFailedCounted + ctx.uncounted.failed.size;
  if (!status.startTime && !isSuspended(job)) status.startTime = rfc3339(now);
  ctx.newBackoff = nextBackoffRecord(deps.backoff.get(key), fresh.succeeded, fresh.failed);

  const backoffLimit = job.spec.backoffLimit ?? 6;
  ctx.finished = trueCondition(status.conditions, 'SuccessCriteriaMet');
  if (!ctx.finished) {
    const target = trueCondition(status.conditions, 'FailureTarget');
    if (target) ctx.finished = newCondition('Failed', 'True', target.reason ?? '', target.message ?? '', now);
    else if (rules) {
      for (const p of pods) {
        const msg = isPodFailed(p, job) ? matchPodFailurePolicy(rules, p).failJobMessage : undefined;
        if (msg) {
          ctx.finished = newCondition('FailureTarget', 'True', 'PodFailurePolicy', msg, now);
          break;
        }
      }
    }
  }
  if (!ctx.finished) {
    const ads = job.spec.activeDeadlineSeconds;
    const started = parseTime(status.startTime)?.getTime();
    if (ctx.failed > backoffLimit || pastBackoffLimitOnFailure(job, pods, backoffLimit)) {
      ctx.finished = newCondition('FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', now);
    } else if (typeof ads === 'number' && started !== undefined && !isSuspended(job)) {
      const left = ads * 1000 - (now.getTime() - started);
      if (left <= 0) ctx.finished = newCondition('FailureTarget', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline', now);
      else deps.requeueAfter(key, left);
    }
  }
  if (isIndexed(job)) {
    const s = succeededIndexes(job, pods);
    ctx.prevSucceededIndexes = s.prev;
    ctx.succeededIndexes = s.all;
    ctx.succeeded = totalIndexes(s.all);
    if (hasBackoffLimitPerIndex(job)) {
      ctx.failedIndexes = failedIndexes(job, pods);
      const nFailed = totalIndexes(ctx.failedIndexes);
      if (!ctx.finished) {
        const max = job.spec.maxFailedIndexes;
        if (typeof max === 'number' && nFailed > max) {
          ctx.finished = newCondition('FailureTarget', 'True', 'MaxFailedIndexesExceeded', 'Job has exceeded the specified maximal number of failed indexes', now);
        } else if (nFailed > 0 && nFailed + ctx.succeeded >= (job.spec.completions ?? 0)) {
          ctx.finished = newCondition('FailureTarget', 'True', 'FailedIndexes', 'Job has failed indexes', now);
        }
      }
      ctx.delayedDeletion = podsWithDelayedDeletion(job, pods, ctx.succeededIndexes, ctx.failedIndexes, ctx.expectedRm);
    }
    if (!ctx.finished) {
      const msg = matchSuccessPolicy(job, ctx.succeededIndexes);
      if (msg) ctx.finished = newCondition('SuccessCriteriaMet', 'True', 'SuccessPolicy', msg, now);
    }
  }

  let activeCount = active.length;
  let suspendChanged = false;
  let manageErr: unknown;
  if (ctx.finished) {
    const r = await deletePods(ctx, active, false, deps);
    if (r.deleted !== activeCount || !satisfied) ctx.finished = undefined;
    activeCount -= r.deleted;
    manageErr = r.error;
  } else {
    let managed = false;
    if (satisfied && !job.metadata.deletionTimestamp) {
      const r = await manageJob(ctx, deps);
      activeCount = r.active;
      manageErr = r.error;
      managed = true;
    }
    const completions = job.spec.completions;
    const complete = completions === null || completions === undefined ? ctx.succeeded > 0 && activeCount === 0 : ctx.succeeded >= completions && activeCount === 0;
    if (complete) {
      ctx.finished = newCondition('SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods', now);
    } else if (managed) {
      const conds = (status.conditions ??= []);
      if (isSuspended(job)) {
        suspendChanged = ensureCondition(conds, 'Suspended', 'True', 'JobSuspended', 'Job suspended', now);
        if (suspendChanged) deps.event(job, 'Normal', 'Suspended', 'Job suspended');
      } else {
        suspendChanged = ensureCondition(conds, 'Suspended', 'False', 'JobResumed', 'Job resumed', now);
        if (suspendChanged) {
          deps.event(job, 'Normal', 'Resumed', 'Job resumed');
          status.startTime = rfc3339(now);
        }
      }
    }
  }
  const needsUpdate = suspendChanged || activeCount !== (status.active ?? 0) || ctx.ready !== status.ready || ctx.terminating !== status.terminating;
  status.active = activeCount;
  status.ready = ctx.ready;
  status.terminating = ctx.terminating;
  await trackJobStatus(ctx, needsUpdate, deps);
  if (manageErr !== undefined) throw manageErr;
}

/**
 * Deletes pods. `dropFinalizer` (suspension, too many pods): the finalizer goes first, so the pod
 * is not counted; otherwise (the Job failed) the pod keeps it and is counted as failed.
 */
async function deletePods(ctx: SyncCtx, pods: Pod[], dropFinalizer: boolean, deps: JobDeps): Promise<{ deleted: number; error?: unknown }> {
  let deleted = 0;
  let error: unknown;
  await Promise.all(
    pods.map(async (p) => {
      try {
        if (dropFinalizer && hasTrackingFinalizer(p)) await deps.removeFinalizer(p);
        const existed = await deps.deletePod(ctx.job, p);
        if (!existed && dropFinalizer) deps.expectations.deletionObserved(ctx.key);
        deleted++;
        ctx.terminating++;
        if (isPodReady(p)) ctx.ready--;
      } catch (err) {
        if (dropFinalizer) deps.expectations.deletionObserved(ctx.key);
        error ??= err;
      }
    }),
  );
  return { deleted, error };
}

async function manageJob(ctx: SyncCtx, deps: JobDeps): Promise<{ active: number; error?: unknown }> {
  const { job, key } = ctx;
  let active = ctx.active.length;
  const parallelism = job.spec.parallelism ?? 1;
  if (isSuspended(job)) {
    const rm = activePodsForRemoval(job, ctx.active, active);
    deps.expectations.expect(key, 0, rm.length);
    const r = await deletePods(ctx, rm, true, deps);
    return { active: active - r.deleted, error: r.error };
  }
  const completions = job.spec.completions;
  let want: number;
  if (completions === null || completions === undefined) want = ctx.succeeded > 0 ? active : parallelism;
  else want = Math.max(0, Math.min(completions - ctx.succeeded, parallelism));
  const rm = activePodsForRemoval(job, ctx.active, Math.max(0, active - want)).slice(0, MAX_UNCOUNTED);
  if (rm.length > 0) {
    deps.expectations.expect(key, 0, rm.length);
    const r = await deletePods(ctx, rm, true, deps);
    return { active: active - r.deleted, error: r.error };
  }
  const terminating = onlyReplaceFailedPods(job) ? ctx.terminating : 0;
  let diff = Math.min(want - terminating - active, MAX_UNCOUNTED);
  if (diff <= 0) return { active };
  const now = deps.now().getTime();
  if (!hasBackoffLimitPerIndex(job)) {
    const wait = remainingBackoffMs(ctx.newBackoff.failuresAfterLastSuccess, ctx.newBackoff.lastFailureTime, now);
    if (wait > 0) {
      deps.requeueAfter(key, Math.max(wait, SYNC_BATCH_MS));
      return { active };
    }
  }
  let indexes: number[] | undefined;
  if (isIndexed(job)) {
    indexes = pendingIndexes(job, ctx.pods, ctx.succeededIndexes, ctx.failedIndexes, diff);
    if (hasBackoffLimitPerIndex(job)) {
      const c = creatableIndexes(indexes, ctx.delayedDeletion, now);
      if (c.waitMs > 0) {
        deps.requeueAfter(key, Math.max(c.waitMs, SYNC_BATCH_MS));
        return { active };
      }
      indexes = c.now;
    }
    diff = indexes.length;
  }
  deps.expectations.expect(key, diff, 0);
  active += diff;
  let error: unknown;
  // Slow start: batches of 1, 2, 4, … stop at the first batch with a failure.
  let made = 0;
  for (let batch = Math.min(diff, 1); made < diff; batch = Math.min(2 * batch, diff - made)) {
    const before = error;
    await Promise.all(
      Array.from({ length: batch }, async (_, i) => {
        const ix = indexes?.[made + i];
        const counts = ix !== undefined && hasBackoffLimitPerIndex(job) ? newIndexFailureCounts(job, ctx.delayedDeletion.get(ix)) : undefined;
        try {
          await deps.createPod(job, podForJob(job, ix, counts));
        } catch (err) {
          deps.expectations.creationObserved(key);
          active--;
          error ??= err;
        }
      }),
    );
    made += batch;
    if (error !== undefined && before === undefined && made < diff) {
      const skipped = diff - made;
      active -= skipped;
      for (let i = 0; i < skipped; i++) deps.expectations.creationObserved(key);
      break;
    }
  }
  return { active, error };
}
