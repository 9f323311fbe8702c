// The garbage collector: dependents whose owners are all gone are deleted (propagating their own
// orphan/foreground finalizers, else in the background); an owner deleted in the foreground
// (foregroundDeletion finalizer) has its dependents deleted, blocking ones first waited for, and
// then loses the finalizer; an owner deleted with the orphan finalizer has its dependents'
// references to it removed, then loses the finalizer. The graph (gc-graph.ts) is fed by informers
// on every listable, watchable, deletable resource except events, as upstream monitors them.
import type { KubeObject, OwnerReference } from '../../api/object.ts';
import { StatusError } from '../../api/status.ts';
import { isNotFound, type KubeClient } from '../../client/kube-client.ts';
import { resourceOf, type GVR } from '../../client/resources.ts';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.ts';
import { deletedObject } from '../framework/informer.ts';
import { runWorkers, WorkQueue } from '../framework/workqueue.ts';
import type { Logger } from '../framework/log.ts';
import { DependencyGraph, FOREGROUND, GraphNode, ORPHAN, type Identity } from './gc-graph.ts';
import { monitoredResources } from './resources.ts';
import { hasFinalizer, removeFinalizer, removeOwnerReferences, unblockOwnerReferences } from './util.ts';

export interface GarbageCollectorOptions {
  /** Resources to monitor; default all with list, watch and delete except events. */
  resources?: GVR[];
  workers?: number;
}

/** Thrown when the item turned out to be gone: the graph takes it from here. */
const VIRTUAL_DELETED = Symbol('virtual-deleted');

type Classified = { solid: OwnerReference[]; dangling: OwnerReference[]; waiting: OwnerReference[] } | 'invalid';

class GarbageCollector implements Controller {
  readonly name = 'garbage-collector-controller';
  private readonly opts: GarbageCollectorOptions;
  private readonly deleteQueue = new WorkQueue<GraphNode>({ name: 'garbage_collector_attempt_to_delete' });
  private readonly orphanQueue = new WorkQueue<GraphNode>({ name: 'garbage_collector_attempt_to_orphan' });
  readonly graph = new DependencyGraph({ attemptToDelete: (n) => this.deleteQueue.add(n), attemptToOrphan: (n) => this.orphanQueue.add(n) });
  private client!: KubeClient;
  private log!: Logger;

  constructor(opts: GarbageCollectorOptions) {
    this.opts = opts;
  }

  start(ctx: ControllerContext): void {
    this.client = ctx.client;
    this.log = ctx.logger(this.name);
    for (const gvr of this.opts.resources ?? monitoredResources()) {
      ctx.informers.informerFor(gvr).addEventHandler({
        onAdd: (o) => this.graph.observe(gvr, undefined, o),
        onUpdate: (o, n) => this.graph.observe(gvr, o, n),
        onDelete: (x) => this.graph.observeDelete(deletedObject(x)),
      });
    }
  }

  async run(): Promise<void> {
    const workers = this.opts.workers ?? 5;
    await Promise.all([
      runWorkers(this.deleteQueue, workers, (n) => this.attemptToDeleteWorker(n), { logger: this.log }),
      runWorkers(this.orphanQueue, Math.max(1, Math.floor(workers / 2)), (n) => this.attemptToOrphan(n), { logger: this.log }),
    ]);
  }

  stop(): void {
    this.deleteQueue.shutDown();
    this.orphanQueue.shutDown();
  }

  private gvrOf(id: { apiVersion: string; kind: string }): GVR {
    const gvr = resourceOf(id.apiVersion, id.kind);
    if (!gvr) throw new Error(`unable to get REST mapping for ${id.apiVersion}/${id.kind}`);
    return gvr;
  }

  private async attemptToDeleteWorker(n: GraphNode): Promise<void> {
    if (n.virtual) {
      const current = this.graph.get(n.identity.uid);
      if (!current || current !== n || !current.virtual) return;
    }
    try {
      await this.attemptToDeleteItem(n);
    } catch (err) {
      if (err === VIRTUAL_DELETED) return;
      throw err;
    }
    // A virtual node that exists but is not observed yet: look again later (rate limited).
    if (n.virtual && this.graph.get(n.identity.uid) === n) this.deleteQueue.addRateLimited(n);
  }

