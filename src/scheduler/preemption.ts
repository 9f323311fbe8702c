// DefaultPreemption: when a pod fits nowhere, find a node where evicting lower-priority pods
// makes it fit, evicting as few and as unimportant pods as possible, and respecting
// PodDisruptionBudgets where it can.
import { FitError } from './fiterror.ts';
import { type CycleState, filterNodeWithNominated, type Status } from './filters.ts';
import { compileLabelSelector } from './labels.ts';
import type { NodeInfo, PodInfo, Snapshot } from './snapshot.ts';
import type { Pod, PodDisruptionBudget, PriorityClass } from './types.ts';

export const SYSTEM_CLUSTER_CRITICAL = 'system-cluster-critical';
export const SYSTEM_NODE_CRITICAL = 'system-node-critical';
export const SYSTEM_CRITICAL_PRIORITY = 2_000_000_000;
export const BUILTIN_PRIORITIES: Record<string, number> = {
  [SYSTEM_CLUSTER_CRITICAL]: SYSTEM_CRITICAL_PRIORITY,
  [SYSTEM_NODE_CRITICAL]: SYSTEM_CRITICAL_PRIORITY + 1000,
};

export const MSG_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const MSG_NO_VICTIMS = 'No preemption victims found for incoming pod';
export const MSG_POLICY_NEVER = 'not eligible due to preemptionPolicy=Never.';
export const MSG_TERMINATING = 'not eligible due to a terminating pod on the nominated node.';

/**
 * The priority the Priority admission plugin gives a pod: its PriorityClass's value (the two
 * system classes are built in), else the lowest-valued globalDefault class, else 0. Throws for a
 * class that does not exist, as admission rejects such a pod.
 */
export function resolvePriority(pod: Pod, priorityClasses: PriorityClass[]): number {
  const name = pod.spec.priorityClassName;
  if (name) {
    const pc = priorityClasses.find((c) => c.metadata.name === name);
    if (pc) return pc.value;
    if (name in BUILTIN_PRIORITIES) return BUILTIN_PRIORITIES[name];
    throw new Error(`no PriorityClass with name ${name} was found`);
  }
  let def: PriorityClass | undefined;
  for (const c of priorityClasses) if (c.globalDefault && (def === undefined || c.value < def.value)) def = c;
  return def?.value ?? 0;
}

/** MoreImportantPod: higher priority first, then the one that started earlier. */
export function moreImportant(a: PodInfo, b: PodInfo): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  return a.startTime === b.startTime ? 0 : a.startTime < b.startTime ? -1 : 1;
}

export interface Candidate {
  node: string;
  /** Most important first. */
  victims: PodInfo[];
  numPDBViolations: number;
}

export type PreemptionResult =
  /** `clearNominations`: lower-priority pods nominated to the same node, which lose that nomination. */
  | { nominatedNode: string; victims: Pod[]; clearNominations: Pod[]; candidate: Candidate }
  | { message: string };

/** Splits pods (already sorted) into those whose eviction would violate a PDB and the rest. */
export function splitByPDBViolation(pods: PodInfo[], pdbs: PodDisruptionBudget[]): [PodInfo[], PodInfo[]] {
  const allowed = pdbs.map((p) => p.status?.disruptionsAllowed ?? 0);
  const selectors = pdbs.map((p) => compileLabelSelector(p.spec?.selector));
  const violating: PodInfo[] = [];
  const ok: PodInfo[] = [];
  for (const p of pods) {
    let violated = false;
    pdbs.forEach((pdb, i) => {
      if ((pdb.metadata.namespace ?? 'default') !== p.namespace) return;
      const sel = selectors[i];
      // A PDB with a nil or empty selector matches nothing.
      if (sel.reqs === null || sel.everything || !sel.matches(p.labels)) return;
      if (pdb.status?.disruptedPods && p.name in pdb.status.disruptedPods) return;
      if (--allowed[i] < 0) violated = true;
    });
    (violated ? violating : ok).push(p);
  }
  return [violating, ok];
}

/**
 * SelectVictimsOnNode: remove every lower-priority pod; if the pod then fits, add them back most
 * important first (PDB-protected ones before the others) and keep out only those it cannot fit
 * beside.
 */
