// The StatefulSet's pods and claims, pure: ordinals and names, identity (name, labels, hostname,
// subdomain), storage (one PVC per volumeClaimTemplate per ordinal, `<claim>-<set>-<ordinal>`),
// the owner references the PVC retention policy asks for, and status as upstream computes it.
import type { OwnerReference } from '../../api/object.ts';
import { templatePatch, templateFromRevision } from './history.ts';
import type { ControllerRevision, PersistentVolumeClaim, Pod, PodTemplateSpec, StatefulSet, StatefulSetStatus, Volume } from './types.ts';
import { CONTROLLER_REVISION_HASH, controllerRefOf, isPodAvailable, isPodReady, isTerminating, newControllerRef } from './util.ts';
import { cloneJson } from '../../api/object.ts';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export const setName = (set: StatefulSet): string => set.metadata.name ?? '';
export const startOrdinal = (set: StatefulSet): number => set.spec.ordinals?.start ?? 0;
export const replicasOf = (set: StatefulSet): number => set.spec.replicas ?? 1;
export const podName = (set: StatefulSet, ordinal: number): string => `${setName(set)}-${ordinal}`;
export const podRevision = (pod: Pod): string => pod.metadata.labels?.[CONTROLLER_REVISION_HASH] ?? '';

/** The set name and ordinal a pod name encodes (`web-2` → web, 2); undefined if none. */
export function parentAndOrdinal(pod: Pod): { parent: string; ordinal: number } | undefined {
  const m = /^(.*)-([0-9]+)$/.exec(pod.metadata.name ?? '');
  if (!m) return undefined;
  const ordinal = Number(m[2]);
  return ordinal <= 2 ** 31 - 1 ? { parent: m[1], ordinal } : undefined;
}

export const ordinalOf = (pod: Pod): number => parentAndOrdinal(pod)?.ordinal ?? -1;

export function isMemberOf(set: StatefulSet, pod: Pod): boolean {
  return parentAndOrdinal(pod)?.parent === setName(set);
}

export function inOrdinalRange(set: StatefulSet, ordinal: number): boolean {
  const start = startOrdinal(set);
  return ordinal >= start && ordinal < start + replicasOf(set);
}

export const isCreated = (pod: Pod): boolean => !!pod.status?.phase;
export const isFailed = (pod: Pod): boolean => pod.status?.phase === 'Failed';
export const isSucceeded = (pod: Pod): boolean => pod.status?.phase === 'Succeeded';
export const isPending = (pod: Pod): boolean => pod.status?.phase === 'Pending';
export const isRunningAndReady = (pod: Pod): boolean => pod.status?.phase === 'Running' && isPodReady(pod);
export const isRunningAndAvailable = (pod: Pod, minReadySeconds: number, now: Date): boolean => pod.status?.phase === 'Running' && isPodAvailable(pod, minReadySeconds, now);
export const isHealthy = (pod: Pod): boolean => isRunningAndReady(pod) && !isTerminating(pod);

export function claimName(set: StatefulSet, template: string, ordinal: number): string {
  return `${template}-${setName(set)}-${ordinal}`;
}

/** The claims of `ordinal`, by template name, labelled with the set's matchLabels. */
export function claimsFor(set: StatefulSet, ordinal: number): Map<string, PersistentVolumeClaim> {
  const out = new Map<string, PersistentVolumeClaim>();
  for (const t of set.spec.volumeClaimTemplates ?? []) {
    const tname = t.metadata?.name ?? '';
    const claim = cloneJson(t);
    claim.apiVersion = 'v1';
    claim.kind = 'PersistentVolumeClaim';
    claim.metadata = { ...(claim.metadata ?? {}), name: claimName(set, tname, ordinal), namespace: set.metadata.namespace };
    claim.metadata.labels = { ...(claim.metadata.labels ?? {}), ...(set.spec.selector?.matchLabels ?? {}) };
    claim.status = { phase: 'Pending' };
    out.set(tname, claim);
  }
  return out;
}

/** Sets the pod's name, namespace and identity labels for `ordinal`. */
export function updateIdentity(set: StatefulSet, pod: Pod, ordinal: number): void {
  pod.metadata.name = podName(set, ordinal);
  pod.metadata.namespace = set.metadata.namespace;
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [POD_NAME_LABEL]: pod.metadata.name, [POD_INDEX_LABEL]: String(ordinal) };
}

export function identityMatches(set: StatefulSet, pod: Pod): boolean {
  const po = parentAndOrdinal(pod);
  return !!po && po.parent === setName(set) && pod.metadata.name === podName(set, po.ordinal) && pod.metadata.namespace === set.metadata.namespace && pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name;
}

/** The claim volumes first (in template order), then the pod's other volumes. */
export function updateStorage(set: StatefulSet, pod: Pod, ordinal: number): void {
  const claims = claimsFor(set, ordinal);
  const volumes: Volume[] = [];
  for (const [name, claim] of claims) volumes.push({ name, persistentVolumeClaim: { claimName: claim.metadata.name! } });
  for (const v of pod.spec.volumes ?? []) if (!claims.has(v.name)) volumes.push(v);
  if (volumes.length > 0) pod.spec.volumes = volumes;
}

export function storageMatches(set: StatefulSet, pod: Pod): boolean {
  const ordinal = ordinalOf(pod);
  if (ordinal < 0) return false;
  const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
  for (const t of set.spec.volumeClaimTemplates ?? []) {
    const name = t.metadata?.name ?? '';
    if (volumes.get(name)?.persistentVolumeClaim?.claimName !== claimName(set, name, ordinal)) return false;
  }
  return true;
}

