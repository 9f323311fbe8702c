import { describe, expect, it } from 'vitest';
import { CycleState } from './filters.ts';
import { normalizedImageName, scoreNodes, WEIGHTS, type ScoreOptions, type ScorePlugin } from './scores.ts';
import { Snapshot } from './snapshot.ts';
import { HOST, node, pod, ZONE } from './testutil.ts';
import type { Namespace, Node, Pod } from './types.ts';

function scores(nodes: Node[], existing: Pod[], p: Pod, plugin: ScorePlugin, opts: ScoreOptions = {}, namespaces: Namespace[] = []): number[] {
  const snap = Snapshot.from(nodes, existing, namespaces);
  const st = new CycleState(snap, p);
  const r = scoreNodes(st, snap.nodes, { ...opts, breakdown: true });
  return r.byPlugin![plugin]!;
}

const zoned = (name: string, zone: string) => node(name, { labels: { [ZONE]: zone } });

describe('NodeResourcesFit (LeastAllocated) and BalancedAllocation', () => {
  // a: 4 cpu / 8Gi with 1 cpu / 2Gi requested; b: 4 cpu / 4Gi, empty.
  const nodes = [node('a', { cpu: '4', memory: '8Gi' }), node('b', { cpu: '4', memory: '4Gi' })];
  const existing = [pod('x', { node: 'a', cpu: '1', memory: '2Gi' })];

  it('LeastAllocated: mean of free cpu and memory fractions after placing the pod', () => {
    // a: cpu (4000-2000)/4000 → 50, memory (8-3)/8 → 62 (floored); (50+62)/2 = 56. b: 75 and 75.
    expect(scores(nodes, existing, pod('p', { cpu: '1', memory: '1Gi' }), 'NodeResourcesFit')).toEqual([56, 75]);
  });

  it('LeastAllocated counts 100m / 200Mi for a pod without requests', () => {
    // a: cpu 1100/4000 → 72, memory 2248Mi/8192Mi → 72 → 72. b: 100/4000 → 97, 200Mi/4Gi → 95 → 96.
    expect(scores(nodes, existing, pod('p'), 'NodeResourcesFit')).toEqual([72, 96]);
  });

  it('BalancedAllocation: 100 × (1 − |cpu fraction − memory fraction| / 2)', () => {
    // a: cpu 0.5, memory 0.375 → std 0.0625 → 93. b: 0.25 and 0.25 → 100.
    expect(scores(nodes, existing, pod('p', { cpu: '1', memory: '1Gi' }), 'NodeResourcesBalancedAllocation')).toEqual([93, 100]);
  });

  it('BalancedAllocation skips best-effort pods', () => {
    expect(scores(nodes, existing, pod('p'), 'NodeResourcesBalancedAllocation')).toEqual([0, 0]);
  });
});

describe('TaintToleration (PreferNoSchedule)', () => {
  const nodes = [
    node('t2', { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }, { key: 'old', effect: 'PreferNoSchedule' }, { key: 'x', effect: 'NoExecute' }] }),
    node('t1', { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] }),
    node('t0'),
  ];
  it.each<[string, Pod, number[]]>([
    ['fewer intolerable taints score higher', pod('p'), [0, 50, 100]],
    ['a tolerated taint does not count', pod('p', { tolerations: [{ key: 'spot', operator: 'Exists', effect: 'PreferNoSchedule' }] }), [0, 100, 100]],
    ['tolerations without an effect count too', pod('p', { tolerations: [{ key: 'old', operator: 'Exists' }] }), [0, 0, 100]],
    ['no intolerable taint anywhere: every node scores 100', pod('p', { tolerations: [{ operator: 'Exists' }] }), [100, 100, 100]],
    ['NoSchedule tolerations do not help', pod('p', { tolerations: [{ key: 'spot', operator: 'Exists', effect: 'NoSchedule' }] }), [0, 50, 100]],
  ])('%s', (_n, p, want) => {
    expect(scores(nodes, [], p, 'TaintToleration')).toEqual(want);
  });
});

describe('NodeAffinity (preferred)', () => {
  it('sums the weights of matching terms, scaled to the best node', () => {
    const nodes = [node('n1', { labels: { [ZONE]: 'a', type: 'large' } }), node('n2', { labels: { [ZONE]: 'a' } }), node('n3', { labels: { [ZONE]: 'b' } })];
    const p = pod('p', {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 10, preference: { matchExpressions: [{ key: ZONE, operator: 'In', values: ['a'] }] } },
            { weight: 5, preference: { matchExpressions: [{ key: 'type', operator: 'In', values: ['large'] }] } },
          ],
        },
      },
    });
    // raw 15, 10, 0 → 100, 66, 0
    expect(scores(nodes, [], p, 'NodeAffinity')).toEqual([100, 66, 0]);
  });
});

