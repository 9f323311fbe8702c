// The Job controller (kube-controller-manager's job-controller): watches Jobs and Pods, syncs each
// Job (job-sync.ts) at most once per second for pod events, and strips the tracking finalizer
// from pods whose Job is gone or finished (the orphan queue).
import { fromLabelSelectorObject, matchesLabels } from '../../api/selectors.ts';
import { isNotFound } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import { deletedObject, type DeletedFinalStateUnknown, type Informer } from '../framework/informer.ts';
import { Indexers, keyOf, splitKey } from '../framework/store.ts';
import type { EventRecorder } from '../framework/events.ts';
import type { Logger } from '../framework/log.ts';
import { ItemExponentialFailureRateLimiter, runWorkers, WorkQueue, type ReconcileResult } from '../framework/workqueue.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { claimPods } from './job-claim.ts';
import { Expectations, FinalizerExpectations } from './job-pods.ts';
import { syncJob } from './job-sync.ts';
import type { JobDeps } from './job-tracking.ts';
import { controllerRefOf, hasTrackingFinalizer, isJobFinished, parseTime, rvNumber, type BackoffRecord } from './job-util.ts';
import { writeStatus } from './status-write.ts';
import { JOB_TRACKING_FINALIZER, type Job, type Pod } from './types.ts';

const BATCH_MS = 1000;
const asJob = (j: Job): Job => ({ ...j, apiVersion: 'batch/v1', kind: 'Job' });
const managedElsewhere = (j: Job): boolean => !!j.spec.managedBy && j.spec.managedBy !== 'kubernetes.io/job-controller';

