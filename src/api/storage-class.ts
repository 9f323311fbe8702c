// StorageClass and claim helpers that the API server's DefaultStorageClass admission and the PV
// controller share (upstream's GetDefaultClass and "has a class" test), and the names of the
// in-use protection finalizers.
import type { KubeObject } from './object.ts';

export const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION = 'kubernetes.io/pv-protection';
const ANN_CLASS = 'volume.beta.kubernetes.io/storage-class';
const ANN_DEFAULT = 'storageclass.kubernetes.io/is-default-class';
const ANN_DEFAULT_BETA = 'storageclass.beta.kubernetes.io/is-default-class';

export function isDefaultClass(sc: KubeObject): boolean {
  const a = sc.metadata?.annotations ?? {};
  return a[ANN_DEFAULT] === 'true' || a[ANN_DEFAULT_BETA] === 'true';
}

/** The default class among `classes`: newest first, then by name (upstream's GetDefaultClass). */
export function defaultClass(classes: KubeObject[]): KubeObject | undefined {
  let best: KubeObject | undefined;
  for (const sc of classes) {
    if (!isDefaultClass(sc)) continue;
    if (!best) {
      best = sc;
      continue;
    }
    const a = Date.parse(sc.metadata?.creationTimestamp ?? '') || 0;
    const b = Date.parse(best.metadata?.creationTimestamp ?? '') || 0;
    if (a > b || (a === b && (sc.metadata?.name ?? '') < (best.metadata?.name ?? ''))) best = sc;
  }
  return best;
}

/** Whether the claim names a class, even "" (upstream's "has a class" test). */
export function claimNamesClass(pvc: KubeObject): boolean {
  const cls = (pvc.spec as { storageClassName?: string | null } | undefined)?.storageClassName;
  return pvc.metadata?.annotations?.[ANN_CLASS] !== undefined || (cls !== undefined && cls !== null);
}
