// Deployment arithmetic and conditions (upstream's deployment/util): maxSurge/maxUnavailable
// from ints or percentages, how far the new ReplicaSet may grow, proportional scaling, the
// status a Deployment's ReplicaSets give it, and the Available/Progressing conditions.
import { canonical, intAnnotation, MAX_REPLICAS, DESIRED_REPLICAS, specReplicas, statusCount } from './deployment-util.ts';
import { parseTime, replicasOf, rfc3339, type Deployment, type DeploymentCondition, type DeploymentStatus, type IntOrString, type ReplicaSet } from './types.ts';

export const MAX_INT32 = 2147483647;

/** An int, or a percentage of `total` rounded up or down; unparsable values count as 0. */
export function scaledValue(v: IntOrString | undefined, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^([+-]?\d+)%$/.exec(v);
  if (!m) return 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** maxSurge rounded up, maxUnavailable rounded down; never both 0 (then maxUnavailable is 1). */
export function resolveFenceposts(maxSurge: IntOrString | undefined, maxUnavailable: IntOrString | undefined, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge, desired, true);
  let unavailable = scaledValue(maxUnavailable, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function isRollingUpdate(d: Deployment): boolean {
  return (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

function fenceposts(d: Deployment): { surge: number; unavailable: number } {
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  return resolveFenceposts(ru.maxSurge, ru.maxUnavailable, replicasOf(d));
}

export function maxSurge(d: Deployment): number {
  return isRollingUpdate(d) ? fenceposts(d).surge : 0;
}

export function maxUnavailable(d: Deployment): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  return Math.min(fenceposts(d).unavailable, replicas);
}

/** How many replicas the new ReplicaSet may have now. */
export function newRSNewReplicas(d: Deployment, allRSs: Array<ReplicaSet | undefined>, newRS: ReplicaSet): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d)) return replicas;
  const current = specReplicas(allRSs);
  const maxTotal = replicas + maxSurge(d);
  if (current >= maxTotal) return replicasOf(newRS);
  const up = Math.min(maxTotal - current, replicas - replicasOf(newRS));
  return replicasOf(newRS) + up;
}