export class JobController implements Controller {
  readonly name = 'job-controller';
  private readonly queue = new WorkQueue<string>({ name: 'job', rateLimiter: new ItemExponentialFailureRateLimiter<string>(1000, 60_000) });
  private readonly orphans = new WorkQueue<string>({ name: 'job_orphan_pod', rateLimiter: new ItemExponentialFailureRateLimiter<string>(1000, 60_000) });
  private readonly expectations = new Expectations();
  private readonly finalizerExpectations = new FinalizerExpectations();
  private readonly backoff = new Map<string, BackoffRecord>();
  /** The resourceVersion of our last status write per Job: an older cached Job is stale. */
  private readonly lastWritten = new Map<string, number>();
  private ctx!: ControllerContext;
  private jobs!: Informer<Job>;
  private pods!: Informer<Pod>;
  private recorder!: EventRecorder;
  private log!: Logger;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.log = ctx.logger(this.name);
    this.recorder = ctx.recorder(this.name);
    this.jobs = ctx.informers.informerFor<Job>(Resources.jobs);
    this.pods = ctx.informers.informerFor<Pod>(Resources.pods, {}, { controllerUid: Indexers.controllerUid });
    this.jobs.addEventHandler({
      onAdd: (j) => this.queue.add(keyOf(j)),
      onUpdate: (old, cur) => this.updateJob(old, cur),
      onDelete: (j) => this.deleteJob(deletedObject(j)),
    });
    this.pods.addEventHandler({
      onAdd: (p) => this.addPod(p),
      onUpdate: (old, cur) => this.updatePod(old, cur),
      onDelete: (p) => this.deletePod(p, true),
    });
  }

  async run(): Promise<void> {
    const logger = this.log;
    await Promise.all([runWorkers(this.queue, 3, (key) => this.sync(key), { logger }), runWorkers(this.orphans, 1, (key) => this.syncOrphan(key), { logger })]);
  }

  stop(): void {
    this.queue.shutDown();
    this.orphans.shutDown();
  }

  // ---- event handlers ----

  private resolve(namespace: string | undefined, ref: { kind: string; name: string; uid: string } | undefined): Job | undefined {
    if (!ref || ref.kind !== 'Job') return undefined;
    const job = this.jobs.store.get(namespace, ref.name);
    return job && job.metadata.uid === ref.uid ? job : undefined;
  }

  private matchingJobs(pod: Pod): Job[] {
    const out: Job[] = [];
    for (const j of this.jobs.store.byIndex('namespace', pod.metadata.namespace ?? '')) {
      const sel = fromLabelSelectorObject(j.spec.selector);
      if (sel && sel.length > 0 && matchesLabels(sel, pod.metadata.labels)) out.push(j);
    }
    return out;
  }

  private batched(job: Job): void {
    this.queue.addAfter(keyOf(job), BATCH_MS);
  }

  private updateJob(old: Job, cur: Job): void {
    if (cur.metadata.generation === old.metadata.generation) this.batched(cur);
    else this.queue.add(keyOf(cur));
    if (isJobFinished(cur)) this.cleanupPodFinalizers(cur);
    const ads = cur.spec.activeDeadlineSeconds;
    const started = parseTime(cur.status?.startTime);
    if (typeof ads === 'number' && started && ads !== old.spec.activeDeadlineSeconds) {
      this.queue.addAfter(keyOf(cur), ads * 1000 - (this.ctx.now().getTime() - started.getTime()));
    }
  }

  private deleteJob(job: Job): void {
    this.queue.add(keyOf(job));
    this.cleanupPodFinalizers(job);
  }

  private cleanupPodFinalizers(job: Job): void {
    for (const p of this.pods.store.byIndex('controllerUid', job.metadata.uid ?? '')) if (hasTrackingFinalizer(p)) this.orphans.add(keyOf(p));
  }

  private addPod(pod: Pod): void {
    if (pod.metadata.deletionTimestamp) return this.deletePod(pod, false);
    const ref = controllerRefOf(pod);
    if (ref) {
      const job = this.resolve(pod.metadata.namespace, ref);
      if (!job) {
        if (hasTrackingFinalizer(pod)) this.orphans.add(keyOf(pod));
        return;
      }
      this.expectations.creationObserved(keyOf(job));
      return this.batched(job);
    }
    if (hasTrackingFinalizer(pod)) this.orphans.add(keyOf(pod));
    for (const j of this.matchingJobs(pod)) this.batched(j);
  }

  private updatePod(old: Pod, cur: Pod): void {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    if (cur.metadata.deletionTimestamp) return this.deletePod(cur, false);
    const removed = !hasTrackingFinalizer(cur);
    const curRef = controllerRefOf(cur);
    const oldRef = controllerRefOf(old);
    const refChanged = curRef?.uid !== oldRef?.uid;
    if (refChanged && oldRef) {
      const job = this.resolve(old.metadata.namespace, oldRef);
      if (job) {
        if (removed) this.finalizerExpectations.observed(keyOf(job), cur.metadata.uid ?? '');
        this.batched(job);
      }
    }
    if (curRef) {
      const job = this.resolve(cur.metadata.namespace, curRef);
      if (!job) {
        if (!removed) this.orphans.add(keyOf(cur));
        return;
      }
      if (removed) this.finalizerExpectations.observed(keyOf(job), cur.metadata.uid ?? '');
      return this.batched(job);
    }
    if (!removed) this.orphans.add(keyOf(cur));
    if (refChanged || JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(cur.metadata.labels ?? {})) for (const j of this.matchingJobs(cur)) this.batched(j);
  }

  private deletePod(obj: Pod | DeletedFinalStateUnknown<Pod>, final: boolean): void {
    const pod = deletedObject(obj);
    const ref = controllerRefOf(pod);
    const job = this.resolve(pod.metadata.namespace, ref);
    if (!job || isJobFinished(job)) {
      if (!final && hasTrackingFinalizer(pod)) this.orphans.add(keyOf(pod));
      return;
    }
    const key = keyOf(job);
    this.expectations.deletionObserved(key);
    if (final || !hasTrackingFinalizer(pod)) this.finalizerExpectations.observed(key, pod.metadata.uid ?? '');
    this.batched(job);
  }

  // ---- syncs ----

  private async sync(key: string): Promise<void | ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const job = this.jobs.store.get(namespace, name);
    if (!job) {
      this.expectations.delete(key);
      this.finalizerExpectations.delete(key);
      this.backoff.delete(key);
      this.lastWritten.delete(key);
      return;
    }
    if (managedElsewhere(job)) return;
    if (rvNumber(job.metadata.resourceVersion) < (this.lastWritten.get(key) ?? 0)) return { requeueAfterMs: BATCH_MS };
    // Expectations first, then the pods: pods read before would miss a creation observed in between.
    const needsSync = this.expectations.satisfied(key);
    const pods = await this.podsForJob(job);
    await syncJob(key, job, pods, this.deps(key), needsSync);
  }

  /** The Job's pods (upstream getPodsForJob): claimed from its namespace's pods, adopting and releasing (job-claim.ts). */
  private podsForJob(job: Job): Promise<Pod[]> {
    const client = this.ctx.client;
    const { namespace, name, uid } = job.metadata;
    return claimPods(job, this.pods.store.byIndex('namespace', namespace ?? ''), {
      patchPod: (p, patch) => client.patch<Pod>(Resources.pods, p.metadata.namespace, p.metadata.name ?? '', 'strategic', patch),
      canAdopt: async () => {
        const fresh = await client.get<Job>(Resources.jobs, namespace, name ?? '');
        if (fresh.metadata.uid !== uid) throw new Error(`original Job ${namespace}/${name} is gone: got uid ${fresh.metadata.uid}, wanted ${uid}`);
        if (fresh.metadata.deletionTimestamp) throw new Error(`${namespace}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
      },
    });
  }

  private async syncOrphan(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = this.pods.store.get(namespace, name);
    if (!pod || !hasTrackingFinalizer(pod)) return;
    const ref = controllerRefOf(pod);
    if (ref) {
      if (ref.kind !== 'Job' || ref.apiVersion !== 'batch/v1') return;
      const job = this.resolve(namespace, ref);
      if (job && (managedElsewhere(job) || !isJobFinished(job))) return;
    }
    await this.removeFinalizer(pod);
  }

  private async removeFinalizer(pod: Pod): Promise<void> {
    const patch = { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] } };
    try {
      await this.ctx.client.patch(Resources.pods, pod.metadata.namespace, pod.metadata.name ?? '', 'strategic', patch);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private deps(key: string): JobDeps {
    const client = this.ctx.client;
    return {
      now: () => this.ctx.now(),
      createPod: async (job, pod) => {
        try {
          const made = await client.create<Pod>(Resources.pods, job.metadata.namespace, pod);
          this.recorder.event(asJob(job), 'Normal', 'SuccessfulCreate', `Created pod: ${made.metadata.name}`);
        } catch (err) {
          this.recorder.event(asJob(job), 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
          throw err;
        }
      },
      deletePod: async (job, pod) => {
        try {
          await client.delete(Resources.pods, pod.metadata.namespace, pod.metadata.name ?? '');
          this.recorder.event(asJob(job), 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
          return true;
        } catch (err) {
          if (isNotFound(err)) return false;
          this.recorder.event(asJob(job), 'Warning', 'FailedDelete', `Error deleting: ${(err as Error).message}`);
          throw err;
        }
      },
      removeFinalizer: (pod) => this.removeFinalizer(pod),
      updateStatus: async (job) => {
        const written = await writeStatus(client, Resources.jobs, asJob(job));
        this.lastWritten.set(key, rvNumber(written.metadata.resourceVersion));
        return written;
      },
      event: (job, type, reason, message) => this.recorder.event(asJob(job), type, reason, message),
      requeueAfter: (k, ms) => this.queue.addAfter(k, ms),
      expectations: this.expectations,
      finalizerExpectations: this.finalizerExpectations,
      backoff: this.backoff,
    };
  }
}
