// The subsets of a Service's Endpoints, computed from its pods (pure): one address per pod with
// an IP of the Service's family (ready ones in `addresses`, the others in `notReadyAddresses`
// unless publishNotReadyAddresses), ports resolved per pod, then packed as upstream's
// RepackSubsets does: addresses offering the same ports share a subset; sorted.
import { findPort, isPodReady, podIPOfFamily, primaryFamily, shouldPodBeInEndpoints, shouldSetHostname } from './pod-util.ts';
import type { Pod, Service } from './types.ts';

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind: string; namespace?: string; name?: string; uid?: string; resourceVersion?: string };
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

/** Upstream's cap on addresses in one Endpoints object. */
export const MAX_ENDPOINTS_CAPACITY = 1000;

interface Entry {
  addr: EndpointAddress;
  ready: boolean;
  /** undefined: a headless Service without ports. */
  port: EndpointPort | undefined;
}

export function computeSubsets(svc: Service, pods: Pod[]): EndpointSubset[] {
  const publish = svc.spec?.publishNotReadyAddresses === true;
  const entries: Entry[] = [];
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publish)) continue;
    const ip = podIPOfFamily(pod, primaryFamily(svc, pod));
    if (!ip) continue;
    const m = pod.metadata ?? {};
    const addr: EndpointAddress = { ip };
    if (shouldSetHostname(pod, svc)) addr.hostname = pod.spec!.hostname;
    addr.nodeName = pod.spec?.nodeName ?? '';
    addr.targetRef = { kind: 'Pod', namespace: m.namespace, name: m.name, uid: m.uid };
    const ready = publish || isPodReady(pod);
    const ports = svc.spec?.ports ?? [];
    if (ports.length === 0) {
      if (svc.spec?.clusterIP === 'None') entries.push({ addr, ready, port: undefined });
      continue;
    }
    for (const sp of ports) {
      const num = findPort(pod, sp);
      if (num === undefined) continue;
      const port: EndpointPort = { ...(sp.name ? { name: sp.name } : {}), port: num, protocol: sp.protocol ?? 'TCP', ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) };
      entries.push({ addr, ready, port });
    }
  }
  return repack(entries);
}

const addrKey = (a: EndpointAddress) => `${a.ip}|${a.targetRef?.uid ?? ''}`;
const portKey = (p: EndpointPort | undefined) => (p ? JSON.stringify([p.name ?? '', p.port, p.protocol ?? '', p.appProtocol ?? '']) : '-');

function repack(entries: Entry[]): EndpointSubset[] {
  // port → address key → (address, ready); a ready sighting wins over a not-ready one.
  const byPort = new Map<string, { port: EndpointPort | undefined; addrs: Map<string, { addr: EndpointAddress; ready: boolean }> }>();
  for (const e of entries) {
    const pk = portKey(e.port);
    let slot = byPort.get(pk);
    if (!slot) byPort.set(pk, (slot = { port: e.port, addrs: new Map() }));
    const ak = addrKey(e.addr);
    const cur = slot.addrs.get(ak);
    if (!cur || (!cur.ready && e.ready)) slot.addrs.set(ak, { addr: e.addr, ready: e.ready });
  }
  // The same set of (address, readiness) offering several ports is one subset.
  const groups = new Map<string, { addrs: Array<{ addr: EndpointAddress; ready: boolean }>; ports: EndpointPort[] }>();
  for (const { port, addrs } of byPort.values()) {
    const list = [...addrs.values()].sort((a, b) => compareAddr(a.addr, b.addr));
    const gk = list.map((x) => `${addrKey(x.addr)}:${x.ready}`).join(',');
    let g = groups.get(gk);
    if (!g) groups.set(gk, (g = { addrs: list, ports: [] }));
    if (port) g.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const s: EndpointSubset = {};
    const ready = g.addrs.filter((x) => x.ready).map((x) => x.addr);
    const notReady = g.addrs.filter((x) => !x.ready).map((x) => x.addr);
    if (ready.length > 0) s.addresses = ready;
    if (notReady.length > 0) s.notReadyAddresses = notReady;
    if (g.ports.length > 0) s.ports = g.ports.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port || (a.protocol ?? '').localeCompare(b.protocol ?? ''));
    out.push(s);
  }
  return out.sort((a, b) => subsetSortKey(a).localeCompare(subsetSortKey(b)));
}

function compareAddr(a: EndpointAddress, b: EndpointAddress): number {
  return a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : (a.targetRef?.uid ?? '').localeCompare(b.targetRef?.uid ?? '');
}

function subsetSortKey(s: EndpointSubset): string {
  const first = s.addresses?.[0] ?? s.notReadyAddresses?.[0];
  return `${first?.ip ?? ''}|${portKey(s.ports?.[0])}`;
}

export function countAddresses(subsets: EndpointSubset[]): number {
  let n = 0;
  for (const s of subsets) n += (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0);
  return n;
}

/**
 * Cuts subsets down to MAX_ENDPOINTS_CAPACITY addresses, ready ones first, each subset keeping
 * its share (rounded up); returns whether it cut anything.
 */
export function truncateSubsets(subsets: EndpointSubset[], max = MAX_ENDPOINTS_CAPACITY): boolean {
  let ready = 0;
  let notReady = 0;
  for (const s of subsets) {
    ready += s.addresses?.length ?? 0;
    notReady += s.notReadyAddresses?.length ?? 0;
  }
  if (ready + notReady <= max) return false;
  const cutReady = ready > max;
  const room = cutReady ? max : max - ready;
  const total = cutReady ? ready : notReady;
  let left = room;
  for (const s of subsets) {
    const n = cutReady ? (s.addresses?.length ?? 0) : (s.notReadyAddresses?.length ?? 0);
    const take = Math.min(left, Math.ceil((n / total) * room));
    if (cutReady) {
      s.addresses = (s.addresses ?? []).slice(0, take);
      delete s.notReadyAddresses;
      left -= s.addresses.length;
    } else {
      s.notReadyAddresses = (s.notReadyAddresses ?? []).slice(0, take);
      left -= s.notReadyAddresses.length;
    }
  }
  return true;
}
