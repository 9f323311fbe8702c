// InterPodAffinity: required pod affinity / anti-affinity (Filter), the anti-affinity of pods
// already running (Filter, symmetric), and preferred terms of both sides (Score).
import type { AffinityTerm, NodeInfo, PodInfo, Snapshot } from './snapshot.ts';
import type { LabelMatcher } from './labels.ts';
import type { Labels } from './types.ts';

export const ERR_AFFINITY = "node(s) didn't match pod affinity rules";
export const ERR_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
export const ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";

/** Upstream's default hardPodAffinityWeight: existing pods' required affinity counts in scoring. */
export const HARD_POD_AFFINITY_WEIGHT = 1;

const SEP = '\u0000';

function nsSelectorMatches(sel: LabelMatcher, nsLabels: Labels | undefined): boolean {
  // A namespace the snapshot does not know is matched only by the match-all selector `{}`.
  return sel.everything || (nsLabels !== undefined && sel.matches(nsLabels));
}

/** AffinityTerm.Matches: the pod is in one of the term's namespaces and matches its selector. */
export function termMatches(t: AffinityTerm, p: PodInfo, nsLabels: Labels | undefined): boolean {
  if (t.namespaces.has(p.namespace) || (t.namespaceSelector !== null && nsSelectorMatches(t.namespaceSelector, nsLabels))) {
    return t.selector.matches(p.labels);
  }
  return false;
}

function matchesAllTerms(terms: AffinityTerm[], p: PodInfo, nsLabels: Labels | undefined): boolean {
  if (terms.length === 0) return false;
  for (const t of terms) if (!termMatches(t, p, nsLabels)) return false;
  return true;
}

function bump(m: Map<string, number>, node: NodeInfo, key: string, delta: number): void {
  const v = node.labels[key];
  if (v === undefined) return;
  const k = key + SEP + v;
  const n = (m.get(k) ?? 0) + delta;
  if (n === 0) m.delete(k);
  else m.set(k, n);
}

/** PreFilter result: counts per topology pair, updated incrementally during preemption. */
export class InterPodFilterState {
  readonly pod: PodInfo;
  readonly snap: Snapshot;
  readonly nsLabels: Labels | undefined;
  /** Pairs where an existing pod's required anti-affinity term matches the incoming pod. */
  existingAnti = new Map<string, number>();
  /** Pairs holding pods that match all of the incoming pod's required affinity terms. */
  affinity = new Map<string, number>();
  /** Pairs holding pods that match one of the incoming pod's required anti-affinity terms. */
  anti = new Map<string, number>();

  constructor(snap: Snapshot, pod: PodInfo) {
    this.snap = snap;
    this.pod = pod;
    this.nsLabels = snap.namespaceLabels(pod.namespace);
  }

  clone(): InterPodFilterState {
    const c = new InterPodFilterState(this.snap, this.pod);
    c.existingAnti = new Map(this.existingAnti);
    c.affinity = new Map(this.affinity);
    c.anti = new Map(this.anti);
    return c;
  }

  /** Accounts an existing pod on `node` (delta 1) or forgets it (delta -1). */
  update(existing: PodInfo, node: NodeInfo, delta: number): void {
    if (Object.keys(node.labels).length === 0) return;
    for (const t of existing.requiredAntiAffinityTerms) {
      if (termMatches(t, this.pod, this.nsLabels)) bump(this.existingAnti, node, t.topologyKey, delta);
    }
    const p = this.pod;
    if (p.requiredAffinityTerms.length > 0 || p.requiredAntiAffinityTerms.length > 0) {
      const ns = this.snap.namespaceLabels(existing.namespace);
      if (matchesAllTerms(p.requiredAffinityTerms, existing, ns)) {
        for (const t of p.requiredAffinityTerms) bump(this.affinity, node, t.topologyKey, delta);
      }
      for (const t of p.requiredAntiAffinityTerms) {
        if (termMatches(t, existing, ns)) bump(this.anti, node, t.topologyKey, delta);
      }
    }
  }

  filter(node: NodeInfo): { unresolvable: boolean; reason: string } | null {
    if (!this.satisfiesAffinity(node)) return { unresolvable: true, reason: ERR_AFFINITY };
    if (!this.satisfiesAntiAffinity(node)) return { unresolvable: false, reason: ERR_ANTI_AFFINITY };
    if (!this.satisfiesExistingAntiAffinity(node)) return { unresolvable: false, reason: ERR_EXISTING_ANTI_AFFINITY };
    return null;
  }

  private satisfiesAffinity(node: NodeInfo): boolean {
    let podsExist = true;
    for (const t of this.pod.requiredAffinityTerms) {
      const v = node.labels[t.topologyKey];
      if (v === undefined) return false; // every topology key must be on the node
      if ((this.affinity.get(t.topologyKey + SEP + v) ?? 0) <= 0) podsExist = false;
    }
    if (podsExist) return true;
    // The first pod of a group with affinity to itself: allowed when no pod anywhere matches
    // and the pod matches its own terms.
    return this.affinity.size === 0 && matchesAllTerms(this.pod.requiredAffinityTerms, this.pod, this.nsLabels);
  }

