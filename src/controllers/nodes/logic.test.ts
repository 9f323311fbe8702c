// Unit tests of the pure decision logic of the nodes controllers.
import { describe, expect, it } from 'vitest';
import { computeSubsets, truncateSubsets, type EndpointSubset } from './endpoints-subsets.ts';
import { reconcileSlices, type EndpointSlice } from './endpointslice-reconcile.ts';
import { TriggerTimeTracker } from './trigger-time.ts';
import { countHealthy, disruptedPodMap, expectedPodCount, failSafeStatus, goLabelSelector, pdbStatus, scaledValue, type Pdb } from './disruption-logic.ts';
import { matchingTolerations, minTolerationMs, noScheduleTaintChanges, swapTaints } from './taints.ts';
import { computeZoneState, observeNode, unknownConditions } from './node-health.ts';
import { ZoneTainter } from './zone-tainter.ts';
import type { Node, Pod, Service } from './types.ts';

const T0 = Date.parse('2025-01-01T00:00:00Z');

function pod(name: string, ip: string | undefined, opts: { ready?: boolean; node?: string; ports?: Array<{ name: string; containerPort: number }>; phase?: string; deleting?: boolean; owner?: { kind: string; name: string; uid: string; apiVersion?: string }; labels?: Record<string, string> } = {}): Pod {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      labels: opts.labels ?? { app: 'web' },
      ...(opts.deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
      ...(opts.owner ? { ownerReferences: [{ apiVersion: opts.owner.apiVersion ?? 'apps/v1', controller: true, ...opts.owner }] } : {}),
    },
    spec: { nodeName: opts.node ?? 'n1', containers: [{ name: 'c', ports: opts.ports ?? [{ name: 'http', containerPort: 8080 }] }] },
    status: {
      phase: opts.phase ?? 'Running',
      ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', lastTransitionTime: '2025-01-01T00:00:10Z' }],
    },
  };
}

