// One node's agent: registers the Node, renews its Lease in kube-node-lease, reports node status,
// and drives the pods bound to it through the runtime as a kubelet does (start, report status,
// graceful deletion confirmed with a zero-grace delete). Pods reach it from a PodSource (an
// informer the caller shares between the nodes of one process).
import type { KubeObject } from '../api/object.ts';
import { StatusError } from '../api/status.ts';
import type { KubeClient } from '../client/kube-client.ts';
import { Resources } from '../client/resources.ts';
import { deepEqual } from '../api/patch/json-patch.ts';
import { computePodStatus, type PodRuntimeView } from './pod-status.ts';
import type { PodRuntime } from './runtime.ts';

export interface NodeOptions {
  name: string;
  runtime: PodRuntime;
  hostIP: string;
  podCIDR: string;
  capacity: Record<string, string>;
  labels?: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: string }>;
  /** Lease renewal interval (kubelet: 10 s) and duration (kubelet: 40 s). */
  renewIntervalMs?: number;
  leaseDurationSeconds?: number;
  /** Full node status report interval when nothing changed (kubelet: 5 minutes). */
  statusReportMs?: number;
  runtimeVersion?: string;
  log?: (msg: string) => void;
}

const FIELD_MANAGER = 'kubelet';
const microTime = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
const rfc3339 = (ms = Date.now()) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class NodeAgent {
  readonly name: string;
  private readonly client: KubeClient;
  private readonly opts: NodeOptions;
  private readonly runtime: PodRuntime;
  private lease: KubeObject | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The newest copy of each pod of this node, by uid. */
  private readonly pods = new Map<string, KubeObject>();
  private readonly busy = new Set<string>();
  private readonly dirty = new Set<string>();
  readonly stats = { leaseRenewals: 0, statusWrites: 0, podStatusWrites: 0, errors: 0 };

  constructor(client: KubeClient, opts: NodeOptions) {
    this.client = client;
    this.opts = opts;
    this.name = opts.name;
    this.runtime = opts.runtime;
    this.runtime.onChange((uid) => this.kick(uid));
  }

  private log(msg: string): void {
    this.opts.log?.(`node ${this.name}: ${msg}`);
  }

  nodeObject(): KubeObject {
    const o = this.opts;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: o.name, labels: { 'kubernetes.io/hostname': o.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64', ...(o.labels ?? {}) } },
      spec: { podCIDR: o.podCIDR, podCIDRs: [o.podCIDR], ...(o.taints && o.taints.length > 0 ? { taints: o.taints } : {}) },
    };
  }

  nodeStatus(prev?: Record<string, unknown>): Record<string, unknown> {
    const o = this.opts;
    const now = rfc3339();
    const prevConds = (prev?.conditions ?? []) as Array<{ type: string; status: string; lastTransitionTime: string }>;
    const cond = (type: string, status: string, reason: string, message: string) => {
      const old = prevConds.find((c) => c.type === type);
      return { type, status, lastHeartbeatTime: now, lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now, reason, message };
    };
    return {
      capacity: o.capacity,
      allocatable: o.capacity,
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [{ type: 'InternalIP', address: o.hostIP }, { type: 'Hostname', address: o.name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: '', systemUUID: '', bootID: '', kernelVersion: '', osImage: 'k8ts simulated node',
        containerRuntimeVersion: o.runtimeVersion ?? 'simulated://1.0.0', kubeletVersion: 'v1.33.0-k8ts', kubeProxyVersion: '', operatingSystem: 'linux', architecture: 'amd64',
      },
    };
  }

  /** Registers the Node (or takes over an existing one), then keeps its Lease and status fresh. */
  async start(): Promise<void> {
    let node: KubeObject;
    try {
      node = await this.client.create(Resources.nodes, undefined, this.nodeObject(), { fieldManager: FIELD_MANAGER });
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 409)) throw err;
      node = await this.client.get(Resources.nodes, undefined, this.name);
    }
    await this.writeNodeStatus(node.status as Record<string, unknown> | undefined);
    await this.renewLease();
    const renew = this.opts.renewIntervalMs ?? 10_000;
    // Spread the first renewal so that many nodes started together do not renew together.
    this.leaseTimer = setTimeout(() => this.leaseLoop(renew), Math.floor(Math.random() * renew));
    this.leaseTimer.unref();
    const report = this.opts.statusReportMs ?? 300_000;
    this.statusTimer = setInterval(() => void this.writeNodeStatus().catch((e: Error) => this.fail('node status', e)), report);
    this.statusTimer.unref();
  }

  private leaseLoop(intervalMs: number): void {
    if (this.stopped) return;
    void this.renewLease()
      .catch((e: Error) => this.fail('lease', e))
      .finally(() => {
        if (this.stopped) return;
        this.leaseTimer = setTimeout(() => this.leaseLoop(intervalMs), intervalMs);
        this.leaseTimer.unref();
      });
  }

  private fail(what: string, e: Error): void {
    this.stats.errors++;
    this.log(`${what}: ${e.message}`);
  }

  /**
   * The Node as the API has it now. A kubelet compares its status with the API's every 10 s and
   * reports at once when they differ: a Ready condition the node controller set to Unknown
   * while the Lease lapsed is put right without waiting for the 5-minute report.
   */
  nodeObserved(node: KubeObject): void {
    if (this.stopped) return;
    const conds = ((node.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []);
    const ready = conds.find((c) => c.type === 'Ready');
    if (!ready || ready.status === 'True') return;
    const now = Date.now();
    if (now - this.lastCorrection < 10_000) return;
    this.lastCorrection = now;
    void this.writeNodeStatus(node.status as Record<string, unknown> | undefined).catch((e: Error) => this.fail('node status', e));
  }

  private lastCorrection = 0;

  private async writeNodeStatus(prev?: Record<string, unknown>): Promise<void> {
    if (this.stopped) return;
    let before = prev;
    if (!before) before = ((await this.client.get(Resources.nodes, undefined, this.name)).status ?? {}) as Record<string, unknown>;
    await this.client.patch(Resources.nodes, undefined, this.name, 'merge', { status: this.nodeStatus(before) }, { subresource: 'status', fieldManager: FIELD_MANAGER });
    this.stats.statusWrites++;
  }

  private async renewLease(): Promise<void> {
    if (this.stopped) return;
    const spec = { holderIdentity: this.name, leaseDurationSeconds: this.opts.leaseDurationSeconds ?? 40, renewTime: microTime() };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        if (!this.lease) {
          try {
            this.lease = await this.client.get(Resources.leases, 'kube-node-lease', this.name);
          } catch (err) {
            if (!(err instanceof StatusError && err.code === 404)) throw err;
            const owner = await this.client.get(Resources.nodes, undefined, this.name);
            this.lease = await this.client.create(Resources.leases, 'kube-node-lease', {
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              metadata: { name: this.name, namespace: 'kube-node-lease', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.name, uid: owner.metadata?.uid ?? '' }] },
              spec,
            }, { fieldManager: FIELD_MANAGER });
            this.stats.leaseRenewals++;
            return;
          }
        }
        const next = { ...this.lease, spec: { ...(this.lease.spec as object), ...spec } };
        this.lease = await this.client.update(Resources.leases, 'kube-node-lease', next, { fieldManager: FIELD_MANAGER });
        this.stats.leaseRenewals++;
        return;
      } catch (err) {
        if (err instanceof StatusError && (err.code === 409 || err.code === 404)) {
          this.lease = undefined;
          continue;
        }
        throw err;
      }
    }
  }

  /** A pod bound to this node was added or changed. */
  podChanged(pod: KubeObject): void {
    const uid = pod.metadata?.uid;
    if (!uid || this.stopped) return;
    this.pods.set(uid, pod);
    this.kick(uid);
  }

  /** A pod of this node is gone from the API. */
  podDeleted(pod: KubeObject): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    this.pods.delete(uid);
    if (this.stopped) return;
    void this.runtime.kill(uid, 0);
  }

  private kick(uid: string): void {
    if (this.busy.has(uid)) {
      this.dirty.add(uid);
      return;
    }
    this.busy.add(uid);
    void this.syncPod(uid)
      .catch((e: Error) => this.fail(`pod ${uid}`, e))
      .finally(() => {
        this.busy.delete(uid);
        if (this.dirty.delete(uid)) this.kick(uid);
      });
  }

  private async syncPod(uid: string): Promise<void> {
    const pod = this.pods.get(uid);
    if (!pod || this.stopped) return;
    const m = pod.metadata ?? {};
    const ns = m.namespace ?? 'default';
    const name = m.name ?? '';
    if (m.deletionTimestamp) {
      const view = this.runtime.view(uid);
      await this.runtime.kill(uid, m.deletionGracePeriodSeconds ?? 0);
      await this.reportStopped(pod, view);
      try {
        await this.client.delete(Resources.pods, ns, name, { gracePeriodSeconds: 0, preconditions: { uid } });
      } catch (err) {
        if (!(err instanceof StatusError && (err.code === 404 || err.code === 409))) throw err;
      }
      this.pods.delete(uid);
      return;
    }
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    if ((phase === 'Succeeded' || phase === 'Failed') && !this.runtime.view(uid)) return;
    this.runtime.sync(pod);
    const view = this.runtime.view(uid);
    if (!view) return;
    const status = computePodStatus(pod, view, rfc3339());
    if (deepEqual(status, pod.status)) return;
    try {
      const written = await this.client.patch(Resources.pods, ns, name, 'merge', { metadata: { uid }, status }, { subresource: 'status', fieldManager: FIELD_MANAGER });
      this.stats.podStatusWrites++;
      if (this.pods.has(uid)) this.pods.set(uid, written);
    } catch (err) {
      if (err instanceof StatusError && (err.code === 404 || err.code === 409)) return;
      throw err;
    }
  }

  /**
   * A pod stopped for its deletion ends in a terminal phase before it goes, as the kubelet
   * reports it: its running containers terminated (SIGTERM, exit 143), so the phase is Failed
   * unless it had already succeeded. Jobs count such pods from this.
   */
  private async reportStopped(pod: KubeObject, view: PodRuntimeView | undefined): Promise<void> {
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    if (!view || phase === 'Succeeded' || phase === 'Failed') return;
    const now = rfc3339();
    const containers = new Map(view.containers);
    for (const [name, info] of containers) {
      if (info.state.kind !== 'running') continue;
      containers.set(name, { ...info, state: { kind: 'terminated', exitCode: 143, reason: 'Error', startedAt: info.state.startedAt, finishedAt: now } });
    }
    const status = computePodStatus(pod, { ...view, containers, sandboxReady: false }, now);
    if (status.phase === 'Running') status.phase = 'Failed';
    const m = pod.metadata ?? {};
    try {
      await this.client.patch(Resources.pods, m.namespace ?? 'default', m.name ?? '', 'merge', { metadata: { uid: m.uid }, status }, { subresource: 'status', fieldManager: FIELD_MANAGER });
      this.stats.podStatusWrites++;
    } catch (err) {
      if (!(err instanceof StatusError && (err.code === 404 || err.code === 409))) throw err;
    }
  }

  /** Stops heartbeats and pod work: to the cluster the node simply goes silent. */
  stop(): void {
    this.stopped = true;
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.runtime.close();
  }
}
