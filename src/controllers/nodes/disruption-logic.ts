// The arithmetic of a PodDisruptionBudget's status (pure), as upstream's disruption controller:
// expected pods and desired healthy from minAvailable / maxUnavailable (integers, or percentages
// of the scale of the pods' controllers), healthy pods (Ready, not being deleted, not recently
// evicted), disruptedPods entries kept for 2 minutes, and the DisruptionAllowed condition; and
// when a pod's DisruptionTarget condition has gone stale.
import type { KubeObject, OwnerReference } from '../../api/object.ts';
import type { LabelSelectorObject } from '../../api/selectors.ts';
import { isPodReady, isPodTerminal, podCondition } from './pod-util.ts';
import { controllerOf, parseTime, type Pod, type PodCondition } from './types.ts';

export const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

export interface MetaCondition {
  type: string;
  status: string;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface PdbStatus {
  observedGeneration?: number;
  disruptedPods?: Record<string, string>;
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  conditions?: MetaCondition[];
}

export interface Pdb extends KubeObject {
  spec?: { selector?: LabelSelectorObject | null; minAvailable?: number | string; maxUnavailable?: number | string };
  status?: Partial<PdbStatus>;
}

/** intstr.GetScaledValueFromIntOrPercent. */
export function scaledValue(v: number | string, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  const m = /^(-?\d+)%$/.exec(v);
  if (!m) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** The scale of a pod's controller: its uid (of the Deployment for ReplicaSets it owns) and replicas. */
export type ScaleFinder = (pod: Pod, ref: OwnerReference) => Promise<{ uid: string; replicas: number } | undefined>;

export interface Expectation {
  expected: number;
  desired: number;
  /** Pods without a controller (ignored when counting scale). */
  unmanaged: string[];
}

async function expectedScale(pods: Pod[], find: ScaleFinder): Promise<{ total: number; unmanaged: string[] }> {
  const scales = new Map<string, number>();
  const seen = new Set<string>();
  const unmanaged: string[] = [];
  for (const pod of pods) {
    const ref = controllerOf(pod);
    if (!ref) {
      unmanaged.push(pod.metadata?.name ?? '');
      continue;
    }
    if (seen.has(ref.uid) || scales.has(ref.uid)) continue;
    const s = await find(pod, ref);
    if (!s) throw new Error(`found no controllers for pod ${JSON.stringify(pod.metadata?.name ?? '')}`);
    seen.add(ref.uid);
    scales.set(s.uid, s.replicas);
  }
  let total = 0;
  for (const v of scales.values()) total += v;
  return { total, unmanaged };
}

/** Expected pods and desired healthy pods of a budget; throws when they cannot be computed. */
export async function expectedPodCount(pdb: Pdb, pods: Pod[], find: ScaleFinder): Promise<Expectation> {
  const { minAvailable, maxUnavailable } = pdb.spec ?? {};
  if (maxUnavailable !== undefined && maxUnavailable !== null) {
    const { total, unmanaged } = await expectedScale(pods, find);
    const desired = Math.max(0, total - scaledValue(maxUnavailable, total, true));
    return { expected: total, desired, unmanaged };
  }
  if (minAvailable !== undefined && minAvailable !== null) {
    if (typeof minAvailable === 'number') return { expected: pods.length, desired: minAvailable, unmanaged: [] };
    const { total, unmanaged } = await expectedScale(pods, find);
    return { expected: total, desired: scaledValue(minAvailable, total, true), unmanaged };
  }
  return { expected: 0, desired: 0, unmanaged: [] };
}

/** The disruptedPods entries still pending (pod present, not deleting, < 2 min) and when to look again. */
export function disruptedPodMap(pdb: Pdb, pods: Pod[], nowMs: number): { map: Record<string, string>; recheckMs?: number } {
  const map: Record<string, string> = {};
  const prev = pdb.status?.disruptedPods ?? {};
  let recheckMs: number | undefined;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const name = pod.metadata?.name ?? '';
    const at = prev[name];
    if (at === undefined) continue;
    const expectedDeletion = (parseTime(at) ?? 0) + DELETION_TIMEOUT_MS;
    if (expectedDeletion < nowMs) continue;
    map[name] = at;
    if (recheckMs === undefined || expectedDeletion < recheckMs) recheckMs = expectedDeletion;
  }
  return { map, recheckMs };
}

export function countHealthy(pods: Pod[], disrupted: Record<string, string>, nowMs: number): number {
  let n = 0;
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const at = disrupted[pod.metadata?.name ?? ''];
    if (at !== undefined && (parseTime(at) ?? 0) + DELETION_TIMEOUT_MS > nowMs) continue;
    if (isPodReady(pod)) n++;
  }
  return n;
}

/** apimeta.SetStatusCondition: lastTransitionTime moves only when the status changes. */
export function setCondition(conds: MetaCondition[], c: Omit<MetaCondition, 'lastTransitionTime'>, now: string): MetaCondition[] {
  const i = conds.findIndex((x) => x.type === c.type);
  if (i < 0) return [...conds, { ...c, lastTransitionTime: now }];
  const old = conds[i];
  const out = [...conds];
  out[i] = { ...old, ...c, lastTransitionTime: old.status === c.status ? old.lastTransitionTime : now };
  return out;
}