  private async getLatest(id: Identity): Promise<KubeObject> {
    const gvr = this.gvrOf(id);
    let latest: KubeObject;
    try {
      latest = await this.client.get(gvr, gvr.namespaced ? id.namespace : undefined, id.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.graph.virtualDelete(id);
      throw VIRTUAL_DELETED;
    }
    if (latest.metadata?.uid !== id.uid) {
      this.graph.virtualDelete(id);
      throw VIRTUAL_DELETED;
    }
    return latest;
  }

  private async attemptToDeleteItem(item: GraphNode): Promise<void> {
    if (item.beingDeleted && !item.deletingDependents) return;
    const latest = await this.getLatest(item.identity);
    if (item.deletingDependents) return this.processDeletingDependents(item);
    const refs = latest.metadata?.ownerReferences ?? [];
    if (refs.length === 0) return;
    const c = await this.classify(item, refs);
    if (c === 'invalid') return;
    const id = item.identity;
    if (c.solid.length > 0) {
      if (c.dangling.length === 0 && c.waiting.length === 0) return;
      // References to gone owners, and to owners waiting for this one, go.
      const uids = new Set([...c.dangling, ...c.waiting].map((r) => r.uid));
      this.log.info(`removing dangling and waiting ownerReferences of ${describe(id)}`);
      return removeOwnerReferences(this.client, this.gvrOf(id), id.namespace, id.name, id.uid, uids);
    }
    if (c.waiting.length > 0 && item.dependents.size > 0) {
      // An owner waits in the foreground and this item has dependents: delete it in the foreground too.
      if ([...item.dependents].some((d) => d.deletingDependents)) await unblockOwnerReferences(this.client, this.gvrOf(id), id.namespace, id.name, id.uid);
      return this.deleteObject(id, 'Foreground');
    }
    const policy = hasFinalizer(latest, ORPHAN) ? 'Orphan' : hasFinalizer(latest, FOREGROUND) ? 'Foreground' : 'Background';
    this.log.info(`deleting ${describe(id)} (owners gone), propagationPolicy=${policy}`);
    return this.deleteObject(id, policy);
  }

  /** An owner in foreground deletion: done when no dependent blocks it, else its blockers are deleted. */
  private async processDeletingDependents(item: GraphNode): Promise<void> {
    const blocking = item.blockingDependents();
    if (blocking.length === 0) {
      const id = item.identity;
      return removeFinalizer(this.client, this.gvrOf(id), id.namespace, id.name, id.uid, FOREGROUND);
    }
    for (const d of blocking) if (!d.deletingDependents) this.deleteQueue.add(d);
  }

  private async classify(item: GraphNode, refs: OwnerReference[]): Promise<Classified> {
    const out = { solid: [] as OwnerReference[], dangling: [] as OwnerReference[], waiting: [] as OwnerReference[] };
    for (const ref of refs) {
      const gvr = this.gvrOf(ref);
      if (gvr.namespaced && !item.identity.namespace) {
        this.log.warn(`${describe(item.identity)} is cluster-scoped but refers to a namespaced owner ${ref.kind} ${ref.name}`);
        return 'invalid';
      }
      const ns = gvr.namespaced ? item.identity.namespace : '';
      if (this.graph.isAbsent(ns, ref.uid)) {
        out.dangling.push(ref);
        continue;
      }
      let owner: KubeObject | undefined;
      try {
        owner = await this.client.get(gvr, ns || undefined, ref.name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (!owner || owner.metadata?.uid !== ref.uid) {
        this.graph.markAbsent(ns, ref.uid);
        out.dangling.push(ref);
      } else if (owner.metadata?.deletionTimestamp && hasFinalizer(owner, FOREGROUND)) out.waiting.push(ref);
      else out.solid.push(ref);
    }
    return out;
  }

  private async deleteObject(id: Identity, policy: 'Orphan' | 'Foreground' | 'Background'): Promise<void> {
    const gvr = this.gvrOf(id);
    try {
      await this.client.delete(gvr, gvr.namespaced ? id.namespace : undefined, id.name, { propagationPolicy: policy, preconditions: { uid: id.uid } });
    } catch (err) {
      if (isNotFound(err)) return;
      // Another object now has the name: the graph learns of it from the informers.
      if (err instanceof StatusError && err.code === 409 && err.message.includes('Precondition failed: UID')) return;
      throw err;
    }
  }

  /** Removes the owner's references from its dependents, then the orphan finalizer. */
  private async attemptToOrphan(owner: GraphNode): Promise<void> {
    const uids = new Set([owner.identity.uid]);
    const deps = [...owner.dependents];
    await Promise.all(deps.map((d) => removeOwnerReferences(this.client, this.gvrOf(d.identity), d.identity.namespace, d.identity.name, d.identity.uid, uids)));
    const id = owner.identity;
    await removeFinalizer(this.client, this.gvrOf(id), id.namespace, id.name, id.uid, ORPHAN);
  }
}

function describe(id: Identity): string {
  return `${id.kind} ${id.namespace ? `${id.namespace}/` : ''}${id.name} (${id.uid})`;
}

export function garbageCollector(opts: GarbageCollectorOptions = {}): ControllerFactory {
  return () => new GarbageCollector(opts);
}
