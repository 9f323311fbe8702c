// Score plugins with upstream's default weights. Each plugin scores every feasible node, is
// normalized to 0–100, multiplied by its weight, and the weighted scores are summed.
import type { CycleState } from './filters.ts';
import { interPodScores, normalizeInterPod } from './interpod.ts';
import { matchNodeSelectorTerm } from './labels.ts';
import type { NodeInfo } from './snapshot.ts';
import { normalizeSpread, spreadScores } from './spread.ts';
import { toleratedBy } from './taints.ts';
import type { LabelSelector, Toleration } from './types.ts';

export const MAX_NODE_SCORE = 100;

/** kube-scheduler's default profile weights (v1 KubeSchedulerConfiguration). */
export const WEIGHTS = {
  TaintToleration: 3,
  NodeAffinity: 2,
  PodTopologySpread: 2,
  InterPodAffinity: 2,
  NodeResourcesFit: 1,
  NodeResourcesBalancedAllocation: 1,
  ImageLocality: 1,
} as const;

export type ScorePlugin = keyof typeof WEIGHTS;

export interface ScoreOptions {
  /** Selector of the pod's owning Service/ReplicaSet/StatefulSet for default topology spreading. */
  defaultSpreadSelector?: LabelSelector | null;
  /** Also return each plugin's normalized (unweighted) scores. */
  breakdown?: boolean;
}

export interface NodeScores {
  /** Weighted sum per node, in the order of the nodes given. */
  total: number[];
  byPlugin?: Partial<Record<ScorePlugin, number[]>>;
}

/** LeastAllocated for one resource: the free fraction of allocatable, 0–100 (integer math). */
export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.floor(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** NodeResourcesFit LeastAllocated, cpu and memory with weight 1 each, non-zero requests. */
export function leastAllocatedScore(st: CycleState, node: NodeInfo): number {
  let score = 0;
  let weights = 0;
  const cpuCap = node.allocatable.milliCPU;
  if (cpuCap !== 0) {
    score += leastRequestedScore(node.nonZeroCPU + st.pod.nonZeroCPU, cpuCap);
    weights++;
  }
  const memCap = node.allocatable.memory;
  if (memCap !== 0) {
    score += leastRequestedScore(node.nonZeroMemory + st.pod.nonZeroMemory, memCap);
    weights++;
  }
  return weights === 0 ? 0 : Math.floor(score / weights);
}

/**
 * NodeResourcesBalancedAllocation: 100 × (1 − std of the cpu/memory requested fractions), using
 * actual requests (no non-zero defaults).
 */
export function balancedAllocationScore(st: CycleState, node: NodeInfo): number {
  // Two resources: the standard deviation is half their difference; with one (or none) it is 0.
  // No array per node: this runs for every feasible node of every pod.
  const r = st.requests;
  const a = node.allocatable;
  if (a.milliCPU === 0 || a.memory === 0) return MAX_NODE_SCORE;
  const cpu = Math.min(1, (node.requested.milliCPU + r.milliCPU) / a.milliCPU);
  const mem = Math.min(1, (node.requested.memory + r.memory) / a.memory);
  return Math.trunc((1 - Math.abs((cpu - mem) / 2)) * MAX_NODE_SCORE);
}

/** TaintToleration Score (raw): PreferNoSchedule taints the pod does not tolerate. */
export function intolerablePreferNoSchedule(tolerations: Toleration[], node: NodeInfo): number {
  let n = 0;
  for (const t of node.taints) if (t.effect === 'PreferNoSchedule' && !toleratedBy(tolerations, t)) n++;
  return n;
}

/** helper.DefaultNormalizeScore: scale to max 100, optionally reversed. */
export function defaultNormalize(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(MAX_NODE_SCORE);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const s = Math.trunc((MAX_NODE_SCORE * scores[i]) / max);
    scores[i] = reverse ? MAX_NODE_SCORE - s : s;
  }
}

const MB = 1024 * 1024;
const IMAGE_MIN_THRESHOLD = 23 * MB;
const IMAGE_MAX_CONTAINER_THRESHOLD = 1000 * MB;

/** ImageLocality's normalizedImageName: no tag or digest means ":latest". */
export function normalizedImageName(name: string): string {
  return name.lastIndexOf(':') <= name.lastIndexOf('/') ? name + ':latest' : name;
}

