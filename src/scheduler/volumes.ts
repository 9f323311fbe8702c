// The storage objects the volume plugins read (PersistentVolumeClaims, PersistentVolumes,
// StorageClasses), kept by the snapshot from informers, and the small helpers upstream's
// volume code uses to interpret them.
import { storageClassOf, storageOf } from '../api/storage-class.ts';
import { compileLabelSelector, matchNodeSelector } from './labels.ts';
import type { CSINode, Labels, PersistentVolume, PersistentVolumeClaim, Pod, StorageClass, Volume } from './types.ts';

/** Set by the PV controller once a claim is bound to its volume. */
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';

export class VolumeStore {
  /** `namespace/name` → claim. */
  private readonly pvcs = new Map<string, PersistentVolumeClaim>();
  private readonly pvs = new Map<string, PersistentVolume>();
  private readonly classes = new Map<string, StorageClass>();
  private readonly csiNodes = new Map<string, CSINode>();

  csiNode(name: string): CSINode | undefined {
    return this.csiNodes.get(name);
  }

  upsertCSINode(n: CSINode): void {
    this.csiNodes.set(n.metadata.name ?? '', n);
  }

  removeCSINode(name: string): void {
    this.csiNodes.delete(name);
  }

  pvc(namespace: string, name: string): PersistentVolumeClaim | undefined {
    return this.pvcs.get(`${namespace}/${name}`);
  }

  pv(name: string): PersistentVolume | undefined {
    return this.pvs.get(name);
  }

  storageClass(name: string): StorageClass | undefined {
    return this.classes.get(name);
  }

  upsertPVC(pvc: PersistentVolumeClaim): void {
    this.pvcs.set(`${pvc.metadata.namespace ?? 'default'}/${pvc.metadata.name ?? ''}`, pvc);
  }

  removePVC(namespace: string, name: string): void {
    this.pvcs.delete(`${namespace}/${name}`);
  }

  upsertPV(pv: PersistentVolume): void {
    const name = pv.metadata.name ?? '';
    this.pvs.set(name, pv);
    // Once the API shows the volume taken, the assumption has served its purpose.
    if (pv.spec?.claimRef?.uid) this.assumed.delete(name);
  }

  removePV(name: string): void {
    this.pvs.delete(name);
    this.assumed.delete(name);
  }

  /** Volumes chosen for a claim (`namespace/name`) by a decision whose binding is under way. */
  private readonly assumed = new Map<string, string>();

  assumeVolume(pvName: string, claimKey: string): void {
    this.assumed.set(pvName, claimKey);
  }

  forgetVolume(pvName: string): void {
    this.assumed.delete(pvName);
  }

  /**
   * upstream's FindMatchingVolume for one node: a volume of the claim's class that is free (or
   * pre-bound to the claim), not chosen for another claim, large enough, with the access modes,
   * volume mode and labels asked for, whose node affinity admits the node; one pre-bound to the
   * claim wins at once, else the smallest. `taken` are volumes this pod's other claims chose.
   */
  matchingVolume(pvc: PersistentVolumeClaim, nodeLabels: Labels, taken: ReadonlySet<string>): PersistentVolume | undefined {
    const ns = pvc.metadata.namespace ?? 'default';
    const name = pvc.metadata.name ?? '';
    const key = `${ns}/${name}`;
    const want = storageOf(pvc.spec?.resources?.requests);
    const cls = storageClassOf(pvc);
    const modes = pvc.spec?.accessModes ?? [];
    const selector = pvc.spec?.selector ? compileLabelSelector(pvc.spec.selector) : null;
    const asNode = { metadata: { labels: nodeLabels } };
    let best: PersistentVolume | undefined;
    let bestSize = 0n;
    for (const [pvName, pv] of this.pvs) {
      if (storageClassOf(pv) !== cls || taken.has(pvName) || pv.metadata.deletionTimestamp) continue;
      const ref = pv.spec?.claimRef;
      const mine = !!ref && ref.name === name && (ref.namespace ?? '') === ns && (!ref.uid || ref.uid === pvc.metadata.uid);
      if (ref && !mine) continue;
      const holder = this.assumed.get(pvName);
      if (holder !== undefined && holder !== key) continue;
      const size = storageOf(pv.spec?.capacity);
      if (size < want || (pv.spec?.volumeMode ?? 'Filesystem') !== (pvc.spec?.volumeMode ?? 'Filesystem')) continue;
      if (!modes.every((m) => (pv.spec?.accessModes ?? []).includes(m))) continue;
      const req = pv.spec?.nodeAffinity?.required;
      if (req && !matchNodeSelector(req, asNode)) continue;
      if (mine) return pv;
      if (pv.status?.phase !== 'Available' || (selector && !selector.matches(pv.metadata.labels))) continue;
      if (!best || size < bestSize) {
        best = pv;
        bestSize = size;
      }
    }
    return best;
  }

