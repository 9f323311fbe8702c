// What the EndpointSlice controller changes for one Service (pure), as upstream's reconciler:
// per address type and per distinct port mapping, existing slices keep the endpoints still
// wanted (updated when changed), lose the others (deleted when empty); new endpoints go first
// into slices being updated (fullest first), then into the one unchanged slice they fit best,
// then into new slices of at most maxPerSlice endpoints. A creation paired with a deletion of
// the same address type becomes an update of that slice; a Service with no endpoints keeps one
// empty placeholder slice.
import { findPort, isPodReady, isServiceIPSet, jsonEqual, shouldPodBeInEndpoints, shouldSetHostname, isIPv6 } from './pod-util.ts';
import { TRIGGER_TIME_ANNOTATION } from './trigger-time.ts';
import { controllerRef, rfc3339Nano, type Node, type Pod, type Service } from './types.ts';
import type { KubeObject } from '../../api/object.ts';
import { cloneJson } from '../../api/object.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const SLICE_MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const SLICE_CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
const HEADLESS_LABEL = 'service.kubernetes.io/headless';
const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hostname?: string;
  targetRef?: { kind: string; namespace?: string; name?: string; uid?: string; resourceVersion?: string };
  nodeName?: string;
  zone?: string;
}

export interface SlicePort {
  name: string;
  protocol: string;
  port: number;
  appProtocol?: string;
}

export interface EndpointSlice extends KubeObject {
  addressType: string;
  endpoints: SliceEndpoint[] | null;
  ports?: SlicePort[] | null;
}

export interface ReconcileInput {
  service: Service;
  pods: Pod[];
  node(name: string): Node | undefined;
  /** The slices this controller manages for the Service (not being deleted). */
  existing: EndpointSlice[];
  maxPerSlice: number;
  /** The trigger time annotation value (ms), if any. */
  triggerTime?: number;
}

export interface ReconcilePlan {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
  /** Pods left out for now (their node is unknown): the Service should be synced again. */
  errors: string[];
}

/** The address types of a Service's slices. */
export function addressTypesOf(svc: Service): string[] {
  const out = new Set<string>();
  for (const f of svc.spec?.ipFamilies ?? []) if (f === 'IPv4' || f === 'IPv6') out.add(f);
  if (out.size > 0) return [...out];
  if (isServiceIPSet(svc)) return [isIPv6(svc.spec!.clusterIP!) ? 'IPv6' : 'IPv4'];
  return ['IPv4', 'IPv6'];
}

/** The labels of a Service's slices: its own (but reserved keys), headless, service name, managed-by. */
export function sliceLabels(svc: Service): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata?.labels ?? {})) if (k !== SERVICE_NAME_LABEL && k !== SLICE_MANAGED_BY_LABEL && k !== HEADLESS_LABEL) out[k] = v;
  if (!isServiceIPSet(svc)) out[HEADLESS_LABEL] = '';
  out[SERVICE_NAME_LABEL] = svc.metadata?.name ?? '';
  out[SLICE_MANAGED_BY_LABEL] = SLICE_CONTROLLER_NAME;
  return out;
}

export function podToEndpoint(pod: Pod, node: Node | undefined, svc: Service, addressType: string): SliceEndpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata?.deletionTimestamp;
  const ready = svc.spec?.publishNotReadyAddresses === true || (serving && !terminating);
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  const ep: SliceEndpoint = { addresses: ips.filter((ip) => isIPv6(ip) === (addressType === 'IPv6')), conditions: { ready, serving, terminating } };
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec!.hostname;
  const m = pod.metadata ?? {};
  ep.targetRef = { kind: 'Pod', namespace: m.namespace, name: m.name, uid: m.uid };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata?.labels?.[ZONE_LABEL];
  if (zone) ep.zone = zone;
  return ep;
}

