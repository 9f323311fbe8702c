// NodeVolumeLimits: CSINode allocatable counts against the CSI volumes of the pods on a node.
import { describe, expect, it } from 'vitest';
import { whyNot } from './filters.ts';
import { schedulePod } from './schedule.ts';
import { Snapshot } from './snapshot.ts';
import { node, pod } from './testutil.ts';
import type { CSINode, Node, PersistentVolume, PersistentVolumeClaim, Pod, StorageClass, Volume } from './types.ts';
import { ANN_BIND_COMPLETED } from './volumes.ts';
import { ERR_MAX_VOLUME_COUNT } from './volumelimits.ts';

const DRIVER = 'ebs.csi.example.com';

const boundClaim = (name: string, volumeName: string): PersistentVolumeClaim => ({
  metadata: { name, namespace: 'default', annotations: { [ANN_BIND_COMPLETED]: 'yes' } },
  spec: { accessModes: ['ReadWriteOnce'], volumeName },
  status: { phase: 'Bound' },
});
const unboundClaim = (name: string, cls: string): PersistentVolumeClaim => ({ metadata: { name, namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: cls }, status: { phase: 'Pending' } });
const csiVolume = (name: string, driver = DRIVER): PersistentVolume => ({ metadata: { name }, spec: { csi: { driver, volumeHandle: `vol-${name}` } } });
const csiNode = (name: string, count: number, driver = DRIVER): CSINode => ({ metadata: { name }, spec: { drivers: [{ name: driver, allocatable: { count } }] } });
const claimVols = (...claims: string[]): Volume[] => claims.map((c, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: c } }));
const withVolumes = (name: string, volumes: Volume[], nodeName?: string): Pod => pod(name, { spec: { volumes, ...(nodeName ? { nodeName } : {}) } });

function snapshot(nodes: Node[], o: { pods?: Pod[]; pvcs?: PersistentVolumeClaim[]; pvs?: PersistentVolume[]; csiNodes?: CSINode[]; classes?: StorageClass[] }): Snapshot {
  const s = Snapshot.from(nodes, o.pods ?? []);
  for (const c of o.pvcs ?? []) s.volumes.upsertPVC(c);
  for (const v of o.pvs ?? []) s.volumes.upsertPV(v);
  for (const c of o.classes ?? []) s.volumes.upsertStorageClass(c);
  for (const n of o.csiNodes ?? []) s.volumes.upsertCSINode(n);
  return s;
}

const claims = ['a', 'b', 'c', 'd'].map((n) => boundClaim(n, `pv-${n}`));
const volumes = ['a', 'b', 'c', 'd'].map((n) => csiVolume(`pv-${n}`));

describe('NodeVolumeLimits', () => {
  it('refuses a node whose driver limit the new volumes would pass, counting volumes already attached there', () => {
    const s = snapshot([node('n1'), node('n2')], { pods: [withVolumes('old', claimVols('a', 'b'), 'n1')], pvcs: claims, pvs: volumes, csiNodes: [csiNode('n1', 3), csiNode('n2', 3)] });
    expect(whyNot(s, withVolumes('new', claimVols('c', 'd')), 'n1')).toEqual([ERR_MAX_VOLUME_COUNT]);
    expect(whyNot(s, withVolumes('new', claimVols('c', 'd')), 'n2')).toEqual([]);
    expect(whyNot(s, withVolumes('one', claimVols('c')), 'n1')).toEqual([]);
  });

  it('counts a volume shared with a pod on the node once', () => {
    const s = snapshot([node('n1')], { pods: [withVolumes('old', claimVols('a', 'b'), 'n1')], pvcs: claims, pvs: volumes, csiNodes: [csiNode('n1', 2)] });
    expect(whyNot(s, withVolumes('reader', claimVols('a')), 'n1')).toEqual([]);
    expect(whyNot(s, withVolumes('more', claimVols('a', 'c')), 'n1')).toEqual([ERR_MAX_VOLUME_COUNT]);
  });

  it('applies no limit without a CSINode count, and counts only the limited driver', () => {
    const other = csiVolume('pv-x', 'nfs.csi.example.com');
    const s = snapshot([node('n1'), node('n2')], {
      pvcs: [...claims, boundClaim('x', 'pv-x')],
      pvs: [...volumes, other],
      csiNodes: [csiNode('n1', 1), { metadata: { name: 'n2' }, spec: { drivers: [{ name: DRIVER }] } }],
    });
    expect(whyNot(s, withVolumes('p', claimVols('a', 'b')), 'n2')).toEqual([]);
    expect(whyNot(s, withVolumes('p', claimVols('a', 'x')), 'n1')).toEqual([]);
  });

  it('counts an unbound claim by its class provisioner', () => {
    const cls: StorageClass = { metadata: { name: 'fast' }, provisioner: DRIVER, volumeBindingMode: 'WaitForFirstConsumer' };
    const s = snapshot([node('n1')], { pods: [withVolumes('old', claimVols('a'), 'n1')], pvcs: [...claims, unboundClaim('new-claim', 'fast')], pvs: volumes, classes: [cls], csiNodes: [csiNode('n1', 1)] });
    expect(whyNot(s, withVolumes('p', claimVols('new-claim')), 'n1')).toEqual([ERR_MAX_VOLUME_COUNT]);
  });

  it('explains in the FitError as upstream does', () => {
    const s = snapshot([node('n1'), node('n2')], { pods: [withVolumes('o1', claimVols('a'), 'n1'), withVolumes('o2', claimVols('b'), 'n2')], pvcs: claims, pvs: volumes, csiNodes: [csiNode('n1', 1), csiNode('n2', 1)] });
    const r = schedulePod(s, withVolumes('p', claimVols('c')), { seed: 1 });
    expect('error' in r && r.error.message).toMatch(/^0\/2 nodes are available: 2 node\(s\) exceed max volume count\./);
  });
});
