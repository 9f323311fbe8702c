import { describe, expect, it } from 'vitest';
import { CycleState } from './filters.ts';
import { findFeasibleNodes, numFeasibleNodesToFind, schedulePod, type ScheduleOptions, type ScheduleResult } from './schedule.ts';
import { Snapshot } from './snapshot.ts';
import { node, pod, ZONE } from './testutil.ts';
import type { Node, Pod } from './types.ts';

function message(r: ScheduleResult): string {
  if (!('error' in r)) throw new Error(`scheduled onto ${r.node}`);
  return r.error.message;
}

function run(nodes: Node[], existing: Pod[], p: Pod, opts: ScheduleOptions = {}): ScheduleResult {
  return schedulePod(Snapshot.from(nodes, existing), p, { seed: 1, ...opts });
}

describe('FitError message', () => {
  it.each<[string, Node[], Pod[], Pod, string]>([
    [
      'resources that preemption cannot fix and a selector',
      [node('n1', { cpu: '1', labels: { disk: 'ssd' } }), node('n2'), node('n3')],
      [],
      pod('p', { cpu: '2', nodeSelector: { disk: 'ssd' } }),
      "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    ],
    [
      'resources preemption could fix, but nothing has lower priority',
      [node('n1', { cpu: '4', labels: { disk: 'ssd' } }), node('n2'), node('n3')],
      [pod('big', { node: 'n1', cpu: '3' })],
      pod('p', { cpu: '2', nodeSelector: { disk: 'ssd' } }),
      "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
    ],
    [
      'evicting every lower-priority pod is not enough',
      [node('n1', { cpu: '4' })],
      [pod('low', { node: 'n1', cpu: '1', priority: 0 }), pod('high', { node: 'n1', cpu: '3', priority: 100 })],
      pod('p', { cpu: '2', priority: 10 }),
      '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu.',
    ],
    [
      'counts sort as strings, like Go’s sort.Strings',
      [
        ...Array.from({ length: 10 }, (_, i) => node(`t${i}`, { taints: [{ key: 'a', value: 'b', effect: 'NoSchedule' }] })),
        node('u1', { unschedulable: true }),
        node('u2', { unschedulable: true }),
      ],
      [],
      pod('p'),
      '0/12 nodes are available: 10 node(s) had untolerated taint {a: b}, 2 node(s) were unschedulable. preemption: 0/12 nodes are available: 12 Preemption is not helpful for scheduling.',
    ],
    [
      'PreFilter rejection: conflicting metadata.name terms',
      [node('a'), node('b')],
      [],
      pod('p', {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }, { key: 'metadata.name', operator: 'In', values: ['b'] }] }],
            },
          },
        },
      }),
      '0/2 nodes are available: pod affinity terms conflict. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
    ],
    [
      'metadata.name affinity evaluates only the named nodes',
      [node('a', { cpu: '1' }), node('b'), node('c')],
      [],
      pod('p', {
        cpu: '2',
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['a'] }] }] } } },
      }),
      '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn\'t satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
    ],
    [
      'preemptionPolicy Never',
      [node('n1', { cpu: '1' })],
      [pod('low', { node: 'n1', cpu: '1', priority: 0 })],
      pod('p', { cpu: '1', priority: 10, spec: { preemptionPolicy: 'Never' } }),
      '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.',
    ],
    ['no nodes at all', [], [], pod('p'), 'no nodes available to schedule pods'],
  ])('%s', (_name, nodes, existing, p, want) => {
    expect(message(run(nodes, existing, p))).toBe(want);
  });

  it('counts every reason of a node, and can leave preemption out', () => {
    const r = run([node('a', { cpu: '1', memory: '1Gi' }), node('b', { cpu: '1', memory: '8Gi' })], [], pod('p', { cpu: '2', memory: '2Gi' }), { preemption: false });
    expect(message(r)).toBe('0/2 nodes are available: 1 Insufficient memory, 2 Insufficient cpu.');
    if ('error' in r) expect(r.error.histogram()).toEqual(new Map([['Insufficient cpu', 2], ['Insufficient memory', 1]]));
  });

  it('successful preemption nominates a node and leaves the filter reasons alone', () => {
    const r = run([node('n1', { cpu: '1' })], [pod('low', { node: 'n1', cpu: '1', priority: 0 })], pod('p', { cpu: '1', priority: 10 }));
    expect(message(r)).toBe('0/1 nodes are available: 1 Insufficient cpu.');
    expect('error' in r && r.nominatedNode).toBe('n1');
    expect('error' in r && r.victims?.map((v) => v.metadata.name)).toEqual(['low']);
  });
});

