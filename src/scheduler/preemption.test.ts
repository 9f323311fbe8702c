import { describe, expect, it } from 'vitest';
import { resolvePriority } from './preemption.ts';
import { schedulePod } from './schedule.ts';
import { Snapshot } from './snapshot.ts';
import { HOST, node, pod } from './testutil.ts';
import type { Node, Pod, PodDisruptionBudget, PriorityClass } from './types.ts';

function preemptFor(nodes: Node[], existing: Pod[], p: Pod, pdbs: PodDisruptionBudget[] = []): { node?: string; victims?: string[]; message: string } {
  const r = schedulePod(Snapshot.from(nodes, existing), p, { seed: 1, pdbs });
  if (!('error' in r)) throw new Error(`pod fits on ${r.node}`);
  return { node: r.nominatedNode, victims: r.victims?.map((v) => v.metadata.name!), message: r.error.message };
}

const at = (h: number) => `2025-01-01T${String(h).padStart(2, '0')}:00:00Z`;
const full = (n: string, pods: [string, number, string?][]) => pods.map(([name, priority, start]) => pod(name, { node: n, cpu: '1', priority, startTime: start }));

describe('preemption: victims and node choice', () => {
  it('evicts only what is needed, lowest priority first', () => {
    // 3 cpu full of 1-cpu pods with priorities 1, 2, 3; a 1-cpu pod of priority 10 needs one slot.
    const r = preemptFor([node('n1', { cpu: '3' })], full('n1', [['p1', 1], ['p2', 2], ['p3', 3]]), pod('hi', { cpu: '1', priority: 10 }));
    expect(r).toMatchObject({ node: 'n1', victims: ['p1'] });
  });

  it('evicts several when one is not enough, most important first in the list', () => {
    const r = preemptFor([node('n1', { cpu: '3' })], full('n1', [['p1', 1], ['p2', 2], ['p3', 3]]), pod('hi', { cpu: '2', priority: 10 }));
    expect(r).toMatchObject({ node: 'n1', victims: ['p2', 'p1'] });
  });

  it('never evicts pods of equal or higher priority', () => {
    const r = preemptFor([node('n1', { cpu: '2' })], full('n1', [['same', 10], ['higher', 20]]), pod('hi', { cpu: '1', priority: 10 }));
    expect(r.node).toBeUndefined();
    expect(r.message).toBe('0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.');
  });

  it('picks the node whose most important victim is least important', () => {
    const r = preemptFor([node('n1', { cpu: '1' }), node('n2', { cpu: '1' })], [...full('n1', [['a', 5]]), ...full('n2', [['b', 3]])], pod('hi', { cpu: '1', priority: 10 }));
    expect(r).toMatchObject({ node: 'n2', victims: ['b'] });
  });

  it('then the lowest sum of victim priorities', () => {
    // Both nodes need two victims with top priority 3; n1's sum is 3+1, n2's 3+2.
    const nodes = [node('n1', { cpu: '2' }), node('n2', { cpu: '2' })];
    const existing = [...full('n2', [['b3', 3], ['b2', 2]]), ...full('n1', [['a3', 3], ['a1', 1]])];
    expect(preemptFor(nodes, existing, pod('hi', { cpu: '2', priority: 10 }))).toMatchObject({ node: 'n1', victims: ['a3', 'a1'] });
  });

  it('then the fewest victims (the sum already counts each victim)', () => {
    // n1 needs both its 1-cpu pods, n2 one 2-cpu pod; same top priority.
    const nodes = [node('n1', { cpu: '2' }), node('n2', { cpu: '2' })];
    const existing = [...full('n1', [['a', 4], ['b', 4]]), pod('c', { node: 'n2', cpu: '2', priority: 4 })];
    expect(preemptFor(nodes, existing, pod('hi', { cpu: '2', priority: 10 }))).toMatchObject({ node: 'n2', victims: ['c'] });
  });

  it('then the node whose top victims started last', () => {
    const nodes = [node('n1', { cpu: '1' }), node('n2', { cpu: '1' }), node('n3', { cpu: '1' })];
    const existing = [...full('n1', [['old', 1, at(8)]]), ...full('n2', [['new', 1, at(11)]]), ...full('n3', [['mid', 1, at(9)]])];
    expect(preemptFor(nodes, existing, pod('hi', { cpu: '1', priority: 10 }))).toMatchObject({ node: 'n2', victims: ['new'] });
  });

  it('respects PodDisruptionBudgets when another node avoids the violation', () => {
    const nodes = [node('n1', { cpu: '1' }), node('n2', { cpu: '1' })];
    const existing = [pod('guarded', { node: 'n1', cpu: '1', priority: 1, labels: { app: 'db' } }), pod('free', { node: 'n2', cpu: '1', priority: 5, labels: { app: 'web' } })];
    const pdb: PodDisruptionBudget = { metadata: { name: 'db', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'db' } } }, status: { disruptionsAllowed: 0 } };
    const p = pod('hi', { cpu: '1', priority: 10 });
    expect(preemptFor(nodes, existing, p, [pdb])).toMatchObject({ node: 'n2', victims: ['free'] });
    // Without the PDB the lower-priority victim wins.
    expect(preemptFor(nodes, existing, p)).toMatchObject({ node: 'n1', victims: ['guarded'] });
    // A PDB with budget left is no violation.
    expect(preemptFor(nodes, existing, p, [{ ...pdb, status: { disruptionsAllowed: 1 } }])).toMatchObject({ node: 'n1' });
  });

  it('reprieves PDB-protected pods first when a node must lose one of two', () => {
    const existing = [pod('guarded', { node: 'n1', cpu: '1', priority: 5, labels: { app: 'db' } }), pod('free', { node: 'n1', cpu: '1', priority: 1 })];
    const pdb: PodDisruptionBudget = { metadata: { name: 'db', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'db' } } }, status: { disruptionsAllowed: 0 } };
    expect(preemptFor([node('n1', { cpu: '2' })], existing, pod('hi', { cpu: '1', priority: 10 }), [pdb])).toMatchObject({ victims: ['free'] });
  });

  it('does not consider nodes preemption cannot help', () => {
    const nodes = [node('tainted', { cpu: '1', taints: [{ key: 'x', effect: 'NoSchedule' }] }), node('small', { cpu: '1' })];
    const existing = full('tainted', [['t', 0]]);
    const r = preemptFor(nodes, existing, pod('hi', { cpu: '2', priority: 10 }));
    expect(r.node).toBeUndefined();
    expect(r.message).toBe(
      '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {x: }. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    );
  });

  it('evicting a pod whose anti-affinity rejects the incoming pod makes room', () => {
    const loner = pod('loner', {
      node: 'n1',
      priority: 0,
      labels: { app: 'loner' },
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: HOST, labelSelector: { matchLabels: { app: 'web' } } }] } },
    });
    const other = pod('other', { node: 'n1', priority: 0 });
    const r = preemptFor([node('n1')], [loner, other], pod('web', { labels: { app: 'web' }, priority: 10 }));
    expect(r.message).toBe("0/1 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules.");
    expect(r).toMatchObject({ node: 'n1', victims: ['loner'] });
  });

  it('waits while a pod it preempted on its nominated node is terminating', () => {
    const terminating = pod('going', { node: 'n1', cpu: '1', priority: 0, terminating: true });
    terminating.status!.conditions = [{ type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler' }];
    const p = pod('hi', { cpu: '1', priority: 10 });
    p.status = { phase: 'Pending', nominatedNodeName: 'n1' };
    const r = preemptFor([node('n1', { cpu: '1' })], [terminating], p);
    expect(r.message).toBe('0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node.');
  });
});

