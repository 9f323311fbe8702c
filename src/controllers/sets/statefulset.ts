// The StatefulSet controller (statefulset-controller): informers on StatefulSets, pods,
// ControllerRevisions and PVCs; a StatefulSet is queued when it or one of its pods changes, and
// each sync claims its pods and revisions, then runs StatefulSetControl.
import { Resources } from '../../client/resources.ts';
import { deletedObject, type Informer } from '../framework/informer.ts';
import { keyOf, splitKey } from '../framework/store.ts';
import { runWorkers, WorkQueue, type ReconcileResult } from '../framework/workqueue.ts';
import type { Logger } from '../framework/log.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { claimObjects } from './ownership.ts';
import { StatefulSetControl } from './statefulset-control.ts';
import { isMemberOf } from './statefulset-pods.ts';
import type { ControllerRevision, PersistentVolumeClaim, Pod, StatefulSet } from './types.ts';
import { controllerRefOf, isEmptySelector, selectorMatcher } from './util.ts';

export class StatefulSetController implements Controller {
  readonly name = 'statefulset-controller';
  private readonly queue = new WorkQueue<string>({ name: 'statefulset' });
  private sets!: Informer<StatefulSet>;
  private pods!: Informer<Pod>;
  private revisions!: Informer<ControllerRevision>;
  private claims!: Informer<PersistentVolumeClaim>;
  private control!: StatefulSetControl;
  private ctx!: ControllerContext;
  private log!: Logger;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.log = ctx.logger(this.name);
    const f = ctx.informers;
    this.sets = f.informerFor<StatefulSet>(Resources.statefulsets);
    this.pods = f.informerFor<Pod>(Resources.pods);
    this.revisions = f.informerFor<ControllerRevision>(Resources.controllerrevisions);
    this.claims = f.informerFor<PersistentVolumeClaim>(Resources.persistentvolumeclaims);
    this.control = new StatefulSetControl({
      client: ctx.client,
      recorder: ctx.recorder(this.name),
      cachedClaim: (ns, name) => this.claims.store.get(ns, name),
      now: () => ctx.now(),
    });
    this.sets.addEventHandler({
      onAdd: (s) => this.queue.add(keyOf(s)),
      onUpdate: (_o, s) => this.queue.add(keyOf(s)),
      onDelete: (s) => this.queue.add(keyOf(deletedObject(s))),
    });
    this.pods.addEventHandler({
      onAdd: (p) => this.podChanged(p),
      onUpdate: (o, p) => {
        if (o.metadata.resourceVersion === p.metadata.resourceVersion) return;
        const oldRef = controllerRefOf(o);
        if (oldRef && oldRef.uid !== controllerRefOf(p)?.uid) this.podChanged(o);
        this.podChanged(p, JSON.stringify(o.metadata.labels) !== JSON.stringify(p.metadata.labels) || !!oldRef);
      },
      onDelete: (x) => this.podChanged(deletedObject(x)),
    });
    this.claims.addEventHandler({
      onUpdate: (_o, c) => this.claimChanged(c),
      onDelete: (x) => this.claimChanged(deletedObject(x)),
    });
  }

  async run(): Promise<void> {
    await runWorkers(this.queue, 5, (key) => this.sync(key), { logger: this.log });
  }

  stop(): void {
    this.queue.shutDown();
  }

  /** Queues the pod's StatefulSet; for an orphan, every set that could adopt it. */
  private podChanged(pod: Pod, orphanMayMatch = true): void {
    const ref = controllerRefOf(pod);
    const ns = pod.metadata.namespace ?? '';
    if (ref) {
      if (ref.kind !== 'StatefulSet') return;
      const set = this.sets.store.get(ns, ref.name);
      if (set && set.metadata.uid === ref.uid) this.queue.add(keyOf(set));
      return;
    }
    if (!orphanMayMatch || pod.metadata.deletionTimestamp) return;
    for (const set of this.sets.store.byIndex('namespace', ns)) {
      if (selectorMatcher(set.spec.selector)?.(pod.metadata.labels) && isMemberOf(set, pod)) this.queue.add(keyOf(set));
    }
  }

  /** A claim of a set changed (e.g. went away while a pod waited for it). */
  private claimChanged(claim: PersistentVolumeClaim): void {
    const ns = claim.metadata.namespace ?? '';
    for (const ref of claim.metadata.ownerReferences ?? []) {
      if (ref.kind === 'StatefulSet') this.queue.add(`${ns}/${ref.name}`);
      if (ref.kind === 'Pod') {
        const pod = this.pods.store.get(ns, ref.name);
        if (pod) this.podChanged(pod, false);
      }
    }
  }

  private async sync(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const set = this.sets.store.get(namespace, name);
    if (!set) return;
    const match = selectorMatcher(set.spec.selector);
    if (!match || isEmptySelector(set.spec.selector)) {
      this.log.warn(`statefulset ${key}: invalid selector`);
      return;
    }
    const client = this.ctx.client;
    const candidates = this.pods.store.byIndex('namespace', namespace);
    const pods = await claimObjects(
      { client, gvr: Resources.pods, owner: set, ownerKind: 'StatefulSet', match: (p) => match(p.metadata?.labels) && isMemberOf(set, p as Pod) },
      candidates,
    );
    const revisions = await claimObjects<ControllerRevision>(
      { client, gvr: Resources.controllerrevisions, owner: set, ownerKind: 'StatefulSet', match: (r) => match(r.metadata?.labels) },
      this.revisions.store.byIndex('namespace', namespace),
    );
    const after = await this.control.sync(set, pods, revisions);
    return after !== undefined ? { requeueAfterMs: after } : undefined;
  }
}

/** Used by index.ts. */
export function newStatefulSetController(): Controller {
  return new StatefulSetController();
}
