// Filter plugins, in upstream's default order: NodeUnschedulable, NodeName, TaintToleration,
// NodeAffinity, NodePorts, NodeResourcesFit, VolumeRestrictions, VolumeBinding, VolumeZone,
// PodTopologySpread, InterPodAffinity. A node's status is the first failing plugin's
// (NodeResourcesFit may give several reasons at once).
import { matchNodeSelector } from './labels.ts';
import { InterPodFilterState, interPodPreFilter } from './interpod.ts';
import { NodeInfo, PodInfo, type Resources, type Snapshot } from './snapshot.ts';
import { SpreadFilterState, spreadPreFilter } from './spread.ts';
import { firstUntoleratedTaint, toleratedBy } from './taints.ts';
import type { NodeSelector, Pod, Taint, Toleration } from './types.ts';
import { volumePreFilter, type VolumeState } from './volumefilters.ts';
import { attachableVolumes, filterVolumeLimits, hasLimitedVolumes } from './volumelimits.ts';

export const ERR_UNSCHEDULABLE = 'node(s) were unschedulable';
export const ERR_NODE_NAME = "node(s) didn't match the requested node name";
export const ERR_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const ERR_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";
export const ERR_TOO_MANY_PODS = 'Too many pods';
export const ERR_AFFINITY_CONFLICT = 'pod affinity terms conflict';

