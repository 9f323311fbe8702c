// The garbage collector's dependency graph (upstream's GraphBuilder): a node per object uid with
// its ownerReferences and the nodes that name it as owner. Owners not observed (yet) are
// "virtual" nodes, verified by the collector with a live read. Informer events update the graph
// and hand nodes to the collector's two queues: attemptToDelete (dependents whose owners may be
// gone, owners waiting for foreground deletion) and attemptToOrphan (owners with the orphan
// finalizer).
import type { KubeObject, OwnerReference } from '../../api/object.ts';
import type { GVR } from '../../client/resources.ts';
import { apiVersionOf, resourceOf } from '../../client/resources.ts';

export const FOREGROUND = 'foregroundDeletion';
export const ORPHAN = 'orphan';

export interface Identity {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

export class GraphNode {
  identity: Identity;
  owners: OwnerReference[];
  readonly dependents = new Set<GraphNode>();
  /** Known only from a dependent's ownerReference, not (yet) seen by an informer. */
  virtual: boolean;
  beingDeleted = false;
  deletingDependents = false;

  constructor(identity: Identity, owners: OwnerReference[], virtual: boolean) {
    this.identity = identity;
    this.owners = owners;
    this.virtual = virtual;
  }

  /** Dependents whose reference to this node has blockOwnerDeletion. */
  blockingDependents(): GraphNode[] {
    return [...this.dependents].filter((d) => d.owners.some((r) => r.uid === this.identity.uid && r.blockOwnerDeletion === true));
  }
}

export interface GraphQueues {
  attemptToDelete(n: GraphNode): void;
  attemptToOrphan(n: GraphNode): void;
}

const hasFinalizer = (obj: KubeObject | undefined, f: string) => (obj?.metadata?.finalizers ?? []).includes(f);
const deleting = (obj: KubeObject | undefined) => !!obj?.metadata?.deletionTimestamp;

/** Whether the owner kind is namespaced (unknown kinds: assume it is, as a namespaced dependent's owner). */
function ownerNamespace(ref: OwnerReference, dependentNamespace: string): string {
  const gvr = resourceOf(ref.apiVersion, ref.kind);
  return gvr && !gvr.namespaced ? '' : dependentNamespace;
}

export class DependencyGraph {
  readonly uidToNode = new Map<string, GraphNode>();
  private readonly queues: GraphQueues;
  /** Owners found absent (by namespace/uid), so their other dependents need no lookup. */
  private readonly absent = new Map<string, true>();

  constructor(queues: GraphQueues) {
    this.queues = queues;
  }

  get(uid: string): GraphNode | undefined {
    return this.uidToNode.get(uid);
  }

  markAbsent(namespace: string, uid: string): void {
    this.absent.set(`${namespace}/${uid}`, true);
    if (this.absent.size > 1000) this.absent.delete(this.absent.keys().next().value!);
  }

  isAbsent(namespace: string, uid: string): boolean {
    return this.absent.has(`${namespace}/${uid}`) || this.absent.has(`/${uid}`);
  }

  /** An informer add or update of `obj` (of resource `gvr`). */
  observe(gvr: GVR, oldObj: KubeObject | undefined, obj: KubeObject): void {
    const m = obj.metadata ?? {};
    if (!m.uid) return;
    const identity: Identity = { apiVersion: apiVersionOf(gvr), kind: gvr.kind ?? obj.kind ?? '', namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid };
    const refs = m.ownerReferences ?? [];
    let node = this.uidToNode.get(m.uid);
    if (!node) {
      node = new GraphNode(identity, refs, false);
      this.uidToNode.set(m.uid, node);
      this.addDependentToOwners(node, refs);
    } else {
      if (node.virtual) {
        // The owner others pointed at is real: its coordinates now come from the object itself.
        node.virtual = false;
        node.identity = identity;
        for (const d of node.dependents) this.queues.attemptToDelete(d);
      }
      const { added, removed, changed } = referenceDiffs(node.owners, refs);
      if (added.length + removed.length + changed.length > 0) {
        this.addUnblockedOwnersToDeleteQueue(removed, changed);
        node.owners = refs;
        this.addDependentToOwners(node, added);
        for (const r of removed) this.uidToNode.get(r.uid)?.dependents.delete(node);
      }
    }
    if (deleting(obj)) node.beingDeleted = true;
    this.processTransitions(oldObj, obj, node);
  }

