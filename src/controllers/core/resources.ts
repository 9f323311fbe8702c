// The served resources the core controllers work across (namespace deletion, the garbage
// collector, object-count quotas), from the catalogue (openapi/resources.json): one entry per
// group/resource, in the group's preferred version.
import { Catalog, type ResourceInfo } from '../../registry/catalog.ts';
import type { GVR } from '../../client/resources.ts';

let cached: ResourceInfo[] | undefined;

/** Every stored resource in its group's preferred version. */
export function servedResources(): ResourceInfo[] {
  if (cached) return cached;
  const catalog = Catalog.load();
  const preferred = new Map(catalog.groups.map((g) => [g.name, g.preferredVersion]));
  cached = catalog.resources.filter((r) => r.storageVersion !== null && preferred.get(r.group) === r.version);
  return cached;
}

export function gvrOf(info: ResourceInfo): GVR {
  return { group: info.group, version: info.version, resource: info.resource, namespaced: info.namespaced, kind: info.kind };
}

/** A group/resource in its preferred version, if served. */
export function preferredGVR(group: string, resource: string): GVR | undefined {
  const info = servedResources().find((r) => r.group === group && r.resource === resource);
  return info ? gvrOf(info) : undefined;
}

/** `/v1, Resource=pods` (schema.GroupVersionResource's String()). */
export function gvrString(gvr: GVR): string {
  return `${gvr.group}/${gvr.version}, Resource=${gvr.resource}`;
}

const IGNORED = new Set(['/events', 'events.k8s.io/events']);

/**
 * What the garbage collector and the quota controller watch (upstream's monitored resources):
 * every stored resource that can be listed, watched and deleted, but events. The informers are
 * shared between the two.
 */
export function monitoredResources(): GVR[] {
  return servedResources()
    .filter((r) => ['list', 'watch', 'delete'].every((v) => r.verbs.includes(v)) && !IGNORED.has(`${r.group}/${r.resource}`))
    .map(gvrOf);
}
