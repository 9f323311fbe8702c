// Strategies of PersistentVolume and PersistentVolumeClaim: upstream's defaults (reclaim policy
// Retain, volumeMode Filesystem), a new object's status, which the client does not choose (a
// claim starts Pending, a volume Pending with the time of that phase; the PV controller moves it
// on to Available or Bound), the checks the PV controller relies on (access modes, a storage
// request or capacity, one volume source) and a claim's spec fixed once made, but for its
// requests and the volume and class it may still be given.
import { isPlainObject, nowRfc3339, type KubeObject } from '../../api/object.ts';
import type { FieldError } from '../../api/status.ts';
import { deepEqual } from '../../api/patch/json-patch.ts';
import { parseQuantity } from '../../api/quantity/parse.ts';
import { specOf, type Obj } from './spec.ts';
import { registerStrategy, type Strategy } from '../strategy.ts';

const MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'];
const POLICIES = ['Delete', 'Recycle', 'Retain'];
/** The volume sources a PersistentVolume may name (one of them). */
const SOURCES = ['gcePersistentDisk', 'awsElasticBlockStore', 'hostPath', 'glusterfs', 'nfs', 'rbd', 'iscsi', 'cinder', 'cephfs', 'fc', 'flocker', 'flexVolume', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'local', 'storageos', 'csi'];

const quoted = (xs: string[]) => xs.map((x) => `"${x}"`).join(', ');

function accessModeErrors(modes: unknown, field: string): FieldError[] {
  if (!Array.isArray(modes) || modes.length === 0) return [{ type: 'FieldValueRequired', field, detail: 'Required value: at least 1 access mode is required' }];
  return modes.filter((m) => !MODES.includes(String(m))).map((m) => ({ type: 'FieldValueNotSupported', field, detail: `Unsupported value: "${String(m)}": supported values: ${quoted(MODES)}` }));
}

/** A storage quantity that must be there and above zero. */
function storageErrors(list: unknown, field: string): FieldError[] {
  const v = isPlainObject(list) ? list.storage : undefined;
  if (v === undefined || v === null) return [{ type: 'FieldValueRequired', field, detail: 'Required value' }];
  try {
    if (parseQuantity(v as string) <= 0n) return [{ type: 'FieldValueInvalid', field, detail: `Invalid value: "${String(v)}": must be greater than zero` }];
  } catch {
    return [{ type: 'FieldValueInvalid', field, detail: `Invalid value: "${String(v)}": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'` }];
  }
  return [];
}

function validatePV(obj: KubeObject): FieldError[] {
  const spec = specOf(obj);
  const errs = [...accessModeErrors(spec.accessModes, 'spec.accessModes'), ...storageErrors(spec.capacity, 'spec.capacity')];
  const sources = SOURCES.filter((k) => spec[k] !== undefined && spec[k] !== null);
  if (sources.length === 0) errs.push({ type: 'FieldValueRequired', field: 'spec', detail: 'Required value: must specify a volume type' });
  else if (sources.length > 1) errs.push({ type: 'FieldValueForbidden', field: `spec.${sources[1]}`, detail: 'Forbidden: may not specify more than 1 volume type' });
  const policy = String(spec.persistentVolumeReclaimPolicy);
  if (!POLICIES.includes(policy)) errs.push({ type: 'FieldValueNotSupported', field: 'spec.persistentVolumeReclaimPolicy', detail: `Unsupported value: "${policy}": supported values: ${quoted(POLICIES)}` });
  return errs;
}

function validatePVC(obj: KubeObject): FieldError[] {
  const spec = specOf(obj);
  return [...accessModeErrors(spec.accessModes, 'spec.accessModes'), ...storageErrors((spec.resources as Obj | undefined)?.requests, 'spec.resources[storage]')];
}

/** The claim spec's fields a user may not change: all but requests, a first volumeName and a first class. */
function fixedClaimSpec(spec: Obj, old: Obj): Obj {
  const view: Obj = { ...spec, resources: { ...(spec.resources as Obj | undefined), requests: undefined } };
  if (!old.volumeName) delete view.volumeName;
  if (old.storageClassName === undefined || old.storageClassName === null) delete view.storageClassName;
  return view;
}

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
  prepareForStatusUpdate(obj, old) {
    const status = (obj.status ??= {}) as Obj;
    const before = (old.status ?? {}) as Obj;
    const given = status.lastPhaseTransitionTime ?? undefined;
    if (status.phase === before.phase) {
      // The same phase: a write that leaves the time out keeps the stored one.
      if (given === undefined && before.lastPhaseTransitionTime !== undefined) status.lastPhaseTransitionTime = before.lastPhaseTransitionTime;
      else if (given === undefined) delete status.lastPhaseTransitionTime;
    } else if (given === undefined || sameInstant(given, before.lastPhaseTransitionTime)) {
      // A new phase whose writer did not give a new time: the server's clock says when.
      status.lastPhaseTransitionTime = nowRfc3339();
    }
  },
  validate: validatePV,
  validateUpdate: validatePV,
}));

/** Whether a given timestamp names the same instant as a stored one (which may be absent). */
function sameInstant(given: unknown, stored: unknown): boolean {
  return stored !== undefined && stored !== null && Date.parse(String(given)) === Date.parse(String(stored));
}

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
  validate: validatePVC,
  validateUpdate(obj, old) {
    const errs = validatePVC(obj);
    if (!deepEqual(fixedClaimSpec(specOf(obj), specOf(old)), fixedClaimSpec(specOf(old), specOf(old)))) {
      errs.push({ type: 'FieldValueForbidden', field: 'spec', detail: 'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims' });
    }
    return errs;
  },
}));