describe('nominated pods', () => {
  const nominee = (priority: number, cpu = '2') => {
    const p = pod('nominee', { cpu, priority });
    p.status = { phase: 'Pending', nominatedNodeName: 'n1' };
    return p;
  };

  it('hold their node against pods of lower priority only', () => {
    const nodes = [node('n1', { cpu: '2' }), node('n2', { cpu: '1' })];
    const snap = Snapshot.from(nodes, [nominee(100)]);
    const low = schedulePod(snap, pod('low', { cpu: '1', priority: 5 }), { seed: 1 });
    expect(low).toMatchObject({ node: 'n2', feasibleNodes: 1 });
    const high = schedulePod(Snapshot.from([nodes[0]], [nominee(100)]), pod('high', { cpu: '1', priority: 500 }), { seed: 1 });
    expect(high).toMatchObject({ node: 'n1' });
    const blocked = schedulePod(Snapshot.from([nodes[0]], [nominee(100)]), pod('low', { cpu: '1', priority: 5 }), { preemption: false });
    expect('error' in blocked && blocked.error.message).toBe('0/1 nodes are available: 1 Insufficient cpu.');
  });

  it('do not block themselves, and stop counting once bound or deleted', () => {
    const snap = Snapshot.from([node('n1', { cpu: '2' })], [nominee(100)]);
    expect(schedulePod(snap, nominee(100), {})).toMatchObject({ node: 'n1' });
    snap.removePod('default/nominee');
    expect(schedulePod(snap, pod('low', { cpu: '2', priority: 5 }), {})).toMatchObject({ node: 'n1' });
    snap.upsertPod(nominee(100));
    snap.upsertPod({ ...nominee(100), spec: { ...nominee(100).spec, nodeName: 'n1' } });
    expect(snap.hasNominatedPods).toBe(false);
    expect(snap.getNode('n1')!.requested.milliCPU).toBe(2000);
  });

  it('a preemptor takes over the node from lower-priority nominees', () => {
    const snap = Snapshot.from([node('n1', { cpu: '2' })], [...full('n1', [['v', 0]]), nominee(10, '1')]);
    const r = schedulePod(snap, pod('boss', { cpu: '2', priority: 50 }), {});
    expect(r).toMatchObject({ nominatedNode: 'n1' });
    expect('error' in r && r.victims?.map((p) => p.metadata.name)).toEqual(['v']);
    expect('error' in r && r.clearNominations?.map((p) => p.metadata.name)).toEqual(['nominee']);
  });
});

describe('resolvePriority', () => {
  const classes: PriorityClass[] = [
    { metadata: { name: 'high' }, value: 1000 },
    { metadata: { name: 'default-a' }, value: 50, globalDefault: true },
    { metadata: { name: 'default-b' }, value: 20, globalDefault: true },
  ];
  it.each<[string, string | undefined, PriorityClass[], number]>([
    ['named class', 'high', classes, 1000],
    ['system-cluster-critical', 'system-cluster-critical', [], 2_000_000_000],
    ['system-node-critical', 'system-node-critical', [], 2_000_001_000],
    ['lowest global default', undefined, classes, 20],
    ['no class, no default', undefined, [classes[0]], 0],
  ])('%s', (_n, name, pcs, want) => {
    expect(resolvePriority(pod('p', { spec: { priorityClassName: name } }), pcs)).toBe(want);
  });

  it('rejects an unknown class', () => {
    expect(() => resolvePriority(pod('p', { spec: { priorityClassName: 'nope' } }), classes)).toThrow('no PriorityClass with name nope was found');
  });
});
