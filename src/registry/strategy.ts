// Per-resource behaviour: the hooks the generic store calls. A resource that needs nothing
// special uses the default strategy derived from its catalogue entry.
import type { FieldError } from '../api/status.ts';
import type { KubeObject } from '../api/object.ts';
import type { NameRule } from '../api/validation.ts';
import type { ResourceInfo } from './catalog.ts';
import type { Store } from '../store/types.ts';

export interface Strategy {
  /** Whether status is a separate subresource: writes to the main resource keep the old status. */
  hasStatus: boolean;
  /** metadata.generation is set to 1 on create and bumped on every spec change. */
  tracksGeneration: boolean;
  nameRule: NameRule;
  /** PUT on a missing object creates it. */
  allowCreateOnUpdate: boolean;
  /** Fields besides metadata.name/namespace that field selectors may use. */
  selectableFields: string[];
  /** Objects expire this many seconds after their last write (Events: one hour). */
  ttlSeconds?: number;
  /** DELETE answers with the deleted object rather than a Status. */
  returnDeletedObject: boolean;
  prepareForCreate(obj: KubeObject): void;
  prepareForUpdate(obj: KubeObject, old: KubeObject): void;
  /** A write through the status subresource, after the generic store kept everything but status (and some metadata) as stored. */
  prepareForStatusUpdate?(obj: KubeObject, old: KubeObject): void;
  validate(obj: KubeObject): FieldError[];
  validateUpdate(obj: KubeObject, old: KubeObject): FieldError[];
  /** Values of the selectable fields of an object. */
  fields(obj: KubeObject): Record<string, string>;
  /**
   * Graceful deletion (pods): the grace period a DELETE asking for `requested` seconds (undefined:
   * none asked) gets. Above 0 the object stays, marked with deletionTimestamp = now + period,
   * until a shorter-grace DELETE (the kubelet's, with 0) removes it. Kinds without it go at once.
   */
  gracePeriod?(obj: KubeObject, requested: number | undefined): number;
  /** Refuses to delete the object (throws), e.g. the built-in PriorityClasses. */
  refuseDelete?(obj: KubeObject): void;
  /** Claims what the object needs from storage (cluster IPs, node ports) before it is written. */
  allocate?(obj: KubeObject, store: Store, dryRun: boolean): Promise<void>;
  /** Releases what allocate() claimed, once the object is gone (or its create failed). */
  release?(obj: KubeObject, store: Store): Promise<void>;
  /** The update is a heartbeat (a node's Lease renewal): its write may wait a moment to share a durable write (TxnRequest.coalesce). */
  isHeartbeat?(obj: KubeObject, old: KubeObject): boolean;
}

/** Kinds whose upstream strategies maintain metadata.generation. */
const GENERATION_KINDS = new Set([
  'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'ReplicationController', 'Job', 'CronJob', 'PodDisruptionBudget',
  'Ingress', 'NetworkPolicy', 'CustomResourceDefinition', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration',
  'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'FlowSchema', 'PriorityLevelConfiguration', 'HorizontalPodAutoscaler',
]);

/** Kinds whose names are DNS-1123 labels rather than subdomains. */
const LABEL_NAMED = new Set(['Namespace', 'Service']);
/** Kinds whose names only need to be valid path segments. */
const PATH_NAMED = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'ServiceAccount', 'Secret', 'ConfigMap', 'Event', 'Node', 'Endpoints', 'Lease', 'PriorityClass', 'ComponentStatus', 'StorageClass', 'FlowSchema', 'PriorityLevelConfiguration']);

/** Field selectors each kind supports beyond metadata.name/namespace: selector field → object path. */
const SELECTABLE: Record<string, Record<string, string>> = {
  Event: {
    'involvedObject.kind': 'involvedObject.kind',
    'involvedObject.namespace': 'involvedObject.namespace',
    'involvedObject.name': 'involvedObject.name',
    'involvedObject.uid': 'involvedObject.uid',
    'involvedObject.apiVersion': 'involvedObject.apiVersion',
    'involvedObject.resourceVersion': 'involvedObject.resourceVersion',
    'involvedObject.fieldPath': 'involvedObject.fieldPath',
    reason: 'reason',
    reportingComponent: 'reportingComponent',
    source: 'source.component',
    type: 'type',
  },
  Secret: { type: 'type' },
  Namespace: { 'status.phase': 'status.phase' },
  Node: { 'spec.unschedulable': 'spec.unschedulable' },
  ReplicaSet: { 'status.replicas': 'status.replicas' },
  ReplicationController: { 'status.replicas': 'status.replicas' },
  Job: { 'status.successful': 'status.successful' },
  Service: { 'spec.clusterIP': 'spec.clusterIP', 'spec.type': 'spec.type' },
  CertificateSigningRequest: { 'spec.signerName': 'spec.signerName' },
};

function pathValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[part] : undefined;
  return cur === undefined || cur === null ? (path.endsWith('unschedulable') ? 'false' : '') : String(cur);
}

export function defaultStrategy(info: ResourceInfo): Strategy {
  const selectable = info.group === '' || info.group === 'apps' || info.group === 'batch' || info.group === 'certificates.k8s.io' ? (SELECTABLE[info.kind] ?? {}) : {};
  const hasStatus = info.subresources.some((s) => s.name === 'status');
  return {
    hasStatus,
    tracksGeneration: GENERATION_KINDS.has(info.kind),
    nameRule: LABEL_NAMED.has(info.kind) ? 'label' : PATH_NAMED.has(info.kind) ? 'path' : 'subdomain',
    allowCreateOnUpdate: ['Endpoints', 'Lease', 'Event', 'EndpointSlice'].includes(info.kind),
    selectableFields: Object.keys(selectable),
    returnDeletedObject: ['Pod', 'Namespace', 'Service'].includes(info.kind),
    ttlSeconds: info.kind === 'Event' ? 3600 : undefined,
    prepareForCreate(obj) {
      if (hasStatus && info.kind !== 'Pod' && info.kind !== 'Node' && info.kind !== 'Namespace' && info.kind !== 'Service' && info.kind !== 'PersistentVolumeClaim' && info.kind !== 'PersistentVolume') delete obj.status;
    },
    prepareForUpdate() {},
    validate: () => [],
    validateUpdate: () => [],
    fields: (obj) => Object.fromEntries(Object.entries(selectable).map(([field, path]) => [field, pathValue(obj, path)])),
  };
}

const overrides = new Map<string, (base: Strategy, info: ResourceInfo) => Strategy>();

/** Registers per-kind adjustments (`group/Kind`), applied on top of the default strategy. */
export function registerStrategy(groupKind: string, make: (base: Strategy, info: ResourceInfo) => Strategy): void {
  overrides.set(groupKind, make);
}

export function strategyFor(info: ResourceInfo): Strategy {
  const base = defaultStrategy(info);
  const make = overrides.get(`${info.group}/${info.kind}`);
  return make ? make(base, info) : base;
}
