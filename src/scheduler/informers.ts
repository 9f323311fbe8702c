// The scheduler process's informers beyond nodes and pods: the storage objects the volume plugins
// read, and the workloads whose selectors default topology spreading uses.
import type { KubeObject } from '../api/object.ts';
import { Resources, type GVR } from '../client/resources.ts';
import { deletedObject, type SharedInformerFactory } from '../controllers/framework/informer.ts';
import { Indexers } from '../controllers/framework/store.ts';
import type { WorkloadListers } from './defaultspread.ts';
import type { CSINode, LabelSelectorOwner, PersistentVolume, PersistentVolumeClaim, ReplicationController, Service, StorageClass } from './types.ts';
import type { VolumeStore } from './volumes.ts';

const STORAGE_CLASSES: GVR = { group: 'storage.k8s.io', version: 'v1', resource: 'storageclasses', namespaced: false, kind: 'StorageClass' };
const CSI_NODES: GVR = { group: 'storage.k8s.io', version: 'v1', resource: 'csinodes', namespaced: false, kind: 'CSINode' };

/** Keeps `vols` in step with PVCs, PVs, StorageClasses and CSINodes; an add or update calls `changed`. */
export function watchVolumes(f: SharedInformerFactory, vols: VolumeStore, changed: () => void): void {
  const name = (x: unknown) => deletedObject(x as KubeObject).metadata?.name ?? '';
  f.informerFor<KubeObject>(Resources.persistentvolumeclaims).addEventHandler({
    onAdd: (o) => (vols.upsertPVC(o as unknown as PersistentVolumeClaim), changed()),
    onUpdate: (_o, o) => (vols.upsertPVC(o as unknown as PersistentVolumeClaim), changed()),
    onDelete: (x) => vols.removePVC(deletedObject(x).metadata?.namespace ?? '', name(x)),
  });
  f.informerFor<KubeObject>(Resources.persistentvolumes).addEventHandler({
    onAdd: (o) => (vols.upsertPV(o as unknown as PersistentVolume), changed()),
    onUpdate: (_o, o) => (vols.upsertPV(o as unknown as PersistentVolume), changed()),
    onDelete: (x) => vols.removePV(name(x)),
  });
  f.informerFor<KubeObject>(CSI_NODES).addEventHandler({
    onAdd: (o) => (vols.upsertCSINode(o as unknown as CSINode), changed()),
    onUpdate: (_o, o) => (vols.upsertCSINode(o as unknown as CSINode), changed()),
    onDelete: (x) => vols.removeCSINode(name(x)),
  });
  f.informerFor<KubeObject>(STORAGE_CLASSES).addEventHandler({
    onAdd: (o) => (vols.upsertStorageClass(o as unknown as StorageClass), changed()),
    onUpdate: (_o, o) => (vols.upsertStorageClass(o as unknown as StorageClass), changed()),
    onDelete: (x) => vols.removeStorageClass(name(x)),
  });
}

/** Services, ReplicationControllers, ReplicaSets and StatefulSets, read from informer stores. */
export function workloadListers(f: SharedInformerFactory): WorkloadListers {
  const services = f.informerFor<KubeObject>(Resources.services, {}, { namespace: Indexers.namespace });
  const rcs = f.informerFor<KubeObject>(Resources.replicationcontrollers);
  const rss = f.informerFor<KubeObject>(Resources.replicasets);
  const sss = f.informerFor<KubeObject>(Resources.statefulsets);
  return {
    services: (ns) => services.store.byIndex('namespace', ns) as unknown as Service[],
    replicationController: (ns, n) => rcs.store.get(ns, n) as unknown as ReplicationController | undefined,
    replicaSet: (ns, n) => rss.store.get(ns, n) as unknown as LabelSelectorOwner | undefined,
    statefulSet: (ns, n) => sss.store.get(ns, n) as unknown as LabelSelectorOwner | undefined,
  };
}
