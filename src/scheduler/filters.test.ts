import { describe, expect, it } from 'vitest';
import { whyNot } from './filters.ts';
import { Snapshot } from './snapshot.ts';
import { HOST, node, pod, ZONE } from './testutil.ts';
import type { Namespace, Node, NodeSelectorRequirement, Pod, PodAffinityTerm } from './types.ts';

const UNSCHED = 'node(s) were unschedulable';
const NAME = "node(s) didn't match the requested node name";
const AFFINITY = "node(s) didn't match Pod's node affinity/selector";
const PORTS = "node(s) didn't have free ports for the requested pod ports";
const POD_AFF = "node(s) didn't match pod affinity rules";
const POD_ANTI = "node(s) didn't match pod anti-affinity rules";
const EXISTING_ANTI = "node(s) didn't satisfy existing pods anti-affinity rules";
const SPREAD = "node(s) didn't match pod topology spread constraints";
const SPREAD_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)";

interface Case {
  name: string;
  nodes: Node[];
  existing?: Pod[];
  namespaces?: Namespace[];
  pod: Pod;
  /** Node name → reasons ([] = fits). */
  want: Record<string, string[]>;
}

function check(c: Case): void {
  const snap = Snapshot.from(c.nodes, c.existing ?? [], c.namespaces ?? []);
  const got: Record<string, string[]> = {};
  for (const n of Object.keys(c.want)) got[n] = whyNot(snap, c.pod, n);
  expect(got).toEqual(c.want);
}

const zoned = (name: string, zone: string, extra: Record<string, string> = {}) => node(name, { labels: { [ZONE]: zone, ...extra } });

describe('NodeUnschedulable and NodeName', () => {
  it.each<Case>([
    { name: 'cordoned node', nodes: [node('a', { unschedulable: true }), node('b')], pod: pod('p'), want: { a: [UNSCHED], b: [] } },
    {
      name: 'cordoned node tolerated',
      nodes: [node('a', { unschedulable: true })],
      pod: pod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }),
      want: { a: [] },
    },
    { name: 'spec.nodeName', nodes: [node('a'), node('b')], pod: pod('p', { spec: { nodeName: 'b' } }), want: { a: [NAME], b: [] } },
  ])('$name', check);
});

describe('NodeResourcesFit', () => {
  it.each<Case>([
    {
      name: 'cpu',
      nodes: [node('a', { cpu: '1' }), node('b', { cpu: '2' })],
      existing: [pod('x', { node: 'a', cpu: '600m' }), pod('y', { node: 'b', cpu: '600m' })],
      pod: pod('p', { cpu: '500m' }),
      want: { a: ['Insufficient cpu'], b: [] },
    },
    {
      name: 'memory',
      nodes: [node('a', { memory: '1Gi' })],
      existing: [pod('x', { node: 'a', memory: '512Mi' })],
      pod: pod('p', { memory: '513Mi' }),
      want: { a: ['Insufficient memory'] },
    },
    {
      name: 'cpu and memory together',
      nodes: [node('a', { cpu: '1', memory: '1Gi' })],
      pod: pod('p', { cpu: '2', memory: '2Gi' }),
      want: { a: ['Insufficient cpu', 'Insufficient memory'] },
    },
    {
      name: 'exactly full fits',
      nodes: [node('a', { cpu: '1', memory: '1Gi' })],
      existing: [pod('x', { node: 'a', cpu: '400m', memory: '512Mi' })],
      pod: pod('p', { cpu: '600m', memory: '512Mi' }),
      want: { a: [] },
    },
    {
      name: 'pod count',
      nodes: [node('a', { pods: '2' }), node('b', { pods: '3' })],
      existing: [pod('x', { node: 'a' }), pod('y', { node: 'a' }), pod('z', { node: 'b' })],
      pod: pod('p'),
      want: { a: ['Too many pods'], b: [] },
    },
    {
      name: 'extended resource',
      nodes: [node('a', { allocatable: { 'nvidia.com/gpu': '1' } }), node('b'), node('c', { allocatable: { 'nvidia.com/gpu': '4' } })],
      pod: pod('p', { requests: { 'nvidia.com/gpu': '2' } }),
      want: { a: ['Insufficient nvidia.com/gpu'], b: ['Insufficient nvidia.com/gpu'], c: [] },
    },
    {
      name: 'ephemeral storage',
      nodes: [node('a', { allocatable: { 'ephemeral-storage': '10Gi' } })],
      existing: [pod('x', { node: 'a', requests: { 'ephemeral-storage': '8Gi' } })],
      pod: pod('p', { requests: { 'ephemeral-storage': '3Gi' } }),
      want: { a: ['Insufficient ephemeral-storage'] },
    },
    {
      name: 'init container counts when larger than the containers',
      nodes: [node('a', { cpu: '800m' })],
      pod: pod('p', { cpu: '200m', spec: { initContainers: [{ name: 'i', resources: { requests: { cpu: '900m' } } }] } }),
      want: { a: ['Insufficient cpu'] },
    },
    {
      name: 'terminal pods free their resources',
      nodes: [node('a', { cpu: '1' })],
      existing: [pod('done', { node: 'a', cpu: '1', phase: 'Succeeded' })],
      pod: pod('p', { cpu: '1' }),
      want: { a: [] },
    },
    {
      name: 'a pod without requests fits a full node',
      nodes: [node('a', { cpu: '1', memory: '1Gi' })],
      existing: [pod('x', { node: 'a', cpu: '1', memory: '1Gi' })],
      pod: pod('p'),
      want: { a: [] },
    },
  ])('$name', check);
});

