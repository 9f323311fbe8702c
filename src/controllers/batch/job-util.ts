// Small pure helpers of the Job controller: conditions, pod states, completion indexes, and the
// pod-failure backoff (10 s doubling to 10 min after consecutive failures).
import type { KubeObject, OwnerReference } from '../../api/object.ts';
import { COMPLETION_INDEX, JOB_TRACKING_FINALIZER, type Condition, type Job, type Pod } from './types.ts';

/** A Kubernetes timestamp (RFC 3339, second precision, UTC). */
export function rfc3339(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function parseTime(s: string | null | undefined): Date | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : new Date(t);
}

export function controllerRefOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

export function findCondition(conds: Condition[] | undefined, type: string): Condition | undefined {
  return conds?.find((c) => c.type === type);
}

export function isConditionTrue(conds: Condition[] | undefined, type: string): boolean {
  return findCondition(conds, type)?.status === 'True';
}

export function newCondition(type: string, status: Condition['status'], reason: string, message: string, now: Date): Condition {
  const t = rfc3339(now);
  const c: Condition = { type, status, lastProbeTime: t, lastTransitionTime: t };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

/**
 * Sets condition `type` to (status, reason, message), replacing one that differs; a missing
 * condition is only added when the status is not False. Returns whether the list changed.
 */
export function ensureCondition(conds: Condition[], type: string, status: Condition['status'], reason: string, message: string, now: Date): boolean {
  const i = conds.findIndex((c) => c.type === type);
  if (i >= 0) {
    const c = conds[i]!;
    if (c.status === status && (c.reason ?? '') === reason && (c.message ?? '') === message) return false;
    conds[i] = newCondition(type, status, reason, message, now);
    return true;
  }
  if (status === 'False') return false;
  conds.push(newCondition(type, status, reason, message, now));
  return true;
}

/** The Complete or Failed condition type of a finished Job. */
export function finishedConditionType(job: Job): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') return c.type;
  }
  return undefined;
}

export const isJobFinished = (job: Job): boolean => finishedConditionType(job) !== undefined;
export const isJobSucceeded = (job: Job): boolean => finishedConditionType(job) === 'Complete';
export const isSuspended = (job: Job): boolean => job.spec.suspend === true;
export const isIndexed = (job: Job): boolean => job.spec.completionMode === 'Indexed';
export const hasBackoffLimitPerIndex = (job: Job): boolean => typeof job.spec.backoffLimitPerIndex === 'number';

// ---- pods ----

const phaseOf = (p: Pod): string | undefined => p.status?.phase;
export const isTerminal = (p: Pod): boolean => phaseOf(p) === 'Succeeded' || phaseOf(p) === 'Failed';
/** Pending or running and not being deleted (upstream FilterActivePods). */
export const isActive = (p: Pod): boolean => !isTerminal(p) && !p.metadata.deletionTimestamp;
/** Being deleted and not yet terminal. */
export const isTerminating = (p: Pod): boolean => !!p.metadata.deletionTimestamp && !isTerminal(p);
export const isPodReady = (p: Pod): boolean => isConditionTrue(p.status?.conditions, 'Ready');
export const hasTrackingFinalizer = (p: Pod): boolean => (p.metadata.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);

/** Only replace pods once they are Failed (podReplacementPolicy Failed, or a podFailurePolicy). */
export function onlyReplaceFailedPods(job: Job): boolean {
  return job.spec.podReplacementPolicy === 'Failed' || !!job.spec.podFailurePolicy;
}

/** Failed, or (unless only Failed counts) deleted before it succeeded. */
export function isPodFailed(p: Pod, job: Job): boolean {
  if (phaseOf(p) === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  return !!p.metadata.deletionTimestamp && phaseOf(p) !== 'Succeeded';
}

/** The completion index annotation, or -1. */
export function completionIndexOf(p: Pod): number {
  const v = p.metadata.annotations?.[COMPLETION_INDEX];
  if (v === undefined || !/^\d+$/.test(v)) return -1;
  return Number.parseInt(v, 10);
}

/** When a pod finished: its last container exit, its Ready=False transition, its deletion, or its creation. */
export function finishedTime(p: Pod): number {
  const cs = p.status?.containerStatuses ?? [];
  let latest: number | undefined;
  let all = cs.length > 0;
  for (const c of cs) {
    const t = parseTime(c.state?.terminated?.finishedAt);
    if (!t) {
      all = false;
      break;
    }
    if (latest === undefined || t.getTime() > latest) latest = t.getTime();
  }
  if (all && latest !== undefined) return latest;
  const ready = findCondition(p.status?.conditions, 'Ready');
  const readyAt = ready?.status === 'False' ? parseTime(ready.lastTransitionTime) : undefined;
  if (readyAt) return readyAt.getTime();
  const del = parseTime(p.metadata.deletionTimestamp);
  if (del) return del.getTime() - (p.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
  return parseTime(p.metadata.creationTimestamp)?.getTime() ?? 0;
}

// ---- backoff ----

export const DEFAULT_POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 600_000;

export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime?: number;
}

/** The record after seeing newly succeeded and failed pods. */
export function nextBackoffRecord(old: BackoffRecord | undefined, succeeded: Pod[], failed: Pod[]): BackoffRecord {
  const rec: BackoffRecord = { failuresAfterLastSuccess: old?.failuresAfterLastSuccess ?? 0, lastFailureTime: old?.lastFailureTime };
  const failTimes = failed.map(finishedTime).sort((a, b) => a - b);
  if (succeeded.length === 0) {
    if (failTimes.length === 0) return rec;
    return { failuresAfterLastSuccess: rec.failuresAfterLastSuccess + failTimes.length, lastFailureTime: failTimes[failTimes.length - 1] };
  }
  const lastSuccess = Math.max(...succeeded.map(finishedTime));
  const after = failTimes.filter((t) => t > lastSuccess);
  return after.length ? { failuresAfterLastSuccess: after.length, lastFailureTime: after[after.length - 1] } : { failuresAfterLastSuccess: 0 };
}

/** How long to wait before creating pods again after `failures` consecutive failures. */
export function remainingBackoffMs(failures: number, lastFailureTime: number | undefined, now: number): number {
  if (failures === 0 || lastFailureTime === undefined) return 0;
  let backoff = DEFAULT_POD_FAILURE_BACKOFF_MS;
  for (let i = 1; i < failures; i++) {
    backoff *= 2;
    if (backoff >= MAX_POD_FAILURE_BACKOFF_MS) {
      backoff = MAX_POD_FAILURE_BACKOFF_MS;
      break;
    }
  }
  const elapsed = now - lastFailureTime;
  return backoff < elapsed ? 0 : backoff - elapsed;
}

/** A deep copy of a JSON object. */
export function clone<T>(x: T): T {
  return structuredClone(x);
}

/** The numeric value of a (k8ts) resourceVersion; 0 when not numeric. */
export const rvNumber = (rv: string | undefined): number => (rv && /^\d+$/.test(rv) ? Number(rv) : 0);
