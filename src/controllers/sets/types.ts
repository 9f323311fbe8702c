// The JSON shapes the StatefulSet and DaemonSet controllers read and write. Only the fields they
// look at are typed; everything else passes through untouched.
import type { KubeObject, ObjectMeta } from '../../api/object.ts';
import type { LabelSelectorObject } from '../../api/selectors.ts';

export type Labels = Record<string, string>;

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[] | null;
  matchFields?: NodeSelectorRequirement[] | null;
}

export interface NodeSelector {
  nodeSelectorTerms?: NodeSelectorTerm[] | null;
}

export interface Affinity {
  nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector | null; [k: string]: unknown } | null;
  [k: string]: unknown;
}

export interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  [k: string]: unknown;
}

export interface PodSpec {
  nodeName?: string;
  nodeSelector?: Labels | null;
  affinity?: Affinity | null;
  tolerations?: Toleration[] | null;
  hostNetwork?: boolean;
  hostname?: string;
  subdomain?: string;
  volumes?: Volume[] | null;
  [k: string]: unknown;
}

export interface PodTemplateSpec {
  metadata?: ObjectMeta;
  spec?: PodSpec;
}

export interface PodCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
}

export interface Pod extends KubeObject {
  metadata: ObjectMeta;
  spec: PodSpec;
  status?: { phase?: string; conditions?: PodCondition[]; [k: string]: unknown };
}

export interface Node extends KubeObject {
  metadata: ObjectMeta;
  spec?: { taints?: Taint[] | null; unschedulable?: boolean; [k: string]: unknown };
}

export interface StatefulSetSpec {
  replicas?: number;
  selector?: LabelSelectorObject | null;
  template: PodTemplateSpec;
  serviceName?: string;
  podManagementPolicy?: 'OrderedReady' | 'Parallel';
  updateStrategy?: { type?: 'RollingUpdate' | 'OnDelete'; rollingUpdate?: { partition?: number; maxUnavailable?: number | string } | null };
  revisionHistoryLimit?: number;
  minReadySeconds?: number;
  volumeClaimTemplates?: PersistentVolumeClaim[] | null;
  persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string; whenScaled?: string } | null;
  ordinals?: { start?: number } | null;
  [k: string]: unknown;
}

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas?: number;
  currentReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
  conditions?: unknown[];
}

export interface StatefulSet extends KubeObject {
  metadata: ObjectMeta;
  spec: StatefulSetSpec;
  status?: StatefulSetStatus;
}

export interface DaemonSetSpec {
  selector?: LabelSelectorObject | null;
  template: PodTemplateSpec;
  updateStrategy?: { type?: 'RollingUpdate' | 'OnDelete'; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } | null };
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  [k: string]: unknown;
}

export interface DaemonSetStatus {
  currentNumberScheduled: number;
  numberMisscheduled: number;
  desiredNumberScheduled: number;
  numberReady: number;
  observedGeneration?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  collisionCount?: number;
  conditions?: unknown[];
}

export interface DaemonSet extends KubeObject {
  metadata: ObjectMeta;
  spec: DaemonSetSpec;
  status?: DaemonSetStatus;
}

export interface ControllerRevision extends KubeObject {
  metadata: ObjectMeta;
  data?: unknown;
  revision: number;
}

export interface PersistentVolumeClaim extends KubeObject {
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}
