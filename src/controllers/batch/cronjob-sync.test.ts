// The CronJob controller's decisions with a fake clock and a fake API: which activation to run,
// concurrency policies, deadlines, status bookkeeping and history cleanup.
import { describe, expect, it } from 'vitest';
import { StatusError } from '../../api/status.ts';
import { reconcileCronJob, rfc3339InZone, type CronJobDeps } from './cronjob-sync.ts';
import type { CronJob, Job } from './types.ts';

const at = (s: string) => new Date(s);

function cronJob(spec: Partial<CronJob['spec']> = {}, status: CronJob['status'] = {}, created = '2026-01-01T10:00:30Z'): CronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'hello', namespace: 'default', uid: 'cj-uid', resourceVersion: '10', creationTimestamp: created },
    spec: { schedule: '*/1 * * * *', concurrencyPolicy: 'Allow', suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1, jobTemplate: { metadata: { labels: { app: 'hello' } }, spec: { template: { spec: { containers: [{ name: 'c' }] } } } }, ...spec },
    status,
  };
}

function job(name: string, opts: { finished?: 'Complete' | 'Failed'; start?: string; completion?: string; uid?: string } = {}): Job {
  const j: Job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: 'default', uid: opts.uid ?? `${name}-uid`, resourceVersion: '5', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'hello', uid: 'cj-uid', controller: true }] }, spec: { template: {} }, status: {} };
  if (opts.start) j.status!.startTime = opts.start;
  if (opts.finished) j.status!.conditions = [{ type: opts.finished, status: 'True' }];
  if (opts.completion) j.status!.completionTime = opts.completion;
  return j;
}

const ref = (j: Job) => ({ apiVersion: 'batch/v1', kind: 'Job', name: j.metadata.name, namespace: 'default', uid: j.metadata.uid, resourceVersion: j.metadata.resourceVersion });

/** A fake API holding Jobs by name, recording what the sync did. */
function fakeDeps(now: string, jobs: Job[] = [], cj?: CronJob) {
  const store = new Map(jobs.map((j) => [j.metadata.name!, j]));
  const log = { created: [] as Job[], deleted: [] as string[], events: [] as string[] };
  let n = 0;
  const deps: CronJobDeps = {
    now: () => at(now),
    getCronJob: async () => structuredClone(cj!),
    getJob: async (_ns, name) => store.get(name),
    createJob: async (_ns, j) => {
      if (store.has(j.metadata.name!)) throw new StatusError(409, 'AlreadyExists', `jobs.batch "${j.metadata.name}" already exists`);
      const made = { ...structuredClone(j), metadata: { ...j.metadata, uid: `new-${++n}`, resourceVersion: '99' } };
      store.set(j.metadata.name!, made);
      log.created.push(made);
      return made;
    },
    deleteJob: async (j) => {
      store.delete(j.metadata.name!);
      log.deleted.push(j.metadata.name!);
    },
    event: (_cj, type, reason, message) => log.events.push(`${type} ${reason} ${message}`),
  };
  return { deps, log, store };
}

