// StorageClass and claim helpers that the API server's DefaultStorageClass admission, the PV
// controller and the scheduler share (upstream's GetDefaultClass and "has a class" test, the
// storage size of a request or capacity), and the names of the in-use protection finalizers.
import type { KubeObject } from './object.ts';
import { parseQuantity } from './quantity/parse.ts';

export const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION = 'kubernetes.io/pv-protection';
const ANN_CLASS = 'volume.beta.kubernetes.io/storage-class';
const ANN_DEFAULT = 'storageclass.kubernetes.io/is-default-class';
const ANN_DEFAULT_BETA = 'storageclass.beta.kubernetes.io/is-default-class';

interface ClassHolder {
  metadata?: { annotations?: Record<string, string> };
  spec?: { storageClassName?: string | null } | null;
}

/** A claim's or a volume's class: the beta annotation wins over the field ('' when neither is set). */
export function storageClassOf(o: ClassHolder): string {
  return o.metadata?.annotations?.[ANN_CLASS] ?? o.spec?.storageClassName ?? '';
}

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

/** The `storage` quantity of a resource list (a claim's requests, a volume's capacity) in nano-units; 0 when absent or unreadable. */
export function storageOf(list: Record<string, string | number> | null | undefined): bigint {
  const v = list?.storage;
  if (v === undefined) return 0n;
  try {
    return parseQuantity(v);
  } catch {
    return 0n;
  }
}