/** The ReplicaSet runs all the Deployment's replicas, all available. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const desired = intAnnotation(rs, DESIRED_REPLICAS);
  if (desired === undefined) return false;
  const replicas = replicasOf(d);
  return replicasOf(rs) === replicas && desired === replicas && (rs.status?.availableReplicas ?? 0) === replicas;
}

/** Go's math.Round: halves away from zero. */
function round(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

function fraction(rs: ReplicaSet, d: Deployment): number {
  const replicas = replicasOf(d);
  if (replicas === 0) return -replicasOf(rs);
  const target = replicas + maxSurge(d);
  const annotated = intAnnotation(rs, MAX_REPLICAS) ?? d.status?.replicas ?? 0;
  if (annotated === 0) return 0;
  return round((replicasOf(rs) * target) / annotated) - replicasOf(rs);
}

/** The share of `toAdd` (positive or negative) this ReplicaSet gets, given `added` handed out already. */
export function proportion(rs: ReplicaSet | undefined, d: Deployment, toAdd: number, added: number): number {
  if (!rs || replicasOf(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const f = fraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(f, allowed) : Math.max(f, allowed);
}

export function getCondition<C extends { type: string }>(conds: C[] | undefined, type: string): C | undefined {
  return conds?.find((c) => c.type === type);
}

export function newCondition(type: string, status: string, reason: string, message: string, now: Date): DeploymentCondition {
  const t = rfc3339(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** Sets a condition; no change when its status and reason are the same; keeps the transition time while the status holds. */
export function setCondition(st: DeploymentStatus, c: DeploymentCondition): void {
  const cur = getCondition(st.conditions, c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason) return;
  if (cur && cur.status === c.status) c = { ...c, lastTransitionTime: cur.lastTransitionTime };
  st.conditions = [...(st.conditions ?? []).filter((x) => x.type !== c.type), c];
}

export function removeCondition(st: DeploymentStatus, type: string): void {
  if (st.conditions) st.conditions = st.conditions.filter((c) => c.type !== type);
}

export function hasProgressDeadline(d: Deployment): boolean {
  const p = d.spec?.progressDeadlineSeconds;
  return p !== undefined && p !== null && p !== MAX_INT32;
}

export function hasRevisionHistoryLimit(d: Deployment): boolean {
  const r = d.spec?.revisionHistoryLimit;
  return r !== undefined && r !== null && r !== MAX_INT32;
}

const n = (x: number | undefined) => x ?? 0;

/** Every replica updated and available, no old ones, and the latest spec observed. */
export function deploymentComplete(d: Deployment, st: DeploymentStatus): boolean {
  const r = replicasOf(d);
  return n(st.updatedReplicas) === r && n(st.replicas) === r && n(st.availableReplicas) === r && n(st.observedGeneration) >= n(d.metadata?.generation);
}

/** The new status shows progress over the stored one. */
export function deploymentProgressing(d: Deployment, st: DeploymentStatus): boolean {
  const old = d.status ?? {};
  return (
    n(st.updatedReplicas) > n(old.updatedReplicas) ||
    n(st.replicas) - n(st.updatedReplicas) < n(old.replicas) - n(old.updatedReplicas) ||
    n(st.readyReplicas) > n(old.readyReplicas) ||
    n(st.availableReplicas) > n(old.availableReplicas)
  );
}

export function deploymentTimedOut(d: Deployment, st: DeploymentStatus, nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(st.conditions, 'Progressing');
  if (!c || c.reason === 'NewReplicaSetAvailable') return false;
  if (c.reason === 'ProgressDeadlineExceeded') return true;
  const from = parseTime(c.lastUpdateTime);
  return from !== undefined && from + (d.spec?.progressDeadlineSeconds ?? 0) * 1000 < nowMs;
}

/** The status the ReplicaSets give the Deployment, with its Available condition. */
export function calculateStatus(allRSs: Array<ReplicaSet | undefined>, newRS: ReplicaSet | undefined, d: Deployment, now: Date): DeploymentStatus {
  const available = statusCount(allRSs, 'availableReplicas');
  const total = specReplicas(allRSs);
  const st: DeploymentStatus = {
    observedGeneration: d.metadata?.generation,
    replicas: statusCount(allRSs, 'replicas'),
    updatedReplicas: statusCount([newRS], 'replicas'),
    readyReplicas: statusCount(allRSs, 'readyReplicas'),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
    collisionCount: d.status?.collisionCount,
    conditions: [...(d.status?.conditions ?? [])],
  };
  if (available >= replicasOf(d) - maxUnavailable(d)) setCondition(st, newCondition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', now));
  else setCondition(st, newCondition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', now));
  return st;
}

/** The status as upstream serializes it: zero counts and empty lists left out. */
export function prunedStatus(st: DeploymentStatus): DeploymentStatus {
  const out: DeploymentStatus = {};
  for (const k of ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'] as const) if (st[k]) out[k] = st[k];
  if (st.conditions?.length) out.conditions = st.conditions;
  if (st.collisionCount !== undefined && st.collisionCount !== null) out.collisionCount = st.collisionCount;
  return out;
}

/** A fingerprint of a Deployment's status as written. */
export function statusFingerprint(d: Deployment): string {
  return canonical(prunedStatus(d.status ?? {}));
}

export function sameStatus(a: DeploymentStatus | undefined, b: DeploymentStatus | undefined): boolean {
  return canonical(prunedStatus(a ?? {})) === canonical(prunedStatus(b ?? {}));
}

/** ReplicaFailure conditions of the new ReplicaSet, else of any, as Deployment conditions. */
export function replicaFailures(allRSs: Array<ReplicaSet | undefined>, newRS: ReplicaSet | undefined): DeploymentCondition[] {
  const of = (rs: ReplicaSet | undefined): DeploymentCondition[] =>
    (rs?.status?.conditions ?? [])
      .filter((c) => c.type === 'ReplicaFailure')
      .map((c) => ({ type: c.type, status: c.status, lastUpdateTime: c.lastTransitionTime, lastTransitionTime: c.lastTransitionTime, reason: c.reason, message: c.message }));
  const fromNew = of(newRS);
  return fromNew.length > 0 ? fromNew : allRSs.flatMap(of);
}
