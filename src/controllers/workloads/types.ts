// The parts of Pods, ReplicaSets, ReplicationControllers and Deployments these controllers read
// and write (apps/v1 and core/v1 field names).
import type { KubeObject, ObjectMeta } from '../../api/object.ts';
import type { LabelSelectorObject } from '../../api/selectors.ts';

export interface PodCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
}

export interface ContainerStatus {
  name?: string;
  restartCount?: number;
}

export interface Pod extends KubeObject {
  metadata?: ObjectMeta;
  spec?: { nodeName?: string; initContainers?: Array<{ name?: string; restartPolicy?: string }>; [k: string]: unknown };
  status?: { phase?: string; conditions?: PodCondition[]; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[]; [k: string]: unknown };
  spec?: Record<string, unknown>;
}

export interface SetCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface SetStatus {
  replicas?: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: SetCondition[];
}

/** A ReplicaSet; a ReplicationController has the same shape except its selector is a label map. */
export interface ReplicaSet extends KubeObject {
  metadata?: ObjectMeta;
  spec?: { replicas?: number; minReadySeconds?: number; selector?: LabelSelectorObject | Record<string, string>; template?: PodTemplate };
  status?: SetStatus;
}

export interface DeploymentCondition {
  type: string;
  status: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: DeploymentCondition[];
  collisionCount?: number;
}

export type IntOrString = number | string;

export interface Deployment extends KubeObject {
  metadata?: ObjectMeta;
  spec?: {
    replicas?: number;
    selector?: LabelSelectorObject;
    template?: PodTemplate;
    strategy?: { type?: string; rollingUpdate?: { maxSurge?: IntOrString; maxUnavailable?: IntOrString } };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    paused?: boolean;
    progressDeadlineSeconds?: number;
  };
  status?: DeploymentStatus;
}

/** Replica counts as int32 with upstream's defaults (nil replicas are 1 after API defaulting). */
export function replicasOf(obj: { spec?: { replicas?: number } } | undefined): number {
  const r = obj?.spec?.replicas;
  return typeof r === 'number' ? r : 1;
}

/** A timestamp at second precision, as Kubernetes writes them. */
export function rfc3339(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function parseTime(s: string | null | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}