describe('NodeAffinity', () => {
  const nodes = [
    node('small', { labels: { size: '2', disk: 'ssd', [ZONE]: 'a' } }),
    node('big', { labels: { size: '16', [ZONE]: 'b' } }),
    node('bare'),
  ];
  const required = (...matchExpressions: NodeSelectorRequirement[]) =>
    pod('p', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions }] } } } });

  it.each<Case>([
    { name: 'nodeSelector', nodes, pod: pod('p', { nodeSelector: { disk: 'ssd' } }), want: { small: [], big: [AFFINITY], bare: [AFFINITY] } },
    { name: 'In', nodes, pod: required({ key: ZONE, operator: 'In', values: ['b', 'c'] }), want: { small: [AFFINITY], big: [], bare: [AFFINITY] } },
    { name: 'NotIn (absent key matches)', nodes, pod: required({ key: ZONE, operator: 'NotIn', values: ['a'] }), want: { small: [AFFINITY], big: [], bare: [] } },
    { name: 'Exists', nodes, pod: required({ key: 'disk', operator: 'Exists' }), want: { small: [], big: [AFFINITY], bare: [AFFINITY] } },
    { name: 'DoesNotExist', nodes, pod: required({ key: 'disk', operator: 'DoesNotExist' }), want: { small: [AFFINITY], big: [], bare: [] } },
    { name: 'Gt compares integers', nodes, pod: required({ key: 'size', operator: 'Gt', values: ['4'] }), want: { small: [AFFINITY], big: [], bare: [AFFINITY] } },
    { name: 'Gt is strict', nodes, pod: required({ key: 'size', operator: 'Gt', values: ['16'] }), want: { small: [AFFINITY], big: [AFFINITY], bare: [AFFINITY] } },
    { name: 'Lt compares integers', nodes, pod: required({ key: 'size', operator: 'Lt', values: ['4'] }), want: { small: [], big: [AFFINITY], bare: [AFFINITY] } },
    {
      name: 'expressions in a term are ANDed',
      nodes,
      pod: required({ key: 'size', operator: 'Exists' }, { key: ZONE, operator: 'In', values: ['a'] }),
      want: { small: [], big: [AFFINITY], bare: [AFFINITY] },
    },
    {
      name: 'terms are ORed, an empty term matches nothing',
      nodes,
      pod: pod('p', {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{}, { matchExpressions: [{ key: ZONE, operator: 'In', values: ['b'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['bare'] }] }],
            },
          },
        },
      }),
      want: { small: [AFFINITY], big: [], bare: [] },
    },
    {
      name: 'matchFields metadata.name NotIn',
      nodes,
      pod: pod('p', { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['big'] }] }] } } } }),
      want: { small: [], big: [AFFINITY], bare: [] },
    },
    {
      name: 'nodeSelector and affinity must both match',
      nodes,
      pod: { ...required({ key: ZONE, operator: 'Exists' }), spec: { ...required({ key: ZONE, operator: 'Exists' }).spec, nodeSelector: { size: '16' } } },
      want: { small: [AFFINITY], big: [], bare: [AFFINITY] },
    },
  ])('$name', check);
});