describe('InterPodAffinity (preferred)', () => {
  const nodes = [zoned('a1', 'a'), zoned('a2', 'a'), zoned('b1', 'b')];

  it("the incoming pod's preferred affinity and anti-affinity", () => {
    const existing = [pod('db', { node: 'a1', labels: { app: 'db' } }), pod('w', { node: 'a2', labels: { app: 'web' } })];
    const p = pod('p', {
      labels: { app: 'web' },
      affinity: {
        podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: { topologyKey: ZONE, labelSelector: { matchLabels: { app: 'db' } } } }] },
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 20, podAffinityTerm: { topologyKey: HOST, labelSelector: { matchLabels: { app: 'web' } } } }] },
      },
    });
    // raw a1 50, a2 50-20 = 30, b1 0 → min–max scaled: 100, 60, 0
    expect(scores(nodes, existing, p, 'InterPodAffinity')).toEqual([100, 60, 0]);
  });

  it("an existing pod's preferred anti-affinity repels the incoming pod (symmetry)", () => {
    const loner = pod('loner', {
      node: 'b1',
      labels: { app: 'loner' },
      affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 30, podAffinityTerm: { topologyKey: HOST, labelSelector: { matchLabels: { app: 'web' } } } }] } },
    });
    expect(scores(nodes, [loner], pod('p', { labels: { app: 'web' } }), 'InterPodAffinity')).toEqual([100, 100, 0]);
    expect(scores(nodes, [loner], pod('p', { labels: { app: 'api' } }), 'InterPodAffinity')).toEqual([0, 0, 0]);
  });

  it('preferred terms with a namespaceSelector match pods by their namespace labels', () => {
    const namespaces: Namespace[] = [
      { metadata: { name: 'team-a', labels: { team: 'a' } } },
      { metadata: { name: 'team-b', labels: { team: 'b' } } },
    ];
    const existing = [pod('db-a', { node: 'a1', ns: 'team-a', labels: { app: 'db' } }), pod('db-b', { node: 'b1', ns: 'team-b', labels: { app: 'db' } })];
    const p = pod('p', {
      affinity: {
        podAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 10, podAffinityTerm: { topologyKey: HOST, labelSelector: { matchLabels: { app: 'db' } }, namespaceSelector: { matchLabels: { team: 'a' } } } },
          ],
        },
      },
    });
    expect(scores(nodes, existing, p, 'InterPodAffinity', {}, namespaces)).toEqual([100, 0, 0]);
    // Without namespace objects no namespace carries the label.
    expect(scores(nodes, existing, p, 'InterPodAffinity')).toEqual([0, 0, 0]);
  });

  it("an existing pod's required affinity attracts with weight 1", () => {
    const fan = pod('fan', {
      node: 'a1',
      labels: { app: 'fan' },
      affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: ZONE, labelSelector: { matchLabels: { app: 'web' } } }] } },
    });
    expect(scores(nodes, [fan], pod('p', { labels: { app: 'web' } }), 'InterPodAffinity')).toEqual([100, 100, 0]);
  });
});