  /** An informer delete of `obj`. */
  observeDelete(obj: KubeObject): void {
    const uid = obj.metadata?.uid;
    const node = uid ? this.uidToNode.get(uid) : undefined;
    if (node) this.removeAndNotify(node);
  }

  /**
   * The collector found the object gone (or another object under its name): a virtual node goes
   * from the graph; an observed node only when its coordinates are the ones looked up.
   */
  virtualDelete(identity: Identity): void {
    const node = this.uidToNode.get(identity.uid);
    if (!node) return;
    if (!node.virtual) {
      const same = node.identity.name === identity.name && node.identity.namespace === identity.namespace && node.identity.kind === identity.kind;
      if (!same) return;
    }
    this.removeAndNotify(node);
  }

  private removeAndNotify(node: GraphNode): void {
    this.uidToNode.delete(node.identity.uid);
    for (const r of node.owners) this.uidToNode.get(r.uid)?.dependents.delete(node);
    if (node.dependents.size > 0) this.markAbsent(node.identity.namespace, node.identity.uid);
    for (const d of node.dependents) this.queues.attemptToDelete(d);
    for (const r of node.owners) {
      const owner = this.uidToNode.get(r.uid);
      if (owner?.deletingDependents) this.queues.attemptToDelete(owner);
    }
  }

  private addDependentToOwners(node: GraphNode, refs: OwnerReference[]): void {
    for (const ref of refs) {
      let owner = this.uidToNode.get(ref.uid);
      const fresh = !owner;
      if (!owner) {
        owner = new GraphNode({ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid, namespace: ownerNamespace(ref, node.identity.namespace) }, [], true);
        this.uidToNode.set(ref.uid, owner);
      }
      owner.dependents.add(node);
      if (fresh) this.queues.attemptToDelete(owner);
    }
  }

  /** Owners waiting for their blocking dependents, unblocked by a removed or relaxed reference. */
  private addUnblockedOwnersToDeleteQueue(removed: OwnerReference[], changed: Array<{ old: OwnerReference; cur: OwnerReference }>): void {
    const unblocked = [...removed.filter((r) => r.blockOwnerDeletion), ...changed.filter((c) => c.old.blockOwnerDeletion && !c.cur.blockOwnerDeletion).map((c) => c.cur)];
    for (const r of unblocked) {
      const owner = this.uidToNode.get(r.uid);
      if (owner?.deletingDependents) this.queues.attemptToDelete(owner);
    }
  }

  private processTransitions(oldObj: KubeObject | undefined, obj: KubeObject, node: GraphNode): void {
    const starts = (f: string) => deleting(obj) && hasFinalizer(obj, f) && !(deleting(oldObj) && hasFinalizer(oldObj, f));
    if (starts(ORPHAN)) {
      this.queues.attemptToOrphan(node);
      return;
    }
    if (starts(FOREGROUND)) {
      node.deletingDependents = true;
      for (const d of node.dependents) this.queues.attemptToDelete(d);
      this.queues.attemptToDelete(node);
    }
  }
}

export function referenceDiffs(old: OwnerReference[], cur: OwnerReference[]): { added: OwnerReference[]; removed: OwnerReference[]; changed: Array<{ old: OwnerReference; cur: OwnerReference }> } {
  const oldByUid = new Map(old.map((r) => [r.uid, r]));
  const curByUid = new Map(cur.map((r) => [r.uid, r]));
  const added = cur.filter((r) => !oldByUid.has(r.uid));
  const removed = old.filter((r) => !curByUid.has(r.uid));
  const changed: Array<{ old: OwnerReference; cur: OwnerReference }> = [];
  for (const r of cur) {
    const o = oldByUid.get(r.uid);
    if (o && (o.blockOwnerDeletion !== r.blockOwnerDeletion || o.controller !== r.controller || o.name !== r.name || o.kind !== r.kind || o.apiVersion !== r.apiVersion)) changed.push({ old: o, cur: r });
  }
  return { added, removed, changed };
}
