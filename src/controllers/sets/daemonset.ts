// The DaemonSet controller (daemonset-controller): informers on DaemonSets, pods, nodes and
// ControllerRevisions. A DaemonSet is queued when it, one of its pods or revisions changes, or a
// node appears, goes, or changes in a way that changes where the DaemonSet's pods belong (labels,
// taints); each sync claims its pods and revisions and runs DaemonSetControl.
import { Resources } from '../../client/resources.ts';
import { deletedObject, type Informer } from '../framework/informer.ts';
import type { Logger } from '../framework/log.ts';
import { keyOf, splitKey } from '../framework/store.ts';
import { runWorkers, WorkQueue, type ReconcileResult } from '../framework/workqueue.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { DaemonSetControl } from './daemonset-control.ts';
import { nodeShouldRunDaemonPod } from './daemonset-nodes.ts';
import { Expectations } from './expectations.ts';
import { claimObjects } from './ownership.ts';
import type { ControllerRevision, DaemonSet, Node, Pod } from './types.ts';
import { controllerRefOf, isEmptySelector, isPodReady, selectorMatcher } from './util.ts';

export class DaemonSetController implements Controller {
  readonly name = 'daemonset-controller';
  private readonly queue = new WorkQueue<string>({ name: 'daemonset' });
  private readonly expectations = new Expectations();
  private sets!: Informer<DaemonSet>;
  private pods!: Informer<Pod>;
  private nodes!: Informer<Node>;
  private revisions!: Informer<ControllerRevision>;
  private control!: DaemonSetControl;
  private ctx!: ControllerContext;
  private log!: Logger;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.log = ctx.logger(this.name);
    const f = ctx.informers;
    this.sets = f.informerFor<DaemonSet>(Resources.daemonsets);
    this.pods = f.informerFor<Pod>(Resources.pods);
    this.nodes = f.informerFor<Node>(Resources.nodes);
    this.revisions = f.informerFor<ControllerRevision>(Resources.controllerrevisions);
    this.control = new DaemonSetControl({ client: ctx.client, recorder: ctx.recorder(this.name), expectations: this.expectations, now: () => ctx.now() });
    this.sets.addEventHandler({
      onAdd: (ds) => this.queue.add(keyOf(ds)),
      onUpdate: (_o, ds) => this.queue.add(keyOf(ds)),
      onDelete: (x) => {
        const key = keyOf(deletedObject(x));
        this.expectations.delete(key);
        this.queue.add(key);
      },
    });
    this.pods.addEventHandler({
      onAdd: (p) => {
        if (p.metadata.deletionTimestamp) return this.podDeleted(p);
        const ds = this.owner(p);
        if (ds) {
          this.expectations.creationObserved(keyOf(ds));
          this.queue.add(keyOf(ds));
        } else if (!controllerRefOf(p)) this.queueMatching(p);
      },
      onUpdate: (o, p) => {
        if (o.metadata.resourceVersion === p.metadata.resourceVersion) return;
        const oldRef = controllerRefOf(o);
        const ref = controllerRefOf(p);
        if (oldRef && oldRef.uid !== ref?.uid) {
          const prev = this.owner(o);
          if (prev) this.queue.add(keyOf(prev));
        }
        if (ref) {
          const ds = this.owner(p);
          if (!ds) return;
          this.queue.add(keyOf(ds));
          const minReady = ds.spec.minReadySeconds ?? 0;
          if (minReady > 0 && !isPodReady(o) && isPodReady(p)) this.queue.addAfter(keyOf(ds), minReady * 1000 + 1000);
          return;
        }
        if (JSON.stringify(o.metadata.labels) !== JSON.stringify(p.metadata.labels) || oldRef) this.queueMatching(p);
      },
      onDelete: (x) => this.podDeleted(deletedObject(x)),
    });
    this.nodes.addEventHandler({
      onAdd: (n) => {
        for (const ds of this.sets.store.list()) if (nodeShouldRunDaemonPod(n, ds).shouldRun) this.queue.add(keyOf(ds));
      },
      onUpdate: (o, n) => {
        if (JSON.stringify(o.metadata.labels) === JSON.stringify(n.metadata.labels) && JSON.stringify(o.spec?.taints ?? []) === JSON.stringify(n.spec?.taints ?? [])) return;
        for (const ds of this.sets.store.list()) {
          const a = nodeShouldRunDaemonPod(o, ds);
          const b = nodeShouldRunDaemonPod(n, ds);
          if (a.shouldRun !== b.shouldRun || a.shouldContinueRunning !== b.shouldContinueRunning) this.queue.add(keyOf(ds));
        }
      },
      onDelete: () => {
        for (const ds of this.sets.store.list()) this.queue.add(keyOf(ds));
      },
    });
    const revisionChanged = (r: ControllerRevision) => {
      const ref = controllerRefOf(r);
      if (ref?.kind === 'DaemonSet') {
        const ds = this.sets.store.get(r.metadata.namespace, ref.name);
        if (ds && ds.metadata.uid === ref.uid) this.queue.add(keyOf(ds));
      }
    };
    this.revisions.addEventHandler({ onAdd: revisionChanged, onUpdate: (_o, r) => revisionChanged(r), onDelete: (x) => revisionChanged(deletedObject(x)) });
  }

  async run(): Promise<void> {
    await runWorkers(this.queue, 2, (key) => this.sync(key), { logger: this.log });
  }

  stop(): void {
    this.queue.shutDown();
  }

  /** The DaemonSet controlling `pod`, if it is one we know (same uid). */
  private owner(pod: Pod): DaemonSet | undefined {
    const ref = controllerRefOf(pod);
    if (ref?.kind !== 'DaemonSet') return undefined;
    const ds = this.sets.store.get(pod.metadata.namespace, ref.name);
    return ds && ds.metadata.uid === ref.uid ? ds : undefined;
  }

  private podDeleted(pod: Pod): void {
    const ds = this.owner(pod);
    if (!ds) return;
    this.expectations.deletionObserved(keyOf(ds));
    this.queue.add(keyOf(ds));
  }

  /** Queues the DaemonSets that could adopt an orphan pod. */
  private queueMatching(pod: Pod): void {
    for (const ds of this.sets.store.byIndex('namespace', pod.metadata.namespace ?? '')) {
      if (selectorMatcher(ds.spec.selector)?.(pod.metadata.labels)) this.queue.add(keyOf(ds));
    }
  }

  private async sync(key: string): Promise<ReconcileResult | void> {
    const { namespace, name } = splitKey(key);
    const ds = this.sets.store.get(namespace, name);
    if (!ds) {
      this.expectations.delete(key);
      return;
    }
    // Expectations first, then the pods: pods read before would miss a creation observed in between.
    const needsSync = this.expectations.satisfied(key);
    const match = selectorMatcher(ds.spec.selector);
    const client = this.ctx.client;
    let pods: Pod[] = [];
    let revisions: ControllerRevision[] = [];
    if (match && !isEmptySelector(ds.spec.selector)) {
      pods = await claimObjects({ client, gvr: Resources.pods, owner: ds, ownerKind: 'DaemonSet', match: (p) => match(p.metadata?.labels) }, this.pods.store.byIndex('namespace', namespace));
      revisions = await claimObjects({ client, gvr: Resources.controllerrevisions, owner: ds, ownerKind: 'DaemonSet', match: (r) => match(r.metadata?.labels) }, this.revisions.store.byIndex('namespace', namespace));
    }
    const after = await this.control.sync(key, ds, this.nodes.store.list(), pods, revisions, needsSync);
    return after !== undefined ? { requeueAfterMs: after } : undefined;
  }
}

export function newDaemonSetController(): Controller {
  return new DaemonSetController();
}
