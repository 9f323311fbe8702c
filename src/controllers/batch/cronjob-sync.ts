// One sync of a CronJob (upstream cronjob-controller v2): prune finished Jobs beyond the history
// limits, reconcile status.active with the Jobs that exist, and start the Job of the most recent
// unmet activation (unless suspended, too late, already started, or forbidden by the concurrency
// policy). Pure but for `deps`, so a test can drive it with a fake clock.
import { isAlreadyExists } from '../../client/kube-client.ts';
import { missedActivations, parseSchedule, validTimeZone, type Schedule } from './cron-schedule.ts';
import { clone, controllerRefOf, finishedConditionType, parseTime, rfc3339 } from './job-util.ts';
import { CRONJOB_SCHEDULED_TIMESTAMP, type CronJob, type Job, type ObjectRef } from './types.ts';

export interface CronJobDeps {
  now(): Date;
  getCronJob(namespace: string, name: string): Promise<CronJob>;
  /** The Job, or undefined when it does not exist. */
  getJob(namespace: string, name: string): Promise<Job | undefined>;
  createJob(namespace: string, job: Job): Promise<Job>;
  /** Deletes with background propagation. */
  deleteJob(job: Job): Promise<void>;
  event(cj: CronJob, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface CronJobSyncResult {
  /** The CronJob with its new status (write it when updateStatus). */
  cronJob: CronJob;
  updateStatus: boolean;
  /** Sync again after this long (the next activation); undefined: only on change. */
  requeueAfterMs?: number;
  error?: unknown;
}

/** Requeue a little after the activation, as upstream (nextScheduleDelta). */
const NEXT_SCHEDULE_DELTA_MS = 100;

export function jobNameFor(cj: CronJob, scheduled: Date): string {
  return `${cj.metadata.name}-${Math.floor(scheduled.getTime() / 60_000)}`;
}

/** Go's time.RFC3339 of `d` in time zone `tz` (offset 0 written as Z). */
export function rfc3339InZone(d: Date, tz: string | null | undefined): string {
  if (!tz) return rfc3339(d);
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'longOffset' });
  const p: Record<string, string> = {};
  for (const part of fmt.formatToParts(d)) p[part.type] = part.value;
  const off = (p.timeZoneName ?? 'GMT').replace(/^GMT/, '');
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${off === '' || off === '+00:00' ? 'Z' : off}`;
}

/** Go's time.RFC1123Z of `d` in UTC: "Mon, 02 Jan 2006 15:04:05 +0000". */
export function rfc1123z(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

export function jobFromTemplate(cj: CronJob, scheduled: Date): Job {
  const tm = cj.spec.jobTemplate.metadata ?? {};
  const metadata: Job['metadata'] = {
    name: jobNameFor(cj, scheduled),
    namespace: cj.metadata.namespace,
    annotations: { ...(tm.annotations ?? {}), [CRONJOB_SCHEDULED_TIMESTAMP]: rfc3339InZone(scheduled, cj.spec.timeZone) },
    ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata.name ?? '', uid: cj.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
  };
  if (tm.labels && Object.keys(tm.labels).length > 0) metadata.labels = { ...tm.labels };
  return { apiVersion: 'batch/v1', kind: 'Job', metadata, spec: clone(cj.spec.jobTemplate.spec) };
}

export function refOf(job: Job): ObjectRef {
  const m = job.metadata;
  return { apiVersion: 'batch/v1', kind: 'Job', name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
}

const inActive = (cj: CronJob, uid: string | undefined): boolean => (cj.status?.active ?? []).some((r) => r.uid === uid);
function removeFromActive(cj: CronJob, uid: string | undefined): void {
  const st = (cj.status ??= {});
  st.active = (st.active ?? []).filter((r) => r.uid !== uid);
}

/** When to look again: just after the next activation following the last one due. */
export function nextScheduleDelayMs(cj: CronJob, now: Date, schedule: Schedule): number | undefined {
  const earliest = parseTime(cj.status?.lastScheduleTime) ?? parseTime(cj.metadata.creationTimestamp) ?? now;
  const base = missedActivations(schedule, earliest, now).mostRecent ?? earliest;
  const next = schedule.next(base);
  return next ? Math.max(0, next.getTime() + NEXT_SCHEDULE_DELTA_MS - now.getTime()) : undefined;
}

async function deleteJob(cj: CronJob, job: Job, deps: CronJobDeps): Promise<boolean> {
  try {
    await deps.deleteJob(job);
  } catch (err) {
    deps.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${(err as Error).message}`);
    return false;
  }
  removeFromActive(cj, job.metadata.uid);
  deps.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata.name}`);
  return true;
}

/** Deletes the oldest finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit. */
export async function cleanupFinishedJobs(cj: CronJob, jobs: Job[], deps: CronJobDeps): Promise<boolean> {
  const limits = { Complete: cj.spec.successfulJobsHistoryLimit, Failed: cj.spec.failedJobsHistoryLimit };
  let update = false;
  for (const kind of ['Complete', 'Failed'] as const) {
    const limit = limits[kind];
    if (limit === null || limit === undefined) continue;
    const done = jobs.filter((j) => finishedConditionType(j) === kind);
    const excess = done.length - limit;
    if (excess <= 0) continue;
    done.sort((a, b) => {
      const sa = a.status?.startTime;
      const sb = b.status?.startTime;
      if (!sa || !sb) return sa ? -1 : sb ? 1 : 0;
      return sa === sb ? (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '') : Date.parse(sa) - Date.parse(sb);
    });
    for (const j of done.slice(0, excess)) if (await deleteJob(cj, j, deps)) update = true;
  }
  return update;
}

/** Cleanup, then the schedule. `jobs` are the Jobs this CronJob controls. */
export async function reconcileCronJob(shared: CronJob, jobs: Job[], deps: CronJobDeps): Promise<CronJobSyncResult> {
  const res: CronJobSyncResult = { cronJob: clone(shared), updateStatus: false };
  try {
    if (await cleanupFinishedJobs(res.cronJob, jobs, deps)) res.updateStatus = true;
    await syncCronJob(res, jobs, deps);
  } catch (err) {
    res.error = err;
    res.requeueAfterMs = undefined;
  }
  return res;
}

async function syncCronJob(res: CronJobSyncResult, jobs: Job[], deps: CronJobDeps): Promise<void> {
  const now = deps.now();
  let cj = res.cronJob;
  const children = new Set<string>();
  for (const j of jobs) {
    const uid = j.metadata.uid ?? '';
    children.add(uid);
    const found = inActive(cj, uid);
    const finished = finishedConditionType(j);
    if (!found && !finished) {
      const fresh = await deps.getCronJob(cj.metadata.namespace ?? '', cj.metadata.name ?? '');
      if (inActive(fresh, uid)) {
        cj = res.cronJob = clone(fresh);
        continue;
      }
      deps.event(cj, 'Warning', 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${j.metadata.name}`);
    } else if (found && finished) {
      removeFromActive(cj, uid);
      deps.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata.name}, condition: ${finished}`);
      res.updateStatus = true;
    }
    if (finished === 'Complete' && j.status?.completionTime) {
      const last = parseTime(cj.status?.lastSuccessfulTime);
      const done = parseTime(j.status.completionTime)!;
      if (!last || done > last) {
        (cj.status ??= {}).lastSuccessfulTime = j.status.completionTime;
        res.updateStatus = true;
      }
    }
  }
  for (const ref of [...(cj.status?.active ?? [])]) {
    if (children.has(ref.uid ?? '')) continue;
    if (await deps.getJob(ref.namespace ?? cj.metadata.namespace ?? '', ref.name ?? '')) continue;
    deps.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${ref.name}`);
    removeFromActive(cj, ref.uid);
    res.updateStatus = true;
  }
  if (cj.metadata.deletionTimestamp) return;
  const tz = cj.spec.timeZone;
  if (tz !== undefined && tz !== null && !validTimeZone(tz)) {
    deps.event(cj, 'Warning', 'UnknownTimeZone', `invalid timeZone: ${JSON.stringify(tz)}: unknown time zone ${tz}`);
    return;
  }
  if (cj.spec.suspend) return;
  let schedule: Schedule;
  try {
    schedule = parseSchedule(cj.spec.schedule, tz);
  } catch (err) {
    deps.event(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule: ${JSON.stringify(cj.spec.schedule)} : ${(err as Error).message}`);
    return;
  }
  res.requeueAfterMs = nextScheduleDelayMs(cj, now, schedule);
  const earliest = parseTime(cj.status?.lastScheduleTime) ?? parseTime(cj.metadata.creationTimestamp) ?? now;
  const deadline = cj.spec.startingDeadlineSeconds ?? undefined;
  const missed = missedActivations(schedule, earliest, now, deadline);
  if (missed.missed > 100) deps.event(cj, 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
  const scheduled = missed.mostRecent;
  if (!scheduled) return;
  if (deadline !== undefined && scheduled.getTime() + deadline * 1000 < now.getTime()) {
    deps.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${rfc1123z(scheduled)}`);
    return;
  }
  const name = jobNameFor(cj, scheduled);
  if ((cj.status?.active ?? []).some((r) => r.name === name) || parseTime(cj.status?.lastScheduleTime)?.getTime() === scheduled.getTime()) return;
  if (cj.spec.concurrencyPolicy === 'Forbid' && (cj.status?.active ?? []).length > 0) {
    deps.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
    return;
  }
  const ns = cj.metadata.namespace ?? '';
  if (cj.spec.concurrencyPolicy === 'Replace') {
    for (const ref of [...(cj.status?.active ?? [])]) {
      const job = await deps.getJob(ref.namespace ?? ns, ref.name ?? '').catch((err: Error) => {
        deps.event(cj, 'Warning', 'FailedGet', `Get job: ${err.message}`);
        throw err;
      });
      if (!job) {
        const msg = `jobs.batch "${ref.name}" not found`;
        deps.event(cj, 'Warning', 'FailedGet', `Get job: ${msg}`);
        throw new Error(msg);
      }
      if (!(await deleteJob(cj, job, deps))) throw new Error(`could not replace job ${ns}/${job.metadata.name}`);
      res.updateStatus = true;
    }
  }
  const request = jobFromTemplate(cj, scheduled);
  let made: Job;
  try {
    made = await deps.createJob(ns, request);
    deps.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${made.metadata.name}`);
  } catch (err) {
    if (!isAlreadyExists(err)) {
      deps.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(err as Error).message}`);
      throw err;
    }
    const existing = await deps.getJob(ns, name);
    if (!existing) throw err;
    const ref = controllerRefOf(existing);
    if (!ref || ref.uid !== cj.metadata.uid || inActive(cj, existing.metadata.uid)) return;
    made = existing;
  }
  const st = (cj.status ??= {});
  st.active = [...(st.active ?? []), refOf(made)];
  st.lastScheduleTime = rfc3339(scheduled);
  res.updateStatus = true;
}
