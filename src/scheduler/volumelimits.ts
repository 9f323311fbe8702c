// NodeVolumeLimits (upstream's CSILimits): a node whose CSINode gives a driver an allocatable
// count takes no pod whose new volumes of that driver would bring the node past it. Volumes are
// told apart by driver and volume handle, so a volume shared by pods on the node counts once; a
// claim not bound yet counts by its StorageClass's provisioner. Volumes of in-tree plugins
// migrated to CSI, and VolumeAttachments, are not counted.
import type { NodeInfo, Snapshot } from './snapshot.ts';
import type { Pod } from './types.ts';
import { storageClassOf } from '../api/storage-class.ts';
import { ephemeralClaimError, volumeClaim, type VolumeStore } from './volumes.ts';

export const ERR_MAX_VOLUME_COUNT = 'node(s) exceed max volume count';

/** Whether the plugin has anything to check for the pod (its PreFilter does not skip). */
export function hasLimitedVolumes(pod: Pod): boolean {
  return (pod.spec.volumes ?? []).some((v) => !!v.persistentVolumeClaim || !!v.ephemeral);
}

/**
 * filterAttachableVolumes: the pod's CSI volumes, unique name (`driver/handle`) → driver. A
 * claim that does not exist, or an ephemeral claim that is not the pod's, is not counted.
 */
export function attachableVolumes(pod: Pod, store: VolumeStore, into = new Map<string, string>()): Map<string, string> {
  const ns = pod.metadata.namespace ?? 'default';
  for (const v of pod.spec.volumes ?? []) {
    const claim = volumeClaim(pod, v);
    if (claim === null || claim.name === '') continue;
    const pvc = store.pvc(ns, claim.name);
    if (!pvc || (claim.ephemeral && ephemeralClaimError(pod, pvc) !== null)) continue;
    let driver = '';
    let handle = '';
    const pv = pvc.spec?.volumeName ? store.pv(pvc.spec.volumeName) : undefined;
    if (pv) {
      driver = pv.spec?.csi?.driver ?? '';
      handle = pv.spec?.csi?.volumeHandle ?? '';
    } else {
      // Not bound (or its volume not seen yet): the class's provisioner will make it.
      const sc = store.storageClass(storageClassOf(pvc));
      if (sc?.provisioner) {
        driver = sc.provisioner;
        handle = `unbound-${ns}/${pvc.metadata.name ?? ''}`;
      }
    }
    if (driver !== '' && handle !== '') into.set(`${driver}/${handle}`, driver);
  }
  return into;
}

/** The node's CSI attach limits, driver → count; empty when it has none. */
function limitsOf(store: VolumeStore, node: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of store.csiNode(node)?.spec?.drivers ?? []) {
    const count = d.allocatable?.count;
    if (typeof count === 'number') out.set(d.name, count);
  }
  return out;
}

/** The Filter: null when the pod's new volumes fit the node's limits. */
export function filterVolumeLimits(snap: Snapshot, newVolumes: Map<string, string>, node: NodeInfo): string | null {
  if (newVolumes.size === 0) return null;
  const limits = limitsOf(snap.volumes, node.name);
  if (limits.size === 0) return null;
  const attached = new Map<string, string>();
  for (const p of node.pods) attachableVolumes(p.pod, snap.volumes, attached);
  const attachedCount = new Map<string, number>();
  for (const driver of attached.values()) attachedCount.set(driver, (attachedCount.get(driver) ?? 0) + 1);
  const newCount = new Map<string, number>();
  for (const [name, driver] of newVolumes) if (!attached.has(name)) newCount.set(driver, (newCount.get(driver) ?? 0) + 1);
  for (const [driver, n] of newCount) {
    const max = limits.get(driver);
    if (max !== undefined && (attachedCount.get(driver) ?? 0) + n > max) return ERR_MAX_VOLUME_COUNT;
  }
  return null;
}
