// Pure decision logic of the StatefulSet and DaemonSet controllers: hashes, placement
// predicates, rolling-update steps, pod identity and claims, status.
import { describe, expect, it } from 'vitest';
import { addDaemonTolerations, nodeShouldRunDaemonPod, pinToNode, targetNodeName } from './daemonset-nodes.ts';
import { podsShouldBeOnNode, rollingUpdatePlan } from './daemonset-rollout.ts';
import { fnv32, fnv32a, hashRevisionData, safeEncode, templateFromRevision, templatePatch } from './history.ts';
import { claimOwnerRefsFor, computeStatus, newPod, newVersionedPod } from './statefulset-pods.ts';
import type { DaemonSet, Node, Pod, PodSpec, StatefulSet, Taint } from './types.ts';
import { canonicalJson, scaledValue } from './util.ts';

const bytes = (s: string) => Buffer.from(s, 'utf8');

function node(name: string, labels: Record<string, string> = {}, taints: Taint[] = []): Node {
  return { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } }, spec: { taints } };
}

function ds(spec: Partial<DaemonSet['spec']> = {}, podSpec: DaemonSet['spec']['template']['spec'] = {}): DaemonSet {
  return { metadata: { name: 'd', namespace: 'ns', uid: 'ds-uid', generation: 1 }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [], ...podSpec } }, ...spec } };
}

function dpod(name: string, nodeName: string, hash: string, ready = true, extra: Partial<Pod['metadata']> = {}): Pod {
  return {
    metadata: { name, uid: `uid-${name}`, labels: { 'controller-revision-hash': hash }, creationTimestamp: '2026-01-01T00:00:00Z', ...extra },
    spec: { nodeName },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
  };
}

describe('hashes', () => {
  it('FNV-1 and FNV-1a 32-bit match the reference vectors', () => {
    expect(fnv32(bytes(''))).toBe(0x811c9dc5);
    expect(fnv32(bytes('a'))).toBe(0x050c5d7e);
    expect(fnv32(bytes('foobar'))).toBe(0x31f0b262);
    expect(fnv32a(bytes('a'))).toBe(0xe40c292c);
    expect(fnv32a(bytes('foobar'))).toBe(0xbf9cf968);
  });

  it('spells hashes without vowels, and the collision count changes the hash', () => {
    expect(safeEncode('0123456789')).toBe('456789bcdf');
    const data = templatePatch({ metadata: { labels: { a: 'b' } } });
    expect(hashRevisionData(data, 0)).not.toBe(hashRevisionData(data, 1));
    expect(hashRevisionData(data, 0)).toBe(hashRevisionData(JSON.parse(JSON.stringify(data)), 0));
  });

  it('revision data round-trips the template with $patch replace', () => {
    const t = { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    const data = templatePatch(t);
    expect(data.spec.template.$patch).toBe('replace');
    expect(templateFromRevision({ metadata: {}, revision: 1, data })).toEqual(t);
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] })).toBe('{"a":[{"d":2}],"b":1}');
  });

  it('scales int-or-percent values like intstr', () => {
    expect(scaledValue('25%', 3, true)).toBe(1);
    expect(scaledValue('25%', 3, false)).toBe(0);
    expect(scaledValue(2, 10, true)).toBe(2);
    expect(scaledValue(undefined, 10, true)).toBe(0);
  });
});