describe('choosing a node', () => {
  it('prefers the least allocated node', () => {
    const nodes = [node('busy'), node('idle'), node('half')];
    const existing = [pod('x', { node: 'busy', cpu: '3', memory: '6Gi' }), pod('y', { node: 'half', cpu: '2', memory: '4Gi' })];
    expect(run(nodes, existing, pod('p', { cpu: '500m', memory: '512Mi' }))).toMatchObject({ node: 'idle', feasibleNodes: 3 });
  });

  it('a PreferNoSchedule taint (weight 3) outweighs a moderately busier node', () => {
    const nodes = [node('tainted', { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] }), node('busier')];
    const existing = [pod('x', { node: 'busier', cpu: '2', memory: '4Gi' })];
    expect(run(nodes, existing, pod('p', { cpu: '500m', memory: '512Mi' }))).toMatchObject({ node: 'busier' });
  });

  it('preferred node affinity pulls the pod to a busier node', () => {
    const nodes = [node('idle', { labels: { [ZONE]: 'b' } }), node('busy', { labels: { [ZONE]: 'a' } })];
    const existing = [pod('x', { node: 'busy', cpu: '2', memory: '4Gi' })];
    const p = pod('p', {
      cpu: '500m',
      affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: ZONE, operator: 'In', values: ['a'] }] } }] } },
    });
    expect(run(nodes, existing, p)).toMatchObject({ node: 'busy' });
  });

  it('breaks ties at random, reproducibly with a seed', () => {
    const nodes = [node('a'), node('b'), node('c')];
    const snap = Snapshot.from(nodes);
    const pick = (seed: number) => {
      const r = schedulePod(snap, pod('p'), { seed });
      return 'node' in r ? r.node : '';
    };
    const seen = new Map<string, number>();
    for (let seed = 0; seed < 300; seed++) {
      const n = pick(seed);
      expect(pick(seed)).toBe(n);
      seen.set(n, (seen.get(n) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['a', 'b', 'c']);
    for (const count of seen.values()) expect(count).toBeGreaterThan(60);
  });

  it('a single feasible node is returned without scoring', () => {
    const nodes = [node('a', { cpu: '1' }), node('b', { cpu: '8' })];
    expect(run(nodes, [], pod('p', { cpu: '2' }))).toEqual({ node: 'b', feasibleNodes: 1, evaluatedNodes: 2 });
  });

  it('tries a nominated node first', () => {
    const nodes = [node('idle'), node('nominated')];
    const existing = [pod('x', { node: 'nominated', cpu: '3' })];
    const p = pod('p', { cpu: '500m' });
    p.status = { phase: 'Pending', nominatedNodeName: 'nominated' };
    expect(run(nodes, existing, p)).toMatchObject({ node: 'nominated', evaluatedNodes: 1 });
    p.status.nominatedNodeName = undefined;
    expect(run(nodes, existing, p)).toMatchObject({ node: 'idle' });
  });

  it('spreads replicas across zones with a DoNotSchedule constraint', () => {
    const nodes = ['a', 'b', 'c'].flatMap((z) => [node(`${z}1`, { labels: { [ZONE]: z } }), node(`${z}2`, { labels: { [ZONE]: z } })]);
    const snap = Snapshot.from(nodes);
    const zones: string[] = [];
    for (let i = 0; i < 9; i++) {
      const p = pod(`web-${i}`, {
        labels: { app: 'web' },
        cpu: '100m',
        spread: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }],
      });
      const r = schedulePod(snap, p, { seed: i });
      if (!('node' in r)) throw new Error(r.error.message);
      snap.assume(p, r.node);
      zones.push(r.node[0]);
    }
    for (const z of ['a', 'b', 'c']) expect(zones.filter((x) => x === z)).toHaveLength(3);
  });
});

describe('percentageOfNodesToScore', () => {
  it.each([
    [0, 50, 50],
    [0, 1000, 420],
    [0, 5000, 500],
    [0, 10_000, 500],
    [10, 500, 100],
    [30, 1000, 300],
    [100, 1000, 1000],
  ])('percentage %i of %i nodes → %i', (pct, all, want) => {
    expect(numFeasibleNodesToFind(pct, all)).toBe(want);
  });

  it('stops early and continues round-robin from where it stopped', () => {
    const snap = Snapshot.from(Array.from({ length: 200 }, (_, i) => node(`n${i}`)));
    const st = new CycleState(snap, pod('p'));
    const first = findFeasibleNodes(snap, st, 0);
    expect(first.feasible).toHaveLength(100);
    expect(first.feasible[0].name).toBe('n0');
    const second = findFeasibleNodes(snap, st, 0);
    expect(second.feasible[0].name).toBe('n100');
    expect(findFeasibleNodes(snap, st, 100).feasible).toHaveLength(200);
  });
});
