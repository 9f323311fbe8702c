import { describe, expect, it } from 'vitest';
import { whyNot } from './filters.ts';
import { schedulePod } from './schedule.ts';
import { Snapshot } from './snapshot.ts';
import { HOST, node, pod, ZONE } from './testutil.ts';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod, StorageClass, Volume } from './types.ts';
import { ANN_BIND_COMPLETED } from './volumes.ts';
import { volumeBindings } from './volumefilters.ts';

const RWOP = 'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode';
const UNBOUND = 'pod has unbound immediate PersistentVolumeClaims';
const NODE_CONFLICT = 'node(s) had volume node affinity conflict';
const NO_ZONE = 'node(s) had no available volume zone';
const DISK = 'node(s) had no available disk';
const NOT_HELPFUL = (n: number) => `preemption: 0/${n} nodes are available: ${n} Preemption is not helpful for scheduling.`;

interface ClaimOpts {
  ns?: string;
  modes?: string[];
  cls?: string;
  volumeName?: string;
  bound?: boolean;
  deleting?: boolean;
  owner?: string;
}

function claim(name: string, o: ClaimOpts = {}): PersistentVolumeClaim {
  return {
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      annotations: o.bound ? { [ANN_BIND_COMPLETED]: 'yes' } : undefined,
      deletionTimestamp: o.deleting ? '2025-01-01T00:00:00Z' : undefined,
      ownerReferences: o.owner ? [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: o.owner, controller: true }] : undefined,
    },
    spec: { accessModes: o.modes ?? ['ReadWriteOnce'], storageClassName: o.cls, volumeName: o.volumeName },
    status: { phase: o.bound ? 'Bound' : 'Pending' },
  };
}

function volume(name: string, o: { labels?: Record<string, string>; affinity?: { key: string; values: string[] }[] } = {}): PersistentVolume {
  return {
    metadata: { name, labels: o.labels },
    spec: o.affinity ? { nodeAffinity: { required: { nodeSelectorTerms: o.affinity.map((a) => ({ matchExpressions: [{ key: a.key, operator: 'In', values: a.values }] })) } } } : {},
  };
}

const sc = (name: string, mode: string): StorageClass => ({ metadata: { name }, provisioner: 'example.com/csi', volumeBindingMode: mode });
const pvcVol = (claimName: string, name = 'data'): Volume => ({ name, persistentVolumeClaim: { claimName } });
const withVolumes = (name: string, volumes: Volume[], extra: Parameters<typeof pod>[1] = {}): Pod => pod(name, { ...extra, spec: { ...extra.spec, volumes } });

function snapshot(nodes: Node[], opts: { pods?: Pod[]; pvcs?: PersistentVolumeClaim[]; pvs?: PersistentVolume[]; classes?: StorageClass[] } = {}): Snapshot {
  const s = Snapshot.from(nodes, opts.pods ?? []);
  for (const c of opts.pvcs ?? []) s.volumes.upsertPVC(c);
  for (const v of opts.pvs ?? []) s.volumes.upsertPV(v);
  for (const c of opts.classes ?? []) s.volumes.upsertStorageClass(c);
  return s;
}

function message(s: Snapshot, p: Pod): string {
  const r = schedulePod(s, p, { seed: 1 });
  if ('node' in r) throw new Error(`scheduled on ${r.node}`);
  return r.error.message;
}

const zoned = (name: string, zone: string) => node(name, { labels: { [ZONE]: zone } });