export function endpointPorts(svc: Service, pod: Pod): SlicePort[] {
  const out: SlicePort[] = [];
  const ports = svc.spec?.ports ?? [];
  if (ports.length === 0 && svc.spec?.clusterIP === 'None') return out;
  for (const sp of ports) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    out.push({ name: sp.name ?? '', protocol: sp.protocol ?? 'TCP', port, ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
  }
  return out;
}

const portsKey = (ports: SlicePort[] | null | undefined) =>
  JSON.stringify((ports ?? []).map((p) => [p.name ?? '', p.port, p.protocol ?? '', p.appProtocol ?? '']).sort());
const endpointKey = (ep: SliceEndpoint) => `${ep.targetRef?.namespace ?? ''}/${ep.targetRef?.name ?? ''}|${ep.addresses.join(',')}|${ep.hostname ?? ''}`;

function ownedBy(slice: EndpointSlice, svc: Service): boolean {
  return (slice.metadata?.ownerReferences ?? []).some((o) => o.kind === 'Service' && o.uid === svc.metadata?.uid);
}

function newSlice(svc: Service, addressType: string, ports: SlicePort[]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { generateName: `${svc.metadata?.name ?? ''}-`, namespace: svc.metadata?.namespace, labels: sliceLabels(svc), ownerReferences: [controllerRef(svc, 'v1', 'Service')] },
    addressType,
    endpoints: [],
    ports,
  };
}

function stripVersions(ep: SliceEndpoint): SliceEndpoint {
  if (!ep.targetRef?.resourceVersion) return ep;
  const c = cloneJson(ep);
  delete c.targetRef!.resourceVersion;
  return c;
}

export function reconcileSlices(input: ReconcileInput): ReconcilePlan {
  const { service: svc, maxPerSlice } = input;
  const plan: ReconcilePlan = { create: [], update: [], delete: [], errors: [] };
  const types = addressTypesOf(svc);
  for (const s of input.existing) if (!types.includes(s.addressType) || !ownedBy(s, svc)) plan.delete.push(s);
  const pods = [...input.pods].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const addressType of types) {
    const existing = input.existing.filter((s) => s.addressType === addressType && ownedBy(s, svc));
    const desired = new Map<string, { ports: SlicePort[]; eps: Map<string, SliceEndpoint> }>();
    for (const pod of pods) {
      if (!shouldPodBeInEndpoints(pod, true)) continue;
      const nodeName = pod.spec?.nodeName ?? '';
      const node = nodeName ? input.node(nodeName) : undefined;
      if (!node && svc.spec?.publishNotReadyAddresses !== true) {
        plan.errors.push(`skipping Pod ${pod.metadata?.name} for Service ${svc.metadata?.namespace}/${svc.metadata?.name}: Node ${nodeName} Not Found`);
        continue;
      }
      const ep = podToEndpoint(pod, node, svc, addressType);
      if (ep.addresses.length === 0) continue;
      const ports = endpointPorts(svc, pod);
      const pk = portsKey(ports);
      let d = desired.get(pk);
      if (!d) desired.set(pk, (d = { ports, eps: new Map() }));
      d.eps.set(endpointKey(ep), ep);
    }
    const existingByPorts = new Map<string, EndpointSlice[]>();
    for (const s of existing) {
      const pk = portsKey(s.ports);
      existingByPorts.set(pk, [...(existingByPorts.get(pk) ?? []), s]);
    }
    const creates: EndpointSlice[] = [];
    const deletes: EndpointSlice[] = [];
    for (const [pk, d] of desired) byPortMapping(svc, addressType, existingByPorts.get(pk) ?? [], d.ports, d.eps, maxPerSlice, plan, creates, deletes);
    for (const [pk, slices] of existingByPorts) if (!desired.has(pk)) deletes.push(...slices);
    if (existing.length === deletes.length && creates.length === 0) {
      const only = deletes.length === 1 ? deletes[0] : undefined;
      if (only && (only.endpoints ?? []).length === 0 && (only.ports ?? []).length === 0) deletes.length = 0;
      else creates.push(newSlice(svc, addressType, []));
    }
    // A slice to create and one to delete: update the latter instead.
    for (let i = 0; i < deletes.length && creates.length > 0; ) {
      const del = deletes[i];
      const c = creates.pop()!;
      c.metadata!.name = del.metadata?.name;
      c.metadata!.resourceVersion = del.metadata?.resourceVersion;
      plan.update.push(c);
      deletes.splice(i, 1);
    }
    plan.create.push(...creates);
    plan.delete.push(...deletes);
  }
  for (const s of [...plan.create, ...plan.update]) {
    // Empty lists read back as null from upstream's storage (protobuf): write them so.
    if ((s.endpoints ?? []).length === 0) s.endpoints = null;
    if ((s.ports ?? []).length === 0) s.ports = null;
    const a = { ...(s.metadata!.annotations ?? {}) };
    if (input.triggerTime !== undefined) a[TRIGGER_TIME_ANNOTATION] = rfc3339Nano(input.triggerTime);
    else delete a[TRIGGER_TIME_ANNOTATION];
    if (Object.keys(a).length > 0) s.metadata!.annotations = a;
    else delete s.metadata!.annotations;
  }
  return plan;
}

