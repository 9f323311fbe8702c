// The PodStatus a kubelet reports, computed from the pod's spec and what the runtime says about
// its containers. Pure: the node agent (real or simulated) calls it and writes the result.
import type { KubeObject } from '../api/object.ts';

export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string }
  | { kind: 'terminated'; exitCode: number; reason: string; startedAt: string; finishedAt: string; message?: string };

export interface ContainerInfo {
  state: ContainerState;
  /** The state before the last restart, if it restarted. */
  lastState?: ContainerState;
  restartCount: number;
  containerID?: string;
  imageID?: string;
}

export interface PodRuntimeView {
  hostIP: string;
  podIP?: string;
  startTime?: string;
  /** Per container name (init containers included). */
  containers: Map<string, ContainerInfo>;
  /** The sandbox is up (PodReadyToStartContainers). */
  sandboxReady: boolean;
}

interface Container {
  name: string;
  image?: string;
  restartPolicy?: string;
}

interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  restartPolicy?: string;
  readinessGates?: Array<{ conditionType: string }>;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

function stateJson(s: ContainerState, containerID?: string): Record<string, unknown> {
  if (s.kind === 'waiting') return { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } };
  if (s.kind === 'running') return { running: { startedAt: s.startedAt } };
  return { terminated: { exitCode: s.exitCode, reason: s.reason, startedAt: s.startedAt, finishedAt: s.finishedAt, ...(containerID ? { containerID } : {}), ...(s.message ? { message: s.message } : {}) } };
}

function containerStatus(c: Container, info: ContainerInfo | undefined, isInit: boolean): Record<string, unknown> {
  const state: ContainerState = info?.state ?? { kind: 'waiting', reason: isInit ? 'PodInitializing' : 'ContainerCreating' };
  const running = state.kind === 'running';
  const out: Record<string, unknown> = {
    name: c.name,
    image: c.image ?? '',
    imageID: info?.imageID ?? '',
    ready: isInit ? state.kind === 'terminated' && state.exitCode === 0 : running,
    restartCount: info?.restartCount ?? 0,
    started: running,
    state: stateJson(state, info?.containerID),
  };
  if (info?.containerID) out.containerID = info.containerID;
  if (info?.lastState) out.lastState = stateJson(info.lastState);
  else out.lastState = {};
  return out;
}

/** The phase upstream's kubelet derives from the container states. */
export function podPhase(spec: PodSpec, view: PodRuntimeView): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  const inits = spec.initContainers ?? [];
  for (const c of inits) {
    if (c.restartPolicy === 'Always') continue; // a sidecar
    const s = view.containers.get(c.name)?.state;
    if (!s || s.kind !== 'terminated') return 'Pending';
    if (s.exitCode !== 0 && spec.restartPolicy === 'Never') return 'Failed';
    if (s.exitCode !== 0) return 'Pending';
  }
  const cs = spec.containers ?? [];
  let running = 0;
  let waiting = 0;
  let succeeded = 0;
  let failed = 0;
  for (const c of cs) {
    const s = view.containers.get(c.name)?.state;
    if (!s || s.kind === 'waiting') waiting++;
    else if (s.kind === 'running') running++;
    else if (s.exitCode === 0) succeeded++;
    else failed++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  const policy = spec.restartPolicy ?? 'Always';
  if (policy === 'Always') return 'Running'; // about to be restarted
  if (failed > 0) return policy === 'Never' ? 'Failed' : 'Running';
  return succeeded === cs.length ? 'Succeeded' : 'Running';
}

function condition(prev: Condition[], type: string, status: Condition['status'], now: string, reason?: string): Condition {
  const old = prev.find((c) => c.type === type);
  const c: Condition = { type, status, lastProbeTime: null, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now };
  if (reason && status !== 'True') c.reason = reason;
  return c;
}

/** The status to write: phase, conditions, container statuses, IPs and start time. */
export function computePodStatus(pod: KubeObject, view: PodRuntimeView, now: string): Record<string, unknown> {
  const spec = (pod.spec ?? {}) as PodSpec;
  const prev = (pod.status ?? {}) as { conditions?: Condition[]; qosClass?: string };
  const prevConds = prev.conditions ?? [];
  const phase = podPhase(spec, view);
  const inits = (spec.initContainers ?? []).map((c) => containerStatus(c, view.containers.get(c.name), true));
  const mains = (spec.containers ?? []).map((c) => containerStatus(c, view.containers.get(c.name), false));
  const initialized = (spec.initContainers ?? []).every((c) => {
    const s = view.containers.get(c.name)?.state;
    return c.restartPolicy === 'Always' ? s?.kind === 'running' : s?.kind === 'terminated' && s.exitCode === 0;
  });
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const containersReady = !terminal && mains.length > 0 && mains.every((c) => c.ready === true);
  const gates = (spec.readinessGates ?? []).every((g) => prevConds.find((c) => c.type === g.conditionType)?.status === 'True');
  const conditions: Condition[] = [
    condition(prevConds, 'PodReadyToStartContainers', view.sandboxReady && !terminal ? 'True' : 'False', now),
    condition(prevConds, 'Initialized', initialized || terminal ? 'True' : 'False', now, 'ContainersNotInitialized'),
    condition(prevConds, 'Ready', containersReady && gates ? 'True' : 'False', now, terminal ? 'PodCompleted' : 'ContainersNotReady'),
    condition(prevConds, 'ContainersReady', containersReady ? 'True' : 'False', now, terminal ? 'PodCompleted' : 'ContainersNotReady'),
    condition(prevConds, 'PodScheduled', 'True', now),
  ];
  for (const c of conditions) {
    if (c.status === 'True') continue;
    const notReady = mains.filter((m) => m.ready !== true).map((m) => m.name as string);
    if ((c.type === 'Ready' || c.type === 'ContainersReady') && !terminal && notReady.length > 0) c.message = `containers with unready status: [${notReady.join(' ')}]`;
    if (c.type === 'Initialized' && !initialized) c.message = `containers with incomplete status: [${(spec.initContainers ?? []).map((i) => i.name).join(' ')}]`;
  }
  // Readiness gates and conditions other writers own stay as they are.
  for (const c of prevConds) if (!conditions.some((x) => x.type === c.type)) conditions.push(c);
  const status: Record<string, unknown> = {
    phase,
    conditions,
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    ...(view.podIP ? { podIP: view.podIP, podIPs: [{ ip: view.podIP }] } : {}),
    ...(view.startTime ? { startTime: view.startTime } : {}),
    containerStatuses: mains,
    ...(inits.length > 0 ? { initContainerStatuses: inits } : {}),
    ...(prev.qosClass ? { qosClass: prev.qosClass } : {}),
  };
  return status;
}
