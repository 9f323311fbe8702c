// The scheduler process: informers keep a Snapshot of nodes and assigned pods; unscheduled pods
// (schedulerName default-scheduler) wait in a priority queue; each decision is taken on the
// snapshot (schedule.ts), assumed there at once, and bound through pods/binding in the
// background, many binds in flight. Pods that fit nowhere get the FailedScheduling event and
// PodScheduled=False, and wait until the cluster changes (or 5 minutes pass).
import type { KubeObject } from '../api/object.ts';
import { StatusError } from '../api/status.ts';
import type { KubeClient } from '../client/kube-client.ts';
import { Resources, type GVR } from '../client/resources.ts';
import { EventRecorder } from '../controllers/framework/events.ts';
import { deletedObject, SharedInformerFactory, type Informer, type InformerPoolLike } from '../controllers/framework/informer.ts';
import { stderrLogger, type Logger } from '../controllers/framework/log.ts';
import { defaultSpreadSelector, type WorkloadListers } from './defaultspread.ts';
import { watchVolumes, workloadListers } from './informers.ts';
import { resolvePriority } from './preemption.ts';
import { schedulePod } from './schedule.ts';
import { volumeBindings } from './volumefilters.ts';
import { isFullyBound } from './volumes.ts';
import { Snapshot } from './snapshot.ts';
import type { Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, PodDisruptionBudget, PriorityClass } from './types.ts';