describe('daemon placement', () => {
  it('adds the automatic tolerations, network-unavailable only for hostNetwork, without duplicates', () => {
    const spec = { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] };
    addDaemonTolerations(spec);
    expect(spec.tolerations.map((t) => t.key)).toEqual(['node.kubernetes.io/unschedulable', 'node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable', 'node.kubernetes.io/disk-pressure', 'node.kubernetes.io/memory-pressure', 'node.kubernetes.io/pid-pressure']);
    const host: PodSpec = { hostNetwork: true };
    addDaemonTolerations(host);
    expect(host.tolerations?.at(-1)?.key).toBe('node.kubernetes.io/network-unavailable');
  });

  it('checks nodeSelector, required node affinity and taints; NoSchedule lets running pods stay, NoExecute does not', () => {
    expect(nodeShouldRunDaemonPod(node('n1'), ds())).toEqual({ shouldRun: true, shouldContinueRunning: true });
    expect(nodeShouldRunDaemonPod(node('n1'), ds({}, { nodeSelector: { role: 'edge' } })).shouldRun).toBe(false);
    expect(nodeShouldRunDaemonPod(node('n1', { role: 'edge' }), ds({}, { nodeSelector: { role: 'edge' } })).shouldRun).toBe(true);
    const aff = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }] } } };
    expect(nodeShouldRunDaemonPod(node('n1', { zone: 'a' }), ds({}, { affinity: aff })).shouldRun).toBe(true);
    expect(nodeShouldRunDaemonPod(node('n2'), ds({}, { affinity: aff })).shouldRun).toBe(true);
    expect(nodeShouldRunDaemonPod(node('n3', { zone: 'b' }), ds({}, { affinity: aff })).shouldRun).toBe(false);
    expect(nodeShouldRunDaemonPod(node('n1', {}, [{ key: 'k', value: 'v', effect: 'NoSchedule' }]), ds())).toEqual({ shouldRun: false, shouldContinueRunning: true });
    expect(nodeShouldRunDaemonPod(node('n1', {}, [{ key: 'k', effect: 'NoExecute' }]), ds())).toEqual({ shouldRun: false, shouldContinueRunning: false });
    expect(nodeShouldRunDaemonPod(node('n1', {}, [{ key: 'k', value: 'v', effect: 'NoSchedule' }]), ds({}, { tolerations: [{ key: 'k', operator: 'Equal', value: 'v' }] })).shouldRun).toBe(true);
    expect(nodeShouldRunDaemonPod(node('n1', {}, [{ key: 'k', effect: 'PreferNoSchedule' }]), ds()).shouldRun).toBe(true);
    // Cordoned nodes carry the unschedulable taint, which daemon pods tolerate.
    expect(nodeShouldRunDaemonPod(node('n1', {}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]), ds()).shouldRun).toBe(true);
    expect(nodeShouldRunDaemonPod(node('n1'), ds({}, { nodeName: 'n2' })).shouldRun).toBe(false);
  });

  it('pins a pod to its node, replacing the required terms and keeping the rest of the affinity', () => {
    const a = pinToNode({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'x', operator: 'Exists' }] }] }, preferred: 1 }, podAffinity: {} }, 'n1');
    expect(a).toEqual({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }] }, preferred: 1 }, podAffinity: {} });
    expect(targetNodeName({ metadata: {}, spec: { affinity: a } })).toBe('n1');
    expect(targetNodeName({ metadata: {}, spec: { nodeName: 'n9', affinity: a } })).toBe('n9');
  });
});

describe('daemon pods per node and rolling updates', () => {
  const now = new Date('2026-01-01T01:00:00Z');

  it('creates where missing, keeps the oldest of duplicates, deletes succeeded and misplaced pods', () => {
    const d = ds();
    expect(podsShouldBeOnNode(node('n1'), [], d, 'h', now, () => true)).toEqual({ create: true, delete: [] });
    const older = dpod('a', 'n1', 'h');
    const newer = dpod('b', 'n1', 'h', true, { creationTimestamp: '2026-01-01T00:00:05Z' });
    expect(podsShouldBeOnNode(node('n1'), [newer, older], d, 'h', now, () => true).delete.map((p) => p.metadata.name)).toEqual(['b']);
    const done = { ...older, status: { phase: 'Succeeded' } };
    expect(podsShouldBeOnNode(node('n1'), [done], d, 'h', now, () => true)).toEqual({ create: false, delete: [done] });
    const failed = { ...older, status: { phase: 'Failed' } };
    expect(podsShouldBeOnNode(node('n1'), [failed], d, 'h', now, () => false)).toEqual({ create: false, delete: [] });
    expect(podsShouldBeOnNode(node('n1', {}, [{ key: 'k', effect: 'NoExecute' }]), [older], d, 'h', now, () => true)).toEqual({ create: false, delete: [older] });
  });

  it('maxUnavailable: deletes at most that many available old pods, and unavailable old pods at once', () => {
    const d = ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } } });
    const nodes = [node('n1'), node('n2'), node('n3')];
    const pods = new Map([['n1', [dpod('p1', 'n1', 'old')]], ['n2', [dpod('p2', 'n2', 'old')]], ['n3', [dpod('p3', 'n3', 'old', false)]]]);
    expect(rollingUpdatePlan(d, nodes, pods, 'new', now).delete.map((p) => p.metadata.name)).toEqual(['p3']);
    pods.set('n3', [dpod('p3', 'n3', 'old')]);
    expect(rollingUpdatePlan(d, nodes, pods, 'new', now).delete).toHaveLength(1);
    pods.set('n3', [dpod('p3n', 'n3', 'new', false)]); // a new pod not yet available uses the budget
    expect(rollingUpdatePlan(d, nodes, pods, 'new', now).delete).toEqual([]);
    const wide = ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '100%' } } });
    pods.set('n3', [dpod('p3', 'n3', 'old')]);
    expect(rollingUpdatePlan(wide, nodes, pods, 'new', now).delete).toHaveLength(3);
  });

  it('maxSurge: surges onto old nodes, deletes the old pod once the new one is available', () => {
    const d = ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } });
    const nodes = [node('n1'), node('n2')];
    const pods = new Map([['n1', [dpod('p1', 'n1', 'old')]], ['n2', [dpod('p2', 'n2', 'old')]]]);
    expect(rollingUpdatePlan(d, nodes, pods, 'new', now)).toEqual({ delete: [], createOn: ['n1'] });
    pods.set('n1', [dpod('p1', 'n1', 'old'), dpod('p1n', 'n1', 'new', false)]);
    expect(rollingUpdatePlan(d, nodes, pods, 'new', now)).toEqual({ delete: [], createOn: [] });
    pods.set('n1', [dpod('p1', 'n1', 'old'), dpod('p1n', 'n1', 'new')]);
    const plan = rollingUpdatePlan(d, nodes, pods, 'new', now);
    expect(plan.delete.map((p) => p.metadata.name)).toEqual(['p1']);
    expect(plan.createOn).toEqual(['n2']);
  });
});

