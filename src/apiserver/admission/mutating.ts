// The mutating admission plugins of new objects, by resource: Priority (pods; and one global
// default PriorityClass), DefaultStorageClass
// and StorageObjectInUseProtection (claims and volumes). Run by the generic store after defaults
// and managedFields, before validation (so, as upstream, what they set is owned by no manager).
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

/** The mutating admission of a new object of this resource, or undefined when none applies. */
export function mutatingAdmission(regs: Registries, info: ResourceInfo): ((obj: KubeObject) => Promise<void>) | undefined {
  if (info.group === 'scheduling.k8s.io' && info.resource === 'priorityclasses') return async (obj) => admitPriorityClass(regs, obj);
  if (info.group !== '') return undefined;
  switch (info.resource) {
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
