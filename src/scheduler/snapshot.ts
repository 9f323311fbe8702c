// The cluster as the scheduler sees it: nodes with their allocatable resources, the pods bound to
// them and the sums those pods request, kept up to date incrementally (add, update or remove one
// pod or node without rebuilding), like kube-scheduler's cache and NodeInfo.
import { compileLabelSelector, LabelMatcher } from './labels.ts';
import { milliValue, parseQuantity, QuantityError, value } from '../api/quantity/parse.ts';
import type { Container, Labels, Namespace, Node, Pod, PodAffinityTerm, ResourceList, Taint } from './types.ts';
import { VolumeStore } from './volumes.ts';

export const LABEL_HOSTNAME = 'kubernetes.io/hostname';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';

/** Upstream's non-zero defaults for containers without requests (scoring only). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** An amount of each resource: cpu in millicores, everything else in whole units. */
export interface Resources {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended resources, hugepages-*, attachable-volumes-*, prefixed native resources. */
  scalar: Map<string, number> | null;
}

export function emptyResources(): Resources {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, scalar: null };
}

/** Upstream's IsScalarResourceName, for names other than cpu/memory/ephemeral-storage/pods. */
export function isScalarResource(name: string): boolean {
  return name.includes('/') || name.startsWith('hugepages-') || name.startsWith('attachable-volumes-');
}

function nanoOf(q: string | number | undefined): bigint {
  if (q === undefined || q === null) return 0n;
  try {
    return parseQuantity(q);
  } catch (e) {
    if (e instanceof QuantityError) return 0n; // the API server validated it; treat garbage as 0
    throw e;
  }
}

type NanoList = Map<string, bigint>;

function addList(into: NanoList, from: NanoList): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0n) + v);
}

function maxList(into: NanoList, from: NanoList): void {
  for (const [k, v] of from) {
    const cur = into.get(k);
    if (cur === undefined || v > cur) into.set(k, v);
  }
}

/** A container's requests; a resource with a limit but no request requests its limit (API defaulting). */
function containerRequests(c: Container, nonMissing: boolean): NanoList {
  const out: NanoList = new Map();
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  for (const [k, v] of Object.entries(lim)) if (!(k in req)) out.set(k, nanoOf(v));
  for (const [k, v] of Object.entries(req)) out.set(k, nanoOf(v));
  if (nonMissing) {
    if (!out.has('cpu')) out.set('cpu', BigInt(DEFAULT_MILLI_CPU_REQUEST) * 1_000_000n);
    if (!out.has('memory')) out.set('memory', BigInt(DEFAULT_MEMORY_REQUEST) * 1_000_000_000n);
  }
  return out;
}

/**
 * resourcehelper.PodRequests: the sum of the containers, raised to the largest init container
 * (sidecars — init containers with restartPolicy Always — add to both), plus spec.overhead.
 * With `nonMissing`, containers that do not request cpu/memory count 100m / 200Mi.
 */
export function podRequestList(pod: Pod, nonMissing: boolean): NanoList {
  const reqs: NanoList = new Map();
  for (const c of pod.spec.containers ?? []) addList(reqs, containerRequests(c, nonMissing));
  const sidecars: NanoList = new Map();
  const initMax: NanoList = new Map();
  for (const c of pod.spec.initContainers ?? []) {
    let r = containerRequests(c, nonMissing);
    if (c.restartPolicy === 'Always') {
      addList(reqs, r);
      addList(sidecars, r);
      r = new Map(sidecars);
    } else {
      const tmp: NanoList = new Map(r);
      addList(tmp, sidecars);
      r = tmp;
    }
    maxList(initMax, r);
  }
  maxList(reqs, initMax);
  if (pod.spec.overhead) {
    const oh: NanoList = new Map();
    for (const [k, v] of Object.entries(pod.spec.overhead)) oh.set(k, nanoOf(v));
    addList(reqs, oh);
  }
  return reqs;
}

function toResources(list: NanoList): Resources {
  const r = emptyResources();
  for (const [k, v] of list) {
    if (k === 'cpu') r.milliCPU = milliValue(v);
    else if (k === 'memory') r.memory = value(v);
    else if (k === 'ephemeral-storage') r.ephemeralStorage = value(v);
    else if (k !== 'pods' && isScalarResource(k)) (r.scalar ??= new Map()).set(k, value(v));
  }
  return r;
}

