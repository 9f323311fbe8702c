// PodTopologySpread: DoNotSchedule constraints as a Filter, ScheduleAnyway constraints (or the
// system defaults, given a selector) as a Score.
import { compileLabelSelector, matchNodeSelector, type LabelMatcher } from './labels.ts';
import { LABEL_HOSTNAME, LABEL_ZONE, type NodeInfo, type PodInfo, type Snapshot } from './snapshot.ts';
import { firstUntoleratedTaint } from './taints.ts';
import type { LabelSelector, Labels, Pod, TopologySpreadConstraint } from './types.ts';

export const ERR_SPREAD = "node(s) didn't match pod topology spread constraints";
export const ERR_SPREAD_MISSING_LABEL = ERR_SPREAD + ' (missing required label)';

export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  selector: LabelMatcher;
  minDomains: number;
  /** nodeAffinityPolicy Honor (the default): only nodes matching the pod's node affinity count. */
  honorAffinity: boolean;
  /** nodeTaintsPolicy Honor (default Ignore): only nodes whose taints the pod tolerates count. */
  honorTaints: boolean;
}

/** Upstream's system default constraints, used for scoring pods that declare none. */
export const SYSTEM_DEFAULT_CONSTRAINTS: { topologyKey: string; maxSkew: number }[] = [
  { topologyKey: LABEL_HOSTNAME, maxSkew: 3 },
  { topologyKey: LABEL_ZONE, maxSkew: 5 },
];

function compile(pod: Pod, c: TopologySpreadConstraint): SpreadConstraint {
  let selector = compileLabelSelector(c.labelSelector);
  const labels = pod.metadata.labels ?? {};
  const extra: Labels = {};
  for (const k of c.matchLabelKeys ?? []) if (k in labels) extra[k] = labels[k];
  selector = selector.withLabels(extra);
  return {
    maxSkew: c.maxSkew,
    topologyKey: c.topologyKey,
    selector,
    minDomains: c.minDomains ?? 1,
    honorAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
    honorTaints: (c.nodeTaintsPolicy ?? 'Ignore') === 'Honor',
  };
}

export function spreadConstraints(pod: Pod, when: 'DoNotSchedule' | 'ScheduleAnyway'): SpreadConstraint[] {
  return (pod.spec.topologySpreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === when).map((c) => compile(pod, c));
}

/** The pod's required node affinity and nodeSelector (RequiredNodeAffinity.Match). */
export function matchesRequiredNodeAffinity(pod: Pod, node: NodeInfo): boolean {
  const sel = pod.spec.nodeSelector;
  if (sel) for (const k in sel) if (node.labels[k] !== sel[k]) return false;
  const req = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (req && node.node && !matchNodeSelector(req, node.node)) return false;
  return true;
}

function hasAllKeys(node: NodeInfo, cs: SpreadConstraint[]): boolean {
  for (const c of cs) if (node.labels[c.topologyKey] === undefined) return false;
  return true;
}

function includes(c: SpreadConstraint, pod: PodInfo, node: NodeInfo): boolean {
  if (c.honorAffinity && !matchesRequiredNodeAffinity(pod.pod, node)) return false;
  if (c.honorTaints && firstUntoleratedTaint(node.taints, pod.pod.spec.tolerations ?? [], false) !== null) return false;
  return true;
}

/** countPodsMatchSelector: same namespace, not terminating, labels match. */
function countMatching(pods: PodInfo[], sel: LabelMatcher, ns: string): number {
  let n = 0;
  for (const p of pods) if (!p.terminating && p.namespace === ns && sel.matches(p.labels)) n++;
  return n;
}

/** PreFilter result: matching pods per domain for each DoNotSchedule constraint. */
export class SpreadFilterState {
  readonly pod: PodInfo;
  readonly constraints: SpreadConstraint[];
  counts: Map<string, number>[];
  private mins: number[];

  constructor(pod: PodInfo, constraints: SpreadConstraint[], counts: Map<string, number>[]) {
    this.pod = pod;
    this.constraints = constraints;
    this.counts = counts;
    this.mins = constraints.map(() => NaN);
  }

  clone(): SpreadFilterState {
    return new SpreadFilterState(this.pod, this.constraints, this.counts.map((m) => new Map(m)));
  }

  /** The global minimum of constraint i, or 0 when there are fewer domains than minDomains. */
  minMatch(i: number): number {
    const counts = this.counts[i];
    if (counts.size < this.constraints[i].minDomains) return 0;
    if (Number.isNaN(this.mins[i])) {
      let min = Infinity;
      for (const v of counts.values()) if (v < min) min = v;
      this.mins[i] = min === Infinity ? 0 : min;
    }
    return this.mins[i];
  }

  /** Accounts (delta 1) or forgets (delta -1) a pod on `node`. */
  update(p: PodInfo, node: NodeInfo, delta: number): void {
    if (p.namespace !== this.pod.namespace || !hasAllKeys(node, this.constraints)) return;
    for (let i = 0; i < this.constraints.length; i++) {
      const c = this.constraints[i];
      if (!includes(c, this.pod, node) || !c.selector.matches(p.labels)) continue;
      const v = node.labels[c.topologyKey];
      this.counts[i].set(v, (this.counts[i].get(v) ?? 0) + delta);
      this.mins[i] = NaN;
    }
  }