describe('TaintToleration', () => {
  const gpu = node('gpu', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
  const notReady = node('nr', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] });
  const soft = node('soft', { taints: [{ key: 'spot', value: 'true', effect: 'PreferNoSchedule' }] });
  const nodes = [gpu, notReady, soft];
  it.each<Case>([
    {
      name: 'untolerated NoSchedule and NoExecute; PreferNoSchedule does not filter',
      nodes,
      pod: pod('p'),
      want: { gpu: ['node(s) had untolerated taint {dedicated: gpu}'], nr: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'], soft: [] },
    },
    {
      name: 'Equal with the right value',
      nodes,
      pod: pod('p', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }),
      want: { gpu: [], nr: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'], soft: [] },
    },
    {
      name: 'Equal with the wrong value',
      nodes,
      pod: pod('p', { tolerations: [{ key: 'dedicated', value: 'cpu' }] }),
      want: { gpu: ['node(s) had untolerated taint {dedicated: gpu}'], nr: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'], soft: [] },
    },
    {
      name: 'Exists on the key, any effect',
      nodes,
      pod: pod('p', { tolerations: [{ key: 'dedicated', operator: 'Exists' }, { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }] }),
      want: { gpu: [], nr: [], soft: [] },
    },
    {
      name: 'effect must match when given',
      nodes,
      pod: pod('p', { tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }] }),
      want: { gpu: ['node(s) had untolerated taint {dedicated: gpu}'], nr: ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }'], soft: [] },
    },
    { name: 'empty key with Exists tolerates everything', nodes, pod: pod('p', { tolerations: [{ operator: 'Exists' }] }), want: { gpu: [], nr: [], soft: [] } },
  ])('$name', check);
});

describe('NodePorts', () => {
  const nodes = [node('a'), node('b')];
  it.each<Case>([
    { name: 'same port and protocol', nodes, existing: [pod('x', { node: 'a', hostPorts: [{ port: 8080 }] })], pod: pod('p', { hostPorts: [{ port: 8080 }] }), want: { a: [PORTS], b: [] } },
    { name: 'other protocol is free', nodes, existing: [pod('x', { node: 'a', hostPorts: [{ port: 53 }] })], pod: pod('p', { hostPorts: [{ port: 53, protocol: 'UDP' }] }), want: { a: [], b: [] } },
    {
      name: 'a specific address conflicts with 0.0.0.0',
      nodes,
      existing: [pod('x', { node: 'a', hostPorts: [{ port: 80 }] }), pod('y', { node: 'b', hostPorts: [{ port: 80, ip: '10.0.0.2' }] })],
      pod: pod('p', { hostPorts: [{ port: 80, ip: '10.0.0.1' }] }),
      want: { a: [PORTS], b: [] },
    },
    { name: '0.0.0.0 conflicts with any address', nodes, existing: [pod('x', { node: 'a', hostPorts: [{ port: 80, ip: '10.0.0.2' }] })], pod: pod('p', { hostPorts: [{ port: 80 }] }), want: { a: [PORTS], b: [] } },
  ])('$name', check);
});