export function selectVictimsOnNode(
  st: CycleState,
  node: NodeInfo,
  pdbs: PodDisruptionBudget[],
): { victims: PodInfo[]; numPDBViolations: number } | { status: Status } {
  const ni = node.clone();
  const s = st.clone();
  const potential = ni.pods.filter((p) => p.priority < st.pod.priority);
  if (potential.length === 0) return { status: { code: 'UnschedulableAndUnresolvable', reasons: [MSG_NO_VICTIMS], plugin: 'DefaultPreemption' } };
  for (const p of potential) {
    ni.removePod(p);
    s.removePod(p, ni);
  }
  const fit = filterNodeWithNominated(s, ni);
  if (fit !== null) return { status: fit };
  potential.sort(moreImportant);
  const [violating, nonViolating] = splitByPDBViolation(potential, pdbs);
  const victims: PodInfo[] = [];
  let numPDBViolations = 0;
  const reprieve = (p: PodInfo): boolean => {
    ni.addPod(p);
    s.addPod(p, ni);
    if (filterNodeWithNominated(s, ni) === null) return true;
    ni.removePod(p);
    s.removePod(p, ni);
    victims.push(p);
    return false;
  };
  for (const p of violating) if (!reprieve(p)) numPDBViolations++;
  for (const p of nonViolating) reprieve(p);
  victims.sort(moreImportant);
  return { victims, numPDBViolations };
}

function earliestStartOfHighest(victims: PodInfo[]): number {
  let prio = victims[0].priority;
  let earliest = victims[0].startTime;
  for (const v of victims) {
    if (v.priority === prio) {
      if (v.startTime < earliest) earliest = v.startTime;
    } else if (v.priority > prio) {
      prio = v.priority;
      earliest = v.startTime;
    }
  }
  return earliest;
}

/**
 * pickOneNodeForPreemption: fewest PDB violations, then the lowest highest-priority victim, the
 * lowest sum of priorities, the fewest victims, the latest start of the highest-priority victims,
 * then the first candidate.
 */
export function pickCandidate(cands: Candidate[]): Candidate | null {
  if (cands.length === 0) return null;
  for (const c of cands) if (c.victims.length === 0) return c;
  const OFFSET = 2 ** 31; // keep negative priorities from rewarding more victims
  const criteria: ((c: Candidate) => number)[] = [
    (c) => -c.numPDBViolations,
    (c) => -c.victims[0].priority,
    (c) => -c.victims.reduce((s, v) => s + v.priority + OFFSET, 0),
    (c) => -c.victims.length,
    (c) => earliestStartOfHighest(c.victims),
  ];
  let best = cands;
  for (const score of criteria) {
    if (best.length === 1) break;
    let max = -Infinity;
    for (const c of best) max = Math.max(max, score(c));
    best = best.filter((c) => score(c) === max);
  }
  return best[0];
}

export interface PreemptOptions {
  pdbs?: PodDisruptionBudget[];
}

/** PodEligibleToPreemptOthers; returns the reason when it is not. */
function ineligible(snap: Snapshot, st: CycleState, fitError: FitError): string | null {
  const pod = st.pod.pod;
  if (pod.spec.preemptionPolicy === 'Never') return MSG_POLICY_NEVER;
  const nominated = pod.status?.nominatedNodeName;
  if (nominated) {
    if (fitError.statuses.get(nominated)?.code === 'UnschedulableAndUnresolvable') return null;
    const ni = snap.getNode(nominated);
    for (const p of ni?.pods ?? []) {
      if (p.priority >= st.pod.priority || !p.terminating) continue;
      const cond = p.pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
      if (cond && cond.status === 'True' && cond.reason === 'PreemptionByScheduler') return MSG_TERMINATING;
    }
  }
  return null;
}

/**
 * Runs DefaultPreemption for a pod that failed with `fitError`. Returns the node to nominate and
 * the pods to evict, or the message upstream puts after "preemption: ".
 */
export function preempt(snap: Snapshot, st: CycleState, fitError: FitError, opts: PreemptOptions = {}): PreemptionResult {
  const why = ineligible(snap, st, fitError);
  if (why !== null) return { message: why };
  const notHelpful: Status = { code: 'UnschedulableAndUnresolvable', reasons: [MSG_NOT_HELPFUL], plugin: 'DefaultPreemption' };
  const potential = snap.nodes.filter((n) => fitError.statuses.get(n.name)?.code === 'Unschedulable');
  const failures = new Map<string, Status>();
  const candidates: Candidate[] = [];
  for (const node of potential) {
    const r = selectVictimsOnNode(st, node, opts.pdbs ?? []);
    if ('status' in r) failures.set(node.name, r.status);
    else candidates.push({ node: node.name, victims: r.victims, numPDBViolations: r.numPDBViolations });
  }
  const best = pickCandidate(candidates);
  if (best === null) return { message: new FitError(snap.nodeCount, failures, { absentStatus: notHelpful }).message };
  const clearNominations = [...snap.nominatedPods(best.node)].filter((p) => p.key !== st.pod.key && p.priority < st.pod.priority).map((p) => p.pod);
  return { nominatedNode: best.node, victims: best.victims.map((v) => v.pod), clearNominations, candidate: best };
}