describe('VolumeBinding', () => {
  it('a missing PVC rejects the pod before any node is looked at', () => {
    const s = snapshot([node('a'), node('b')]);
    expect(message(s, withVolumes('p', [pvcVol('data')]))).toBe(`0/2 nodes are available: persistentvolumeclaim "data" not found. ${NOT_HELPFUL(2)}`);
  });

  it('a PVC of another namespace does not count', () => {
    const s = snapshot([node('a')], { pvcs: [claim('data', { ns: 'other' })] });
    expect(whyNot(s, withVolumes('p', [pvcVol('data')]), 'a')).toEqual(['persistentvolumeclaim "data" not found']);
  });

  it.each([
    ['no storage class', claim('c')],
    ['an Immediate class', claim('c', { cls: 'fast' })],
    ['a class that does not exist', claim('c', { cls: 'missing' })],
    ['WaitForFirstConsumer but pre-bound to a volume (volumeName without bind-completed)', claim('c', { cls: 'wffc', volumeName: 'pv1' })],
  ])('an unbound claim with %s is unschedulable', (_n, c) => {
    const s = snapshot([node('a'), node('b'), node('c')], { pvcs: [c], classes: [sc('fast', 'Immediate'), sc('wffc', 'WaitForFirstConsumer')], pvs: [volume('pv1')] });
    expect(message(s, withVolumes('p', [pvcVol('c')]))).toBe(`0/3 nodes are available: ${UNBOUND}. ${NOT_HELPFUL(3)}`);
  });

  it('an unbound WaitForFirstConsumer claim of a class that provisions fits every node', () => {
    const s = snapshot([node('a'), node('b')], { pvcs: [claim('c', { cls: 'wffc' })], classes: [sc('wffc', 'WaitForFirstConsumer')] });
    const p = withVolumes('p', [pvcVol('c')]);
    expect([whyNot(s, p, 'a'), whyNot(s, p, 'b')]).toEqual([[], []]);
    expect(volumeBindings(s.volumes, p, {})).toEqual([{ pvc: s.volumes.pvc('default', 'c'), pv: undefined }]);
  });

  it('without a provisioner, each claim needs its own free local volume that fits on the node', () => {
    const local = (name: string, size: string, host: string, o: { cls?: string; phase?: string } = {}): PersistentVolume => ({
      metadata: { name },
      spec: { storageClassName: o.cls ?? 'local', capacity: { storage: size }, accessModes: ['ReadWriteOnce'], nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOST, operator: 'In', values: [host] }] }] } } },
      status: { phase: o.phase ?? 'Available' },
    });
    const sized = (name: string, size: string): PersistentVolumeClaim => ({ ...claim(name, { cls: 'local' }), spec: { ...claim(name, { cls: 'local' }).spec, resources: { requests: { storage: size } } } });
    const noProvisioner: StorageClass = { metadata: { name: 'local' }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer' };
    const pvs = [local('a-1g', '1Gi', 'a'), local('b-5g', '5Gi', 'b'), local('b-2g', '2Gi', 'b'), local('c-10g', '10Gi', 'c', { phase: 'Released' }), local('c-other', '10Gi', 'c', { cls: 'other' })];
    const s = snapshot([node('a'), node('b'), node('c')], { pvcs: [sized('one', '2Gi'), sized('two', '2Gi')], pvs, classes: [noProvisioner] });
    const one = withVolumes('p', [pvcVol('one')]);
    expect(whyNot(s, one, 'a')).toEqual(["node(s) didn't find available persistent volumes to bind"]);
    expect(whyNot(s, one, 'b')).toEqual([]);
    expect(whyNot(s, one, 'c')).toEqual(["node(s) didn't find available persistent volumes to bind"]);
    // The smallest that fits; a second claim of the same pod takes the next one.
    const both = withVolumes('p', [pvcVol('one', 'x'), pvcVol('two', 'y')]);
    expect(volumeBindings(s.volumes, both, node('b').metadata.labels ?? {})?.map((b) => b.pv?.metadata.name)).toEqual(['b-2g', 'b-5g']);
    // A volume chosen for another pod's claim is not free until that binding fails.
    s.volumes.assumeVolume('b-2g', 'default/elsewhere');
    s.volumes.assumeVolume('b-5g', 'default/elsewhere-too');
    expect(message(s, one)).toBe(`0/3 nodes are available: 3 node(s) didn't find available persistent volumes to bind. ${NOT_HELPFUL(3)}`);
    s.volumes.forgetVolume('b-5g');
    expect(schedulePod(s, one, { seed: 1 })).toMatchObject({ node: 'b' });
  });

  it('claims that are lost, being deleted, or missing for an ephemeral volume', () => {
    const s = snapshot([node('a')], {
      pvcs: [{ ...claim('lost', { volumeName: 'gone' }), status: { phase: 'Lost' } }, claim('old', { deleting: true }), claim('p-scratch', { owner: 'someone-else' })],
    });
    expect(whyNot(s, withVolumes('p', [pvcVol('lost')]), 'a')).toEqual(['persistentvolumeclaim "lost" bound to non-existent persistentvolume "gone"']);
    expect(whyNot(s, withVolumes('p', [pvcVol('old')]), 'a')).toEqual(['persistentvolumeclaim "old" is being deleted']);
    expect(whyNot(s, withVolumes('q', [{ name: 'scratch', ephemeral: {} }]), 'a')).toEqual(['waiting for ephemeral volume controller to create the persistentvolumeclaim "q-scratch"']);
    const p = withVolumes('p', [{ name: 'scratch', ephemeral: {} }]);
    expect(whyNot(s, p, 'a')).toEqual(['PVC default/p-scratch was not created for pod default/p (pod is not owner)']);
  });

  it('a bound volume with node affinity allows only matching nodes', () => {
    const s = snapshot([zoned('a', 'z1'), zoned('b', 'z2'), zoned('c', 'z2')], {
      pvcs: [claim('c', { volumeName: 'pv1', bound: true })],
      pvs: [volume('pv1', { affinity: [{ key: ZONE, values: ['z1'] }] })],
    });
    const p = withVolumes('p', [pvcVol('c')]);
    expect([whyNot(s, p, 'a'), whyNot(s, p, 'b')]).toEqual([[], [NODE_CONFLICT]]);
    const r = schedulePod(s, p, { seed: 3 });
    expect('node' in r && r.node).toBe('a');
    s.removeNode('a');
    expect(message(s, p)).toBe(`0/2 nodes are available: 2 ${NODE_CONFLICT}. ${NOT_HELPFUL(2)}`);
  });

  it('a local volume (hostname In) narrows the nodes in PreFilter', () => {
    const s = snapshot([node('n1', { unschedulable: true }), node('n2'), node('n3')], {
      pvcs: [claim('c', { volumeName: 'pv1', bound: true }), claim('d', { volumeName: 'pv2', bound: true })],
      pvs: [volume('pv1', { affinity: [{ key: HOST, values: ['n1'] }] }), volume('pv2', { affinity: [{ key: HOST, values: ['n2'] }] })],
    });
    expect(message(s, withVolumes('p', [pvcVol('c')]))).toBe(
      `0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't satisfy plugin(s) [VolumeBinding]. ${NOT_HELPFUL(3)}`,
    );
    expect(message(s, withVolumes('p', [pvcVol('c'), pvcVol('d', 'more')]))).toBe(`0/3 nodes are available: node(s) didn't satisfy plugin VolumeBinding. ${NOT_HELPFUL(3)}`);
  });

  it('a claim bound to a volume that does not exist', () => {
    const s = snapshot([node('a')], { pvcs: [claim('c', { volumeName: 'pv9', bound: true })] });
    expect(message(s, withVolumes('p', [pvcVol('c')]))).toBe(`0/1 nodes are available: persistentvolume "pv9" not found. ${NOT_HELPFUL(1)}`);
  });
});

