// The ReplicaSet controller and the ReplicationController controller (one implementation, as
// upstream): watches sets and pods, keeps expectations in step with what the pod informer
// observes, and syncs each set with replica-set-sync.ts.
import { matchesLabels } from '../../api/selectors.ts';
import { Resources } from '../../client/resources.ts';
import { deletedObject, type DeletedFinalStateUnknown, type Informer } from '../framework/informer.ts';
import { keyOf } from '../framework/store.ts';
import { runWorkers, WorkQueue } from '../framework/workqueue.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { controllerOf } from './controller-ref.ts';
import { Expectations } from './expectations.ts';
import { isPodReady, podKey } from './pods.ts';
import { selectorOf, syncSet, type SetKind, type SetSyncState } from './replica-set-sync.ts';
import type { Pod, ReplicaSet } from './types.ts';

export const REPLICA_SET: SetKind = { name: 'replicaset', component: 'replicaset-controller', gvr: Resources.replicasets, mapSelector: false };
export const REPLICATION_CONTROLLER: SetKind = { name: 'replicationcontroller', component: 'replication-controller', gvr: Resources.replicationcontrollers, mapSelector: true };

const WORKERS = 5;

export class ReplicaSetController implements Controller {
  readonly name: string;
  private readonly kind: SetKind;
  private readonly queue: WorkQueue<string>;
  private state: SetSyncState | undefined;
  private ctx: ControllerContext | undefined;

  constructor(kind: SetKind = REPLICA_SET) {
    this.kind = kind;
    this.name = `${kind.name}-controller`;
    this.queue = new WorkQueue<string>({ name: kind.name });
  }

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    const pods = ctx.informers.informerFor<Pod>(Resources.pods);
    const sets = ctx.informers.informerFor<ReplicaSet>(this.kind.gvr);
    this.state = {
      kind: this.kind,
      client: ctx.client,
      pods,
      sets,
      expectations: new Expectations(() => ctx.now().getTime()),
      recorder: ctx.recorder(this.kind.component),
      now: () => ctx.now(),
      burstReplicas: 500,
    };
    sets.addEventHandler({
      onAdd: (rs) => this.queue.add(keyOf(rs)),
      onUpdate: (old, cur) => {
        if (old.metadata?.uid !== cur.metadata?.uid) this.onSetDelete(old);
        this.queue.add(keyOf(cur));
      },
      onDelete: (x) => this.onSetDelete(x),
    });
    pods.addEventHandler({
      onAdd: (p) => this.onPodAdd(p),
      onUpdate: (old, cur) => this.onPodUpdate(old, cur),
      onDelete: (x) => this.onPodDelete(deletedObject(x)),
    });
  }

  async run(): Promise<void> {
    const s = this.state;
    if (!s || !this.ctx) throw new Error(`${this.name}: run() before start()`);
    await runWorkers(this.queue, WORKERS, (key) => syncSet(s, key), { logger: this.ctx.logger(this.name) });
  }

  stop(): void {
    this.queue.shutDown();
  }

  /** For tests: the expectations of a set key. */
  get expectations(): Expectations | undefined {
    return this.state?.expectations;
  }

  private get sets(): Informer<ReplicaSet> {
    return this.state!.sets;
  }

  private onSetDelete(x: ReplicaSet | DeletedFinalStateUnknown<ReplicaSet>): void {
    const key = keyOf(deletedObject(x));
    this.state!.expectations.delete(key);
    this.queue.add(key);
  }

  /** The set a controller reference names, if it is one of ours and still the same object. */
  private resolve(namespace: string | undefined, ref: { kind: string; name: string; uid: string }): ReplicaSet | undefined {
    if (ref.kind !== this.kind.gvr.kind) return undefined;
    const rs = this.sets.store.get(namespace, ref.name);
    return rs && rs.metadata?.uid === ref.uid ? rs : undefined;
  }

  /** Sets in the pod's namespace whose selector matches it (candidates to adopt an orphan). */
  private setsMatching(pod: Pod): ReplicaSet[] {
    const labels = pod.metadata?.labels;
    if (!labels || Object.keys(labels).length === 0) return [];
    return this.sets.store.byIndex('namespace', pod.metadata?.namespace ?? '').filter((rs) => {
      const sel = selectorOf(this.kind, rs);
      return sel !== undefined && sel.length > 0 && matchesLabels(sel, labels);
    });
  }

  private onPodAdd(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      // Seen for the first time already being deleted (e.g. after a restart): a deletion.
      this.onPodDelete(pod);
      return;
    }
    const ref = controllerOf(pod);
    if (ref) {
      const rs = this.resolve(pod.metadata?.namespace, ref);
      if (!rs) return;
      const key = keyOf(rs);
      this.state!.expectations.creationObserved(key);
      this.queue.add(key);
      return;
    }
    for (const rs of this.setsMatching(pod)) this.queue.add(keyOf(rs));
  }

  private onPodUpdate(old: Pod, cur: Pod): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    const labelsChanged = JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(cur.metadata?.labels ?? {});
    if (cur.metadata?.deletionTimestamp) {
      // Graceful deletion: the set can make a replacement now, without waiting for the pod to go.
      this.onPodDelete(cur);
      if (labelsChanged) this.onPodDelete(old);
      return;
    }
    const curRef = controllerOf(cur);
    const oldRef = controllerOf(old);
    const refChanged = JSON.stringify(curRef ?? null) !== JSON.stringify(oldRef ?? null);
    if (refChanged && oldRef) {
      const rs = this.resolve(old.metadata?.namespace, oldRef);
      if (rs) this.queue.add(keyOf(rs));
    }
    if (curRef) {
      const rs = this.resolve(cur.metadata?.namespace, curRef);
      if (!rs) return;
      this.queue.add(keyOf(rs));
      // Available only after minReadySeconds: look again then.
      const minReady = rs.spec?.minReadySeconds ?? 0;
      if (!isPodReady(old) && isPodReady(cur) && minReady > 0) this.queue.addAfter(keyOf(rs), minReady * 1000 + 1000);
      return;
    }
    if (labelsChanged || refChanged) for (const rs of this.setsMatching(cur)) this.queue.add(keyOf(rs));
  }

  private onPodDelete(pod: Pod): void {
    const ref = controllerOf(pod);
    if (!ref) return;
    const rs = this.resolve(pod.metadata?.namespace, ref);
    if (!rs) return;
    const key = keyOf(rs);
    this.state!.expectations.deletionObserved(key, podKey(pod));
    this.queue.add(key);
  }
}

export const newReplicaSetController = (): Controller => new ReplicaSetController(REPLICA_SET);
export const newReplicationControllerController = (): Controller => new ReplicaSetController(REPLICATION_CONTROLLER);