const svc: Service = {
  metadata: { name: 'web', namespace: 'ns', uid: 'svc-uid', creationTimestamp: '2025-01-01T00:00:05Z', labels: { tier: 'front' } },
  spec: { selector: { app: 'web' }, clusterIP: '10.96.0.10', ipFamilies: ['IPv4'], ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
};

describe('Endpoints subsets', () => {
  it('puts ready pods in addresses, unready ones in notReadyAddresses, and skips pods without IP, finished or without the named port', () => {
    const pods = [
      pod('b', '10.0.0.2'),
      pod('a', '10.0.0.1'),
      pod('u', '10.0.0.3', { ready: false }),
      pod('noip', undefined),
      pod('done', '10.0.0.4', { phase: 'Succeeded' }),
      pod('noport', '10.0.0.5', { ports: [{ name: 'other', containerPort: 9 }] }),
      pod('gone', '10.0.0.6', { deleting: true }),
    ];
    const subsets = computeSubsets(svc, pods);
    expect(subsets).toEqual([
      {
        addresses: [
          { ip: '10.0.0.1', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'ns', name: 'a', uid: 'uid-a' } },
          { ip: '10.0.0.2', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'ns', name: 'b', uid: 'uid-b' } },
        ],
        notReadyAddresses: [{ ip: '10.0.0.3', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'ns', name: 'u', uid: 'uid-u' } }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
  });

  it('publishes unready and terminating pods as ready with publishNotReadyAddresses', () => {
    const s: Service = { ...svc, spec: { ...svc.spec, publishNotReadyAddresses: true } };
    const subsets = computeSubsets(s, [pod('u', '10.0.0.3', { ready: false }), pod('gone', '10.0.0.6', { deleting: true })]);
    expect(subsets.map((x) => x.addresses?.map((a) => a.ip))).toEqual([['10.0.0.3', '10.0.0.6']]);
    expect(subsets[0].notReadyAddresses).toBeUndefined();
  });

  it('splits pods whose named port resolves to different numbers into subsets', () => {
    const subsets = computeSubsets(svc, [pod('a', '10.0.0.1'), pod('b', '10.0.0.2', { ports: [{ name: 'http', containerPort: 9090 }] })]);
    expect(subsets.map((s) => [s.addresses?.map((a) => a.ip), s.ports?.[0].port])).toEqual([[['10.0.0.1'], 8080], [['10.0.0.2'], 9090]]);
  });

  it('truncates to the capacity, ready addresses first', () => {
    const subsets: EndpointSubset[] = [{ addresses: Array.from({ length: 8 }, (_, i) => ({ ip: `10.0.0.${i}` })), notReadyAddresses: [{ ip: '10.0.1.1' }] }];
    expect(truncateSubsets(subsets, 5)).toBe(true);
    expect(subsets[0].addresses).toHaveLength(5);
    expect(subsets[0].notReadyAddresses).toBeUndefined();
    expect(truncateSubsets([{ addresses: [{ ip: '1.1.1.1' }] }], 5)).toBe(false);
  });
});

describe('EndpointSlice reconcile', () => {
  const node = () => ({ metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1' } } }) as Node;
  const manyPods = (n: number) => Array.from({ length: n }, (_, i) => pod(`p${String(i).padStart(3, '0')}`, `10.1.${i >> 8}.${i & 255}`));

  it('creates slices of at most 100 endpoints, labelled, owned and annotated', () => {
    const plan = reconcileSlices({ service: svc, pods: manyPods(250), node, existing: [], maxPerSlice: 100, triggerTime: T0 });
    expect(plan.create.map((s) => s.endpoints!.length).sort()).toEqual([100, 100, 50]);
    const s = plan.create[0];
    expect(s.metadata?.generateName).toBe('web-');
    expect(s.metadata?.labels).toEqual({ tier: 'front', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    expect(s.metadata?.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true, blockOwnerDeletion: true }]);
    expect(s.metadata?.annotations).toEqual({ 'endpoints.kubernetes.io/last-change-trigger-time': '2025-01-01T00:00:00Z' });
    expect(s.addressType).toBe('IPv4');
    expect(s.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 8080 }]);
    expect(s.endpoints![0]).toEqual({ addresses: ['10.1.0.0'], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', namespace: 'ns', name: 'p000', uid: 'uid-p000' }, nodeName: 'n1', zone: 'z1' });
  });

  it('marks terminating pods as not ready but serving', () => {
    const plan = reconcileSlices({ service: svc, pods: [pod('t', '10.0.0.9', { deleting: true })], node, existing: [], maxPerSlice: 100 });
    expect(plan.create[0].endpoints![0].conditions).toEqual({ ready: false, serving: true, terminating: true });
  });

  it('keeps one placeholder slice when nothing is selected, and turns it into the real slice later', () => {
    const empty = reconcileSlices({ service: svc, pods: [], node, existing: [], maxPerSlice: 100 });
    expect(empty.create).toHaveLength(1);
    expect(empty.create[0].endpoints).toBeNull();
    expect(empty.create[0].ports).toBeNull();
    const placeholder: EndpointSlice = { ...empty.create[0], metadata: { ...empty.create[0].metadata, name: 'web-abcde', resourceVersion: '7' } };
    expect(reconcileSlices({ service: svc, pods: [], node, existing: [placeholder], maxPerSlice: 100 })).toEqual({ create: [], update: [], delete: [], errors: [] });
    const filled = reconcileSlices({ service: svc, pods: manyPods(2), node, existing: [placeholder], maxPerSlice: 100 });
    expect(filled.create).toHaveLength(0);
    expect(filled.delete).toHaveLength(0);
    expect(filled.update.map((s) => [s.metadata?.name, s.metadata?.resourceVersion, s.endpoints!.length])).toEqual([['web-abcde', '7', 2]]);
  });

  it('changes nothing when the slices are up to date, and updates only the slice of a changed pod', () => {
    const first = reconcileSlices({ service: svc, pods: manyPods(150), node, existing: [], maxPerSlice: 100 });
    const existing = first.create.map((s, i) => ({ ...s, metadata: { ...s.metadata, name: `web-${i}`, resourceVersion: '1' } }));
    expect(reconcileSlices({ service: svc, pods: manyPods(150), node, existing, maxPerSlice: 100 })).toEqual({ create: [], update: [], delete: [], errors: [] });
    const pods = manyPods(150);
    pods[120] = pod('p120', pods[120].status!.podIP, { ready: false });
    const plan = reconcileSlices({ service: svc, pods, node, existing, maxPerSlice: 100 });
    expect(plan.create).toHaveLength(0);
    expect(plan.update).toHaveLength(1);
    expect(plan.update[0].endpoints!.find((e) => e.targetRef?.name === 'p120')?.conditions.ready).toBe(false);
  });

  it('leaves out pods on unknown nodes and reports them', () => {
    const plan = reconcileSlices({ service: svc, pods: [pod('a', '10.0.0.1', { node: 'ghost' })], node: () => undefined, existing: [], maxPerSlice: 100 });
    expect(plan.errors).toHaveLength(1);
    expect(plan.create[0].endpoints).toBeNull();
  });
});

describe('trigger time', () => {
  it('is the Service creation first, then the earliest unpublished pod change, then nothing', () => {
    const t = new TriggerTimeTracker();
    expect(t.compute(svc, [pod('a', '1.1.1.1')])).toBe(Date.parse('2025-01-01T00:00:05Z'));
    expect(t.compute(svc, [pod('a', '1.1.1.1')])).toBeUndefined();
    const b = pod('b', '1.1.1.2');
    b.status!.conditions![0].lastTransitionTime = '2025-01-01T00:01:00Z';
    expect(t.compute(svc, [pod('a', '1.1.1.1'), b])).toBe(Date.parse('2025-01-01T00:01:00Z'));
  });
});

describe('disruption budget arithmetic', () => {
  const rs = { uid: 'rs-uid', kind: 'ReplicaSet', name: 'web-123' };
  const find = async () => ({ uid: 'dep-uid', replicas: 4 });
  const pdb = (spec: Pdb['spec'], status: Pdb['status'] = {}): Pdb => ({ metadata: { name: 'p', namespace: 'ns', generation: 1 }, spec, status });

  it('scales percentages against the controller and rounds up', async () => {
    const pods = [pod('a', '1', { owner: rs }), pod('b', '2', { owner: rs }), pod('c', '3', { owner: rs })];
    expect(await expectedPodCount(pdb({ minAvailable: '50%' }), pods, find)).toEqual({ expected: 4, desired: 2, unmanaged: [] });
    expect(await expectedPodCount(pdb({ maxUnavailable: '30%' }), pods, find)).toEqual({ expected: 4, desired: 2, unmanaged: [] });
    expect(await expectedPodCount(pdb({ maxUnavailable: 1 }), pods, find)).toEqual({ expected: 4, desired: 3, unmanaged: [] });
    expect(await expectedPodCount(pdb({ minAvailable: 2 }), pods, find)).toEqual({ expected: 3, desired: 2, unmanaged: [] });
    expect(scaledValue('10%', 4, false)).toBe(0);
    expect(() => scaledValue('5', 4, true)).toThrow(/not a percentage/);
  });

  it('ignores unmanaged pods and fails for controllers it cannot find', async () => {
    expect(await expectedPodCount(pdb({ maxUnavailable: 1 }), [pod('a', '1')], find)).toEqual({ expected: 0, desired: 0, unmanaged: ['a'] });
    await expect(expectedPodCount(pdb({ maxUnavailable: 1 }), [pod('a', '1', { owner: rs })], async () => undefined)).rejects.toThrow('found no controllers for pod "a"');
  });

  it('counts healthy pods, keeps fresh disruptedPods entries and allows healthy − desired disruptions', () => {
    const now = Date.parse('2025-01-01T00:10:00Z');
    const pods = [pod('a', '1'), pod('b', '2'), pod('c', '3'), pod('d', '4', { ready: false }), pod('old', '5')];
    const p = pdb({ minAvailable: 2 }, { disruptedPods: { c: '2025-01-01T00:09:30Z', old: '2025-01-01T00:07:00Z', gone: '2025-01-01T00:09:59Z' } });
    const { map, recheckMs } = disruptedPodMap(p, pods, now);
    expect(map).toEqual({ c: '2025-01-01T00:09:30Z' });
    expect(recheckMs).toBe(Date.parse('2025-01-01T00:11:30Z'));
    const healthy = countHealthy(pods, map, now);
    expect(healthy).toBe(3);
    const st = pdbStatus(p, { expected: 5, desired: 2, healthy, disrupted: map }, '2025-01-01T00:10:00Z')!;
    expect(st).toEqual({
      observedGeneration: 1, disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 5, disruptedPods: { c: '2025-01-01T00:09:30Z' },
      conditions: [{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '', observedGeneration: 1, lastTransitionTime: '2025-01-01T00:10:00Z' }],
    });
    expect(pdbStatus({ ...p, status: st }, { expected: 5, desired: 2, healthy, disrupted: map }, 'later')).toBeUndefined();
    const none = pdbStatus({ ...p, status: st }, { expected: 5, desired: 3, healthy, disrupted: map }, '2025-01-01T00:11:00Z')!;
    expect(none.disruptionsAllowed).toBe(0);
    expect(none.conditions).toEqual([{ type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: '', observedGeneration: 1, lastTransitionTime: '2025-01-01T00:11:00Z' }]);
    const failed = failSafeStatus({ ...p, status: st }, 'boom', 'now');
    expect(failed.disruptionsAllowed).toBe(0);
    expect(failed.conditions?.[0]).toMatchObject({ status: 'False', reason: 'SyncFailed', message: 'boom' });
  });

  it('prints a selector as Go does', () => {
    expect(goLabelSelector({ matchLabels: { b: '2', a: '1' }, matchExpressions: [{ key: 'k', operator: 'In', values: ['x', 'y'] }] })).toBe(
      '&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:k,Operator:In,Values:[x y],},},}',
    );
  });
});

describe('taints and tolerations', () => {
  it('derives NoSchedule taints from conditions and unschedulable', () => {
    const node: Node = {
      spec: { unschedulable: true, taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }, { key: 'custom', effect: 'NoSchedule' }] },
      status: { conditions: [{ type: 'Ready', status: 'Unknown' }, { type: 'DiskPressure', status: 'True' }, { type: 'MemoryPressure', status: 'False' }] },
    };
    const { add, remove } = noScheduleTaintChanges(node);
    expect(add.map((t) => t.key).sort()).toEqual(['node.kubernetes.io/disk-pressure', 'node.kubernetes.io/unreachable', 'node.kubernetes.io/unschedulable']);
    expect(remove.map((t) => t.key)).toEqual(['node.kubernetes.io/not-ready']);
    expect(swapTaints(node.spec!.taints!, add, remove, 'now')?.map((t) => `${t.key}:${t.timeAdded}`)).toEqual(['custom:undefined', 'node.kubernetes.io/unreachable:now', 'node.kubernetes.io/disk-pressure:now', 'node.kubernetes.io/unschedulable:now']);
    expect(swapTaints([{ key: 'a', effect: 'NoExecute' }], [{ key: 'a', effect: 'NoExecute' }], [], 'now')).toBeUndefined();
  });

  it('finds the shortest toleration of NoExecute taints', () => {
    const taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }];
    expect(matchingTolerations(taints, []).all).toBe(false);
    const t = matchingTolerations(taints, [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }, { operator: 'Exists', tolerationSeconds: 30 }, { key: 'other', operator: 'Exists' }]);
    expect(t.all).toBe(true);
    expect(minTolerationMs(t.used)).toBe(30_000);
    expect(minTolerationMs(matchingTolerations(taints, [{ operator: 'Exists' }]).used)).toBe(-1);
    expect(minTolerationMs(matchingTolerations(taints, [{ operator: 'Exists', tolerationSeconds: -5 }]).used)).toBe(0);
    expect(matchingTolerations([{ key: 'k', value: 'v', effect: 'NoExecute' }], [{ key: 'k', value: 'w' }]).all).toBe(false);
  });
});

