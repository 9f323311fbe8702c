// Strategies of PersistentVolume and PersistentVolumeClaim: upstream's defaults (reclaim policy
// Retain, volumeMode Filesystem) and a new object's status, which the client does not choose: a
// claim starts Pending, a volume Pending with the time of that phase (the PV controller moves it
// on to Available or Bound).
import { nowRfc3339 } from '../../api/object.ts';
import { specOf } from './spec.ts';
import { registerStrategy, type Strategy } from '../strategy.ts';

registerStrategy('/PersistentVolume', (base: Strategy): Strategy => ({
  ...base,
  prepareForCreate(obj) {
    const spec = specOf(obj);
    spec.persistentVolumeReclaimPolicy ??= 'Retain';
    spec.volumeMode ??= 'Filesystem';
    obj.status = { phase: 'Pending', lastPhaseTransitionTime: nowRfc3339() };
  },
  prepareForUpdate(obj, old) {
    base.prepareForUpdate(obj, old);
    const spec = specOf(obj);
    spec.persistentVolumeReclaimPolicy ??= 'Retain';
    spec.volumeMode ??= 'Filesystem';
  },
}));

registerStrategy('/PersistentVolumeClaim', (base: Strategy): Strategy => ({
  ...base,
  prepareForCreate(obj) {
    specOf(obj).volumeMode ??= 'Filesystem';
    obj.status = { phase: 'Pending' };
  },
  prepareForUpdate(obj, old) {
    base.prepareForUpdate(obj, old);
    specOf(obj).volumeMode ??= 'Filesystem';
  },
}));