const PRIORITY_CLASSES: GVR = { group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses', namespaced: false, kind: 'PriorityClass' };
const UNSCHEDULABLE_RETRY_MS = 300_000;
/** How long binding waits for the PV controller to finish the volume bindings it asked for (upstream: 10 minutes). */
const VOLUME_BIND_TIMEOUT_MS = 120_000;

type VolumeBinding = { pvc: PersistentVolumeClaim; pv: PersistentVolume | undefined };

export interface SchedulerOptions {
  schedulerName?: string;
  /** Binds in flight at once. */
  parallelBinds?: number;
  /**
   * Upstream's percentageOfNodesToScore: stop filtering once this share of the nodes was found
   * feasible. Default 0, upstream's adaptive default (all nodes below 100; 42% of 1,000 nodes).
   */
  percentageOfNodesToScore?: number;
  /** Lists and watches shared with other components on this thread (the controller manager). */
  informerPool?: InformerPoolLike;
  logger?: Logger;
}

interface Queued {
  key: string;
  pod: Pod;
  priority: number;
  since: number;
  attempts: number;
}

const keyOf = (p: { metadata?: { namespace?: string; name?: string } }) => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;
const isTerminal = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export class Scheduler {
  readonly stats = { scheduled: 0, bound: 0, failedBinds: 0, unschedulable: 0 };
  private readonly client: KubeClient;
  private readonly name: string;
  private readonly log: Logger;
  private readonly parallel: number;
  private readonly percentage: number;
  private readonly snapshot = new Snapshot();
  private readonly informers: SharedInformerFactory;
  private readonly recorder: EventRecorder;
  private readonly active = new Map<string, Queued>();
  private readonly unschedulable = new Map<string, Queued>();
  /** Pods assumed on a node whose binding is in flight. */
  private readonly binding = new Set<string>();
  private priorityClasses: Informer<KubeObject> | undefined;
  private pdbs: Informer<KubeObject> | undefined;
  private workloads: WorkloadListers | undefined;
  private inFlight = 0;
  private scheduled = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(client: KubeClient, opts: SchedulerOptions = {}) {
    this.client = client;
    this.name = opts.schedulerName ?? 'default-scheduler';
    this.log = opts.logger ?? stderrLogger('scheduler');
    this.parallel = opts.parallelBinds ?? 64;
    this.percentage = opts.percentageOfNodesToScore ?? 0;
    this.informers = new SharedInformerFactory(client, { stripManagedFields: true }, opts.informerPool);
    this.recorder = new EventRecorder(client, { component: 'default-scheduler' });
  }

  async start(): Promise<void> {
    const nodes = this.informers.informerFor<KubeObject>(Resources.nodes);
    const pods = this.informers.informerFor<KubeObject>(Resources.pods);
    const namespaces = this.informers.informerFor<KubeObject>(Resources.namespaces);
    this.priorityClasses = this.informers.informerFor<KubeObject>(PRIORITY_CLASSES);
    this.pdbs = this.informers.informerFor<KubeObject>(Resources.poddisruptionbudgets);
    watchVolumes(this.informers, this.snapshot.volumes, () => this.flushUnschedulable());
    this.workloads = workloadListers(this.informers);
    nodes.addEventHandler({
      onAdd: (n) => this.nodeChanged(n as unknown as Node),
      onUpdate: (_o, n) => this.nodeChanged(n as unknown as Node),
      onDelete: (x) => this.snapshot.removeNode(deletedObject(x).metadata?.name ?? ''),
    });
    namespaces.addEventHandler({
      onAdd: (n) => this.snapshot.upsertNamespace(n as unknown as Namespace),
      onUpdate: (_o, n) => this.snapshot.upsertNamespace(n as unknown as Namespace),
      onDelete: (x) => this.snapshot.removeNamespace(deletedObject(x).metadata?.name ?? ''),
    });
    pods.addEventHandler({
      onAdd: (p) => this.podChanged(p as unknown as Pod),
      onUpdate: (_o, p) => this.podChanged(p as unknown as Pod),
      onDelete: (x) => this.podDeleted(deletedObject(x) as unknown as Pod),
    });
    this.informers.start();
    await this.informers.waitForSync(120_000);
    this.retryTimer = setInterval(() => this.retryOld(), 30_000);
    this.retryTimer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearInterval(this.retryTimer);
    await this.informers.stop();
    await this.recorder.close();
  }

  private nodeChanged(node: Node): void {
    this.snapshot.upsertNode(node);
    this.flushUnschedulable();
  }

  private podChanged(pod: Pod): void {
    const key = keyOf(pod);
    if (pod.spec?.nodeName) {
      this.active.delete(key);
      this.unschedulable.delete(key);
      this.binding.delete(key);
      if (isTerminal(pod)) {
        this.snapshot.removePod(pod);
        this.flushUnschedulable();
      } else this.snapshot.upsertPod(pod);
      return;
    }
    if (this.binding.has(key)) return; // assumed; the bound version is on its way
    this.snapshot.upsertPod(pod); // remembers (or forgets) a nomination from an earlier preemption
    // SchedulingGates (PreEnqueue): a gated pod waits outside the queue until its gates are removed.
    const gated = (pod.spec?.schedulingGates ?? []).length > 0;
    if ((pod.spec?.schedulerName ?? 'default-scheduler') !== this.name || pod.metadata?.deletionTimestamp || isTerminal(pod) || gated) {
      this.active.delete(key);
      this.unschedulable.delete(key);
      return;
    }
    const waiting = this.unschedulable.get(key);
    if (waiting) {
      waiting.pod = pod;
      return;
    }
    const queued = this.active.get(key);
    if (queued) queued.pod = pod;
    else this.active.set(key, { key, pod, priority: this.priorityOf(pod), since: Date.now(), attempts: 0 });
    this.kick();
  }

  private podDeleted(pod: Pod): void {
    const key = keyOf(pod);
    this.active.delete(key);
    this.unschedulable.delete(key);
    this.binding.delete(key);
    this.snapshot.removePod(key);
    this.flushUnschedulable();
  }

  private priorityOf(pod: Pod): number {
    try {
      return pod.spec?.priority ?? resolvePriority(pod, (this.priorityClasses?.store.list() ?? []) as unknown as PriorityClass[]);
    } catch {
      return 0;
    }
  }

  /** The cluster changed: pods that fit nowhere get another chance. */
  private flushUnschedulable(): void {
    if (this.unschedulable.size === 0) return;
    for (const [key, q] of this.unschedulable) this.active.set(key, q);
    this.unschedulable.clear();
    this.kick();
  }

  private retryOld(): void {
    const now = Date.now();
    let moved = false;
    for (const [key, q] of this.unschedulable) {
      if (now - q.since < UNSCHEDULABLE_RETRY_MS) continue;
      this.unschedulable.delete(key);
      this.active.set(key, q);
      moved = true;
    }
    if (moved) this.kick();
  }

  private kick(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /** Highest priority first, then oldest. */
  private next(): Queued | undefined {
    let best: Queued | undefined;
    for (const q of this.active.values()) {
      if (!best || q.priority > best.priority || (q.priority === best.priority && q.since < best.since)) best = q;
      if (this.active.size > 256 && best.priority === 0) break; // FIFO is enough for the common case
    }
    return best;
  }

  private drain(): void {
    const deadline = performance.now() + 10;
    while (this.active.size > 0 && this.inFlight < this.parallel && !this.stopped) {
      const q = this.next();
      if (!q) break;
      this.active.delete(q.key);
      this.scheduleOne(q);
      if (performance.now() > deadline) break;
    }
    if (this.active.size > 0 && this.inFlight < this.parallel) this.kick();
  }

  private scheduleOne(q: Queued): void {
    const pod = q.pod;
    q.attempts++;
    const defaultSpread = this.workloads && (pod.spec.topologySpreadConstraints ?? []).length === 0 ? defaultSpreadSelector(pod, this.workloads) : null;
    const result = schedulePod(this.snapshot, pod, {
      pdbs: (this.pdbs?.store.list() ?? []) as unknown as PodDisruptionBudget[],
      defaultSpreadSelector: defaultSpread,
      percentageOfNodesToScore: this.percentage,
    });
    if ('node' in result) {
      this.stats.scheduled++;
      const volumes = (pod.spec.volumes ?? []).length > 0 ? (volumeBindings(this.snapshot.volumes, pod, this.snapshot.getNode(result.node)?.labels ?? {}) ?? []) : [];
      for (const b of volumes) if (b.pv) this.snapshot.volumes.assumeVolume(b.pv.metadata.name ?? '', `${b.pvc.metadata.namespace ?? 'default'}/${b.pvc.metadata.name ?? ''}`);
      this.snapshot.assume(pod, result.node);
      this.binding.add(q.key);
      this.inFlight++;
      void this.bind(q, result.node, volumes).finally(() => {
        this.inFlight--;
        this.kick();
      });
      return;
    }
    this.stats.unschedulable++;
    const message = result.error.message;
    this.recorder.event(pod as unknown as KubeObject, 'Warning', 'FailedScheduling', message);
    q.since = Date.now();
    this.unschedulable.set(q.key, q);
    void this.markUnschedulable(pod, message, result.nominatedNode);
    for (const victim of result.victims ?? []) void this.preemptVictim(victim, pod, result.nominatedNode ?? '');
    for (const other of result.clearNominations ?? []) void this.clearNomination(other);
  }

  /**
   * upstream's VolumeBinding PreBind: each chosen volume gets the claim's reference (the PV
   * controller completes the binding, which is waited for); a claim to provision gets the
   * chosen node in `volume.kubernetes.io/selected-node` for its provisioner. (Upstream also waits
   * for provisioning; here no provisioner may exist, so the pod goes on.)
   */
  private async bindVolumes(node: string, volumes: VolumeBinding[]): Promise<void> {
    for (const { pvc, pv } of volumes) {
      const m = pvc.metadata;
      if (pv) {
        const rv = (pv.metadata as { resourceVersion?: string }).resourceVersion;
        const claimRef = { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: m.namespace, name: m.name, uid: m.uid, resourceVersion: (m as { resourceVersion?: string }).resourceVersion };
        await this.client.patch(Resources.persistentvolumes, undefined, pv.metadata.name ?? '', 'merge', { metadata: { resourceVersion: rv, annotations: { 'pv.kubernetes.io/bound-by-controller': 'yes' } }, spec: { claimRef } });
      } else {
        await this.client.patch(Resources.persistentvolumeclaims, m.namespace, m.name ?? '', 'merge', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': node } } });
      }
    }
    const deadline = Date.now() + VOLUME_BIND_TIMEOUT_MS;
    for (const { pvc, pv } of volumes) {
      if (!pv) continue;
      const ns = pvc.metadata.namespace ?? 'default';
      const name = pvc.metadata.name ?? '';
      for (;;) {
        const cur = this.snapshot.volumes.pvc(ns, name);
        if (!cur) throw new StatusError(404, 'NotFound', `persistentvolumeclaims "${name}" not found`);
        if (isFullyBound(cur)) break;
        if (Date.now() > deadline || this.stopped) throw new Error(`binding volumes: claim ${ns}/${name} not bound to ${pv.metadata.name ?? ''} in time`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private async bind(q: Queued, node: string, volumes: VolumeBinding[] = []): Promise<void> {
    const pod = q.pod;
    const m = pod.metadata;
    try {
      if (volumes.length > 0) await this.bindVolumes(node, volumes);
      await this.client.createSubresource(Resources.pods, m.namespace, m.name ?? '', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: m.name, namespace: m.namespace, uid: m.uid }, target: { apiVersion: 'v1', kind: 'Node', name: node } });
      this.stats.bound++;
      this.recorder.event(pod as unknown as KubeObject, 'Normal', 'Scheduled', `Successfully assigned ${m.namespace}/${m.name} to ${node}`);
    } catch (err) {
      this.stats.failedBinds++;
      this.binding.delete(q.key);
      this.snapshot.removePod(q.key);
      for (const b of volumes) if (b.pv) this.snapshot.volumes.forgetVolume(b.pv.metadata.name ?? '');
      if (err instanceof StatusError && err.code === 404) return; // the pod is gone
      if (err instanceof StatusError && err.code === 409 && /already assigned/.test(err.message)) return;
      this.log.warn(`binding ${q.key} to ${node}: ${(err as Error).message}`);
      const backoff = Math.min(10_000, 1000 * 2 ** Math.min(q.attempts, 4));
      setTimeout(() => {
        if (this.stopped || this.binding.has(q.key)) return;
        this.active.set(q.key, q);
        this.kick();
      }, backoff).unref();
    }
  }

  private async markUnschedulable(pod: Pod, message: string, nominated?: string): Promise<void> {
    const conds = (pod.status?.conditions ?? []) as Array<{ type: string; status: string; reason?: string; message?: string }>;
    const cur = conds.find((c) => c.type === 'PodScheduled');
    if (cur && cur.status === 'False' && cur.message === message && (!nominated || pod.status?.nominatedNodeName === nominated)) return;
    const condition = { type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), reason: 'Unschedulable', message };
    const status: Record<string, unknown> = { conditions: [...conds.filter((c) => c.type !== 'PodScheduled'), condition] };
    if (nominated) status.nominatedNodeName = nominated;
    try {
      await this.client.patch(Resources.pods, pod.metadata.namespace, pod.metadata.name ?? '', 'merge', { metadata: { uid: pod.metadata.uid }, status }, { subresource: 'status', fieldManager: 'kube-scheduler' });
    } catch (err) {
      if (!(err instanceof StatusError && (err.code === 404 || err.code === 409))) this.log.warn(`status of ${keyOf(pod)}: ${(err as Error).message}`);
    }
  }

  private async clearNomination(pod: Pod): Promise<void> {
    try {
      await this.client.patch(Resources.pods, pod.metadata.namespace, pod.metadata.name ?? '', 'merge', { metadata: { uid: pod.metadata.uid }, status: { nominatedNodeName: null } }, { subresource: 'status', fieldManager: 'kube-scheduler' });
    } catch (err) {
      if (!(err instanceof StatusError && (err.code === 404 || err.code === 409))) this.log.warn(`nomination of ${keyOf(pod)}: ${(err as Error).message}`);
    }
  }

  private async preemptVictim(victim: Pod, preemptor: Pod, node: string): Promise<void> {
    this.recorder.event(victim as unknown as KubeObject, 'Normal', 'Preempted', `Preempted by pod ${preemptor.metadata.uid} on node ${node}`);
    try {
      await this.client.delete(Resources.pods, victim.metadata.namespace, victim.metadata.name ?? '', { preconditions: { uid: victim.metadata.uid } });
    } catch (err) {
      if (!(err instanceof StatusError && (err.code === 404 || err.code === 409))) this.log.warn(`preempting ${keyOf(victim)}: ${(err as Error).message}`);
    }
  }
}
