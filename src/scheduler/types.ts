// The plain JSON v1 shapes the scheduler reads, as the API returns them. Only the fields the
// scheduling core looks at are typed; everything else passes through untouched.

export type Labels = Record<string, string>;

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  labels?: Labels;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  ownerReferences?: OwnerReference[] | null;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: string; // In | NotIn | Exists | DoesNotExist
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string; // In | NotIn | Exists | DoesNotExist | Gt | Lt
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[] | null;
  matchFields?: NodeSelectorRequirement[] | null;
}

export interface NodeSelector {
  nodeSelectorTerms?: NodeSelectorTerm[] | null;
}

export interface PreferredSchedulingTerm {
  weight: number;
  preference: NodeSelectorTerm;
}

export interface PodAffinityTerm {
  labelSelector?: LabelSelector | null;
  namespaces?: string[] | null;
  namespaceSelector?: LabelSelector | null;
  topologyKey: string;
  matchLabelKeys?: string[] | null;
  mismatchLabelKeys?: string[] | null;
}

export interface WeightedPodAffinityTerm {
  weight: number;
  podAffinityTerm: PodAffinityTerm;
}

export interface PodAffinityRules {
  requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[] | null;
  preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[] | null;
}

export interface Affinity {
  nodeAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector | null;
    preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[] | null;
  } | null;
  podAffinity?: PodAffinityRules | null;
  podAntiAffinity?: PodAffinityRules | null;
}

export interface Taint {
  key: string;
  value?: string;
  effect: string; // NoSchedule | PreferNoSchedule | NoExecute
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: string; // Equal (default) | Exists
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface TopologySpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: string; // DoNotSchedule | ScheduleAnyway
  labelSelector?: LabelSelector | null;
  minDomains?: number | null;
  nodeAffinityPolicy?: string | null; // Honor (default) | Ignore
  nodeTaintsPolicy?: string | null; // Honor | Ignore (default)
  matchLabelKeys?: string[] | null;
}

export type ResourceList = Record<string, string | number>;

export interface ContainerPort {
  containerPort: number;
  hostPort?: number;
  hostIP?: string;
  protocol?: string;
  name?: string;
}

export interface Container {
  name: string;
  image?: string;
  resources?: { requests?: ResourceList | null; limits?: ResourceList | null } | null;
  ports?: ContainerPort[] | null;
  restartPolicy?: string; // "Always" marks a sidecar (restartable init container)
}

export interface PodSpec {
  nodeName?: string;
  nodeSelector?: Labels | null;
  affinity?: Affinity | null;
  tolerations?: Toleration[] | null;
  containers?: Container[];
  initContainers?: Container[] | null;
  overhead?: ResourceList | null;
  priority?: number | null;
  priorityClassName?: string;
  preemptionPolicy?: string | null; // PreemptLowerPriority (default) | Never
  topologySpreadConstraints?: TopologySpreadConstraint[] | null;
  schedulerName?: string;
  hostNetwork?: boolean;
  volumes?: Volume[] | null;
  schedulingGates?: { name: string }[] | null;
}

/** The volume sources the volume plugins look at; others pass through. */
export interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean } | null;
  ephemeral?: { volumeClaimTemplate?: unknown } | null;
  gcePersistentDisk?: { pdName: string; readOnly?: boolean } | null;
  awsElasticBlockStore?: { volumeID: string; readOnly?: boolean } | null;
  iscsi?: { iqn: string; readOnly?: boolean } | null;
  rbd?: { monitors?: string[] | null; pool?: string; image: string; readOnly?: boolean } | null;
}

export interface PodCondition {
  type: string;
  status: string;
  reason?: string;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: PodSpec;
  status?: {
    phase?: string;
    startTime?: string;
    nominatedNodeName?: string;
    conditions?: PodCondition[];
  };
}

export interface ContainerImage {
  names?: string[] | null;
  sizeBytes?: number;
}

export interface Node {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: { unschedulable?: boolean; taints?: Taint[] | null };
  status?: {
    allocatable?: ResourceList;
    capacity?: ResourceList;
    images?: ContainerImage[] | null;
  };
}

export interface Namespace {
  metadata: ObjectMeta;
}

export interface PriorityClass {
  metadata: ObjectMeta;
  value: number;
  globalDefault?: boolean;
  preemptionPolicy?: string;
}

export interface PodDisruptionBudget {
  metadata: ObjectMeta;
  spec?: { selector?: LabelSelector | null };
  status?: { disruptionsAllowed?: number; disruptedPods?: Record<string, string> | null };
}

export interface PersistentVolumeClaim {
  metadata: ObjectMeta;
  spec?: {
    accessModes?: string[] | null;
    storageClassName?: string | null;
    volumeName?: string;
    resources?: { requests?: ResourceList | null } | null;
    selector?: LabelSelector | null;
    volumeMode?: string | null;
  };
  status?: { phase?: string };
}

export interface PersistentVolume {
  metadata: ObjectMeta;
  spec?: {
    nodeAffinity?: { required?: NodeSelector | null } | null;
    storageClassName?: string;
    csi?: { driver?: string; volumeHandle?: string } | null;
    capacity?: ResourceList | null;
    accessModes?: string[] | null;
    claimRef?: { namespace?: string; name?: string; uid?: string } | null;
    volumeMode?: string | null;
  };
  status?: { phase?: string };
}

/** storage.k8s.io/v1 CSINode: the CSI drivers on a node and how many volumes each may attach. */
export interface CSINode {
  metadata: ObjectMeta;
  spec?: { drivers?: Array<{ name: string; allocatable?: { count?: number | null } | null }> | null };
}

export interface StorageClass {
  metadata: ObjectMeta;
  provisioner?: string;
  volumeBindingMode?: string | null; // Immediate | WaitForFirstConsumer
}

/** Service / ReplicationController (map selectors) and ReplicaSet / StatefulSet (label selectors). */
export interface Service {
  metadata: ObjectMeta;
  spec?: { selector?: Labels | null };
}

export interface ReplicationController {
  metadata: ObjectMeta;
  spec?: { selector?: Labels | null };
}

export interface LabelSelectorOwner {
  metadata: ObjectMeta;
  spec?: { selector?: LabelSelector | null };
}
