// Helpers both controllers share: controller references, pod readiness and availability, label
// selectors, int-or-percent scaling, canonical JSON, API error tests.
import type { KubeObject, OwnerReference } from '../../api/object.ts';
import { fromLabelSelectorObject, matchesLabels, type LabelSelectorObject } from '../../api/selectors.ts';
import { StatusError } from '../../api/status.ts';
import type { Labels, Pod } from './types.ts';

/** The pod label (and ControllerRevision label) naming the revision a pod was made from. */
export const CONTROLLER_REVISION_HASH = 'controller-revision-hash';

export function controllerRefOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** metav1.NewControllerRef for an apps/v1 owner. */
export function newControllerRef(owner: KubeObject, kind: string): OwnerReference {
  return { apiVersion: 'apps/v1', kind, name: owner.metadata?.name ?? '', uid: owner.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/**
 * A matcher for a metav1.LabelSelector; undefined when it matches nothing (nil or invalid).
 * `{}` matches everything, as upstream.
 */
export function selectorMatcher(sel: LabelSelectorObject | null | undefined): ((labels: Labels | undefined) => boolean) | undefined {
  try {
    const reqs = fromLabelSelectorObject(sel);
    return reqs ? (labels) => matchesLabels(reqs, labels) : undefined;
  } catch {
    return undefined;
  }
}

export function isEmptySelector(sel: LabelSelectorObject | null | undefined): boolean {
  return !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
}

export function isTerminating(obj: KubeObject): boolean {
  return !!obj.metadata?.deletionTimestamp;
}

export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Ready for at least minReadySeconds (podutil.IsPodAvailable). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: Date): boolean {
  if (!isPodReady(pod)) return false;
  if (!minReadySeconds) return true;
  const c = pod.status?.conditions?.find((x) => x.type === 'Ready');
  if (!c?.lastTransitionTime) return false;
  return Date.parse(c.lastTransitionTime) + minReadySeconds * 1000 < now.getTime();
}

/** Milliseconds until a ready pod becomes available (0 when it is, or is not ready). */
export function untilAvailableMs(pod: Pod, minReadySeconds: number, now: Date): number {
  if (!minReadySeconds || !isPodReady(pod)) return 0;
  const c = pod.status?.conditions?.find((x) => x.type === 'Ready');
  if (!c?.lastTransitionTime) return 0;
  return Math.max(0, Date.parse(c.lastTransitionTime) + minReadySeconds * 1000 - now.getTime() + 1);
}

/** Scheduled pods first, then older first, then by name (podByCreationTimestampAndPhase). */
export function byCreationTimestampAndPhase(a: Pod, b: Pod): number {
  const sa = !!a.spec?.nodeName;
  const sb = !!b.spec?.nodeName;
  if (sa !== sb) return sa ? -1 : 1;
  const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : (a.metadata.name ?? '') > (b.metadata.name ?? '') ? 1 : 0;
}

/** JSON with object keys sorted at every level (as Go marshals maps). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** intstr.GetScaledValueFromIntOrPercent; an invalid value counts as 0. */
export function scaledValue(v: number | string | undefined | null, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return /^\d+$/.test(v) ? Number(v) : 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

export function isStatus(err: unknown, code: number, reason?: string): boolean {
  return err instanceof StatusError && err.code === code && (reason === undefined || err.reason === reason);
}

export const isNotFound = (err: unknown): boolean => isStatus(err, 404);
export const isAlreadyExists = (err: unknown): boolean => isStatus(err, 409, 'AlreadyExists');
export const isConflict = (err: unknown): boolean => isStatus(err, 409, 'Conflict');

/** Whether a create failed because the namespace is being deleted (not worth an event or retry). */
export function isNamespaceTerminating(err: unknown): boolean {
  return err instanceof StatusError && (err.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}