describe('CronJob sync (fake clock)', () => {
  it('does nothing before the first activation and requeues just after it', async () => {
    const { deps, log } = fakeDeps('2026-01-01T10:00:40Z');
    const r = await reconcileCronJob(cronJob(), [], deps);
    expect(log.created).toHaveLength(0);
    expect(r.updateStatus).toBe(false);
    expect(r.requeueAfterMs).toBe(20_100);
  });

  it('starts the Job of the most recent activation, named by minutes since the epoch', async () => {
    const { deps, log } = fakeDeps('2026-01-01T10:03:05Z');
    const r = await reconcileCronJob(cronJob(), [], deps);
    expect(log.created.map((j) => j.metadata.name)).toEqual([`hello-${Date.parse('2026-01-01T10:03:00Z') / 60_000}`]);
    const made = log.created[0]!;
    expect(made.metadata.annotations).toEqual({ 'batch.kubernetes.io/cronjob-scheduled-timestamp': '2026-01-01T10:03:00Z' });
    expect(made.metadata.labels).toEqual({ app: 'hello' });
    expect(made.metadata.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'hello', uid: 'cj-uid', controller: true, blockOwnerDeletion: true }]);
    expect(r.updateStatus).toBe(true);
    expect(r.cronJob.status?.lastScheduleTime).toBe('2026-01-01T10:03:00Z');
    expect(r.cronJob.status?.active).toEqual([ref(made)]);
    expect(r.requeueAfterMs).toBe(55_100);
    expect(log.events).toEqual([`Normal SuccessfulCreate Created job ${made.metadata.name}`]);
  });

  it('does not start an activation twice', async () => {
    const { deps, log } = fakeDeps('2026-01-01T10:03:30Z');
    const r = await reconcileCronJob(cronJob({}, { lastScheduleTime: '2026-01-01T10:03:00Z' }), [], deps);
    expect(log.created).toHaveLength(0);
    expect(r.requeueAfterMs).toBe(30_100);
  });

  it('Forbid: skips the activation while a Job is active', async () => {
    const running = job('hello-1');
    const { deps, log } = fakeDeps('2026-01-01T10:05:00Z', [running]);
    const r = await reconcileCronJob(cronJob({ concurrencyPolicy: 'Forbid' }, { active: [ref(running)], lastScheduleTime: '2026-01-01T10:04:00Z' }), [running], deps);
    expect(log.created).toHaveLength(0);
    expect(log.events).toEqual(['Normal JobAlreadyActive Not starting job because prior execution is running and concurrency policy is Forbid']);
    expect(r.cronJob.status?.lastScheduleTime).toBe('2026-01-01T10:04:00Z');
  });

  it('Replace: deletes the active Job and starts the new one', async () => {
    const running = job('hello-1');
    const { deps, log } = fakeDeps('2026-01-01T10:05:00Z', [running]);
    const r = await reconcileCronJob(cronJob({ concurrencyPolicy: 'Replace' }, { active: [ref(running)], lastScheduleTime: '2026-01-01T10:04:00Z' }), [running], deps);
    expect(log.deleted).toEqual(['hello-1']);
    expect(log.created).toHaveLength(1);
    expect(r.cronJob.status?.active).toEqual([ref(log.created[0]!)]);
    expect(log.events[0]).toBe('Normal SuccessfulDelete Deleted job hello-1');
  });

  it('Allow: starts the new Job next to the running one', async () => {
    const running = job('hello-1');
    const { deps, log } = fakeDeps('2026-01-01T10:05:00Z', [running]);
    const r = await reconcileCronJob(cronJob({}, { active: [ref(running)], lastScheduleTime: '2026-01-01T10:04:00Z' }), [running], deps);
    expect(log.deleted).toEqual([]);
    expect(r.cronJob.status?.active?.map((a) => a.name)).toEqual(['hello-1', log.created[0]!.metadata.name]);
  });

  it('startingDeadlineSeconds: an activation missed by more than the deadline is not run', async () => {
    const spec = { schedule: '0 * * * *', startingDeadlineSeconds: 30 };
    const late = fakeDeps('2026-01-01T11:00:50Z');
    const r = await reconcileCronJob(cronJob(spec, {}, '2026-01-01T09:30:00Z'), [], late.deps);
    expect(late.log.created).toHaveLength(0);
    expect(r.requeueAfterMs).toBe(Date.parse('2026-01-01T12:00:00.100Z') - Date.parse('2026-01-01T11:00:50Z'));
    const inTime = fakeDeps('2026-01-01T11:00:20Z');
    await reconcileCronJob(cronJob(spec, {}, '2026-01-01T09:30:00Z'), [], inTime.deps);
    expect(inTime.log.created).toHaveLength(1);
  });

  it('more than 100 missed activations: warns TooManyMissedTimes and runs the latest', async () => {
    const { deps, log } = fakeDeps('2026-01-02T10:00:10Z');
    await reconcileCronJob(cronJob(), [], deps);
    expect(log.events[0]).toBe('Warning TooManyMissedTimes too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
    expect(log.created[0]!.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe('2026-01-02T10:00:00Z');
  });

  it('suspended: no Job and no requeue', async () => {
    const { deps, log } = fakeDeps('2026-01-01T10:05:00Z');
    const r = await reconcileCronJob(cronJob({ suspend: true }), [], deps);
    expect(log.created).toHaveLength(0);
    expect(r.requeueAfterMs).toBeUndefined();
  });

  it('a finished active Job leaves status.active (SawCompletedJob) and sets lastSuccessfulTime', async () => {
    const done = job('hello-1', { finished: 'Complete', start: '2026-01-01T10:01:00Z', completion: '2026-01-01T10:01:05Z' });
    const { deps, log } = fakeDeps('2026-01-01T10:01:30Z', [done]);
    const r = await reconcileCronJob(cronJob({}, { active: [ref(done)], lastScheduleTime: '2026-01-01T10:01:00Z' }), [done], deps);
    expect(r.cronJob.status?.active).toEqual([]);
    expect(r.cronJob.status?.lastSuccessfulTime).toBe('2026-01-01T10:01:05Z');
    expect(log.events).toEqual(['Normal SawCompletedJob Saw completed job: hello-1, condition: Complete']);
  });

  it('an active Job that no longer exists is dropped (MissingJob)', async () => {
    const gone = job('hello-1');
    const { deps, log } = fakeDeps('2026-01-01T10:01:30Z');
    const r = await reconcileCronJob(cronJob({}, { active: [ref(gone)], lastScheduleTime: '2026-01-01T10:01:00Z' }), [], deps);
    expect(r.cronJob.status?.active).toEqual([]);
    expect(log.events).toEqual(['Normal MissingJob Active job went missing: hello-1']);
  });

  it('keeps successfulJobsHistoryLimit / failedJobsHistoryLimit finished Jobs, deleting the oldest', async () => {
    const ok = [1, 2, 3, 4].map((i) => job(`hello-ok${i}`, { finished: 'Complete', start: `2026-01-01T10:0${i}:00Z` }));
    const bad = [1, 2].map((i) => job(`hello-bad${i}`, { finished: 'Failed', start: `2026-01-01T10:0${i}:30Z` }));
    const { deps, log } = fakeDeps('2026-01-01T10:05:30Z', [...ok, ...bad]);
    const r = await reconcileCronJob(cronJob({ successfulJobsHistoryLimit: 2 }, { lastScheduleTime: '2026-01-01T10:05:00Z' }), [...ok, ...bad], deps);
    expect(log.deleted.sort()).toEqual(['hello-bad1', 'hello-ok1', 'hello-ok2']);
    expect(log.events).toContain('Normal SuccessfulDelete Deleted job hello-ok1');
    expect(r.updateStatus).toBe(true);
  });

  it('a cached CronJob behind its own Job: the fresh copy is used and nothing is started twice', async () => {
    const name = `hello-${Date.parse('2026-01-01T10:03:00Z') / 60_000}`;
    const existing = job(name);
    const { deps, log } = fakeDeps('2026-01-01T10:03:05Z', [existing], cronJob({}, { active: [ref(existing)] }));
    const r = await reconcileCronJob(cronJob(), [existing], deps);
    expect(log.created).toHaveLength(0);
    expect(log.events).toEqual([]);
    expect(r.cronJob.status?.active?.map((a) => a.uid)).toEqual([existing.metadata.uid]);
  });

  it('status lost entirely: UnexpectedJob, then the existing Job of the activation is taken into status.active', async () => {
    const name = `hello-${Date.parse('2026-01-01T10:03:00Z') / 60_000}`;
    const existing = job(name);
    const { deps, log } = fakeDeps('2026-01-01T10:03:05Z', [existing], cronJob());
    const r = await reconcileCronJob(cronJob(), [existing], deps);
    expect(log.created).toHaveLength(0);
    expect(log.events).toEqual([`Warning UnexpectedJob Saw a job that the controller did not create or forgot: ${name}`]);
    expect(r.cronJob.status?.active?.map((a) => a.uid)).toEqual([existing.metadata.uid]);
    expect(r.cronJob.status?.lastScheduleTime).toBe('2026-01-01T10:03:00Z');
  });

  it('reads the schedule in spec.timeZone and stamps the Job in that zone', async () => {
    const { deps, log } = fakeDeps('2026-01-01T14:00:20Z');
    await reconcileCronJob(cronJob({ schedule: '0 9 * * *', timeZone: 'America/New_York' }, {}, '2026-01-01T00:00:00Z'), [], deps);
    expect(log.created[0]!.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe('2026-01-01T09:00:00-05:00');
    expect(rfc3339InZone(at('2026-07-01T13:00:00Z'), 'Europe/London')).toBe('2026-07-01T14:00:00+01:00');
    expect(rfc3339InZone(at('2026-01-01T13:00:00Z'), 'Europe/London')).toBe('2026-01-01T13:00:00Z');
  });

  it('an unknown time zone: an UnknownTimeZone warning and no Job', async () => {
    const { deps, log } = fakeDeps('2026-01-01T10:05:00Z');
    await reconcileCronJob(cronJob({ timeZone: 'Mars/Olympus' }), [], deps);
    expect(log.created).toHaveLength(0);
    expect(log.events).toEqual(['Warning UnknownTimeZone invalid timeZone: "Mars/Olympus": unknown time zone Mars/Olympus']);
  });
});
