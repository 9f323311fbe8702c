// The storage objects the volume plugins read (PersistentVolumeClaims, PersistentVolumes,
// StorageClasses), kept by the snapshot from informers, and the small helpers upstream's
// volume code uses to interpret them.
import type { CSINode, PersistentVolume, PersistentVolumeClaim, Pod, StorageClass, Volume } from './types.ts';

/** Set by the PV controller once a claim is bound to its volume. */
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
const ANN_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';

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
    this.pvs.set(pv.metadata.name ?? '', pv);
  }

  removePV(name: string): void {
    this.pvs.delete(name);
  }

  upsertStorageClass(sc: StorageClass): void {
    this.classes.set(sc.metadata.name ?? '', sc);
  }

  removeStorageClass(name: string): void {
    this.classes.delete(name);
  }
}

/** storagehelpers.GetPersistentVolumeClaimClass: the beta annotation wins over the field. */
export function claimClass(pvc: PersistentVolumeClaim): string {
  const ann = pvc.metadata.annotations?.[ANN_STORAGE_CLASS];
  if (ann !== undefined) return ann;
  return pvc.spec?.storageClassName ?? '';
}

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
  const name = claimClass(pvc);
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
