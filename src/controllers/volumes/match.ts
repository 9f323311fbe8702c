// Which PersistentVolume a claim binds to, by upstream's rules (FindMatchingVolume behind the
// access-mode index): volumes whose access modes include all the claim asks for, fewest extra
// modes first, then the smallest that holds the request; a volume pre-bound to the claim
// (claimRef naming it) wins at once. With WaitForFirstConsumer binding, free volumes are left to
// the scheduler. Pure functions of plain JSON objects.
import type { KubeObject } from '../../api/object.ts';
import { storageClassOf, storageOf } from '../../api/storage-class.ts';
import { fromLabelSelectorObject, matchesLabels, type LabelSelectorObject } from '../../api/selectors.ts';

export interface ClaimRef {
  kind?: string;
  apiVersion?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
}
export interface PV extends KubeObject {
  spec?: {
    capacity?: Record<string, string>;
    accessModes?: string[];
    claimRef?: ClaimRef | null;
    storageClassName?: string;
    volumeMode?: string;
    persistentVolumeReclaimPolicy?: string;
    hostPath?: { path?: string };
    csi?: unknown;
    volumeAttributesClassName?: string;
  };
  status?: { phase?: string; message?: string; reason?: string; lastPhaseTransitionTime?: string };
}
export interface PVC extends KubeObject {
  spec?: {
    accessModes?: string[];
    resources?: { requests?: Record<string, string> };
    selector?: LabelSelectorObject | null;
    storageClassName?: string | null;
    volumeName?: string;
    volumeMode?: string;
  };
  status?: { phase?: string; accessModes?: string[]; capacity?: Record<string, string> };
}

const MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'];

export const requested = (c: PVC): bigint => storageOf(c.spec?.resources?.requests);
export const capacity = (v: PV): bigint => storageOf(v.spec?.capacity);

/** Whether the volume's claimRef names this claim (and its uid, when the reference has one). */
export function boundToClaim(v: PV, c: PVC): boolean {
  const ref = v.spec?.claimRef;
  if (!ref || ref.name !== c.metadata?.name || (ref.namespace ?? '') !== (c.metadata?.namespace ?? '')) return false;
  return !ref.uid || ref.uid === c.metadata?.uid;
}

export const volumeModeMismatch = (v: PV, c: PVC): boolean => (v.spec?.volumeMode ?? 'Filesystem') !== (c.spec?.volumeMode ?? 'Filesystem');

/** Every access mode the claim asks for is one the volume has. */
export const hasAccessModes = (v: PV, c: PVC): boolean => (c.spec?.accessModes ?? []).every((m) => (v.spec?.accessModes ?? []).includes(m));

const modeCount = (v: PV): number => MODES.filter((m) => (v.spec?.accessModes ?? []).includes(m)).length;

/**
 * The volume for an unbound claim without spec.volumeName, or undefined. `delayBinding`
 * (WaitForFirstConsumer) leaves free volumes to the scheduler: only a pre-bound one is returned.
 */
export function findBestMatch(volumes: Iterable<PV>, claim: PVC, delayBinding: boolean): PV | undefined {
  const want = requested(claim);
  const selector = claim.spec?.selector ? fromLabelSelectorObject(claim.spec.selector) : undefined;
  const cls = storageClassOf(claim);
  let best: PV | undefined;
  let bestModes = Infinity;
  for (const v of volumes) {
    if (!hasAccessModes(v, claim)) continue;
    if (v.spec?.claimRef && !boundToClaim(v, claim)) continue;
    if (capacity(v) < want || volumeModeMismatch(v, claim)) continue;
    if (v.spec?.volumeAttributesClassName) continue; // VolumeAttributesClass is off by default in 1.33
    if (v.metadata?.deletionTimestamp) continue;
    if (boundToClaim(v, claim)) return v;
    if (delayBinding || v.status?.phase !== 'Available') continue;
    if (selector && !matchesLabels(selector, v.metadata?.labels)) continue;
    if (storageClassOf(v) !== cls) continue;
    const modes = modeCount(v);
    if (!best || modes < bestModes || (modes === bestModes && capacity(v) < capacity(best))) {
      best = v;
      bestModes = modes;
    }
  }
  return best;
}

/** Why a claim naming `volume` in spec.volumeName cannot bind to it (upstream's checks, in order), or undefined. */
export function mismatch(v: PV, c: PVC): string | undefined {
  if (v.metadata?.deletionTimestamp) return `the volume is marked for deletion "${v.metadata.name ?? ''}"`;
  if (capacity(v) < requested(c)) return 'requested PV is too small';
  if (storageClassOf(v) !== storageClassOf(c)) return 'storageClassName does not match';
  if (volumeModeMismatch(v, c)) return 'incompatible volumeMode';
  if (!hasAccessModes(v, c)) return 'incompatible accessMode';
  return undefined;
}
