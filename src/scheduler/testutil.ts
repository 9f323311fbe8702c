// Builders for Node and Pod objects in tests.
import type { Affinity, Container, Labels, Node, Pod, PodSpec, Taint, Toleration, TopologySpreadConstraint } from './types.ts';

export interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Labels;
  taints?: Taint[];
  unschedulable?: boolean;
  allocatable?: Record<string, string>;
  images?: { names: string[]; sizeBytes: number }[];
}

export function node(name: string, o: NodeOpts = {}): Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { unschedulable: o.unschedulable, taints: o.taints },
    status: {
      allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110', ...o.allocatable },
      images: o.images,
    },
  };
}

export interface PodOpts {
  ns?: string;
  labels?: Labels;
  cpu?: string;
  memory?: string;
  requests?: Record<string, string>;
  node?: string;
  priority?: number;
  phase?: string;
  startTime?: string;
  nodeSelector?: Labels;
  affinity?: Affinity;
  tolerations?: Toleration[];
  spread?: TopologySpreadConstraint[];
  hostPorts?: { port: number; protocol?: string; ip?: string }[];
  image?: string;
  containers?: Container[];
  spec?: Partial<PodSpec>;
  terminating?: boolean;
}

export function pod(name: string, o: PodOpts = {}): Pod {
  const requests: Record<string, string> = { ...o.requests };
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  const container: Container = {
    name: 'c',
    image: o.image ?? 'busybox:1.36',
    resources: Object.keys(requests).length > 0 ? { requests } : {},
    ports: o.hostPorts?.map((p) => ({ containerPort: p.port, hostPort: p.port, protocol: p.protocol, hostIP: p.ip })),
  };
  return {
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      labels: o.labels,
      deletionTimestamp: o.terminating ? '2025-01-01T00:00:00Z' : undefined,
    },
    spec: {
      nodeName: o.node,
      containers: o.containers ?? [container],
      priority: o.priority,
      nodeSelector: o.nodeSelector,
      affinity: o.affinity,
      tolerations: o.tolerations,
      topologySpreadConstraints: o.spread,
      ...o.spec,
    },
    status: { phase: o.phase ?? (o.node ? 'Running' : 'Pending'), startTime: o.startTime },
  };
}

export const ZONE = 'topology.kubernetes.io/zone';
export const HOST = 'kubernetes.io/hostname';
