// The admission plugins of k8ts by resource, besides ResourceQuota: Priority (pods get their
// priority; only one PriorityClass may be the global default, on create and update),
// DefaultStorageClass and StorageObjectInUseProtection (claims and volumes). What they do to new
// objects runs in the generic store after defaults and managedFields, before validation (so, as
// upstream, what they set is owned by no manager).
import type { KubeObject } from '../../api/object.ts';
import type { ResourceInfo } from '../../registry/catalog.ts';
import type { Registries } from '../registries.ts';
import { admitPodPriority, admitPriorityClass } from './priority.ts';
import { admitDefaultStorageClass, PV_PROTECTION, PVC_PROTECTION } from './storage.ts';

function addFinalizer(obj: KubeObject, finalizer: string): void {
  const m = (obj.metadata ??= {});
  const list = (m.finalizers ??= []);
  if (!list.includes(finalizer)) list.push(finalizer);
}

export interface AdmissionPlugins {
  /** A new object (may change it, or refuse it by throwing). */
  mutateCreate?: (obj: KubeObject) => Promise<void>;
  /** A change, after validation (refuses by throwing). */
  admitUpdate?: (next: KubeObject, old: KubeObject) => Promise<void>;
}

/** The plugins that act on writes of this resource (none for most). */
export function admissionPlugins(regs: Registries, info: ResourceInfo): AdmissionPlugins {
  if (info.group === 'scheduling.k8s.io' && info.resource === 'priorityclasses') {
    const check = async (obj: KubeObject) => admitPriorityClass(regs, obj);
    return { mutateCreate: check, admitUpdate: check };
  }
  return info.group === '' ? { mutateCreate: coreMutation(regs, info.resource) } : {};
}

function coreMutation(regs: Registries, resource: string): AdmissionPlugins['mutateCreate'] {
  switch (resource) {
    case 'pods':
      return (obj) => admitPodPriority(regs, obj);
    case 'persistentvolumeclaims':
      return async (obj) => {
        admitDefaultStorageClass(regs, obj);
        addFinalizer(obj, PVC_PROTECTION);
      };
    case 'persistentvolumes':
      return async (obj) => addFinalizer(obj, PV_PROTECTION);
    default:
      return undefined;
  }
}