/** The requests of one pod as upstream's NodeResourcesFit sees them (missing requests are 0). */
export function podRequests(pod: Pod): Resources {
  return toResources(podRequestList(pod, false));
}

/** A pod's affinity term with its namespaces resolved (upstream's framework.AffinityTerm). */
export interface AffinityTerm {
  selector: LabelMatcher;
  /** Namespaces named by the term; the owning pod's namespace when neither list nor selector is set. */
  namespaces: Set<string>;
  /** null when the term has no namespaceSelector. */
  namespaceSelector: LabelMatcher | null;
  topologyKey: string;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

function affinityTerm(pod: Pod, t: PodAffinityTerm): AffinityTerm {
  let selector = compileLabelSelector(t.labelSelector);
  // matchLabelKeys / mismatchLabelKeys (merged by the API server since 1.33; harmless twice).
  const labels = pod.metadata.labels ?? {};
  for (const k of t.matchLabelKeys ?? []) if (k in labels) selector = selector.withLabels({ [k]: labels[k] });
  if (selector.reqs !== null) {
    const mismatch = (t.mismatchLabelKeys ?? []).filter((k) => k in labels);
    if (mismatch.length > 0) {
      selector = new LabelMatcher([...selector.reqs, ...mismatch.map((k) => ({ key: k, op: 'notin' as const, values: [labels[k]] }))]);
    }
  }
  const nsList = t.namespaces ?? [];
  const hasNsSelector = t.namespaceSelector !== undefined && t.namespaceSelector !== null;
  const namespaces = new Set(nsList.length === 0 && !hasNsSelector ? [pod.metadata.namespace ?? 'default'] : nsList);
  return {
    selector,
    namespaces,
    namespaceSelector: hasNsSelector ? compileLabelSelector(t.namespaceSelector) : null,
    topologyKey: t.topologyKey,
  };
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** Everything the scheduler needs from one pod, computed once when the pod enters the snapshot. */
export class PodInfo {
  readonly pod: Pod;
  readonly key: string;
  readonly name: string;
  readonly namespace: string;
  readonly labels: Labels;
  readonly nodeName: string;
  readonly priority: number;
  /** status.startTime in ms; Infinity when not started (upstream uses "now"). */
  readonly startTime: number;
  readonly terminating: boolean;
  /** Requests for filtering (missing requests count 0). */
  readonly requests: Resources;
  /** cpu/memory for scoring, with 100m / 200Mi for containers that request none. */
  readonly nonZeroCPU: number;
  readonly nonZeroMemory: number;
  readonly hostPorts: HostPort[];
  readonly requiredAffinityTerms: AffinityTerm[];
  readonly requiredAntiAffinityTerms: AffinityTerm[];
  readonly preferredAffinityTerms: WeightedAffinityTerm[];
  readonly preferredAntiAffinityTerms: WeightedAffinityTerm[];
  readonly hasAffinity: boolean;
  /** Claim names of the pod's persistentVolumeClaim volumes. */
  readonly claims: string[];

  constructor(pod: Pod) {
    this.pod = pod;
    this.name = pod.metadata.name ?? '';
    this.namespace = pod.metadata.namespace ?? 'default';
    this.key = `${this.namespace}/${this.name}`;
    this.labels = pod.metadata.labels ?? {};
    this.nodeName = pod.spec.nodeName ?? '';
    this.priority = pod.spec.priority ?? 0;
    const st = pod.status?.startTime ? Date.parse(pod.status.startTime) : NaN;
    this.startTime = Number.isNaN(st) ? Infinity : st;
    this.terminating = !!pod.metadata.deletionTimestamp;
    this.requests = podRequests(pod);
    const nz = podRequestList(pod, true);
    this.nonZeroCPU = milliValue(nz.get('cpu') ?? 0n);
    this.nonZeroMemory = value(nz.get('memory') ?? 0n);
    const ports: HostPort[] = [];
    for (const c of pod.spec.containers ?? []) {
      for (const p of c.ports ?? []) {
        const hostPort = p.hostPort ?? (pod.spec.hostNetwork ? p.containerPort : 0);
        if (!hostPort || hostPort <= 0) continue;
        ports.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: hostPort });
      }
    }
    this.hostPorts = ports;
    const claims: string[] = [];
    for (const v of pod.spec.volumes ?? []) if (v.persistentVolumeClaim) claims.push(v.persistentVolumeClaim.claimName);
    this.claims = claims;
    const a = pod.spec.affinity;
    const req = (xs: PodAffinityTerm[] | null | undefined) => (xs ?? []).map((t) => affinityTerm(pod, t));
    const pref = (xs: { weight: number; podAffinityTerm: PodAffinityTerm }[] | null | undefined) =>
      (xs ?? []).map((w) => ({ ...affinityTerm(pod, w.podAffinityTerm), weight: w.weight }));
    this.requiredAffinityTerms = req(a?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
    this.requiredAntiAffinityTerms = req(a?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
    this.preferredAffinityTerms = pref(a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
    this.preferredAntiAffinityTerms = pref(a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
    this.hasAffinity =
      this.requiredAffinityTerms.length + this.requiredAntiAffinityTerms.length +
        this.preferredAffinityTerms.length + this.preferredAntiAffinityTerms.length > 0;
  }
}

export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
}

function portKey(p: HostPort): string {
  return `${p.ip}/${p.protocol}/${p.port}`;
}

/** One node and the pods bound to it. `node` is null while pods name a node not seen yet. */
export class NodeInfo {
  readonly name: string;
  node: Node | null = null;
  labels: Labels = {};
  taints: Taint[] = [];
  unschedulable = false;
  allocatable: Resources = emptyResources();
  allowedPods = 0;
  /** Image name → size in bytes, from status.images. */
  images: Map<string, number> = new Map();

  pods: PodInfo[] = [];
  requested: Resources = emptyResources();
  nonZeroCPU = 0;
  nonZeroMemory = 0;
  /** Pods with any pod (anti-)affinity, and those with required anti-affinity. */
  podsWithAffinity: PodInfo[] = [];
  podsWithRequiredAntiAffinity: PodInfo[] = [];
  /** "ip/protocol/port" → number of pods using it. */
  usedPorts: Map<string, number> = new Map();

  constructor(name: string) {
    this.name = name;
  }

  setNode(node: Node): void {
    this.node = node;
    this.labels = node.metadata.labels ?? {};
    this.taints = node.spec?.taints ?? [];
    this.unschedulable = !!node.spec?.unschedulable;
    const alloc = node.status?.allocatable ?? {};
    const r = emptyResources();
    let pods = 0;
    for (const [k, v] of Object.entries(alloc)) {
      const nano = nanoOf(v);
      if (k === 'cpu') r.milliCPU = milliValue(nano);
      else if (k === 'memory') r.memory = value(nano);
      else if (k === 'ephemeral-storage') r.ephemeralStorage = value(nano);
      else if (k === 'pods') pods = value(nano);
      else if (isScalarResource(k)) (r.scalar ??= new Map()).set(k, value(nano));
    }
    this.allocatable = r;
    this.allowedPods = pods;
    const images = new Map<string, number>();
    for (const img of node.status?.images ?? []) for (const n of img.names ?? []) images.set(n, img.sizeBytes ?? 0);
    this.images = images;
  }

  addPod(p: PodInfo): void {
    this.pods.push(p);
    this.account(p, 1);
    if (p.hasAffinity) this.podsWithAffinity.push(p);
    if (p.requiredAntiAffinityTerms.length > 0) this.podsWithRequiredAntiAffinity.push(p);
  }

  /** Removes the pod with p's key; returns false when it is not here. */
  removePod(p: PodInfo): boolean {
    const i = this.pods.findIndex((x) => x.key === p.key);
    if (i < 0) return false;
    const old = this.pods[i];
    this.pods.splice(i, 1);
    this.account(old, -1);
    if (old.hasAffinity) this.podsWithAffinity = this.podsWithAffinity.filter((x) => x !== old);
    if (old.requiredAntiAffinityTerms.length > 0) this.podsWithRequiredAntiAffinity = this.podsWithRequiredAntiAffinity.filter((x) => x !== old);
    return true;
  }

  private account(p: PodInfo, sign: 1 | -1): void {
    const r = this.requested;
    r.milliCPU += sign * p.requests.milliCPU;
    r.memory += sign * p.requests.memory;
    r.ephemeralStorage += sign * p.requests.ephemeralStorage;
    if (p.requests.scalar) {
      const s = (r.scalar ??= new Map());
      for (const [k, v] of p.requests.scalar) s.set(k, (s.get(k) ?? 0) + sign * v);
    }
    this.nonZeroCPU += sign * p.nonZeroCPU;
    this.nonZeroMemory += sign * p.nonZeroMemory;
    for (const hp of p.hostPorts) {
      const k = portKey(hp);
      const n = (this.usedPorts.get(k) ?? 0) + sign;
      if (n > 0) this.usedPorts.set(k, n);
      else this.usedPorts.delete(k);
    }
  }

  /** HostPortInfo.CheckConflict: 0.0.0.0 conflicts with any address on the same protocol/port. */
  portConflict(p: HostPort): boolean {
    if (this.usedPorts.size === 0) return false;
    if (p.ip === '0.0.0.0') {
      const suffix = `/${p.protocol}/${p.port}`;
      for (const k of this.usedPorts.keys()) if (k.endsWith(suffix)) return true;
      return false;
    }
    return this.usedPorts.has(`0.0.0.0/${p.protocol}/${p.port}`) || this.usedPorts.has(portKey(p));
  }

  /** A copy whose pod list and sums can be changed without touching this one (for preemption). */
  clone(): NodeInfo {
    const c = new NodeInfo(this.name);
    c.node = this.node;
    c.labels = this.labels;
    c.taints = this.taints;
    c.unschedulable = this.unschedulable;
    c.allocatable = this.allocatable;
    c.allowedPods = this.allowedPods;
    c.images = this.images;
    c.pods = [...this.pods];
    c.requested = { ...this.requested, scalar: this.requested.scalar ? new Map(this.requested.scalar) : null };
    c.nonZeroCPU = this.nonZeroCPU;
    c.nonZeroMemory = this.nonZeroMemory;
    c.podsWithAffinity = [...this.podsWithAffinity];
    c.podsWithRequiredAntiAffinity = [...this.podsWithRequiredAntiAffinity];
    c.usedPorts = new Map(this.usedPorts);
    return c;
  }
}

function isTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * The scheduler's view of the cluster. Feed it every Node, every Pod (unassigned and terminal
 * pods are ignored, so informer events can be passed straight through) and, for
 * namespaceSelector in pod affinity, every Namespace.
 */
export class Snapshot {
  /** Nodes in the order they were added; only nodes whose Node object is known. */
  readonly nodes: NodeInfo[] = [];
  private readonly byName = new Map<string, NodeInfo>();
  private readonly podsByKey = new Map<string, PodInfo>();
  private readonly nsLabels = new Map<string, Labels>();
  /** Unbound pods with status.nominatedNodeName: node name → pod key → pod. */
  private readonly nominated = new Map<string, Map<string, PodInfo>>();
  private readonly nominatedNodeOf = new Map<string, string>();
  /** Image name → number of nodes that have it. */
  readonly imageNodeCount = new Map<string, number>();
  /** Assigned pods with required anti-affinity, cluster-wide (lets plain pods skip a scan). */
  podsWithRequiredAntiAffinity = 0;
  podsWithAffinity = 0;
  /** Round-robin start for percentageOfNodesToScore (upstream's nextStartNodeIndex). */
  nextStartNodeIndex = 0;
  /** PersistentVolumeClaims, PersistentVolumes and StorageClasses, for the volume plugins. */
  readonly volumes = new VolumeStore();
  /** `namespace/claim` → number of assigned pods using the claim. */
  private readonly pvcRefs = new Map<string, number>();

  static from(nodes: Node[], pods: Pod[] = [], namespaces: Namespace[] = []): Snapshot {
    const s = new Snapshot();
    for (const n of nodes) s.upsertNode(n);
    for (const p of pods) s.upsertPod(p);
    for (const ns of namespaces) s.upsertNamespace(ns);
    return s;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  getNode(name: string): NodeInfo | undefined {
    const n = this.byName.get(name);
    return n && n.node ? n : undefined;
  }

  getPod(key: string): PodInfo | undefined {
    return this.podsByKey.get(key);
  }

  /** Unbound pods nominated to this node by an earlier preemption. */
  nominatedPods(nodeName: string): Iterable<PodInfo> {
    return this.nominated.get(nodeName)?.values() ?? [];
  }

  get hasNominatedPods(): boolean {
    return this.nominated.size > 0;
  }

  /** StorageInfos().IsPVCUsedByPods: an assigned pod uses the claim. */
  isPVCUsed(namespace: string, claim: string): boolean {
    return (this.pvcRefs.get(`${namespace}/${claim}`) ?? 0) > 0;
  }

  private countClaims(pi: PodInfo, sign: 1 | -1): void {
    for (const c of pi.claims) {
      const k = `${pi.namespace}/${c}`;
      const n = (this.pvcRefs.get(k) ?? 0) + sign;
      if (n > 0) this.pvcRefs.set(k, n);
      else this.pvcRefs.delete(k);
    }
  }

  /** Namespace labels, or undefined for a namespace not in the snapshot. */
  namespaceLabels(ns: string): Labels | undefined {
    return this.nsLabels.get(ns);
  }

  upsertNamespace(ns: Namespace): void {
    if (ns.metadata.name) this.nsLabels.set(ns.metadata.name, ns.metadata.labels ?? {});
  }

  removeNamespace(name: string): void {
    this.nsLabels.delete(name);
  }

  upsertNode(node: Node): void {
    const name = node.metadata.name ?? '';
    let ni = this.byName.get(name);
    if (!ni) {
      ni = new NodeInfo(name);
      this.byName.set(name, ni);
    }
    if (ni.node) this.countImages(ni, -1);
    else this.nodes.push(ni);
    ni.setNode(node);
    this.countImages(ni, 1);
  }

  removeNode(name: string): void {
    const ni = this.byName.get(name);
    if (!ni || !ni.node) return;
    this.countImages(ni, -1);
    this.nodes.splice(this.nodes.indexOf(ni), 1);
    ni.node = null;
    // Like upstream's cache, pods still bound to a deleted node stay accounted until removed.
    if (ni.pods.length === 0) this.byName.delete(name);
  }

  private countImages(ni: NodeInfo, sign: 1 | -1): void {
    for (const name of ni.images.keys()) {
      const n = (this.imageNodeCount.get(name) ?? 0) + sign;
      if (n > 0) this.imageNodeCount.set(name, n);
      else this.imageNodeCount.delete(name);
    }
  }

  /**
   * Adds, updates or removes a pod: bound pods are accounted on their node, unbound pods with
   * status.nominatedNodeName are remembered as nominated, terminal and other pods are dropped.
   */
  upsertPod(pod: Pod): void {
    const key = podKey(pod);
    this.removePod(key);
    if (isTerminal(pod)) return;
    if (!pod.spec.nodeName) {
      const nom = pod.status?.nominatedNodeName;
      if (nom) {
        let m = this.nominated.get(nom);
        if (!m) this.nominated.set(nom, (m = new Map()));
        m.set(key, new PodInfo(pod));
        this.nominatedNodeOf.set(key, nom);
      }
      return;
    }
    const pi = new PodInfo(pod);
    let ni = this.byName.get(pi.nodeName);
    if (!ni) {
      ni = new NodeInfo(pi.nodeName);
      this.byName.set(pi.nodeName, ni);
    }
    ni.addPod(pi);
    this.podsByKey.set(key, pi);
    if (pi.claims.length > 0) this.countClaims(pi, 1);
    if (pi.requiredAntiAffinityTerms.length > 0) this.podsWithRequiredAntiAffinity++;
    if (pi.hasAffinity) this.podsWithAffinity++;
  }

  /** Binds a pod in the snapshot (upstream's "assume") so the next decision sees it. */
  assume(pod: Pod, nodeName: string): void {
    this.upsertPod({ ...pod, spec: { ...pod.spec, nodeName } });
  }

  removePod(podOrKey: Pod | string): void {
    const key = typeof podOrKey === 'string' ? podOrKey : podKey(podOrKey);
    const nom = this.nominatedNodeOf.get(key);
    if (nom !== undefined) {
      this.nominatedNodeOf.delete(key);
      const m = this.nominated.get(nom)!;
      m.delete(key);
      if (m.size === 0) this.nominated.delete(nom);
    }
    const pi = this.podsByKey.get(key);
    if (!pi) return;
    this.podsByKey.delete(key);
    if (pi.claims.length > 0) this.countClaims(pi, -1);
    const ni = this.byName.get(pi.nodeName);
    if (ni) {
      ni.removePod(pi);
      if (!ni.node && ni.pods.length === 0) this.byName.delete(ni.name);
    }
    if (pi.requiredAntiAffinityTerms.length > 0) this.podsWithRequiredAntiAffinity--;
    if (pi.hasAffinity) this.podsWithAffinity--;
  }
}

/** Reads a ResourceList value in whole units (helper for callers and tests). */
export function quantityOf(list: ResourceList | undefined, name: string): number {
  const v = list?.[name];
  if (v === undefined) return 0;
  return name === 'cpu' ? milliValue(nanoOf(v)) : value(nanoOf(v));
}
