// Storage admission of new claims and volumes, as upstream's plugins:
// - DefaultStorageClass: a claim that names no class (spec.storageClassName unset or null, and no
//   beta class annotation) gets the default StorageClass, the one annotated
//   storageclass.kubernetes.io/is-default-class (or the beta key) "true"; among several, the
//   newest, then the first by name. `storageClassName: ""` means "no class" and stays.
// - StorageObjectInUseProtection: the finalizers the protection controllers remove once a claim
//   is used by no pod, or a volume is no longer bound (src/controllers/volumes).
import type { KubeObject } from '../../api/object.ts';
import { claimNamesClass, defaultClass } from '../../api/storage-class.ts';
import type { Registries } from '../registries.ts';

export { PV_PROTECTION, PVC_PROTECTION } from '../../api/storage-class.ts';

/** DefaultStorageClass admission of a new claim. */
export function admitDefaultStorageClass(regs: Registries, pvc: KubeObject): void {
  if (claimNamesClass(pvc)) return;
  const reg = regs.get('storage.k8s.io', 'v1', 'storageclasses');
  if (!reg) return;
  const sc = defaultClass(reg.cache.list({ namespace: '', matches: () => true }).map((e) => e.obj));
  if (sc) ((pvc.spec ??= {}) as { storageClassName?: string }).storageClassName = sc.metadata?.name;
}