describe('PodTopologySpread (ScheduleAnyway)', () => {
  const web = (name: string, n: string) => pod(name, { node: n, labels: { app: 'web' } });
  const anyway = (topologyKey: string, maxSkew = 1) =>
    pod('p', { labels: { app: 'web' }, spread: [{ maxSkew, topologyKey, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } }] });

  it('zones: fewer matching pods score higher', () => {
    // counts a=2 b=1 c=0, weight ln(3+2): raw 3, 3, 2, 0 → (max+min−s)·100/max: 0, 0, 33, 100
    const nodes = [zoned('a1', 'a'), zoned('a2', 'a'), zoned('b1', 'b'), zoned('c1', 'c')];
    const existing = [web('w1', 'a1'), web('w2', 'a2'), web('w3', 'b1')];
    expect(scores(nodes, existing, anyway(ZONE), 'PodTopologySpread')).toEqual([0, 0, 33, 100]);
  });

  it('no matching pods anywhere: every node scores 100', () => {
    const nodes = [zoned('a1', 'a'), zoned('b1', 'b')];
    expect(scores(nodes, [pod('x', { node: 'a1', labels: { app: 'db' } })], anyway(ZONE), 'PodTopologySpread')).toEqual([100, 100]);
  });

  it('nodes without the topology key score 0', () => {
    const nodes = [zoned('a1', 'a'), zoned('a2', 'a'), zoned('b1', 'b'), zoned('c1', 'c'), node('bare')];
    const existing = [web('w1', 'a1'), web('w2', 'a2'), web('w3', 'b1')];
    expect(scores(nodes, existing, anyway(ZONE), 'PodTopologySpread')).toEqual([0, 0, 33, 100, 0]);
  });

  it('hostname with maxSkew 2 adds maxSkew−1 to every node', () => {
    // counts 2, 1, 0; raw round(2·ln5+1)=4, round(ln5+1)=3, 1 → 100·(5−s)/4: 25, 50, 100
    const nodes = [node('h1'), node('h2'), node('h3')];
    const existing = [web('w1', 'h1'), web('w2', 'h1'), web('w3', 'h2')];
    expect(scores(nodes, existing, anyway(HOST, 2), 'PodTopologySpread')).toEqual([25, 50, 100]);
  });

  it('system default constraints apply with the owning workload’s selector', () => {
    // hostname maxSkew 3: raw round(2·ln5+2)=5, round(ln5+2)=4, 2 → 100·(7−s)/5: 40, 60, 100
    const nodes = [node('h1'), node('h2'), node('h3')];
    const existing = [web('w1', 'h1'), web('w2', 'h1'), web('w3', 'h2')];
    const plain = pod('p', { labels: { app: 'web' } });
    expect(scores(nodes, existing, plain, 'PodTopologySpread', { defaultSpreadSelector: { matchLabels: { app: 'web' } } })).toEqual([40, 60, 100]);
    expect(scores(nodes, existing, plain, 'PodTopologySpread')).toEqual([0, 0, 0]);
  });
});

describe('ImageLocality', () => {
  it('normalizes untagged names to :latest', () => {
    expect(normalizedImageName('nginx')).toBe('nginx:latest');
    expect(normalizedImageName('registry:5000/app')).toBe('registry:5000/app:latest');
    expect(normalizedImageName('nginx:1.27')).toBe('nginx:1.27');
    expect(normalizedImageName('nginx@sha256:abc')).toBe('nginx@sha256:abc');
  });

  it('scores image bytes present, scaled by spread across nodes', () => {
    const img = { names: ['nginx:1.27', 'nginx:latest'], sizeBytes: 500 * 1024 * 1024 };
    const nodes = [node('i1', { images: [img] }), node('i2', { images: [img] }), node('i3')];
    // 500Mi × 2/3 = 349525333 bytes; 100 × (349525333 − 23Mi) / (1000Mi − 23Mi) = 31
    expect(scores(nodes, [], pod('p', { image: 'nginx:1.27' }), 'ImageLocality')).toEqual([31, 31, 0]);
    expect(scores(nodes, [], pod('p', { image: 'nginx' }), 'ImageLocality')).toEqual([31, 31, 0]);
    expect(scores(nodes, [], pod('p', { image: 'redis' }), 'ImageLocality')).toEqual([0, 0, 0]);
  });
});

describe('weights', () => {
  it('are upstream’s default profile weights', () => {
    expect(WEIGHTS).toEqual({
      TaintToleration: 3,
      NodeAffinity: 2,
      PodTopologySpread: 2,
      InterPodAffinity: 2,
      NodeResourcesFit: 1,
      NodeResourcesBalancedAllocation: 1,
      ImageLocality: 1,
    });
  });

  it('the total is the weighted sum of the normalized plugin scores', () => {
    const nodes = [node('a', { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] }), node('b', { cpu: '8' })];
    const snap = Snapshot.from(nodes, [pod('x', { node: 'b', cpu: '2', memory: '1Gi' })]);
    const st = new CycleState(snap, pod('p', { cpu: '1', memory: '1Gi' }));
    const r = scoreNodes(st, snap.nodes, { breakdown: true });
    // a: taint 0·3, fit (75+87)/2=81, balanced (0.25 vs 0.125) 93 → 174
    // b: taint 100·3, fit (62+75)/2=68, balanced (0.375 vs 0.25) 93 → 461
    expect(r.byPlugin!.TaintToleration).toEqual([0, 100]);
    expect(r.total).toEqual([0 + 81 + 93, 300 + 68 + 93]);
  });
});