describe('VolumeRestrictions', () => {
  const nodes = [node('a'), node('b')];
  const rwop = claim('c', { modes: ['ReadWriteOncePod'], cls: 'wffc' });
  const classes = [sc('wffc', 'WaitForFirstConsumer')];

  it('a ReadWriteOncePod claim used by a scheduled pod fails on every node', () => {
    const s = snapshot(nodes, { pvcs: [rwop], classes, pods: [withVolumes('user', [pvcVol('c')], { node: 'b' })] });
    const p = withVolumes('p', [pvcVol('c')]);
    expect([whyNot(s, p, 'a'), whyNot(s, p, 'b')]).toEqual([[RWOP], [RWOP]]);
    expect(message(s, p)).toMatch(new RegExp(`^0/2 nodes are available: 2 ${RWOP}\\. preemption: `));
  });

  it('is free again once the user is gone or finished, and users in other namespaces do not count', () => {
    const s = snapshot(nodes, { pvcs: [rwop], classes, pods: [withVolumes('user', [pvcVol('c')], { node: 'b', ns: 'other' })] });
    const p = withVolumes('p', [pvcVol('c')]);
    expect(whyNot(s, p, 'a')).toEqual([]);
    s.upsertPod(withVolumes('user', [pvcVol('c')], { node: 'b' }));
    expect(whyNot(s, p, 'a')).toEqual([RWOP]);
    s.upsertPod(withVolumes('user', [pvcVol('c')], { node: 'b', phase: 'Succeeded' }));
    expect(whyNot(s, p, 'a')).toEqual([]);
  });

  it('a ReadWriteOnce claim may be shared', () => {
    const s = snapshot(nodes, { pvcs: [claim('c', { cls: 'wffc' })], classes, pods: [withVolumes('user', [pvcVol('c')], { node: 'b' })] });
    expect(whyNot(s, withVolumes('p', [pvcVol('c')]), 'b')).toEqual([]);
  });

  it('preemption evicts the lower-priority user of the claim', () => {
    const s = snapshot(nodes, { pvcs: [rwop], classes, pods: [withVolumes('user', [pvcVol('c')], { node: 'b', priority: 1 })] });
    const r = schedulePod(s, withVolumes('p', [pvcVol('c')], { priority: 100 }), { seed: 1 });
    expect('error' in r && { node: r.nominatedNode, victims: r.victims?.map((v) => v.metadata.name) }).toEqual({ node: 'b', victims: ['user'] });
  });

  it('the same in-tree disk read-write on one node conflicts', () => {
    const gce = (readOnly: boolean): Volume => ({ name: 'd', gcePersistentDisk: { pdName: 'disk-1', readOnly } });
    const s = snapshot(nodes, { pods: [withVolumes('user', [gce(false)], { node: 'a' }), withVolumes('reader', [gce(true)], { node: 'b' })] });
    expect([whyNot(s, withVolumes('p', [gce(false)]), 'a'), whyNot(s, withVolumes('p', [gce(false)]), 'b')]).toEqual([[DISK], [DISK]]);
    expect(whyNot(s, withVolumes('p', [gce(true)]), 'b')).toEqual([]);
    expect(whyNot(s, withVolumes('p', [{ name: 'd', awsElasticBlockStore: { volumeID: 'vol-9' } }]), 'a')).toEqual([]);
  });
});