function sts(spec: Partial<StatefulSet['spec']> = {}, status?: StatefulSet['status']): StatefulSet {
  return {
    metadata: { name: 'web', namespace: 'ns', uid: 'set-uid', generation: 2 },
    spec: { replicas: 3, serviceName: 'svc', selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [], volumes: [{ name: 'www', emptyDir: {} }, { name: 'cfg', emptyDir: {} }] } }, volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: {} }], ...spec },
    status,
  };
}

describe('stateful pods', () => {
  it('makes pods with identity, claim volumes first and the revision label', () => {
    const p = newPod(sts(), 4, 'web-abc');
    expect(p.metadata).toMatchObject({ name: 'web-4', namespace: 'ns', generateName: 'web-', labels: { app: 'web', 'statefulset.kubernetes.io/pod-name': 'web-4', 'apps.kubernetes.io/pod-index': '4', 'controller-revision-hash': 'web-abc' } });
    expect(p.spec).toMatchObject({ hostname: 'web-4', subdomain: 'svc' });
    expect(p.spec.volumes).toEqual([{ name: 'www', persistentVolumeClaim: { claimName: 'www-web-4' } }, { name: 'cfg', emptyDir: {} }]);
  });

  it('gives ordinals below the partition the current revision', () => {
    const cur = sts({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
    const upd = sts({ template: { metadata: { labels: { app: 'web', v: '2' } }, spec: { containers: [] } } });
    expect(newVersionedPod(cur, upd, 'c', 'u', 1).metadata.labels).toMatchObject({ 'controller-revision-hash': 'c' });
    expect(newVersionedPod(cur, upd, 'c', 'u', 2).metadata.labels).toMatchObject({ 'controller-revision-hash': 'u', v: '2' });
    const onDelete = sts({ updateStrategy: { type: 'OnDelete' } });
    expect(newVersionedPod(onDelete, upd, 'c', 'u', 0).metadata.labels?.['controller-revision-hash']).toBe('u');
  });

  it('sets claim owners by the retention policy, leaving claims another controller owns alone', () => {
    const set = sts({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' } });
    const inRange: Pod = { metadata: { name: 'web-1', uid: 'p1' }, spec: {} };
    const condemned: Pod = { metadata: { name: 'web-5', uid: 'p5' }, spec: {} };
    const claim = { metadata: { name: 'www-web-1' } };
    expect(claimOwnerRefsFor(set, inRange, claim)).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid', controller: true, blockOwnerDeletion: true }]);
    expect(claimOwnerRefsFor(set, condemned, { metadata: { name: 'www-web-5', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid', controller: true }] } })).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: 'web-5', uid: 'p5' }]);
    expect(claimOwnerRefsFor(sts(), inRange, claim)).toBeUndefined();
    expect(claimOwnerRefsFor(set, inRange, { metadata: { name: 'x', ownerReferences: [{ apiVersion: 'v1', kind: 'Other', name: 'o', uid: 'o', controller: true }] } })).toBeUndefined();
  });

  it('computes status and completes a rolling update when every pod is updated and ready', () => {
    const ready = (name: string, rev: string): Pod => ({ metadata: { name, labels: { 'controller-revision-hash': rev } }, spec: {}, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
    const s = computeStatus(sts(), [ready('web-0', 'u'), ready('web-1', 'u'), ready('web-2', 'c')], 'c', 'u', 0, new Date());
    expect(s).toMatchObject({ observedGeneration: 2, replicas: 3, readyReplicas: 3, currentReplicas: 1, updatedReplicas: 2, availableReplicas: 3, currentRevision: 'c', updateRevision: 'u', collisionCount: 0 });
    const done = computeStatus(sts(), [ready('web-0', 'u'), ready('web-1', 'u'), ready('web-2', 'u')], 'c', 'u', 0, new Date());
    expect(done).toMatchObject({ currentReplicas: 3, currentRevision: 'u' });
    const pending: Pod = { metadata: { name: 'web-0', labels: { 'controller-revision-hash': 'u' } }, spec: {}, status: { phase: 'Pending' } };
    expect(computeStatus(sts(), [pending], 'u', 'u', 0, new Date())).toMatchObject({ replicas: 1, updatedReplicas: 1, availableReplicas: 0 });
  });
});
