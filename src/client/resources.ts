// Which resource a request is about, and the URL paths of resources.
import { Catalog } from '../registry/catalog.ts';

/** Group, version and resource (plural), and whether objects live in a namespace. */
export interface GVR {
  group: string;
  version: string;
  resource: string;
  namespaced: boolean;
  /** The kind, for messages and Events; optional. */
  kind?: string;
}

const r = (group: string, version: string, resource: string, kind: string, namespaced = true): GVR => ({ group, version, resource, kind, namespaced });

/** The resources the controllers, scheduler and node agent use most. */
export const Resources = {
  namespaces: r('', 'v1', 'namespaces', 'Namespace', false),
  nodes: r('', 'v1', 'nodes', 'Node', false),
  pods: r('', 'v1', 'pods', 'Pod'),
  configmaps: r('', 'v1', 'configmaps', 'ConfigMap'),
  secrets: r('', 'v1', 'secrets', 'Secret'),
  services: r('', 'v1', 'services', 'Service'),
  endpoints: r('', 'v1', 'endpoints', 'Endpoints'),
  events: r('', 'v1', 'events', 'Event'),
  serviceaccounts: r('', 'v1', 'serviceaccounts', 'ServiceAccount'),
  persistentvolumes: r('', 'v1', 'persistentvolumes', 'PersistentVolume', false),
  persistentvolumeclaims: r('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim'),
  replicationcontrollers: r('', 'v1', 'replicationcontrollers', 'ReplicationController'),
  resourcequotas: r('', 'v1', 'resourcequotas', 'ResourceQuota'),
  limitranges: r('', 'v1', 'limitranges', 'LimitRange'),
  deployments: r('apps', 'v1', 'deployments', 'Deployment'),
  replicasets: r('apps', 'v1', 'replicasets', 'ReplicaSet'),
  statefulsets: r('apps', 'v1', 'statefulsets', 'StatefulSet'),
  daemonsets: r('apps', 'v1', 'daemonsets', 'DaemonSet'),
  controllerrevisions: r('apps', 'v1', 'controllerrevisions', 'ControllerRevision'),
  jobs: r('batch', 'v1', 'jobs', 'Job'),
  cronjobs: r('batch', 'v1', 'cronjobs', 'CronJob'),
  leases: r('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  storageclasses: r('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false),
  endpointslices: r('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice'),
  poddisruptionbudgets: r('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget'),
  horizontalpodautoscalers: r('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler'),
  customresourcedefinitions: r('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false),
} as const satisfies Record<string, GVR>;

let catalog: Catalog | undefined;

/** A served resource from the catalogue (openapi/resources.json) by group/version/resource or kind. */
export function lookupResource(group: string, version: string, resourceOrKind: string): GVR | undefined {
  catalog ??= Catalog.load();
  const info = catalog.lookup(group, version, resourceOrKind) ?? catalog.byGroupVersionKind(group, version, resourceOrKind);
  return info ? { group: info.group, version: info.version, resource: info.resource, namespaced: info.namespaced, kind: info.kind } : undefined;
}

/** The resource of an object's apiVersion and kind, from the catalogue. */
export function resourceOf(apiVersion: string, kind: string): GVR | undefined {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? lookupResource('', apiVersion, kind) : lookupResource(apiVersion.slice(0, slash), apiVersion.slice(slash + 1), kind);
}

export function apiVersionOf(gvr: GVR): string {
  return gvr.group ? `${gvr.group}/${gvr.version}` : gvr.version;
}

/**
 * The path of a collection (no name) or an object, with an optional subresource. `namespace` ''
 * on a namespaced resource means all namespaces (list, watch only).
 */
export function resourcePath(gvr: GVR, namespace: string | undefined, name?: string, subresource?: string): string {
  let p = gvr.group ? `/apis/${gvr.group}/${gvr.version}` : `/api/${gvr.version}`;
  if (gvr.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${gvr.resource}`;
  if (name !== undefined) {
    if (name === '') throw new Error(`${gvr.resource}: a name is required`);
    p += `/${encodeURIComponent(name)}`;
  }
  if (subresource) p += `/${subresource}`;
  return p;
}
