// The TTL-after-finished controller: deletes a finished Job (Complete or Failed) once
// spec.ttlSecondsAfterFinished have passed since its terminal condition's lastTransitionTime,
// rechecking a fresh copy first and deleting on its uid.
import { isNotFound } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { Informer } from '../framework/informer.ts';
import { keyOf, splitKey } from '../framework/store.ts';
import { ItemExponentialFailureRateLimiter, runWorkers, WorkQueue, type ReconcileResult } from '../framework/workqueue.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { isJobFinished, parseTime } from './job-util.ts';
import type { Job } from './types.ts';

/** Milliseconds until the Job may be deleted (≤ 0: now), or undefined if it is not due for cleanup. */
export function ttlRemainingMs(job: Job, now: Date): number | undefined {
  const ttl = job.spec.ttlSecondsAfterFinished;
  if (job.metadata.deletionTimestamp || typeof ttl !== 'number' || !isJobFinished(job)) return undefined;
  const cond = job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  const finishedAt = parseTime(cond?.lastTransitionTime);
  if (!finishedAt) return undefined;
  return finishedAt.getTime() + ttl * 1000 - now.getTime();
}

export class TtlAfterFinishedController implements Controller {
  readonly name = 'ttl-after-finished-controller';
  private readonly queue = new WorkQueue<string>({ name: 'ttl_jobs_to_delete', rateLimiter: new ItemExponentialFailureRateLimiter<string>(5, 1_000_000) });
  private ctx!: ControllerContext;
  private jobs!: Informer<Job>;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.jobs = ctx.informers.informerFor<Job>(Resources.jobs);
    const enqueue = (j: Job) => {
      if (j.metadata.deletionTimestamp || typeof j.spec.ttlSecondsAfterFinished !== 'number' || !isJobFinished(j)) return;
      this.queue.add(keyOf(j));
    };
    this.jobs.addEventHandler({ onAdd: enqueue, onUpdate: (_old, cur) => enqueue(cur) });
  }

  run(): Promise<void> {
    return runWorkers(this.queue, 2, (key) => this.sync(key), { logger: this.ctx.logger(this.name) });
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(key: string): Promise<void | ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = this.jobs.store.get(namespace, name);
    if (!cached) return;
    const left = ttlRemainingMs(cached, this.ctx.now());
    if (left === undefined) return;
    if (left > 0) return { requeueAfterMs: left };
    let fresh: Job;
    try {
      fresh = await this.ctx.client.get<Job>(Resources.jobs, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const freshLeft = ttlRemainingMs(fresh, this.ctx.now());
    if (freshLeft === undefined) return;
    if (freshLeft > 0) return { requeueAfterMs: freshLeft };
    try {
      await this.ctx.client.delete(Resources.jobs, namespace, name, { propagationPolicy: 'Background', preconditions: { uid: fresh.metadata.uid } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
