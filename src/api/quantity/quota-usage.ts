// Quota evaluators (upstream's pkg/quota/v1/evaluator/core and generic): per group/resource, which
// quota resource names an object is charged under, what one object uses, and which quota scopes it
// falls in. Shared by the ResourceQuota controller (sums over a namespace) and the ResourceQuota
// admission plugin (src/apiserver/admission/resourcequota.ts: one object against status.used).
import type { KubeObject } from '../object.ts';
import { addList, addQ, count, parseList, zero, type Quantity, type ResourceList } from './resource-list.ts';

type Obj = Record<string, unknown>;

export interface ScopeRequirement {
  scopeName: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface Evaluator {
  group: string;
  resource: string;
  /** The names among `names` this evaluator accounts for (MatchingResources). */
  matching(names: string[]): string[];
  /** What one object uses. */
  usage(obj: KubeObject, now: Date): ResourceList;
  /** Whether the object falls in a quota scope (non-pod evaluators match no scope). */
  matchesScope(req: ScopeRequirement, obj: KubeObject): boolean;
  /** An admission constraint the object fails for the quota's `required` names, e.g. "must specify cpu for: app". */
  constraints(required: string[], obj: KubeObject): string | undefined;
  /** Updates are charged too (their growth over the stored object), as upstream's Handles says. */
  chargesUpdates?: boolean;
}

/** `count/pods`, `count/deployments.apps`. */
export function objectCountName(group: string, resource: string): string {
  return group ? `count/${resource}.${group}` : `count/${resource}`;
}

const LEGACY_COUNT: Record<string, string> = { configmaps: 'configmaps', secrets: 'secrets', replicationcontrollers: 'replicationcontrollers', resourcequotas: 'resourcequotas' };

const noScope = (): boolean => false;
const noConstraint = (): undefined => undefined;

/** An object-count evaluator: `count/<resource>.<group>` (and the legacy name of a few core kinds). */
export function objectCountEvaluator(group: string, resource: string): Evaluator {
  const names = [objectCountName(group, resource)];
  const legacy = group === '' ? LEGACY_COUNT[resource] : undefined;
  if (legacy) names.push(legacy);
  return {
    group,
    resource,
    matching: (input) => input.filter((n) => names.includes(n)),
    usage: () => Object.fromEntries(names.map((n) => [n, count(1)])),
    matchesScope: noScope,
    constraints: noConstraint,
  };
}

// ---- pods ----

const POD_RESOURCES = new Set([
  'count/pods', 'pods', 'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage', 'limits.cpu', 'limits.memory', 'limits.ephemeral-storage',
]);
/** Names a pod must request explicitly (per container) when a quota limits them. */
const VALIDATION_SET = ['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'];

function isExtendedResource(name: string): boolean {
  return name.includes('/') && !name.includes('kubernetes.io/') && !name.startsWith('requests.');
}

function podMatching(input: string[]): string[] {
  return input.filter((n) => POD_RESOURCES.has(n) || n.startsWith('hugepages-') || n.startsWith('requests.hugepages-') || (n.startsWith('requests.') && isExtendedResource(n.slice('requests.'.length))));
}

interface Container {
  name?: string;
  restartPolicy?: string;
  resources?: { requests?: Obj; limits?: Obj };
}

/** A container's requests after API defaulting (a limit without a request requests the limit). */
function containerRequests(c: Container): ResourceList {
  const req = parseList(c.resources?.requests);
  for (const [k, v] of Object.entries(parseList(c.resources?.limits))) if (!req[k]) req[k] = v;
  return req;
}

function maxList(into: ResourceList, b: ResourceList): void {
  for (const [k, v] of Object.entries(b)) if (!into[k] || v.nano > into[k].nano) into[k] = { ...v };
}

/** resourcehelper.PodRequests / PodLimits: containers summed, init containers (with sidecars) as the floor, plus overhead. */
function podAggregate(spec: Obj, of: (c: Container) => ResourceList, limits: boolean): ResourceList {
  let sum: ResourceList = {};
  for (const c of (spec.containers as Container[] | undefined) ?? []) sum = addList(sum, of(c));
  let sidecars: ResourceList = {};
  const initMax: ResourceList = {};
  for (const c of (spec.initContainers as Container[] | undefined) ?? []) {
    const own = of(c);
    if (c.restartPolicy === 'Always') {
      sum = addList(sum, own);
      sidecars = addList(sidecars, own);
      maxList(initMax, sidecars);
    } else maxList(initMax, addList(own, sidecars));
  }
  maxList(sum, initMax);
  const overhead = parseList(spec.overhead as Obj | undefined);
  for (const [k, v] of Object.entries(overhead)) {
    if (sum[k]) sum[k] = addQ(sum[k], v);
    else if (!limits) sum[k] = { ...v };
  }
  return sum;
}

/** podComputeUsageHelper: the quota names of a pod's (or container's) requests and limits. */
function computeUsage(requests: ResourceList, limits: ResourceList): ResourceList {
  const out: ResourceList = { pods: count(1) };
  for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
    if (requests[r]) {
      out[r] = requests[r];
      out[`requests.${r}`] = requests[r];
    }
    if (limits[r]) out[`limits.${r}`] = limits[r];
  }
  for (const [r, q] of Object.entries(requests)) {
    if (r.startsWith('hugepages-')) {
      out[r] = q;
      out[`requests.${r}`] = q;
    }
    if (isExtendedResource(r)) out[`requests.${r}`] = q;
  }
  return out;
}