/** The set with its pod template replaced by the revision's. */
export function applyRevision(set: StatefulSet, rev: ControllerRevision): StatefulSet {
  const template = templateFromRevision(rev);
  return template ? { ...set, spec: { ...set.spec, template } } : set;
}

export function revisionData(set: StatefulSet): unknown {
  return templatePatch(set.spec.template as PodTemplateSpec);
}

/** A new pod for `ordinal` from `set`'s template, labelled with `revision`. */
export function newPod(set: StatefulSet, ordinal: number, revision: string): Pod {
  const t = cloneJson(set.spec.template);
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: `${setName(set)}-`, labels: { ...(t.metadata?.labels ?? {}) }, ownerReferences: [newControllerRef(set, 'StatefulSet')] },
    spec: t.spec ?? {},
  };
  if (t.metadata?.annotations) pod.metadata.annotations = t.metadata.annotations;
  if (t.metadata?.finalizers) pod.metadata.finalizers = t.metadata.finalizers;
  updateIdentity(set, pod, ordinal);
  pod.spec.hostname = pod.metadata.name;
  if (set.spec.serviceName) pod.spec.subdomain = set.spec.serviceName;
  updateStorage(set, pod, ordinal);
  pod.metadata.labels![CONTROLLER_REVISION_HASH] = revision;
  return pod;
}

/**
 * newVersionedStatefulSetPod: ordinals below the partition (or, without rollingUpdate
 * parameters, below status.currentReplicas) get the current revision, the rest the update one.
 */
export function newVersionedPod(currentSet: StatefulSet, updateSet: StatefulSet, currentRev: string, updateRev: string, ordinal: number): Pod {
  const st = currentSet.spec.updateStrategy;
  const start = startOrdinal(currentSet);
  const rolling = (st?.type ?? 'RollingUpdate') === 'RollingUpdate';
  const keepCurrent = rolling && (st?.rollingUpdate ? ordinal < start + (st.rollingUpdate.partition ?? 0) : ordinal < start + (currentSet.status?.currentReplicas ?? 0));
  return keepCurrent ? newPod(currentSet, ordinal, currentRev) : newPod(updateSet, ordinal, updateRev);
}

function sameOwner(r: OwnerReference, uid: string | undefined): boolean {
  return r.uid === uid;
}

/**
 * The owner references a claim should carry under the retention policy, or undefined when it
 * carries them already. whenDeleted=Delete: the set is the claim's controller (unless another
 * controller holds it); whenScaled=Delete: a claim of a scaled-down pod is owned by that pod.
 */
export function claimOwnerRefsFor(set: StatefulSet, pod: Pod, claim: PersistentVolumeClaim): OwnerReference[] | undefined {
  const policy = set.spec.persistentVolumeClaimRetentionPolicy ?? {};
  const scaledDown = !inOrdinalRange(set, ordinalOf(pod));
  const wantPod = policy.whenScaled === 'Delete' && scaledDown;
  const wantSet = policy.whenDeleted === 'Delete' && !wantPod;
  const refs = claim.metadata.ownerReferences ?? [];
  const ctl = controllerRefOf(claim);
  if (ctl && !sameOwner(ctl, set.metadata.uid) && !sameOwner(ctl, pod.metadata.uid)) return undefined; // someone else's
  const hasSet = refs.some((r) => sameOwner(r, set.metadata.uid));
  const hasPod = refs.some((r) => sameOwner(r, pod.metadata.uid));
  if (hasSet === wantSet && hasPod === (wantPod && !!pod.metadata.uid)) return undefined;
  let next = refs.filter((r) => !sameOwner(r, set.metadata.uid) && !sameOwner(r, pod.metadata.uid));
  if (wantSet) next = [...next, newControllerRef(set, 'StatefulSet')];
  if (wantPod && pod.metadata.uid) next = [...next, { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name!, uid: pod.metadata.uid }];
  return next;
}

/** StatefulSetStatus from the set's pods (computeReplicaStatus + completeRollingUpdate). */
export function computeStatus(set: StatefulSet, pods: Pod[], currentRev: string, updateRev: string, collisionCount: number, now: Date): StatefulSetStatus {
  let replicas = 0, ready = 0, available = 0, current = 0, updated = 0;
  const minReady = set.spec.minReadySeconds ?? 0;
  for (const pod of pods) {
    const created = isCreated(pod);
    if (created) replicas++;
    if (isRunningAndReady(pod)) {
      ready++;
      if (isRunningAndAvailable(pod, minReady, now)) available++;
    }
    if (created && !isTerminating(pod)) {
      if (podRevision(pod) === currentRev) current++;
      if (podRevision(pod) === updateRev) updated++;
    }
  }
  let currentRevision = currentRev;
  if ((set.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && updated === replicas && ready === replicas) {
    current = updated;
    currentRevision = updateRev;
  }
  const status: StatefulSetStatus = { observedGeneration: set.metadata.generation, replicas };
  if (ready) status.readyReplicas = ready;
  if (current) status.currentReplicas = current;
  if (updated) status.updatedReplicas = updated;
  status.currentRevision = currentRevision;
  status.updateRevision = updateRev;
  status.collisionCount = collisionCount;
  status.availableReplicas = available;
  if (set.status?.conditions) status.conditions = set.status.conditions;
  return status;
}
