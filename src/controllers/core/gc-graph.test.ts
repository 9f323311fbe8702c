import { describe, expect, it } from 'vitest';
import type { KubeObject, OwnerReference } from '../../api/object.ts';
import { Resources } from '../../client/resources.ts';
import { DependencyGraph, type GraphNode } from './gc-graph.ts';
import { updateConditions, type NamespaceCondition } from './namespace-deleter.ts';

function setup() {
  const deletes: GraphNode[] = [];
  const orphans: GraphNode[] = [];
  const g = new DependencyGraph({ attemptToDelete: (n) => deletes.push(n), attemptToOrphan: (n) => orphans.push(n) });
  const names = (l: GraphNode[]) => l.map((n) => n.identity.name);
  return { g, deletes, orphans, names };
}

const ref = (name: string, uid: string, block = true): OwnerReference => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid, controller: true, blockOwnerDeletion: block });
const obj = (name: string, uid: string, extra: Partial<NonNullable<KubeObject['metadata']>> = {}): KubeObject => ({ metadata: { name, namespace: 'ns', uid, ...extra } });

describe('GC dependency graph', () => {
  it('an unknown owner becomes a virtual node to verify; observing it makes it real', () => {
    const { g, deletes, names } = setup();
    g.observe(Resources.pods, undefined, obj('p', 'u-p', { ownerReferences: [ref('rs', 'u-rs')] }));
    const owner = g.get('u-rs')!;
    expect(owner.virtual).toBe(true);
    expect(owner.identity).toEqual({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', namespace: 'ns', uid: 'u-rs' });
    expect(names(deletes)).toEqual(['rs']);
    g.observe(Resources.replicasets, undefined, obj('rs', 'u-rs'));
    expect(owner.virtual).toBe(false);
    expect(names(deletes)).toEqual(['rs', 'p']);
  });

  it('an owner deleted sends its dependents to attemptToDelete and is remembered absent', () => {
    const { g, deletes, names } = setup();
    g.observe(Resources.replicasets, undefined, obj('rs', 'u-rs'));
    g.observe(Resources.pods, undefined, obj('p1', 'u-1', { ownerReferences: [ref('rs', 'u-rs')] }));
    g.observe(Resources.pods, undefined, obj('p2', 'u-2', { ownerReferences: [ref('rs', 'u-rs')] }));
    deletes.length = 0;
    g.observeDelete(obj('rs', 'u-rs'));
    expect(names(deletes).sort()).toEqual(['p1', 'p2']);
    expect(g.get('u-rs')).toBeUndefined();
    expect(g.isAbsent('ns', 'u-rs')).toBe(true);
  });

  it('foreground deletion marks the owner and queues it and its dependents; orphan queues the owner to orphan', () => {
    const { g, deletes, orphans, names } = setup();
    const rs = obj('rs', 'u-rs');
    g.observe(Resources.replicasets, undefined, rs);
    g.observe(Resources.pods, undefined, obj('p', 'u-p', { ownerReferences: [ref('rs', 'u-rs')] }));
    deletes.length = 0;
    const fg = obj('rs', 'u-rs', { deletionTimestamp: '2025-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] });
    g.observe(Resources.replicasets, rs, fg);
    expect(g.get('u-rs')!.deletingDependents).toBe(true);
    expect(names(deletes)).toEqual(['p', 'rs']);
    expect(g.get('u-rs')!.blockingDependents().map((d) => d.identity.name)).toEqual(['p']);
    // The same state again is no new transition.
    g.observe(Resources.replicasets, fg, fg);
    expect(deletes).toHaveLength(2);

    const dep = obj('d', 'u-d');
    g.observe(Resources.deployments, undefined, dep);
    g.observe(Resources.deployments, dep, obj('d', 'u-d', { deletionTimestamp: '2025-01-01T00:00:00Z', finalizers: ['orphan'] }));
    expect(names(orphans)).toEqual(['d']);
  });

  it('a dependent dropping its blocking reference wakes the waiting owner', () => {
    const { g, deletes, names } = setup();
    g.observe(Resources.replicasets, undefined, obj('rs', 'u-rs', { deletionTimestamp: '2025-01-01T00:00:00Z', finalizers: ['foregroundDeletion'] }));
    const p = obj('p', 'u-p', { ownerReferences: [ref('rs', 'u-rs')] });
    g.observe(Resources.pods, undefined, p);
    deletes.length = 0;
    g.observe(Resources.pods, p, obj('p', 'u-p', { ownerReferences: [ref('rs', 'u-rs', false)] }));
    expect(names(deletes)).toEqual(['rs']);
    expect(g.get('u-rs')!.blockingDependents()).toEqual([]);
  });
});

describe('namespace deletion conditions', () => {
  it('missing types get their OK variant; a change of status moves lastTransitionTime', () => {
    const status: { conditions?: NamespaceCondition[] } = {};
    const t0 = new Date('2025-01-01T00:00:00Z');
    expect(updateConditions(status, [], t0)).toBe(true);
    expect(status.conditions!.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['NamespaceDeletionDiscoveryFailure', 'False', 'ResourcesDiscovered'],
      ['NamespaceDeletionGroupVersionParsingFailure', 'False', 'ParsedGroupVersions'],
      ['NamespaceDeletionContentFailure', 'False', 'ContentDeleted'],
      ['NamespaceContentRemaining', 'False', 'ContentRemoved'],
      ['NamespaceFinalizersRemaining', 'False', 'ContentHasNoFinalizers'],
    ]);
    expect(updateConditions(status, [], new Date('2025-01-01T00:01:00Z'))).toBe(false);
    const t1 = new Date('2025-01-01T00:02:00Z');
    const remaining: NamespaceCondition = { type: 'NamespaceContentRemaining', status: 'True', reason: 'SomeResourcesRemain', message: 'Some resources are remaining: pods. has 1 resource instances' };
    expect(updateConditions(status, [remaining], t1)).toBe(true);
    const c = status.conditions!.find((x) => x.type === 'NamespaceContentRemaining')!;
    expect(c).toEqual({ ...remaining, lastTransitionTime: '2025-01-01T00:02:00Z' });
    expect(status.conditions!.find((x) => x.type === 'NamespaceDeletionDiscoveryFailure')!.lastTransitionTime).toBe('2025-01-01T00:00:00Z');
  });
});