describe('InterPodAffinity', () => {
  const nodes = [zoned('a1', 'a'), zoned('a2', 'a'), zoned('b1', 'b'), node('nozone')];
  const term = (labels: Record<string, string>, topologyKey: string, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({
    labelSelector: { matchLabels: labels },
    topologyKey,
    ...extra,
  });
  const withAffinity = (t: PodAffinityTerm, labels?: Record<string, string>) =>
    pod('p', { labels, affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [t] } } });
  const withAnti = (t: PodAffinityTerm, labels?: Record<string, string>, name = 'p', o: { node?: string } = {}) =>
    pod(name, { ...o, labels, affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [t] } } });

  it.each<Case>([
    {
      name: 'required affinity to a zone holding a matching pod',
      nodes,
      existing: [pod('db', { node: 'a1', labels: { app: 'db' } })],
      pod: withAffinity(term({ app: 'db' }, ZONE)),
      want: { a1: [], a2: [], b1: [POD_AFF], nozone: [POD_AFF] },
    },
    {
      name: 'first pod of a self-affine group goes anywhere with the topology key',
      nodes,
      pod: withAffinity(term({ app: 'web' }, ZONE), { app: 'web' }),
      want: { a1: [], a2: [], b1: [], nozone: [POD_AFF] },
    },
    {
      name: 'self-affinity once a matching pod exists: only its topology',
      nodes,
      existing: [pod('w1', { node: 'a1', labels: { app: 'web' } })],
      pod: withAffinity(term({ app: 'web' }, ZONE), { app: 'web' }),
      want: { a1: [], a2: [], b1: [POD_AFF], nozone: [POD_AFF] },
    },
    {
      name: 'affinity nobody satisfies and the pod does not match itself',
      nodes,
      pod: withAffinity(term({ app: 'db' }, ZONE), { app: 'web' }),
      want: { a1: [POD_AFF], b1: [POD_AFF] },
    },
    {
      name: 'required anti-affinity per host',
      nodes,
      existing: [pod('w1', { node: 'a1', labels: { app: 'web' } })],
      pod: withAnti(term({ app: 'web' }, HOST), { app: 'web' }),
      want: { a1: [POD_ANTI], a2: [], b1: [] },
    },
    {
      name: 'required anti-affinity per zone',
      nodes,
      existing: [pod('w1', { node: 'a1', labels: { app: 'web' } })],
      pod: withAnti(term({ app: 'web' }, ZONE), { app: 'web' }),
      want: { a1: [POD_ANTI], a2: [POD_ANTI], b1: [], nozone: [] },
    },
    {
      name: "an existing pod's anti-affinity blocks the new pod (symmetry)",
      nodes,
      existing: [withAnti(term({ app: 'web' }, ZONE), { app: 'loner' }, 'loner', { node: 'b1' })],
      pod: pod('p', { labels: { app: 'web' } }),
      want: { a1: [], a2: [], b1: [EXISTING_ANTI], nozone: [] },
    },
    {
      name: "an existing pod's anti-affinity does not block pods it does not select",
      nodes,
      existing: [withAnti(term({ app: 'web' }, ZONE), { app: 'loner' }, 'loner', { node: 'b1' })],
      pod: pod('p', { labels: { app: 'api' } }),
      want: { b1: [] },
    },
    {
      name: 'terms default to the pod’s own namespace',
      nodes,
      existing: [pod('w1', { node: 'a1', ns: 'other', labels: { app: 'web' } })],
      pod: withAnti(term({ app: 'web' }, HOST), { app: 'web' }),
      want: { a1: [] },
    },
    {
      name: 'namespaces list',
      nodes,
      existing: [pod('w1', { node: 'a1', ns: 'other', labels: { app: 'web' } })],
      pod: withAnti(term({ app: 'web' }, HOST, { namespaces: ['other'] })),
      want: { a1: [POD_ANTI], a2: [] },
    },
    {
      name: 'empty namespaceSelector selects every namespace',
      nodes,
      existing: [pod('w1', { node: 'a1', ns: 'other', labels: { app: 'web' } })],
      pod: withAnti(term({ app: 'web' }, HOST, { namespaceSelector: {} })),
      want: { a1: [POD_ANTI], a2: [] },
    },
    {
      name: 'namespaceSelector by namespace labels',
      nodes,
      namespaces: [
        { metadata: { name: 'team-a', labels: { team: 'a' } } },
        { metadata: { name: 'team-b', labels: { team: 'b' } } },
      ],
      existing: [pod('w1', { node: 'a1', ns: 'team-a', labels: { app: 'web' } }), pod('w2', { node: 'a2', ns: 'team-b', labels: { app: 'web' } })],
      pod: withAnti(term({ app: 'web' }, HOST, { namespaceSelector: { matchLabels: { team: 'a' } } })),
      want: { a1: [POD_ANTI], a2: [] },
    },
    {
      name: 'a nil labelSelector matches no pod',
      nodes,
      existing: [pod('w1', { node: 'a1', labels: { app: 'web' } })],
      pod: withAnti({ topologyKey: HOST }),
      want: { a1: [] },
    },
  ])('$name', check);
});