/** QuotaV1Pod: terminal pods, and pods past their deletion grace period, use no compute quota. */
export function podCountsForQuota(pod: KubeObject, now: Date): boolean {
  const phase = (pod.status as Obj | undefined)?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  const m = pod.metadata ?? {};
  if (m.deletionTimestamp && m.deletionGracePeriodSeconds !== undefined) {
    if (now.getTime() > Date.parse(m.deletionTimestamp) + m.deletionGracePeriodSeconds * 1000) return false;
  }
  return true;
}

function isBestEffort(spec: Obj): boolean {
  const cs = [...((spec.containers as Container[] | undefined) ?? []), ...((spec.initContainers as Container[] | undefined) ?? [])];
  for (const c of cs) {
    for (const list of [parseList(c.resources?.requests), parseList(c.resources?.limits)]) {
      for (const r of ['cpu', 'memory']) if (list[r] && list[r].nano !== 0n) return false;
    }
  }
  return true;
}

function usesCrossNamespaceAffinity(spec: Obj): boolean {
  const affinity = (spec.affinity ?? {}) as Obj;
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    const a = (affinity[kind] ?? {}) as Obj;
    const terms = [
      ...((a.requiredDuringSchedulingIgnoredDuringExecution as Obj[] | undefined) ?? []),
      ...(((a.preferredDuringSchedulingIgnoredDuringExecution as Obj[] | undefined) ?? []).map((w) => (w.podAffinityTerm ?? {}) as Obj)),
    ];
    for (const t of terms) if (t.namespaceSelector != null || ((t.namespaces as unknown[] | undefined) ?? []).length > 0) return true;
  }
  return false;
}

function podMatchesScope(req: ScopeRequirement, pod: KubeObject): boolean {
  const spec = (pod.spec ?? {}) as Obj;
  switch (req.scopeName) {
    case 'Terminating':
      return typeof spec.activeDeadlineSeconds === 'number' && spec.activeDeadlineSeconds >= 0;
    case 'NotTerminating':
      return !(typeof spec.activeDeadlineSeconds === 'number' && spec.activeDeadlineSeconds >= 0);
    case 'BestEffort':
      return isBestEffort(spec);
    case 'NotBestEffort':
      return !isBestEffort(spec);
    case 'CrossNamespacePodAffinity':
      return usesCrossNamespaceAffinity(spec);
    case 'PriorityClass': {
      const pc = typeof spec.priorityClassName === 'string' ? spec.priorityClassName : '';
      const values = req.values ?? [];
      switch (req.operator) {
        case 'Exists':
          return pc !== '';
        case 'DoesNotExist':
          return pc === '';
        case 'In':
          return pc !== '' && values.includes(pc);
        case 'NotIn':
          return pc === '' || !values.includes(pc);
      }
      return false;
    }
  }
  return false;
}

function podConstraints(required: string[], pod: KubeObject): string | undefined {
  const req = new Set(required.filter((n) => VALIDATION_SET.includes(n)));
  if (req.size === 0) return undefined;
  const spec = (pod.spec ?? {}) as Obj;
  const missing = new Map<string, Set<string>>();
  for (const c of [...((spec.containers as Container[] | undefined) ?? []), ...((spec.initContainers as Container[] | undefined) ?? [])]) {
    const have = computeUsage(containerRequests(c), parseList(c.resources?.limits));
    for (const r of req) {
      if (have[r]) continue;
      if (!missing.has(r)) missing.set(r, new Set());
      missing.get(r)!.add(c.name ?? '');
    }
  }
  if (missing.size === 0) return undefined;
  const parts = [...missing.keys()].sort().map((r) => `${r} for: ${[...missing.get(r)!].sort().join(',')}`);
  return `must specify ${parts.join('; ')}`;
}

export const podEvaluator: Evaluator = {
  group: '',
  resource: 'pods',
  matching: podMatching,
  usage(pod, now) {
    const out: ResourceList = { 'count/pods': count(1) };
    if (!podCountsForQuota(pod, now)) return out;
    const spec = (pod.spec ?? {}) as Obj;
    const requests = podAggregate(spec, containerRequests, false);
    const limits = podAggregate(spec, (c) => parseList(c.resources?.limits), true);
    return addList(out, computeUsage(requests, limits));
  },
  matchesScope: podMatchesScope,
  constraints: podConstraints,
};

// ---- services ----

const SERVICE_RESOURCES = ['count/services', 'services', 'services.nodeports', 'services.loadbalancers'];

