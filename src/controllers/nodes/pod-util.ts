// Pod and Service helpers the Endpoints and EndpointSlice controllers share: readiness, which
// pods belong in endpoints, port resolution, addresses by IP family (upstream's podutil and
// endpointslice util, reimplemented).
import type { Pod, Service, ServicePort } from './types.ts';

export function podCondition(pod: Pod, type: string) {
  return (pod.status?.conditions ?? []).find((c) => c.type === type);
}

/** The pod's Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

export function isPodTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Whether a pod gets an endpoint at all: it has an IP, has not finished, and (unless `includeTerminating`) is not being deleted. */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP && (pod.status?.podIPs ?? []).length === 0) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/** The pod's hostname is published when its subdomain names this (same-namespace) Service. */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec?.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace;
}

/** A Service with a cluster IP (not headless). */
export function isServiceIPSet(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

/**
 * The container port a Service port reaches on this pod: a numeric targetPort as is, a named one
 * from the containers' (and sidecars') ports of the same protocol; undefined when none matches.
 */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  const protocol = sp.protocol ?? 'TCP';
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')];
  for (const c of containers) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

export function isIPv6(ip: string): boolean {
  return ip.includes(':');
}

/** The pod IP of one family (IPv4 or IPv6), or undefined. */
export function podIPOfFamily(pod: Pod, family: 'IPv4' | 'IPv6'): string | undefined {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips.find((ip) => isIPv6(ip) === (family === 'IPv6'));
}

/** The IP family the Endpoints controller publishes for a Service. */
export function primaryFamily(svc: Service, pod: Pod): 'IPv4' | 'IPv6' {
  const fam = svc.spec?.ipFamilies?.[0];
  if (fam === 'IPv6' || fam === 'IPv4') return fam;
  if (isServiceIPSet(svc)) return isIPv6(svc.spec!.clusterIP!) ? 'IPv6' : 'IPv4';
  return pod.status?.podIP && isIPv6(pod.status.podIP) ? 'IPv6' : 'IPv4';
}

/** Whether a Service's (equality) selector selects these labels; an empty selector selects all. */
export function selectorMatches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

/** What of a pod the endpoint controllers publish: a change elsewhere needs no sync. */
export function endpointFingerprint(pod: Pod): string {
  const s = pod.status ?? {};
  return JSON.stringify([
    pod.metadata?.deletionTimestamp ?? '',
    isPodReady(pod),
    podCondition(pod, 'Ready')?.lastTransitionTime ?? '',
    s.phase ?? '',
    s.podIP ?? '',
    s.podIPs ?? [],
    pod.spec?.nodeName ?? '',
    pod.spec?.hostname ?? '',
    pod.spec?.subdomain ?? '',
  ]);
}

/** Equal as JSON values, with object keys in any order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}
