// Pod predicates the replica controllers share (upstream's podutil and controller helpers), and
// the order in which a scale-down picks its victims.
import type { Pod } from './types.ts';
import { parseTime } from './types.ts';

/** Not finished and not being deleted. */
export function isPodActive(p: Pod): boolean {
  const phase = p.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !p.metadata?.deletionTimestamp;
}

function readyCondition(p: Pod) {
  return p.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(p: Pod): boolean {
  return readyCondition(p)?.status === 'True';
}

/** Ready for at least minReadySeconds at `nowMs`. */
export function isPodAvailable(p: Pod, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodReady(p)) return false;
  if (!minReadySeconds) return true;
  const since = parseTime(readyCondition(p)?.lastTransitionTime);
  return since !== undefined && since + minReadySeconds * 1000 < nowMs;
}

/** When the pod became ready (undefined: not ready, or unknown). */
function readySince(p: Pod): number | undefined {
  return isPodReady(p) ? parseTime(readyCondition(p)?.lastTransitionTime) : undefined;
}

/** The most restarts of any container (sidecar init containers included). */
function maxRestarts(p: Pod): number {
  let n = 0;
  for (const c of p.status?.containerStatuses ?? []) n = Math.max(n, c.restartCount ?? 0);
  const sidecars = new Set((p.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  for (const c of p.status?.initContainerStatuses ?? []) if (sidecars.has(c.name)) n = Math.max(n, c.restartCount ?? 0);
  return n;
}

const PHASE_ORDER: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function deletionCost(p: Pod): number {
  const v = p.metadata?.annotations?.['controller.kubernetes.io/pod-deletion-cost'];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  return Number(v);
}

/** Unknown (zero) times first, then the later time first. */
function laterFirst(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return a === undefined;
  return a > b;
}

/** floor(log2(now − t in ns)), or −1 when t is not in the past. */
function logBucket(t: number, nowMs: number): number {
  const d = (nowMs - t) * 1e6;
  return d > 0 ? Math.floor(Math.log2(d)) : -1;
}

/** Time-based comparison with logarithmic buckets (LogarithmicScaleDown), uid breaking ties. */
function byTime(a: Pod, b: Pod, ta: number | undefined, tb: number | undefined, nowMs: number): boolean {
  if (ta === undefined || tb === undefined) return laterFirst(ta, tb);
  const diff = logBucket(ta, nowMs) - logBucket(tb, nowMs);
  if (diff === 0) return (a.metadata?.uid ?? '') < (b.metadata?.uid ?? '');
  return diff < 0;
}

export interface RankedPod {
  pod: Pod;
  /** Active related pods on the same node (pods of the same owner family). */
  rank: number;
}

/** True when `a` should be deleted before `b` (upstream's ActivePodsWithRanks order). */
export function deleteBefore(a: RankedPod, b: RankedPod, nowMs: number): boolean {
  const pa = a.pod;
  const pb = b.pod;
  const na = pa.spec?.nodeName ?? '';
  const nb = pb.spec?.nodeName ?? '';
  // Unassigned before assigned.
  if (na !== nb && (na === '' || nb === '')) return na === '';
  // Pending < Unknown < Running.
  const oa = PHASE_ORDER[pa.status?.phase ?? ''] ?? 0;
  const ob = PHASE_ORDER[pb.status?.phase ?? ''] ?? 0;
  if (oa !== ob) return oa < ob;
  // Not ready before ready.
  const ra = isPodReady(pa);
  if (ra !== isPodReady(pb)) return !ra;
  // Lower deletion cost first.
  const ca = deletionCost(pa);
  const cb = deletionCost(pb);
  if (ca !== cb) return ca < cb;
  // Doubled up (more related pods on the node) first.
  if (a.rank !== b.rank) return a.rank > b.rank;
  // Ready for less time first.
  if (ra) {
    const ta = readySince(pa);
    const tb = readySince(pb);
    if (ta !== tb) return byTime(pa, pb, ta, tb, nowMs);
  }
  // More restarts first.
  const xa = maxRestarts(pa);
  const xb = maxRestarts(pb);
  if (xa !== xb) return xa > xb;
  // Newer first.
  const ka = parseTime(pa.metadata?.creationTimestamp);
  const kb = parseTime(pb.metadata?.creationTimestamp);
  if (ka !== kb) return byTime(pa, pb, ka, kb, nowMs);
  return false;
}

/**
 * The `diff` pods to delete: when not all go, ranked by deleteBefore, where a pod's rank is the
 * number of active `related` pods on its node.
 */
export function podsToDelete(pods: Pod[], related: Pod[], diff: number, nowMs: number): Pod[] {
  if (diff >= pods.length) return pods.slice(0, diff);
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 }));
  ranked.sort((x, y) => (deleteBefore(x, y, nowMs) ? -1 : deleteBefore(y, x, nowMs) ? 1 : 0));
  return ranked.slice(0, diff).map((r) => r.pod);
}

export function podKey(p: Pod): string {
  return `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;
}