  private satisfiesAntiAffinity(node: NodeInfo): boolean {
    if (this.anti.size === 0) return true;
    for (const t of this.pod.requiredAntiAffinityTerms) {
      const v = node.labels[t.topologyKey];
      if (v !== undefined && (this.anti.get(t.topologyKey + SEP + v) ?? 0) > 0) return false;
    }
    return true;
  }

  private satisfiesExistingAntiAffinity(node: NodeInfo): boolean {
    if (this.existingAnti.size === 0) return true;
    for (const k in node.labels) if ((this.existingAnti.get(k + SEP + node.labels[k]) ?? 0) > 0) return false;
    return true;
  }
}

/** PreFilter: null when neither the pod nor any running pod has required (anti-)affinity. */
export function interPodPreFilter(snap: Snapshot, pod: PodInfo): InterPodFilterState | null {
  const own = pod.requiredAffinityTerms.length > 0 || pod.requiredAntiAffinityTerms.length > 0;
  if (!own && snap.podsWithRequiredAntiAffinity === 0) return null;
  const st = new InterPodFilterState(snap, pod);
  for (const node of snap.nodes) {
    if (own) for (const p of node.pods) st.update(p, node, 1);
    else for (const p of node.podsWithRequiredAntiAffinity) st.update(p, node, 1);
  }
  return st;
}

/**
 * Score (raw, before normalization) for each of `nodes`: weights of preferred terms summed per
 * topology pair, from the incoming pod's terms matched against running pods and from running
 * pods' terms (preferred, and required affinity with weight 1) matched against the incoming pod.
 * Returns null when there is nothing to score (upstream's Skip).
 */
export function interPodScores(snap: Snapshot, pod: PodInfo, nodes: NodeInfo[]): number[] | null {
  const hasOwn = pod.preferredAffinityTerms.length > 0 || pod.preferredAntiAffinityTerms.length > 0;
  if (!hasOwn && snap.podsWithAffinity === 0) return null;
  const nsLabels = snap.namespaceLabels(pod.namespace);
  // Namespace labels of running pods matter only to namespaceSelectors of the incoming pod.
  const ownNsSelectors = [...pod.preferredAffinityTerms, ...pod.preferredAntiAffinityTerms].some((t) => t.namespaceSelector !== null);
  const topo = new Map<string, Map<string, number>>();
  const add = (node: NodeInfo, key: string, w: number) => {
    const v = node.labels[key];
    if (v === undefined) return;
    let m = topo.get(key);
    if (!m) topo.set(key, (m = new Map()));
    m.set(v, (m.get(v) ?? 0) + w);
  };
  for (const node of snap.nodes) {
    const pods = hasOwn ? node.pods : node.podsWithAffinity;
    if (pods.length === 0) continue;
    let hasLabels = false;
    for (const _ in node.labels) {
      hasLabels = true;
      break;
    }
    if (!hasLabels) continue;
    for (const ex of pods) {
      if (hasOwn) {
        const exNs = ownNsSelectors ? snap.namespaceLabels(ex.namespace) : undefined;
        for (const t of pod.preferredAffinityTerms) if (termMatches(t, ex, exNs)) add(node, t.topologyKey, t.weight);
        for (const t of pod.preferredAntiAffinityTerms) if (termMatches(t, ex, exNs)) add(node, t.topologyKey, -t.weight);
      }
      if (!ex.hasAffinity) continue;
      for (const t of ex.requiredAffinityTerms) if (termMatches(t, pod, nsLabels)) add(node, t.topologyKey, HARD_POD_AFFINITY_WEIGHT);
      for (const t of ex.preferredAffinityTerms) if (termMatches(t, pod, nsLabels)) add(node, t.topologyKey, t.weight);
      for (const t of ex.preferredAntiAffinityTerms) if (termMatches(t, pod, nsLabels)) add(node, t.topologyKey, -t.weight);
    }
  }
  if (topo.size === 0) return null;
  const keys = [...topo.keys()];
  const maps = [...topo.values()];
  const out = new Array<number>(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const labels = nodes[i].labels;
    let s = 0;
    for (let k = 0; k < keys.length; k++) {
      const v = labels[keys[k]];
      if (v !== undefined) s += maps[k].get(v) ?? 0;
    }
    out[i] = s;
  }
  return out;
}

/** InterPodAffinity NormalizeScore: min–max scaled to 0–100 (all 0 when every score is equal). */
export function normalizeInterPod(scores: number[]): void {
  let min = Infinity;
  let max = -Infinity;
  for (const s of scores) {
    if (s < min) min = s;
    if (s > max) max = s;
  }
  const diff = max - min;
  for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.trunc(100 * ((scores[i] - min) / diff)) : 0; // float order as upstream
}
