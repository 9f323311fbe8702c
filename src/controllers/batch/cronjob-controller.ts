// The CronJob controller (upstream cronjob-controller v2): one sync per CronJob on changes to it
// or its Jobs, and a requeue just after its next activation (no polling).
import { isNotFound } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import { deletedObject, type Informer } from '../framework/informer.ts';
import { Indexers, keyOf, splitKey } from '../framework/store.ts';
import type { EventRecorder } from '../framework/events.ts';
import { runWorkers, WorkQueue, type ReconcileResult } from '../framework/workqueue.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { parseSchedule } from './cron-schedule.ts';
import { nextScheduleDelayMs, reconcileCronJob, type CronJobDeps } from './cronjob-sync.ts';
import { controllerRefOf, rvNumber } from './job-util.ts';
import { writeStatus } from './status-write.ts';
import type { CronJob, Job } from './types.ts';

const asCronJob = (cj: CronJob): CronJob => ({ ...cj, apiVersion: 'batch/v1', kind: 'CronJob' });

export class CronJobController implements Controller {
  readonly name = 'cronjob-controller';
  private readonly queue = new WorkQueue<string>({ name: 'cronjob' });
  /** The resourceVersion of our last status write per CronJob: an older cached one is stale. */
  private readonly lastWritten = new Map<string, number>();
  private ctx!: ControllerContext;
  private cronJobs!: Informer<CronJob>;
  private jobs!: Informer<Job>;
  private recorder!: EventRecorder;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.recorder = ctx.recorder(this.name);
    this.cronJobs = ctx.informers.informerFor<CronJob>(Resources.cronjobs);
    this.jobs = ctx.informers.informerFor<Job>(Resources.jobs, {}, { controllerUid: Indexers.controllerUid });
    this.cronJobs.addEventHandler({
      onAdd: (cj) => this.queue.add(keyOf(cj)),
      onUpdate: (old, cur) => this.updateCronJob(old, cur),
      onDelete: (cj) => this.queue.add(keyOf(deletedObject(cj))),
    });
    this.jobs.addEventHandler({
      onAdd: (j) => this.enqueueOwner(j),
      onUpdate: (old, cur) => {
        if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
        if (controllerRefOf(old)?.uid !== controllerRefOf(cur)?.uid) this.enqueueOwner(old);
        this.enqueueOwner(cur);
      },
      onDelete: (j) => this.enqueueOwner(deletedObject(j)),
    });
  }

  run(): Promise<void> {
    return runWorkers(this.queue, 2, (key) => this.sync(key), { logger: this.ctx.logger(this.name) });
  }

  stop(): void {
    this.queue.shutDown();
  }

  private owner(job: Job): CronJob | undefined {
    const ref = controllerRefOf(job);
    if (!ref || ref.kind !== 'CronJob') return undefined;
    const cj = this.cronJobs.store.get(job.metadata.namespace, ref.name);
    return cj && cj.metadata.uid === ref.uid ? cj : undefined;
  }

  private enqueueOwner(job: Job): void {
    const cj = this.owner(job);
    if (cj) this.queue.add(keyOf(cj));
  }

  private updateCronJob(old: CronJob, cur: CronJob): void {
    if (old.spec.schedule === cur.spec.schedule && (old.spec.timeZone ?? null) === (cur.spec.timeZone ?? null)) return this.queue.add(keyOf(cur));
    try {
      const delay = nextScheduleDelayMs(cur, this.ctx.now(), parseSchedule(cur.spec.schedule, cur.spec.timeZone));
      if (delay !== undefined) this.queue.addAfter(keyOf(cur), delay);
    } catch {
      this.recorder.event(asCronJob(cur), 'Warning', 'UnParseableCronJobSchedule', `unparseable schedule for cronjob: ${cur.spec.schedule}`);
    }
  }

  private async sync(key: string): Promise<void | ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cj = this.cronJobs.store.get(namespace, name);
    if (!cj) {
      this.lastWritten.delete(key);
      return;
    }
    if (rvNumber(cj.metadata.resourceVersion) < (this.lastWritten.get(key) ?? 0)) return { requeueAfterMs: 500 };
    const jobs = this.jobs.store.byIndex('controllerUid', cj.metadata.uid ?? '');
    const res = await reconcileCronJob(cj, jobs, this.deps());
    if (res.updateStatus) {
      // As upstream serialises it: an empty active list is left out.
      if (res.cronJob.status?.active?.length === 0) delete res.cronJob.status.active;
      const written = await writeStatus(this.ctx.client, Resources.cronjobs, asCronJob(res.cronJob));
      this.lastWritten.set(key, rvNumber(written.metadata.resourceVersion));
    }
    if (res.error !== undefined) throw res.error;
    return res.requeueAfterMs === undefined ? undefined : { requeueAfterMs: res.requeueAfterMs };
  }

  private deps(): CronJobDeps {
    const client = this.ctx.client;
    return {
      now: () => this.ctx.now(),
      getCronJob: (ns, name) => client.get<CronJob>(Resources.cronjobs, ns, name),
      getJob: async (ns, name) => {
        try {
          return await client.get<Job>(Resources.jobs, ns, name);
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      },
      createJob: (ns, job) => client.create<Job>(Resources.jobs, ns, job),
      deleteJob: async (job) => {
        await client.delete(Resources.jobs, job.metadata.namespace, job.metadata.name ?? '', { propagationPolicy: 'Background' });
      },
      event: (cj, type, reason, message) => this.recorder.event(asCronJob(cj), type, reason, message),
    };
  }
}