describe('node health', () => {
  const readyNode = (heartbeat: string): Node => ({ metadata: { name: 'n', creationTimestamp: '2025-01-01T00:00:00Z' }, status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: heartbeat, lastTransitionTime: '2025-01-01T00:00:00Z' }] } });

  it('hears from a node through its Ready heartbeat or its Lease', () => {
    let o = observeNode(undefined, readyNode('h1'), undefined, 1000);
    expect(o.health.probeMs).toBe(1000);
    o = observeNode(o.health, readyNode('h1'), undefined, 5000);
    expect(o.health.probeMs).toBe(1000);
    o = observeNode(o.health, readyNode('h2'), undefined, 6000);
    expect(o.health.probeMs).toBe(6000);
    const lease = { spec: { renewTime: '2025-01-01T00:00:01.000000Z' } };
    o = observeNode(o.health, readyNode('h2'), lease, 9000);
    expect(o.health.probeMs).toBe(9000);
    o = observeNode(o.health, readyNode('h2'), lease, 12000);
    expect(o.health.probeMs).toBe(9000);
    const fresh = observeNode(undefined, { metadata: { name: 'n', creationTimestamp: '2025-01-01T00:00:00Z' } }, undefined, T0 + 99_000);
    expect(fresh.grace).toBe('startup');
    expect(fresh.health.probeMs).toBe(T0);
  });

  it('marks Ready and the pressure conditions Unknown', () => {
    const n = readyNode('h');
    n.status!.conditions!.push({ type: 'NetworkUnavailable', status: 'False' });
    const conds = unknownConditions(n, T0 + 60_000);
    expect(conds.find((c) => c.type === 'Ready')).toEqual({ type: 'Ready', status: 'Unknown', lastHeartbeatTime: 'h', lastTransitionTime: '2025-01-01T00:01:00Z', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    expect(conds.find((c) => c.type === 'MemoryPressure')).toMatchObject({ status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.' });
    expect(conds.find((c) => c.type === 'NetworkUnavailable')?.status).toBe('False');
  });

  it('judges zones and rate-limits tainting', () => {
    const r = (s: string) => ({ type: 'Ready', status: s });
    expect(computeZoneState([r('True'), r('Unknown')])).toBe('Normal');
    expect(computeZoneState([r('False'), undefined])).toBe('FullDisruption');
    expect(computeZoneState([r('False'), r('False'), r('False'), r('True')])).toBe('PartialDisruption');
    const z = new ZoneTainter({ qps: 0.1, secondaryQps: 0.01, largeClusterThreshold: 50 });
    expect(z.add('', 'a', 0)).toBe(true);
    expect(z.add('', 'b', 0)).toBe(true);
    expect(z.add('', 'a', 0)).toBe(false);
    expect(z.take('', 0)).toEqual(['a']);
    expect(z.take('', 5000)).toEqual([]);
    expect(z.take('', 10_000)).toEqual(['b']);
    z.markDone('', 'a');
    expect(z.add('', 'a', 0)).toBe(false);
    expect(z.remove('', 'a')).toBe(true);
    expect(z.add('', 'a', 0)).toBe(true);
    z.setLimiter('', 10, 'PartialDisruption', 20_000);
    expect(z.take('', 100_000)).toEqual([]);
  });

  it('stops tainting while every zone is fully disrupted and resumes after', () => {
    const r = (s: string) => ({ type: 'Ready', status: s });
    const z = new ZoneTainter({ qps: 0.1, secondaryQps: 0.01, largeClusterThreshold: 50 });
    expect(z.updateZoneStates(new Map([['a', [r('True'), r('Unknown')]]]), 0.55, 0)).toBeUndefined();
    z.add('a', 'n2', 0);
    expect(z.updateZoneStates(new Map([['a', [r('Unknown'), r('Unknown')]]]), 0.55, 1000)).toBe('entered');
    expect(z.take('a', 50_000)).toEqual([]);
    expect(z.updateZoneStates(new Map([['a', [r('Unknown'), r('Unknown')]]]), 0.55, 60_000)).toBeUndefined();
    expect(z.updateZoneStates(new Map([['a', [r('True'), r('Unknown')]]]), 0.55, 70_000)).toBe('exited');
    expect(z.take('a', 70_000)).toEqual(['n2']);
    // One zone fully disrupted while another is fine: that zone keeps the normal rate.
    expect(z.updateZoneStates(new Map([['a', [r('True')]], ['b', [r('False')]]]), 0.55, 80_000)).toBeUndefined();
    z.add('b', 'n9', 80_000);
    expect(z.take('b', 80_000)).toEqual(['n9']);
  });
});