describe('PodTopologySpread (DoNotSchedule)', () => {
  const nodes = [zoned('a1', 'a'), zoned('a2', 'a'), zoned('b1', 'b'), zoned('c1', 'c')];
  const web = (name: string, n: string) => pod(name, { node: n, labels: { app: 'web' } });
  const spreadPod = (extra: Record<string, unknown> = {}, labels: Record<string, string> = { app: 'web' }) =>
    pod('p', {
      labels,
      spread: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, ...extra }],
    });

  it.each<Case>([
    {
      // counts a=2 b=1 c=0, min 0: a → 2+1-0=3, b → 1+1-0=2, c → 0+1-0=1
      name: 'only the emptiest zone keeps skew ≤ 1',
      nodes,
      existing: [web('w1', 'a1'), web('w2', 'a2'), web('w3', 'b1')],
      pod: spreadPod(),
      want: { a1: [SPREAD], a2: [SPREAD], b1: [SPREAD], c1: [] },
    },
    {
      name: 'maxSkew 2 admits the second zone',
      nodes,
      existing: [web('w1', 'a1'), web('w2', 'a2'), web('w3', 'b1')],
      pod: spreadPod({ maxSkew: 2 }),
      want: { a1: [SPREAD], b1: [], c1: [] },
    },
    {
      // counts a=1 b=1 c=1, min 1: every zone → 1+1-1=1
      name: 'balanced zones all admit',
      nodes,
      existing: [web('w1', 'a1'), web('w2', 'b1'), web('w3', 'c1')],
      pod: spreadPod(),
      want: { a1: [], b1: [], c1: [] },
    },
    {
      // 3 domains < minDomains 4: the global minimum counts as 0 → 1+1-0 = 2 > 1
      name: 'minDomains above the number of domains forces the minimum to 0',
      nodes,
      existing: [web('w1', 'a1'), web('w2', 'b1'), web('w3', 'c1')],
      pod: spreadPod({ minDomains: 4 }),
      want: { a1: [SPREAD], b1: [SPREAD], c1: [SPREAD] },
    },
    {
      name: 'a node without the topology key',
      nodes: [...nodes, node('nozone')],
      pod: spreadPod(),
      want: { a1: [], nozone: [SPREAD_LABEL] },
    },
    {
      // The pod does not match its own selector: no +1 for itself. a=1 b=0 c=0 → a: 1-0 = 1 ok
      name: 'a pod outside its own selector does not count itself',
      nodes,
      existing: [web('w1', 'a1')],
      pod: spreadPod({}, { app: 'other' }),
      want: { a1: [], b1: [] },
    },
    {
      name: 'terminating pods and other namespaces do not count',
      nodes,
      existing: [pod('w1', { node: 'a1', labels: { app: 'web' }, terminating: true }), pod('w2', { node: 'a2', ns: 'x', labels: { app: 'web' } }), web('w3', 'b1'), web('w4', 'c1')],
      pod: spreadPod(),
      want: { a1: [], b1: [SPREAD], c1: [SPREAD] },
    },
    {
      name: 'matchLabelKeys narrows the selector to the pod’s own value',
      nodes,
      existing: [pod('old1', { node: 'a1', labels: { app: 'web', rev: '1' } }), pod('old2', { node: 'a2', labels: { app: 'web', rev: '1' } })],
      pod: pod('p', {
        labels: { app: 'web', rev: '2' },
        spread: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, matchLabelKeys: ['rev'] }],
      }),
      want: { a1: [], b1: [] },
    },
  ])('$name', check);

  it('nodeAffinityPolicy Honor leaves domains the pod cannot use out of the minimum', () => {
    // Zone c is excluded by the pod's nodeSelector; with Honor the minimum is over a=1 and b=1.
    const ns = [zoned('a1', 'a', { pool: 'x' }), zoned('b1', 'b', { pool: 'x' }), zoned('c1', 'c', { pool: 'y' })];
    const existing = [web('w1', 'a1'), web('w2', 'b1')];
    const mk = (policy: string) =>
      pod('p', {
        labels: { app: 'web' },
        nodeSelector: { pool: 'x' },
        spread: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, nodeAffinityPolicy: policy }],
      });
    check({ name: 'honor', nodes: ns, existing, pod: mk('Honor'), want: { a1: [], b1: [] } });
    check({ name: 'ignore', nodes: ns, existing, pod: mk('Ignore'), want: { a1: [SPREAD], b1: [SPREAD] } });
  });

  it('nodeTaintsPolicy Honor leaves tainted domains out', () => {
    const ns = [zoned('a1', 'a'), zoned('b1', 'b'), node('c1', { labels: { [ZONE]: 'c' }, taints: [{ key: 'k', effect: 'NoSchedule' }] })];
    const existing = [web('w1', 'a1')];
    const mk = (policy?: string) =>
      pod('p', {
        labels: { app: 'web' },
        spread: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, nodeTaintsPolicy: policy }],
      });
    // a=1, b=0 (c ignored or 0): placing on a gives 2-0 = 2 either way; b is fine either way.
    check({ name: 'ignore (default)', nodes: ns, existing, pod: mk(), want: { a1: [SPREAD], b1: [] } });
    // With Honor and b also tainted-out the minimum would come from a alone.
    const ns2 = [zoned('a1', 'a'), node('b1', { labels: { [ZONE]: 'b' }, taints: [{ key: 'k', effect: 'NoSchedule' }] })];
    const tol = (policy?: string) => ({ ...mk(policy), spec: { ...mk(policy).spec, tolerations: [] } });
    check({ name: 'honor', nodes: ns2, existing, pod: tol('Honor'), want: { a1: [] } });
    check({ name: 'ignore', nodes: ns2, existing, pod: tol('Ignore'), want: { a1: [SPREAD] } });
  });
});