describe('VolumeZone', () => {
  const nodes = [zoned('a', 'z1'), zoned('b', 'z2'), node('plain'), node('beta', { labels: { 'failure-domain.beta.kubernetes.io/zone': 'z2' } })];

  it('a bound volume labelled with a zone allows only nodes of that zone (nodes without zone labels pass)', () => {
    const s = snapshot(nodes, { pvcs: [claim('c', { volumeName: 'pv1', bound: true })], pvs: [volume('pv1', { labels: { [ZONE]: 'z1' } })] });
    const p = withVolumes('p', [pvcVol('c')]);
    const got = Object.fromEntries(['a', 'b', 'plain', 'beta'].map((n) => [n, whyNot(s, p, n)]));
    expect(got).toEqual({ a: [], b: [NO_ZONE], plain: [], beta: [NO_ZONE] });
  });

  it('multi-zone values (a__b) and beta labels on the volume', () => {
    const s = snapshot(nodes, {
      pvcs: [claim('c', { volumeName: 'pv1', bound: true })],
      pvs: [volume('pv1', { labels: { 'failure-domain.beta.kubernetes.io/zone': 'z2__z3' } })],
    });
    const p = withVolumes('p', [pvcVol('c')]);
    expect([whyNot(s, p, 'a'), whyNot(s, p, 'b'), whyNot(s, p, 'beta')]).toEqual([[NO_ZONE], [], []]);
  });
});
