// Strategies of core/v1 kinds with behaviour beyond the default: Pod, Service, Namespace.
import { isPlainObject, nowRfc3339, type KubeObject, cloneJson } from '../../api/object.ts';
import { invalid, type FieldError } from '../../api/status.ts';
import { deepEqual } from '../../api/patch/json-patch.ts';
import type { Store } from '../../store/types.ts';
import { specOf, type Obj } from './spec.ts';
import { registerStrategy, type Strategy } from '../strategy.ts';
import { KeyAllocator, ipv4ToNumber, numberToIpv4 } from './allocator.ts';
import { defaultPodSpec, validatePodSpec } from './podspec.ts';
import { admitServiceAccount } from './serviceaccount-admission.ts';
import { addDefaultTolerations } from './pod-tolerations.ts';


function qosClass(spec: Obj): string {
  const cs = [...((spec.containers as Obj[]) ?? []), ...((spec.initContainers as Obj[]) ?? [])];
  let anySet = false;
  let guaranteed = cs.length > 0;
  for (const c of cs) {
    const r = (c.resources ?? {}) as { requests?: Record<string, string>; limits?: Record<string, string> };
    const req = r.requests ?? {};
    const lim = r.limits ?? {};
    if (Object.keys(req).length > 0 || Object.keys(lim).length > 0) anySet = true;
    for (const res of ['cpu', 'memory']) {
      if (!lim[res] || (req[res] !== undefined && req[res] !== lim[res])) guaranteed = false;
    }
  }
  if (!anySet) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Pod spec fields an update may change (upstream's list). */
function mutablePodSpecView(spec: Obj): Obj {
  const copy = cloneJson(spec);
  for (const list of ['containers', 'initContainers']) for (const c of (copy[list] as Obj[]) ?? []) delete c.image;
  delete copy.activeDeadlineSeconds;
  delete copy.tolerations;
  delete copy.terminationGracePeriodSeconds;
  delete copy.schedulingGates;
  return copy;
}

registerStrategy('/Pod', (base: Strategy): Strategy => ({
  ...base,
  selectableFields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  fields(obj) {
    const spec = (obj.spec ?? {}) as Obj;
    const status = (obj.status ?? {}) as Obj;
    return {
      'spec.nodeName': String(spec.nodeName ?? ''),
      'spec.restartPolicy': String(spec.restartPolicy ?? ''),
      'spec.schedulerName': String(spec.schedulerName ?? ''),
      'spec.serviceAccountName': String(spec.serviceAccountName ?? ''),
      'spec.hostNetwork': String(spec.hostNetwork ?? false),
      'status.phase': String(status.phase ?? ''),
      'status.podIP': String(status.podIP ?? ''),
      'status.nominatedNodeName': String(status.nominatedNodeName ?? ''),
    };
  },
  prepareForCreate(obj) {
    const spec = specOf(obj);
    admitServiceAccount(spec);
    addDefaultTolerations(spec);
    defaultPodSpec(spec);
    spec.enableServiceLinks ??= true;
    obj.status = { phase: 'Pending', qosClass: qosClass(spec) };
    // A gated pod waits for its gates to go; kubectl shows it as SchedulingGated.
    if (Array.isArray(spec.schedulingGates) && spec.schedulingGates.length > 0) {
      (obj.status as Obj).conditions = [{ type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: nowRfc3339(), reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates' }];
    }
  },
  prepareForUpdate(obj, old) {
    base.prepareForUpdate(obj, old);
    const spec = specOf(obj);
    defaultPodSpec(spec);
    // Priority admission's update half: what it set on create stays when a replace leaves it out.
    const was = specOf(old);
    if (spec.priority === undefined && was.priority !== undefined) spec.priority = was.priority;
    if (spec.preemptionPolicy === undefined && was.preemptionPolicy !== undefined) spec.preemptionPolicy = was.preemptionPolicy;
  },
  validate: (obj) => validatePodSpec(obj.spec, 'spec'),
  gracePeriod(obj, requested) {
    const spec = (obj.spec ?? {}) as Obj;
    const phase = ((obj.status ?? {}) as Obj).phase;
    let period = requested ?? (typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : 0);
    // Nothing runs a pod that is not on a node or has finished: it goes at once.
    if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') period = 0;
    return period < 0 ? 1 : period;
  },
  validateUpdate(obj, old) {
    const errs = validatePodSpec(obj.spec, 'spec') as FieldError[];
    if (!deepEqual(mutablePodSpecView(specOf(obj)), mutablePodSpecView(specOf(old)))) {
      errs.push({
        type: 'FieldValueForbidden',
        field: 'spec',
        detail: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      });
    }
    return errs;
  },
}));

const SERVICE_CIDR = { base: ipv4ToNumber('10.96.0.0'), size: 2 ** 20 };
const NODE_PORTS = { min: 30000, max: 32767 };

function serviceAllocators(store: Store): { ips: KeyAllocator; ports: KeyAllocator } {
  return { ips: new KeyAllocator(store, '/registry/ranges/serviceips/'), ports: new KeyAllocator(store, '/registry/ranges/servicenodeports/') };
}

function defaultService(spec: Obj): void {
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.type !== 'ExternalName') {
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    spec.internalTrafficPolicy ??= 'Cluster';
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  for (const p of (spec.ports as Obj[] | undefined) ?? []) {
    if (!isPlainObject(p)) continue;
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
}

function validateService(obj: KubeObject): FieldError[] {
  const spec = specOf(obj);
  const errs: FieldError[] = [];
  const types = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
  if (!types.includes(String(spec.type))) errs.push({ type: 'FieldValueNotSupported', field: 'spec.type', detail: `Unsupported value: "${String(spec.type)}": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"` });
  const ports = (spec.ports as Obj[] | undefined) ?? [];
  if (spec.type !== 'ExternalName' && ports.length === 0 && spec.clusterIP !== 'None') errs.push({ type: 'FieldValueRequired', field: 'spec.ports', detail: 'Required value' });
  ports.forEach((p, i) => {
    const port = p.port;
    if (typeof port !== 'number' || port < 1 || port > 65535) errs.push({ type: 'FieldValueInvalid', field: `spec.ports[${i}].port`, detail: `Invalid value: ${JSON.stringify(port)}: must be between 1 and 65535, inclusive` });
    if (ports.length > 1 && !p.name) errs.push({ type: 'FieldValueRequired', field: `spec.ports[${i}].name`, detail: 'Required value' });
  });
  return errs;
}

registerStrategy('/Service', (base: Strategy): Strategy => ({
  ...base,
  prepareForCreate(obj) {
    defaultService(specOf(obj));
    obj.status = { loadBalancer: {} };
  },
  prepareForUpdate(obj, old) {
    base.prepareForUpdate(obj, old);
    const spec = specOf(obj);
    const prev = specOf(old);
    defaultService(spec);
    // Allocated values carry over when the client leaves them out (as kubectl apply does).
    if (spec.clusterIP === undefined && prev.clusterIP !== undefined) spec.clusterIP = prev.clusterIP;
    if (spec.clusterIPs === undefined && prev.clusterIPs !== undefined) spec.clusterIPs = prev.clusterIPs;
    const prevPorts = (prev.ports as Obj[] | undefined) ?? [];
    for (const p of (spec.ports as Obj[] | undefined) ?? []) {
      if (p.nodePort !== undefined || (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer')) continue;
      const match = prevPorts.find((q) => q.port === p.port && q.protocol === p.protocol);
      if (match?.nodePort !== undefined) p.nodePort = match.nodePort;
    }
  },
  validate: validateService,
  validateUpdate(obj, old) {
    const errs = validateService(obj);
    const a = specOf(obj).clusterIP;
    const b = specOf(old).clusterIP;
    if (b !== undefined && a !== b && !(specOf(obj).type === 'ExternalName')) errs.push({ type: 'FieldValueInvalid', field: 'spec.clusterIPs[0]', detail: `Invalid value: ${JSON.stringify([a].flat())}: may not change once set` });
    return errs;
  },
  async allocate(obj, store, dryRun) {
    const spec = specOf(obj);
    if (spec.type === 'ExternalName') return;
    const { ips, ports } = serviceAllocators(store);
    const owner = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
    const requested = typeof spec.clusterIP === 'string' && spec.clusterIP !== '' ? spec.clusterIP : undefined;
    if (requested !== 'None') {
      if (requested) {
        const n = ipv4ToNumber(requested);
        if (!/^\d+\.\d+\.\d+\.\d+$/.test(requested) || n < SERVICE_CIDR.base || n >= SERVICE_CIDR.base + SERVICE_CIDR.size) {
          throw invalid('Service', '', obj.metadata?.name ?? '', [{ type: 'FieldValueInvalid', field: 'spec.clusterIPs', detail: `Invalid value: ["${requested}"]: failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is 10.96.0.0/12` }]);
        }
        if (!(dryRun ? await ips.isFree(requested) : await ips.claim(requested, owner))) {
          throw invalid('Service', '', obj.metadata?.name ?? '', [{ type: 'FieldValueInvalid', field: 'spec.clusterIPs', detail: `Invalid value: ["${requested}"]: failed to allocate IP ${requested}: provided IP is already allocated` }]);
        }
      } else {
        const random = () => numberToIpv4(SERVICE_CIDR.base + 2 + Math.floor(Math.random() * (SERVICE_CIDR.size - 3)));
        const ip = dryRun ? random() : await ips.claimAny(random, function* () { for (let i = 2; i < SERVICE_CIDR.size - 1; i++) yield numberToIpv4(SERVICE_CIDR.base + i); }, owner);
        if (!ip) throw invalid('Service', '', obj.metadata?.name ?? '', [{ type: 'FieldValueInvalid', field: 'spec.clusterIPs', detail: 'Internal error: failed to allocate a serviceIP: range is full' }]);
        spec.clusterIP = ip;
      }
      spec.clusterIPs = [spec.clusterIP];
    } else spec.clusterIPs = ['None'];
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
      for (const p of (spec.ports as Obj[] | undefined) ?? []) {
        if (typeof p.nodePort === 'number') {
          if (!dryRun && !(await ports.claim(String(p.nodePort), owner))) {
            throw invalid('Service', '', obj.metadata?.name ?? '', [{ type: 'FieldValueInvalid', field: 'spec.ports[0].nodePort', detail: `Invalid value: ${p.nodePort}: provided port is already allocated` }]);
          }
          continue;
        }
        const random = () => String(NODE_PORTS.min + Math.floor(Math.random() * (NODE_PORTS.max - NODE_PORTS.min + 1)));
        const port = dryRun ? random() : await ports.claimAny(random, function* () { for (let i = NODE_PORTS.min; i <= NODE_PORTS.max; i++) yield String(i); }, owner);
        if (!port) throw invalid('Service', '', obj.metadata?.name ?? '', [{ type: 'FieldValueInvalid', field: 'spec.ports', detail: 'Internal error: failed to allocate a nodePort: range is full' }]);
        p.nodePort = Number(port);
      }
    }
  },
  async release(obj, store) {
    const spec = specOf(obj);
    const { ips, ports } = serviceAllocators(store);
    if (typeof spec.clusterIP === 'string' && spec.clusterIP !== 'None' && spec.clusterIP !== '') await ips.release(spec.clusterIP);
    for (const p of (spec.ports as Obj[] | undefined) ?? []) if (typeof p.nodePort === 'number') await ports.release(String(p.nodePort));
  },
}));

function foldStringData(obj: KubeObject): void {
  obj.type ??= 'Opaque';
  const sd = obj.stringData;
  if (isPlainObject(sd)) {
    const data = (isPlainObject(obj.data) ? obj.data : (obj.data = {})) as Record<string, unknown>;
    for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  }
  delete obj.stringData;
}

registerStrategy('/Secret', (base: Strategy): Strategy => ({
  ...base,
  prepareForCreate(obj) {
    base.prepareForCreate(obj);
    foldStringData(obj);
  },
  prepareForUpdate(obj, old) {
    base.prepareForUpdate(obj, old);
    foldStringData(obj);
  },
  validateUpdate(obj, old) {
    if (old.immutable === true && (!deepEqual(obj.data, old.data) || obj.immutable !== true)) {
      return [{ type: 'FieldValueForbidden', field: 'data', detail: 'Forbidden: field is immutable when `immutable` is set' }];
    }
    if ((obj.type ?? 'Opaque') !== (old.type ?? 'Opaque')) return [{ type: 'FieldValueInvalid', field: 'type', detail: `Invalid value: ${JSON.stringify(obj.type)}: field is immutable` }];
    return [];
  },
}));

registerStrategy('/ReplicationController', (base: Strategy): Strategy => {
  // Upstream's v1 defaults: the selector and the labels follow the template's labels, one replica.
  const defaults = (obj: KubeObject) => {
    const spec = specOf(obj);
    const tmplLabels = ((spec.template as Obj | undefined)?.metadata as Obj | undefined)?.labels as Record<string, string> | undefined;
    if (tmplLabels && (!spec.selector || Object.keys(spec.selector as object).length === 0)) spec.selector = { ...tmplLabels };
    if (tmplLabels && !obj.metadata?.labels) obj.metadata = { ...obj.metadata, labels: { ...tmplLabels } };
    spec.replicas ??= 1;
  };
  return {
    ...base,
    prepareForCreate(obj) {
      base.prepareForCreate(obj);
      defaults(obj);
    },
    prepareForUpdate(obj, old) {
      base.prepareForUpdate(obj, old);
      defaults(obj);
    },
  };
});

registerStrategy('/ConfigMap', (base: Strategy): Strategy => ({
  ...base,
  validateUpdate(obj, old) {
    if (old.immutable !== true) return [];
    if (obj.immutable !== true) return [{ type: 'FieldValueForbidden', field: 'immutable', detail: 'Forbidden: field is immutable when `immutable` is set' }];
    const errs: FieldError[] = [];
    if (!deepEqual(obj.data, old.data)) errs.push({ type: 'FieldValueForbidden', field: 'data', detail: 'Forbidden: field is immutable when `immutable` is set' });
    if (!deepEqual(obj.binaryData, old.binaryData)) errs.push({ type: 'FieldValueForbidden', field: 'binaryData', detail: 'Forbidden: field is immutable when `immutable` is set' });
    return errs;
  },
}));

registerStrategy('/Namespace', (base: Strategy): Strategy => ({
  ...base,
  prepareForCreate(obj) {
    const spec = specOf(obj);
    spec.finalizers = ['kubernetes'];
    obj.status = { phase: 'Active' };
    const m = obj.metadata ?? {};
    m.labels = { ...(m.labels ?? {}), 'kubernetes.io/metadata.name': m.name ?? '' };
  },
  prepareForUpdate(obj, old) {
    base.prepareForUpdate(obj, old);
    // spec.finalizers change only through the finalize subresource.
    obj.spec = cloneJson(old.spec ?? {});
    const m = obj.metadata ?? {};
    m.labels = { ...(m.labels ?? {}), 'kubernetes.io/metadata.name': m.name ?? '' };
  },
}));
