// The Deployment controller: watches Deployments, their ReplicaSets and (for Recreate) their
// pods, and syncs each Deployment with deployment-rollout.ts.
import { matchesLabels } from '../../api/selectors.ts';
import { Resources } from '../../client/resources.ts';
import { deletedObject, type DeletedFinalStateUnknown } from '../framework/informer.ts';
import { keyOf } from '../framework/store.ts';
import { runWorkers, WorkQueue } from '../framework/workqueue.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { controllerOf } from './controller-ref.ts';
import { deploymentSelector, syncDeployment } from './deployment-rollout.ts';
import type { DeploymentEnv } from './deployment-sync.ts';
import { OwnWrites } from './own-writes.ts';
import type { Deployment, Pod, ReplicaSet } from './types.ts';

const WORKERS = 5;

export class DeploymentController implements Controller {
  readonly name = 'deployment-controller';
  private readonly queue = new WorkQueue<string>({ name: 'deployment' });
  private env: DeploymentEnv | undefined;
  private ctx: ControllerContext | undefined;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    const deployments = ctx.informers.informerFor<Deployment>(Resources.deployments);
    const rss = ctx.informers.informerFor<ReplicaSet>(Resources.replicasets);
    const pods = ctx.informers.informerFor<Pod>(Resources.pods);
    this.env = { client: ctx.client, deployments, rss, pods, recorder: ctx.recorder('deployment-controller'), now: () => ctx.now(), writes: new OwnWrites() };
    deployments.addEventHandler({
      onAdd: (d) => this.queue.add(keyOf(d)),
      onUpdate: (_old, d) => this.queue.add(keyOf(d)),
      onDelete: (x) => {
        this.env!.writes.forget(deletedObject(x));
        this.queue.add(keyOf(deletedObject(x)));
      },
    });
    rss.addEventHandler({
      onAdd: (rs) => this.onReplicaSetAdd(rs),
      onUpdate: (old, cur) => this.onReplicaSetUpdate(old, cur),
      onDelete: (x) => this.onReplicaSetDelete(x),
    });
    pods.addEventHandler({ onDelete: (x) => this.onPodDelete(deletedObject(x)) });
  }

  async run(): Promise<void> {
    const env = this.env;
    if (!env || !this.ctx) throw new Error('deployment-controller: run() before start()');
    await runWorkers(this.queue, WORKERS, (key) => syncDeployment(env, key), { logger: this.ctx.logger(this.name) });
  }

  stop(): void {
    this.queue.shutDown();
  }

  private resolve(namespace: string | undefined, ref: { kind: string; name: string; uid: string }): Deployment | undefined {
    if (ref.kind !== 'Deployment') return undefined;
    const d = this.env!.deployments.store.get(namespace, ref.name);
    return d && d.metadata?.uid === ref.uid ? d : undefined;
  }

  /** Deployments whose selector matches an orphan ReplicaSet's labels. */
  private deploymentsMatching(rs: ReplicaSet): Deployment[] {
    const labels = rs.metadata?.labels;
    if (!labels || Object.keys(labels).length === 0) return [];
    return this.env!.deployments.store.byIndex('namespace', rs.metadata?.namespace ?? '').filter((d) => {
      const sel = deploymentSelector(d);
      return sel !== undefined && sel.length > 0 && matchesLabels(sel, labels);
    });
  }

  private onReplicaSetAdd(rs: ReplicaSet): void {
    if (rs.metadata?.deletionTimestamp) return this.onReplicaSetDelete(rs);
    const ref = controllerOf(rs);
    if (ref) {
      const d = this.resolve(rs.metadata?.namespace, ref);
      if (d) this.queue.add(keyOf(d));
      return;
    }
    for (const d of this.deploymentsMatching(rs)) this.queue.add(keyOf(d));
  }

  private onReplicaSetUpdate(old: ReplicaSet, cur: ReplicaSet): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    const refChanged = JSON.stringify(curRef ?? null) !== JSON.stringify(oldRef ?? null);
    if (refChanged && oldRef) {
      const d = this.resolve(old.metadata?.namespace, oldRef);
      if (d) this.queue.add(keyOf(d));
    }
    if (curRef) {
      const d = this.resolve(cur.metadata?.namespace, curRef);
      if (d) this.queue.add(keyOf(d));
      return;
    }
    const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
    if (labelsChanged || refChanged) for (const d of this.deploymentsMatching(cur)) this.queue.add(keyOf(d));
  }

  private onReplicaSetDelete(x: ReplicaSet | DeletedFinalStateUnknown<ReplicaSet>): void {
    const rs = deletedObject(x);
    this.env!.writes.forget(rs);
    const ref = controllerOf(rs);
    if (!ref) return;
    const d = this.resolve(rs.metadata?.namespace, ref);
    if (d) this.queue.add(keyOf(d));
  }

  /** A Recreate rollout waits for old pods to go: look again when one does. */
  private onPodDelete(pod: Pod): void {
    const ref = controllerOf(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return;
    const rs = this.env!.rss.store.get(pod.metadata?.namespace, ref.name);
    if (!rs || rs.metadata?.uid !== ref.uid) return;
    const dref = controllerOf(rs);
    const d = dref && this.resolve(rs.metadata?.namespace, dref);
    if (d && d.spec?.strategy?.type === 'Recreate') this.queue.add(keyOf(d));
  }
}

export const newDeploymentController = (): Controller => new DeploymentController();