export const serviceEvaluator: Evaluator = {
  group: '',
  resource: 'services',
  matching: (input) => input.filter((n) => SERVICE_RESOURCES.includes(n)),
  usage(svc) {
    const spec = (svc.spec ?? {}) as Obj;
    const ports = ((spec.ports as unknown[] | undefined) ?? []).length;
    const out: ResourceList = { 'count/services': count(1), services: count(1), 'services.loadbalancers': zero(), 'services.nodeports': zero() };
    if (spec.type === 'NodePort') out['services.nodeports'] = count(ports);
    if (spec.type === 'LoadBalancer') {
      // Without node port allocation, only the ports that ask for a node port use one.
      const explicit = ((spec.ports as Array<{ nodePort?: number }> | undefined) ?? []).filter((p) => !!p?.nodePort).length;
      out['services.nodeports'] = count(spec.allocateLoadBalancerNodePorts === false ? explicit : ports);
      out['services.loadbalancers'] = count(1);
    }
    return out;
  },
  matchesScope: noScope,
  constraints: noConstraint,
  chargesUpdates: true,
};

// ---- persistentvolumeclaims ----

const SC_SUFFIX = '.storageclass.storage.k8s.io/';

function roundUpToUnit(q: Quantity): Quantity {
  const r = q.nano % 1_000_000_000n;
  return r === 0n ? q : { nano: q.nano - r + (q.nano > 0n ? 1_000_000_000n : 0n), format: q.format };
}

export const pvcEvaluator: Evaluator = {
  group: '',
  resource: 'persistentvolumeclaims',
  matching: (input) =>
    input.filter((n) => ['count/persistentvolumeclaims', 'persistentvolumeclaims', 'requests.storage'].includes(n) || (n.includes(SC_SUFFIX) && (n.endsWith(`${SC_SUFFIX}requests.storage`) || n.endsWith(`${SC_SUFFIX}persistentvolumeclaims`)))),
  usage(pvc) {
    const spec = (pvc.spec ?? {}) as Obj;
    const status = (pvc.status ?? {}) as Obj;
    const out: ResourceList = { persistentvolumeclaims: count(1), 'count/persistentvolumeclaims': count(1) };
    const beta = pvc.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'];
    const sc = beta !== undefined ? beta : typeof spec.storageClassName === 'string' ? spec.storageClassName : '';
    if (sc) out[`${sc}${SC_SUFFIX}persistentvolumeclaims`] = count(1);
    let storage = parseList(((spec.resources ?? {}) as Obj).requests as Obj | undefined).storage;
    if (storage) storage = roundUpToUnit(storage);
    const allocated = parseList(status.allocatedResources as Obj | undefined).storage;
    if (allocated && (!storage || allocated.nano > storage.nano)) storage = roundUpToUnit(allocated);
    if (storage) {
      out['requests.storage'] = storage;
      if (sc) out[`${sc}${SC_SUFFIX}requests.storage`] = storage;
    }
    return out;
  },
  matchesScope: noScope,
  constraints: noConstraint,
  chargesUpdates: true,
};

const SPECIAL: Record<string, Evaluator> = { pods: podEvaluator, services: serviceEvaluator, persistentvolumeclaims: pvcEvaluator };

/** The evaluator of a group/resource (an object-count one for all but pods, services and claims). */
export function evaluatorFor(group: string, resource: string): Evaluator {
  if (group === '' && Object.hasOwn(SPECIAL, resource)) return SPECIAL[resource];
  const key = `${group}/${resource}`;
  let ev = countEvaluators.get(key);
  if (!ev) countEvaluators.set(key, (ev = objectCountEvaluator(group, resource)));
  return ev;
}

const countEvaluators = new Map<string, Evaluator>();

/** The quota's scopes: spec.scopes as Exists requirements, plus spec.scopeSelector's expressions. */
export function quotaScopes(quota: KubeObject): ScopeRequirement[] {
  const spec = (quota.spec ?? {}) as Obj;
  const out: ScopeRequirement[] = ((spec.scopes as string[] | undefined) ?? []).map((s) => ({ scopeName: s, operator: 'Exists' }));
  const sel = (spec.scopeSelector ?? {}) as Obj;
  for (const e of (sel.matchExpressions as ScopeRequirement[] | undefined) ?? []) out.push(e);
  return out;
}

/** Whether every scope of the quota covers the object. */
export function matchesScopes(ev: Evaluator, quota: KubeObject, obj: KubeObject): boolean {
  return quotaScopes(quota).every((s) => ev.matchesScope(s, obj));
}

/** The usage of many objects (CalculateUsageStats): the matched names start at zero. */
export function sumUsage(ev: Evaluator, names: string[], objects: KubeObject[], quota: KubeObject, now: Date): ResourceList {
  let used: ResourceList = Object.fromEntries(names.map((n) => [n, zero()]));
  for (const o of objects) if (matchesScopes(ev, quota, o)) used = addList(used, ev.usage(o, now));
  const out: ResourceList = {};
  for (const n of names) out[n] = used[n];
  return out;
}