function byPortMapping(svc: Service, addressType: string, existing: EndpointSlice[], ports: SlicePort[], desired: Map<string, SliceEndpoint>, max: number, plan: ReconcilePlan, creates: EndpointSlice[], deletes: EndpointSlice[]): void {
  const labels = sliceLabels(svc);
  const toUpdate = new Map<string, EndpointSlice>();
  const unchanged = new Map<string, EndpointSlice>();
  for (const s of existing) {
    const kept: SliceEndpoint[] = [];
    let changed = false;
    for (const ep of s.endpoints ?? []) {
      const k = endpointKey(ep);
      const want = desired.get(k);
      if (!want) continue;
      kept.push(want);
      if (!jsonEqual(stripVersions(ep), want)) changed = true;
      desired.delete(k);
    }
    const name = s.metadata?.name ?? '';
    if (changed || kept.length !== (s.endpoints ?? []).length) {
      if (kept.length === 0) deletes.push(s);
      else toUpdate.set(name, withChanges(s, kept, labels));
    } else if (!jsonEqual(s.metadata?.labels ?? {}, labels)) {
      toUpdate.set(name, withChanges(s, kept, labels));
    } else unchanged.set(name, s);
  }
  const pop = (): SliceEndpoint => {
    const [k, ep] = desired.entries().next().value!;
    desired.delete(k);
    return ep;
  };
  if (desired.size > 0 && toUpdate.size > 0) {
    const fullestFirst = [...toUpdate.values()].sort((a, b) => b.endpoints!.length - a.endpoints!.length);
    for (const s of fullestFirst) while (desired.size > 0 && s.endpoints!.length < max) s.endpoints!.push(pop());
  }
  while (desired.size > 0) {
    let fill = desired.size < max && unchanged.size > 0 ? sliceToFill([...unchanged.values()], desired.size, max) : undefined;
    fill = fill ? withChanges(fill, [...(fill.endpoints ?? [])], labels) : newSlice(svc, addressType, ports);
    while (desired.size > 0 && fill.endpoints!.length < max) fill.endpoints!.push(pop());
    const name = fill.metadata?.name;
    if (name) {
      toUpdate.set(name, fill);
      unchanged.delete(name);
    } else creates.push(fill);
  }
  plan.update.push(...toUpdate.values());
}

function withChanges(s: EndpointSlice, endpoints: SliceEndpoint[], labels: Record<string, string>): EndpointSlice {
  const c = cloneJson(s);
  c.endpoints = endpoints;
  c.metadata = { ...c.metadata, labels };
  return c;
}

/** The unchanged slice that `n` more endpoints fill closest to full, if any fits them. */
function sliceToFill(slices: EndpointSlice[], n: number, max: number): EndpointSlice | undefined {
  let best: EndpointSlice | undefined;
  let bestDiff = max;
  for (const s of slices) {
    const diff = max - (n + (s.endpoints ?? []).length);
    if (diff >= 0 && diff < bestDiff) {
      bestDiff = diff;
      best = s;
      if (diff === 0) break;
    }
  }
  return best;
}