  upsertStorageClass(sc: StorageClass): void {
    this.classes.set(sc.metadata.name ?? '', sc);
  }

  removeStorageClass(name: string): void {
    this.classes.delete(name);
  }
}

/** storagehelpers.GetPersistentVolumeClaimClass: the beta annotation wins over the field. */

/** isPVCFullyBound: a volume name and the PV controller's bind-completed annotation. */
export function isFullyBound(pvc: PersistentVolumeClaim): boolean {
  return !!pvc.spec?.volumeName && pvc.metadata.annotations?.[ANN_BIND_COMPLETED] !== undefined;
}

/**
 * volume.IsDelayBindingMode: the claim's class exists and binds WaitForFirstConsumer. No class,
 * or a class that does not exist, means Immediate. (The API defaults volumeBindingMode to
 * Immediate, so an unset mode — an error upstream — is read as Immediate.)
 */
export function isDelayBinding(pvc: PersistentVolumeClaim, store: VolumeStore): boolean {
  const name = storageClassOf(pvc);
  if (name === '') return false;
  return store.storageClass(name)?.volumeBindingMode === 'WaitForFirstConsumer';
}

/** The claim behind a volume: its claimName, or `<pod>-<volume>` for a generic ephemeral volume. */
export function volumeClaim(pod: Pod, v: Volume): { name: string; ephemeral: boolean } | null {
  if (v.persistentVolumeClaim) return { name: v.persistentVolumeClaim.claimName, ephemeral: false };
  if (v.ephemeral) return { name: `${pod.metadata.name ?? ''}-${v.name}`, ephemeral: true };
  return null;
}

/** ephemeral.VolumeIsForPod: the claim of an ephemeral volume must be controlled by the pod. */
export function ephemeralClaimError(pod: Pod, pvc: PersistentVolumeClaim): string | null {
  const owner = (pvc.metadata.ownerReferences ?? []).find((o) => o.controller);
  const ns = pod.metadata.namespace ?? 'default';
  if ((pvc.metadata.namespace ?? 'default') === ns && owner && owner.uid === pod.metadata.uid) return null;
  return `PVC ${pvc.metadata.namespace ?? 'default'}/${pvc.metadata.name ?? ''} was not created for pod ${ns}/${pod.metadata.name ?? ''} (pod is not owner)`;
}

/**
 * util.GetLocalPersistentVolumeNodeNames: the node names a PV's required node affinity pins it
 * to with `kubernetes.io/hostname In`; null when there are none.
 */
export function localVolumeNodeNames(pv: PersistentVolume): Set<string> | null {
  const req = pv.spec?.nodeAffinity?.required;
  if (!req) return null;
  const out = new Set<string>();
  for (const t of req.nodeSelectorTerms ?? []) {
    let nodes: Set<string> | null = null;
    for (const e of t.matchExpressions ?? []) {
      if (e.key !== 'kubernetes.io/hostname' || e.operator !== 'In') continue;
      const vals = new Set(e.values ?? []);
      nodes = nodes === null ? vals : intersect(nodes, vals);
    }
    for (const n of nodes ?? []) out.add(n);
  }
  return out.size === 0 ? null : out;
}

export function intersect(a: Set<string>, b: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const x of a) if (b.has(x)) out.add(x);
  return out;
}