/** ImageLocality: sizes of the pod's images already on the node, scaled by how widely spread they are. */
export function imageLocalityScore(st: CycleState, node: NodeInfo, images: string[]): number {
  if (images.length === 0) return 0;
  const total = st.snap.nodeCount;
  let sum = 0;
  if (node.images.size > 0) {
    for (const img of images) {
      const size = node.images.get(img);
      if (size === undefined) continue;
      sum += Math.trunc(size * ((st.snap.imageNodeCount.get(img) ?? 0) / total));
    }
  }
  const max = IMAGE_MAX_CONTAINER_THRESHOLD * images.length;
  const clamped = Math.min(Math.max(sum, IMAGE_MIN_THRESHOLD), max);
  return Math.trunc((MAX_NODE_SCORE * (clamped - IMAGE_MIN_THRESHOLD)) / (max - IMAGE_MIN_THRESHOLD));
}

/** Scores the feasible nodes for the pod in `st`. */
export function scoreNodes(st: CycleState, nodes: NodeInfo[], opts: ScoreOptions = {}): NodeScores {
  const n = nodes.length;
  const total: number[] = new Array(n).fill(0);
  const byPlugin: Partial<Record<ScorePlugin, number[]>> | undefined = opts.breakdown ? {} : undefined;
  const add = (plugin: ScorePlugin, scores: number[] | null) => {
    if (byPlugin) byPlugin[plugin] = scores ?? new Array(n).fill(0);
    if (scores === null) return;
    const w = WEIGHTS[plugin];
    for (let i = 0; i < n; i++) total[i] += w * scores[i];
  };
  const spec = st.pod.pod.spec;

  // TaintToleration (×3, normalized below), NodeResourcesFit (×1) and BalancedAllocation (×1)
  // in one pass over the nodes.
  const prefTolerations = (spec.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
  const taint = new Array<number>(n).fill(0);
  const fit = byPlugin ? new Array<number>(n) : null;
  const doBalanced = st.requests.milliCPU !== 0 || st.requests.memory !== 0; // skipped for best-effort pods
  const bal = byPlugin && doBalanced ? new Array<number>(n) : null;
  for (let i = 0; i < n; i++) {
    const node = nodes[i];
    if (node.taints.length !== 0) taint[i] = intolerablePreferNoSchedule(prefTolerations, node);
    const f = leastAllocatedScore(st, node);
    let t = WEIGHTS.NodeResourcesFit * f;
    if (fit) fit[i] = f;
    if (doBalanced) {
      const b = balancedAllocationScore(st, node);
      t += WEIGHTS.NodeResourcesBalancedAllocation * b;
      if (bal) bal[i] = b;
    }
    total[i] = t;
  }
  defaultNormalize(taint, true);
  add('TaintToleration', taint);
  if (byPlugin) {
    byPlugin.NodeResourcesFit = fit!;
    byPlugin.NodeResourcesBalancedAllocation = bal ?? new Array(n).fill(0);
  }

  // NodeAffinity (preferred terms)
  const preferred = spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  if (preferred.length > 0) {
    const aff = nodes.map((node) => {
      let s = 0;
      for (const p of preferred) if (p.weight !== 0 && node.node && matchNodeSelectorTerm(p.preference, node.node)) s += p.weight;
      return s;
    });
    defaultNormalize(aff, false);
    add('NodeAffinity', aff);
  } else add('NodeAffinity', null);

  // ImageLocality
  const images = [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c) => normalizedImageName(c.image ?? ''));
  if (st.snap.imageNodeCount.size > 0) {
    const img = new Array<number>(n);
    for (let i = 0; i < n; i++) img[i] = imageLocalityScore(st, nodes[i], images);
    add('ImageLocality', img);
  } else add('ImageLocality', null);

  // InterPodAffinity
  const ipa = interPodScores(st.snap, st.pod, nodes);
  if (ipa !== null) normalizeInterPod(ipa);
  add('InterPodAffinity', ipa);

  // PodTopologySpread
  const spread = spreadScores(st.snap, st.pod, nodes, opts.defaultSpreadSelector);
  if (spread !== null) normalizeSpread(spread.scores, spread.ignored);
  add('PodTopologySpread', spread?.scores ?? null);

  return { total, byPlugin };
}