/** TaintToleration's reason for one taint, as kube-scheduler 1.33.0 words it. */
export function untoleratedTaintReason(t: Taint): string {
  return `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;
}

/** Unschedulable: preemption may help. UnschedulableAndUnresolvable: it cannot. */
export type Code = 'Unschedulable' | 'UnschedulableAndUnresolvable';

export interface Status {
  code: Code;
  reasons: string[];
  plugin: string;
}

const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

/**
 * Everything computed once per pod before the nodes are filtered (upstream's PreFilter and
 * CycleState). `clone`, `addPod` and `removePod` let preemption try removing pods on one node.
 */
export class CycleState {
  readonly snap: Snapshot;
  readonly pod: PodInfo;
  readonly tolerations: Toleration[];
  readonly requests: Resources;
  readonly zeroRequest: boolean;
  readonly nodeSelector: Record<string, string> | null;
  readonly requiredNodeAffinity: NodeSelector | null;
  /**
   * The merged PreFilterResults: NodeAffinity (matchFields metadata.name In) and VolumeBinding
   * (local volumes) narrow the nodes to these; `nodeNamesPlugins` names the plugins that did.
   */
  readonly nodeNames: Set<string> | null;
  readonly nodeNamesPlugins: string[];
  /** Set when PreFilter itself rejects the pod (upstream's PreFilterMsg), by `preFilterPlugin`. */
  readonly preFilterReject: string | null;
  readonly preFilterPlugin: string;
  interPod: InterPodFilterState | null;
  spread: SpreadFilterState | null;
  volumes: VolumeState | null;
  /** NodeVolumeLimits: the pod's CSI volumes (`driver/handle` → driver); null when it has none to count. */
  volumeLimits: Map<string, string> | null;

  constructor(snap: Snapshot, pod: Pod | PodInfo, other?: CycleState) {
    this.snap = snap;
    this.pod = pod instanceof PodInfo ? pod : new PodInfo(pod);
    if (other) {
      this.tolerations = other.tolerations;
      this.requests = other.requests;
      this.zeroRequest = other.zeroRequest;
      this.nodeSelector = other.nodeSelector;
      this.requiredNodeAffinity = other.requiredNodeAffinity;
      this.nodeNames = other.nodeNames;
      this.nodeNamesPlugins = other.nodeNamesPlugins;
      this.preFilterReject = other.preFilterReject;
      this.preFilterPlugin = other.preFilterPlugin;
      this.interPod = other.interPod?.clone() ?? null;
      this.spread = other.spread?.clone() ?? null;
      this.volumes = other.volumes?.clone() ?? null;
      this.volumeLimits = other.volumeLimits;
      return;
    }
    const spec = this.pod.pod.spec;
    this.tolerations = spec.tolerations ?? [];
    this.requests = this.pod.requests;
    const r = this.requests;
    this.zeroRequest = r.milliCPU === 0 && r.memory === 0 && r.ephemeralStorage === 0 && (r.scalar === null || r.scalar.size === 0);
    this.nodeSelector = spec.nodeSelector && Object.keys(spec.nodeSelector).length > 0 ? spec.nodeSelector : null;
    this.requiredNodeAffinity = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? null;
    const names = this.requiredNodeAffinity ? nodeNamesFromAffinity(this.requiredNodeAffinity) : null;
    this.interPod = null;
    this.spread = null;
    this.volumes = null;
    this.volumeLimits = null;
    if (names !== null && names.size === 0) {
      this.preFilterReject = ERR_AFFINITY_CONFLICT;
      this.preFilterPlugin = 'NodeAffinity';
      this.nodeNames = names;
      this.nodeNamesPlugins = ['NodeAffinity'];
      return;
    }
    const vol = volumePreFilter(snap, this.pod, names);
    this.nodeNames = vol.nodeNames;
    this.nodeNamesPlugins = vol.nodePlugins;
    this.preFilterReject = vol.reject?.message ?? null;
    this.preFilterPlugin = vol.reject?.plugin ?? '';
    if (vol.reject !== null) return;
    this.volumes = vol.state;
    if (hasLimitedVolumes(this.pod.pod)) {
      const mine = attachableVolumes(this.pod.pod, snap.volumes);
      this.volumeLimits = mine.size > 0 ? mine : null;
    }
    this.interPod = interPodPreFilter(snap, this.pod);
    this.spread = spreadPreFilter(snap, this.pod);
  }

  clone(): CycleState {
    return new CycleState(this.snap, this.pod, this);
  }

  /** Tells the per-pod state that `p` was added to (or, below, removed from) `node`. */
  addPod(p: PodInfo, node: NodeInfo): void {
    this.volumes?.update(p, this.pod.namespace, 1);
    this.interPod?.update(p, node, 1);
    this.spread?.update(p, node, 1);
  }

  removePod(p: PodInfo, node: NodeInfo): void {
    this.volumes?.update(p, this.pod.namespace, -1);
    this.interPod?.update(p, node, -1);
    this.spread?.update(p, node, -1);
  }
}

/**
 * NodeAffinity PreFilter: when every required term names nodes with matchFields metadata.name In,
 * only those nodes are evaluated. Returns null when any term lacks such a field.
 */
function nodeNamesFromAffinity(sel: NodeSelector): Set<string> | null {
  let out: Set<string> | null = null;
  for (const t of sel.nodeSelectorTerms ?? []) {
    let termNames: Set<string> | null = null;
    for (const r of t.matchFields ?? []) {
      if (r.key !== 'metadata.name' || r.operator !== 'In') continue;
      const s = new Set<string>(r.values ?? []);
      if (termNames === null) termNames = s;
      else for (const x of termNames) if (!s.has(x)) termNames.delete(x);
    }
    if (termNames === null) return null;
    out = out === null ? termNames : new Set([...out, ...termNames]);
  }
  return out;
}

function fail(plugin: string, code: Code, ...reasons: string[]): Status {
  return { code, reasons, plugin };
}

/** Required node affinity and nodeSelector (the NodeAffinity filter). */
export function nodeAffinityMatches(st: CycleState, node: NodeInfo): boolean {
  const sel = st.nodeSelector;
  if (sel !== null) for (const k in sel) if (node.labels[k] !== sel[k]) return false;
  if (st.requiredNodeAffinity !== null && (node.node === null || !matchNodeSelector(st.requiredNodeAffinity, node.node))) return false;
  return true;
}

/** NodeResourcesFit Filter: every insufficient resource is a reason. */
export function fitsResources(st: CycleState, node: NodeInfo): Status | null {
  // Allocated only when the node does not fit: this runs for every node the scheduler filters.
  let reasons: string[] | null = null;
  let unresolvable = false;
  if (node.pods.length + 1 > node.allowedPods) (reasons ??= []).push(ERR_TOO_MANY_PODS);
  if (!st.zeroRequest) {
    const r = st.requests;
    const a = node.allocatable;
    const u = node.requested;
    if (r.milliCPU > 0 && r.milliCPU > a.milliCPU - u.milliCPU) {
      (reasons ??= []).push('Insufficient cpu');
      if (r.milliCPU > a.milliCPU) unresolvable = true;
    }
    if (r.memory > 0 && r.memory > a.memory - u.memory) {
      (reasons ??= []).push('Insufficient memory');
      if (r.memory > a.memory) unresolvable = true;
    }
    if (r.ephemeralStorage > 0 && r.ephemeralStorage > a.ephemeralStorage - u.ephemeralStorage) {
      (reasons ??= []).push('Insufficient ephemeral-storage');
      if (r.ephemeralStorage > a.ephemeralStorage) unresolvable = true;
    }
    if (r.scalar !== null) {
      for (const name of [...r.scalar.keys()].sort()) {
        const want = r.scalar.get(name)!;
        const alloc = a.scalar?.get(name) ?? 0;
        if (want > alloc - (u.scalar?.get(name) ?? 0)) {
          (reasons ??= []).push(`Insufficient ${name}`);
          if (want > alloc) unresolvable = true;
        }
      }
    }
  }
  if (reasons === null) return null;
  return fail('NodeResourcesFit', unresolvable ? 'UnschedulableAndUnresolvable' : 'Unschedulable', ...reasons);
}

/** Runs the filter plugins on one node; null means the pod fits. */
export function filterNode(st: CycleState, node: NodeInfo): Status | null {
  const pod = st.pod;
  // NodeUnschedulable
  if (node.unschedulable && !toleratedBy(st.tolerations, UNSCHEDULABLE_TAINT)) {
    return fail('NodeUnschedulable', 'UnschedulableAndUnresolvable', ERR_UNSCHEDULABLE);
  }
  // NodeName
  if (pod.nodeName !== '' && pod.nodeName !== node.name) {
    return fail('NodeName', 'UnschedulableAndUnresolvable', ERR_NODE_NAME);
  }
  // TaintToleration
  if (node.taints.length > 0) {
    const t = firstUntoleratedTaint(node.taints, st.tolerations, false);
    if (t !== null) return fail('TaintToleration', 'UnschedulableAndUnresolvable', untoleratedTaintReason(t));
  }
  // NodeAffinity
  if ((st.nodeSelector !== null || st.requiredNodeAffinity !== null) && !nodeAffinityMatches(st, node)) {
    return fail('NodeAffinity', 'UnschedulableAndUnresolvable', ERR_NODE_AFFINITY);
  }
  // NodePorts
  if (pod.hostPorts.length > 0) {
    for (const p of pod.hostPorts) if (node.portConflict(p)) return fail('NodePorts', 'Unschedulable', ERR_NODE_PORTS);
  }
  // NodeResourcesFit
  const fit = fitsResources(st, node);
  if (fit !== null) return fit;
  // VolumeRestrictions, NodeVolumeLimits, VolumeBinding, VolumeZone
  const vol = st.volumes;
  if (vol !== null) {
    const r = vol.filterRestrictions(node);
    if (r !== null) return fail('VolumeRestrictions', 'Unschedulable', r);
  }
  if (st.volumeLimits !== null) {
    const r = filterVolumeLimits(st.snap, st.volumeLimits, node);
    if (r !== null) return fail('NodeVolumeLimits', 'Unschedulable', r);
  }
  if (vol !== null) {
    let r = vol.filterBinding(node);
    if (r !== null) return fail('VolumeBinding', 'UnschedulableAndUnresolvable', r);
    r = vol.filterZone(node);
    if (r !== null) return fail('VolumeZone', 'UnschedulableAndUnresolvable', r);
  }
  // PodTopologySpread
  if (st.spread !== null) {
    const r = st.spread.filter(node);
    if (r !== null) return fail('PodTopologySpread', r.unresolvable ? 'UnschedulableAndUnresolvable' : 'Unschedulable', r.reason);
  }
  // InterPodAffinity
  if (st.interPod !== null) {
    const r = st.interPod.filter(node);
    if (r !== null) return fail('InterPodAffinity', r.unresolvable ? 'UnschedulableAndUnresolvable' : 'Unschedulable', r.reason);
  }
  return null;
}

/**
 * RunFilterPluginsWithNominatedPods: when pods of equal or higher priority are nominated to the
 * node, the pod must fit both with them (as if they were already bound) and without them.
 */
export function filterNodeWithNominated(st: CycleState, node: NodeInfo): Status | null {
  if (st.snap.hasNominatedPods) {
    let ni: NodeInfo | null = null;
    let s: CycleState | null = null;
    for (const p of st.snap.nominatedPods(node.name)) {
      if (p.key === st.pod.key || p.priority < st.pod.priority) continue;
      ni ??= node.clone();
      s ??= st.clone();
      ni.addPod(p);
      s.addPod(p, ni);
    }
    if (ni !== null && s !== null) {
      const r = filterNode(s, ni);
      if (r !== null) return r;
    }
  }
  return filterNode(st, node);
}

/** Convenience for one pod and one node: the reasons it does not fit, or [] when it fits. */
export function whyNot(snap: Snapshot, pod: Pod, nodeName: string): string[] {
  const node = snap.getNode(nodeName);
  if (!node) throw new Error(`node ${nodeName} not in snapshot`);
  const st = new CycleState(snap, pod);
  if (st.preFilterReject !== null) return [st.preFilterReject];
  if (st.nodeNames !== null && !st.nodeNames.has(nodeName)) return [`node(s) didn't satisfy plugin(s) [${st.nodeNamesPlugins.join(' ')}]`];
  return filterNodeWithNominated(st, node)?.reasons ?? [];
}
