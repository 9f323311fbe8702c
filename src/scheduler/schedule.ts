// One scheduling decision: filter the nodes, score the feasible ones, pick the best (ties broken
// at random), or explain with a FitError and try preemption.
import { FitError } from './fiterror.ts';
import { CycleState, filterNodeWithNominated, type Status } from './filters.ts';
import { preempt, type PreemptOptions } from './preemption.ts';
import { scoreNodes, type ScoreOptions } from './scores.ts';
import type { NodeInfo, Snapshot } from './snapshot.ts';
import type { Pod } from './types.ts';

export interface ScheduleOptions extends ScoreOptions, PreemptOptions {
  /** Seed for tie-breaking among equally scored nodes (deterministic when set). */
  seed?: number;
  /** Or a random source in [0, 1); overrides `seed`. */
  random?: () => number;
  /**
   * Stop filtering once this percentage of the nodes was found feasible (upstream's
   * percentageOfNodesToScore). Default 100: every node is filtered and every feasible node
   * scored. 0 means upstream's adaptive default (50% minus 1% per 125 nodes, at least 5%, and
   * never fewer than 100 nodes).
   */
  percentageOfNodesToScore?: number;
  /** Run DefaultPreemption when the pod fits nowhere (default true). */
  preemption?: boolean;
}

export type ScheduleResult =
  | { node: string; feasibleNodes: number; evaluatedNodes: number }
  /**
   * When preemption found room: set status.nominatedNodeName = nominatedNode on the pod, delete
   * the victims, and clear the nomination of `clearNominations`.
   */
  | { error: FitError; nominatedNode?: string; victims?: Pod[]; clearNominations?: Pod[] };

/** mulberry32: a small seedable PRNG. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE = 5;

/** numFeasibleNodesToFind. */
export function numFeasibleNodesToFind(percentage: number, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = percentage;
  if (pct === 0) pct = Math.max(MIN_FEASIBLE_NODES_PERCENTAGE, 50 - Math.trunc(numAllNodes / 125));
  const n = Math.trunc((numAllNodes * pct) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

/** Reservoir sampling over the highest total: each top-scored node is equally likely. */
export function selectHost(names: string[], totals: number[], random: () => number): string {
  return names[selectHostIndex(totals, random)];
}

/** selectHost's choice as an index into `totals`. */
export function selectHostIndex(totals: number[], random: () => number): number {
  let best = 0;
  let ties = 1;
  for (let i = 1; i < totals.length; i++) {
    if (totals[i] > totals[best]) {
      best = i;
      ties = 1;
    } else if (totals[i] === totals[best]) {
      ties++;
      if (Math.floor(random() * ties) === 0) best = i;
    }
  }
  return best;
}

/** The status of nodes a PreFilterResult left out. */
function notInPreFilter(plugins: string[]): Status {
  return { code: 'UnschedulableAndUnresolvable', reasons: [`node(s) didn't satisfy plugin(s) [${plugins.join(' ')}]`], plugin: plugins[0] ?? '' };
}

/** Filters the nodes; returns the feasible ones and the status of each rejected one. */
export function findFeasibleNodes(
  snap: Snapshot,
  st: CycleState,
  percentage = 100,
): { feasible: NodeInfo[]; statuses: Map<string, Status>; absent: Status | null; evaluated: number } {
  const statuses = new Map<string, Status>();
  const nodes = st.nodeNames === null ? snap.nodes : snap.nodes.filter((n) => st.nodeNames!.has(n.name));
  const absent = st.nodeNames === null ? null : notInPreFilter(st.nodeNamesPlugins);
  // A pod nominated by an earlier preemption tries its nominated node first.
  const nominated = st.pod.pod.status?.nominatedNodeName;
  if (nominated) {
    const ni = snap.getNode(nominated);
    if (ni && (st.nodeNames === null || st.nodeNames.has(ni.name)) && filterNodeWithNominated(st, ni) === null) {
      return { feasible: [ni], statuses, absent, evaluated: 1 };
    }
  }
  const want = numFeasibleNodesToFind(percentage, nodes.length);
  const feasible: NodeInfo[] = [];
  const n = nodes.length;
  const start = want < n ? snap.nextStartNodeIndex % n : 0;
  let processed = 0;
  for (; processed < n && feasible.length < want; processed++) {
    const node = nodes[(start + processed) % n];
    const s = filterNodeWithNominated(st, node);
    if (s === null) feasible.push(node);
    else statuses.set(node.name, s);
  }
  if (want < n) snap.nextStartNodeIndex = (start + processed) % Math.max(1, snap.nodes.length);
  return { feasible, statuses, absent, evaluated: processed };
}

/** Schedules one pod on the snapshot. Does not change the snapshot (call `assume` to bind). */
export function schedulePod(snap: Snapshot, pod: Pod, opts: ScheduleOptions = {}): ScheduleResult {
  const all = snap.nodeCount;
  if (all === 0) return { error: new FitError(0, new Map()) };
  const st = new CycleState(snap, pod);
  let error: FitError;
  if (st.preFilterReject !== null) {
    const s: Status = { code: 'UnschedulableAndUnresolvable', reasons: [st.preFilterReject], plugin: st.preFilterPlugin };
    error = new FitError(all, new Map(), { absentStatus: s, preFilterMsg: st.preFilterReject });
  } else {
    const { feasible, statuses, absent, evaluated } = findFeasibleNodes(snap, st, opts.percentageOfNodesToScore ?? 100);
    if (feasible.length === 1) return { node: feasible[0].name, feasibleNodes: 1, evaluatedNodes: evaluated };
    if (feasible.length > 1) {
      const { total } = scoreNodes(st, feasible, opts);
      const random = opts.random ?? (opts.seed !== undefined ? seededRandom(opts.seed) : Math.random);
      const node = feasible[selectHostIndex(total, random)].name;
      return { node, feasibleNodes: feasible.length, evaluatedNodes: evaluated };
    }
    error = new FitError(all, statuses, { absentStatus: absent });
  }
  if (opts.preemption === false) return { error };
  const r = preempt(snap, st, error, opts);
  if ('message' in r) return { error: error.withPostFilterMsg(`preemption: ${r.message}`) };
  return { error, nominatedNode: r.nominatedNode, victims: r.victims, clearNominations: r.clearNominations };
}