  filter(node: NodeInfo): { unresolvable: boolean; reason: string } | null {
    const cs = this.constraints;
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i];
      const v = node.labels[c.topologyKey];
      if (v === undefined) return { unresolvable: true, reason: ERR_SPREAD_MISSING_LABEL };
      const self = c.selector.matches(this.pod.labels) ? 1 : 0;
      const skew = (this.counts[i].get(v) ?? 0) + self - this.minMatch(i);
      if (skew > c.maxSkew) return { unresolvable: false, reason: ERR_SPREAD };
    }
    return null;
  }
}

/** PreFilter: null when the pod has no DoNotSchedule constraint. */
export function spreadPreFilter(snap: Snapshot, pod: PodInfo): SpreadFilterState | null {
  const cs = spreadConstraints(pod.pod, 'DoNotSchedule');
  if (cs.length === 0) return null;
  const counts = cs.map(() => new Map<string, number>());
  for (const node of snap.nodes) {
    if (!hasAllKeys(node, cs)) continue;
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i];
      if (!includes(c, pod, node)) continue;
      const v = node.labels[c.topologyKey];
      counts[i].set(v, (counts[i].get(v) ?? 0) + countMatching(node.pods, c.selector, pod.namespace));
    }
  }
  return new SpreadFilterState(pod, cs, counts);
}

/**
 * Score (raw) for each feasible node, or null when the pod has no ScheduleAnyway constraint (and
 * no system default applies). `defaultSelector` is the selector of the pod's owning workload
 * (Service / ReplicaSet / StatefulSet), for the system default constraints.
 * `ignored[i]` is set for nodes that normalization must score 0.
 */
export function spreadScores(
  snap: Snapshot,
  pod: PodInfo,
  nodes: NodeInfo[],
  defaultSelector: LabelSelector | null | undefined,
): { scores: number[]; ignored: boolean[] } | null {
  const explicit = (pod.pod.spec.topologySpreadConstraints ?? []).length > 0;
  let cs: SpreadConstraint[];
  if (explicit) cs = spreadConstraints(pod.pod, 'ScheduleAnyway');
  else {
    const sel = defaultSelector ? compileLabelSelector(defaultSelector) : null;
    if (!sel || sel.everything || sel.reqs === null) return null;
    cs = SYSTEM_DEFAULT_CONSTRAINTS.map((d) => ({ ...d, selector: sel, minDomains: 1, honorAffinity: true, honorTaints: false }));
  }
  if (cs.length === 0 || nodes.length === 0) return null;
  const requireAll = explicit;
  const nc = cs.length;
  const isHost = cs.map((c) => c.topologyKey === LABEL_HOSTNAME);
  const ignored = nodes.map((n) => requireAll && !hasAllKeys(n, cs));
  let ignoredCount = 0;
  const pairCounts = cs.map(() => new Map<string, number>());
  // Values some feasible node carries: only their counts are read when scoring (a node without
  // the key skips that constraint), so nodes of other domains need not be counted.
  const present = cs.map(() => new Set<string>());
  let anyPresent = false;
  for (let j = 0; j < nodes.length; j++) {
    if (ignored[j]) {
      ignoredCount++;
      continue;
    }
    for (let i = 0; i < nc; i++) {
      if (isHost[i]) continue;
      const label = nodes[j].labels[cs[i].topologyKey];
      const v = label ?? '';
      if (!pairCounts[i].has(v)) pairCounts[i].set(v, 0);
      if (label !== undefined) {
        present[i].add(label);
        anyPresent = true;
      }
    }
  }
  const weights = cs.map((c, i) => Math.log((isHost[i] ? nodes.length - ignoredCount : pairCounts[i].size) + 2));
  if (anyPresent) {
    for (const node of snap.nodes) {
      if (requireAll && !hasAllKeys(node, cs)) continue;
      for (let i = 0; i < nc; i++) {
        if (isHost[i]) continue;
        const c = cs[i];
        const v = node.labels[c.topologyKey] ?? '';
        const cur = pairCounts[i].get(v);
        if (cur === undefined || !present[i].has(v) || !includes(c, pod, node)) continue;
        pairCounts[i].set(v, cur + countMatching(node.pods, c.selector, pod.namespace));
      }
    }
  }
  const scores = new Array<number>(nodes.length);
  for (let j = 0; j < nodes.length; j++) {
    if (ignored[j]) {
      scores[j] = 0;
      continue;
    }
    const n = nodes[j];
    let s = 0;
    for (let i = 0; i < nc; i++) {
      const c = cs[i];
      const v = n.labels[c.topologyKey];
      if (v === undefined) continue;
      const cnt = isHost[i] ? countMatching(n.pods, c.selector, pod.namespace) : (pairCounts[i].get(v) ?? 0);
      s += cnt * weights[i] + (c.maxSkew - 1);
    }
    scores[j] = Math.round(s);
  }
  return { scores, ignored };
}

/** PodTopologySpread NormalizeScore: fewer matching pods → higher score. */
export function normalizeSpread(scores: number[], ignored: boolean[]): void {
  let min = Infinity;
  let max = 0;
  for (let i = 0; i < scores.length; i++) {
    if (ignored[i]) continue;
    if (scores[i] < min) min = scores[i];
    if (scores[i] > max) max = scores[i];
  }
  for (let i = 0; i < scores.length; i++) {
    if (ignored[i]) scores[i] = 0;
    else if (max === 0) scores[i] = 100;
    else scores[i] = Math.trunc((100 * (max + min - scores[i])) / max);
  }
}