function allowedCondition(status: PdbStatus, now: string): MetaCondition[] {
  const ok = status.disruptionsAllowed > 0;
  return setCondition(status.conditions ?? [], { type: 'DisruptionAllowed', status: ok ? 'True' : 'False', reason: ok ? 'SufficientPods' : 'InsufficientPods', message: '', observedGeneration: status.observedGeneration ?? 0 }, now);
}

function conditionsUpToDate(pdb: Pdb): boolean {
  const st = pdb.status ?? {};
  const c = (st.conditions ?? []).find((x) => x.type === 'DisruptionAllowed');
  if (!c || (st.observedGeneration ?? 0) !== (pdb.metadata?.generation ?? 0)) return false;
  return (st.disruptionsAllowed ?? 0) > 0 ? c.status === 'True' && c.reason === 'SufficientPods' : c.status === 'False' && c.reason === 'InsufficientPods';
}

/** The new status, or undefined when the current one is up to date. */
export function pdbStatus(pdb: Pdb, e: { expected: number; desired: number; healthy: number; disrupted: Record<string, string> }, now: string): PdbStatus | undefined {
  let allowed = e.healthy - e.desired;
  if (e.expected <= 0 || allowed <= 0) allowed = 0;
  const st = pdb.status ?? {};
  const sameDisrupted = JSON.stringify(Object.entries(st.disruptedPods ?? {}).sort()) === JSON.stringify(Object.entries(e.disrupted).sort());
  if (st.currentHealthy === e.healthy && st.desiredHealthy === e.desired && st.expectedPods === e.expected && st.disruptionsAllowed === allowed && sameDisrupted && conditionsUpToDate(pdb)) return undefined;
  const out: PdbStatus = { observedGeneration: pdb.metadata?.generation ?? 0, disruptionsAllowed: allowed, currentHealthy: e.healthy, desiredHealthy: e.desired, expectedPods: e.expected, conditions: st.conditions ?? [] };
  if (Object.keys(e.disrupted).length > 0) out.disruptedPods = e.disrupted;
  out.conditions = allowedCondition(out, now);
  return out;
}

/** What a budget shows when its status could not be computed: no disruptions allowed (SyncFailed). */
export function failSafeStatus(pdb: Pdb, message: string, now: string): PdbStatus {
  const st = pdb.status ?? {};
  const out: PdbStatus = { ...st, disruptionsAllowed: 0, currentHealthy: st.currentHealthy ?? 0, desiredHealthy: st.desiredHealthy ?? 0, expectedPods: st.expectedPods ?? 0 };
  out.conditions = setCondition(st.conditions ?? [], { type: 'DisruptionAllowed', status: 'False', reason: 'SyncFailed', message, observedGeneration: st.observedGeneration ?? 0 }, now);
  return out;
}

/** A metav1.LabelSelector as Go prints it with %v (its generated String()). */
export function goLabelSelector(sel: LabelSelectorObject | null | undefined): string {
  if (!sel) return '&LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]LabelSelectorRequirement{},}';
  const labels = Object.keys(sel.matchLabels ?? {}).sort().map((k) => `${k}: ${sel.matchLabels![k]},`).join('');
  const exprs = (sel.matchExpressions ?? []).map((e) => `LabelSelectorRequirement{Key:${e.key},Operator:${e.operator},Values:[${(e.values ?? []).join(' ')}],},`).join('');
  return `&LabelSelector{MatchLabels:map[string]string{${labels}},MatchExpressions:[]LabelSelectorRequirement{${exprs}},}`;
}

/** upstream's stalePodDisruptionTimeout: how long DisruptionTarget=True may stay on a pod not being deleted. */
export const STALE_POD_DISRUPTION_TIMEOUT_MS = 2 * 60 * 1000;

/**
 * upstream's nonTerminatingPodHasStaleDisruptionCondition: for a pod not being deleted, not
 * finished, whose DisruptionTarget is True and not set by the kubelet (TerminationByKubelet),
 * the milliseconds until that condition is stale (0: now); undefined when there is none.
 */
export function staleDisruptionWaitMs(pod: Pod, nowMs: number, timeoutMs: number): number | undefined {
  if (pod.metadata?.deletionTimestamp) return undefined;
  const cond = podCondition(pod, 'DisruptionTarget');
  if (!cond || cond.status !== 'True' || cond.reason === 'TerminationByKubelet' || isPodTerminal(pod)) return undefined;
  const since = parseTime(cond.lastTransitionTime) ?? 0;
  return Math.max(0, timeoutMs - (nowMs - since));
}

/** The pod's conditions with DisruptionTarget reset to False (upstream UpdatePodCondition: reason and message go). */
export function resetDisruptionTarget(pod: Pod, now: string): PodCondition[] {
  return (pod.status?.conditions ?? []).map((c) => (c.type === 'DisruptionTarget' ? { type: 'DisruptionTarget', status: 'False', lastProbeTime: null, lastTransitionTime: c.status === 'False' ? c.lastTransitionTime : now } : c));
}
