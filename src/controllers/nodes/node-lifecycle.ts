// The node lifecycle controller (upstream's node-lifecycle-controller, events as node-controller).
// Every monitor period it looks at each node: a node it has not heard from (Ready heartbeat or
// Lease renewal) for the grace period gets Ready and the pressure conditions Unknown, a
// NodeNotReady Event, and its pods' Ready condition set to False; nodes whose Ready is False or
// Unknown are queued (rate-limited per zone, zone-tainter.ts) for the
// node.kubernetes.io/not-ready or unreachable NoExecute taint, removed as soon as Ready is True.
// On every node change the NoSchedule taints follow the conditions and spec.unschedulable.
// New nodes get a RegisteredNode Event, deleted ones RemovingNode.
import { isNotFound } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { EventRecorder } from '../framework/events.ts';
import type { Informer } from '../framework/informer.ts';
import { errorMessage, type Logger } from '../framework/log.ts';
import { Indexers, keyOf } from '../framework/store.ts';
import { runWorkers, WorkQueue } from '../framework/workqueue.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { observeNode, unknownConditions, type NodeHealth } from './node-health.ts';
import { markPodsNotReady, swapNodeTaints } from './node-writes.ts';
import { jsonEqual } from './pod-util.ts';
import { nodeCondition, noScheduleTaintChanges, noExecuteTaints, TAINT_NOT_READY, TAINT_UNREACHABLE, zoneKey } from './taints.ts';
import { withKind, type Lease, type Node, type NodeCondition, type Pod } from './types.ts';
import { ZoneTainter, type EvictionRates } from './zone-tainter.ts';

export interface NodeLifecycleOptions extends Partial<EvictionRates> {
  /** --node-monitor-period (5 s). */
  monitorPeriodMs?: number;
  /** --node-monitor-grace-period (50 s since 1.32). */
  gracePeriodMs?: number;
  /** --node-startup-grace-period (60 s). */
  startupGracePeriodMs?: number;
  /** --unhealthy-zone-threshold (0.55). */
  unhealthyZoneThreshold?: number;
}

const NOT_READY_NOEXEC = { key: TAINT_NOT_READY, effect: 'NoExecute' };
const UNREACHABLE_NOEXEC = { key: TAINT_UNREACHABLE, effect: 'NoExecute' };
const POD_NODE = Indexers.nodeName as (p: Pod) => string[];

export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle-controller';
  private ctx!: ControllerContext;
  private nodes!: Informer<Node>;
  private leases!: Informer<Lease>;
  private pods!: Informer<Pod>;
  private recorder!: EventRecorder;
  private log!: Logger;
  private readonly opts: Required<NodeLifecycleOptions>;
  private readonly nodeQueue = new WorkQueue<string>({ name: 'node_lifecycle_controller' });
  private readonly podQueue = new WorkQueue<string>({ name: 'node_lifecycle_controller_pods' });
  private readonly health = new Map<string, NodeHealth>();
  private readonly known = new Map<string, Node>();
  private readonly retry = new Set<string>();
  private readonly tainter: ZoneTainter;
  private stopped = false;
  private wake: (() => void) | undefined;
  private taintTimer: NodeJS.Timeout | undefined;
  private tainting = false;

  constructor(opts: NodeLifecycleOptions = {}) {
    this.opts = {
      monitorPeriodMs: opts.monitorPeriodMs ?? 5_000,
      gracePeriodMs: opts.gracePeriodMs ?? 50_000,
      startupGracePeriodMs: opts.startupGracePeriodMs ?? 60_000,
      unhealthyZoneThreshold: opts.unhealthyZoneThreshold ?? 0.55,
      qps: opts.qps ?? 0.1,
      secondaryQps: opts.secondaryQps ?? 0.01,
      largeClusterThreshold: opts.largeClusterThreshold ?? 50,
    };
    this.tainter = new ZoneTainter(this.opts);
  }

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.recorder = ctx.recorder('node-controller');
    this.log = ctx.logger(this.name);
    this.nodes = ctx.informers.informerFor<Node>(Resources.nodes);
    // All namespaces, as upstream's shared lease informer (and the garbage collector's): one watch.
    this.leases = ctx.informers.informerFor<Lease>(Resources.leases);
    this.pods = ctx.informers.informerFor<Pod>(Resources.pods, {}, { nodeName: POD_NODE });
    const qn = (n: Node) => this.nodeQueue.add(n.metadata?.name ?? '');
    this.nodes.addEventHandler({ onAdd: qn, onUpdate: (_o, n) => qn(n) });
    const qp = (p: Pod) => {
      if (p.spec?.nodeName) this.podQueue.add(keyOf(p));
    };
    this.pods.addEventHandler({ onAdd: qp, onUpdate: (_o, p) => qp(p) });
  }

  private now(): number {
    return this.ctx.now().getTime();
  }

  async run(): Promise<void> {
    await Promise.all([
      runWorkers(this.nodeQueue, 4, (name) => this.noScheduleTaintingPass(name), { logger: this.log }),
      runWorkers(this.podQueue, 4, (key) => this.processPod(key), { logger: this.log }),
      this.monitorLoop(),
    ]);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.taintTimer);
    this.taintTimer = undefined;
    this.nodeQueue.shutDown();
    this.podQueue.shutDown();
    this.wake?.();
  }

  private async monitorLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.monitorNodeHealth();
      } catch (err) {
        this.log.error(`monitoring node health: ${errorMessage(err)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.opts.monitorPeriodMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private nodeEvent(node: Node, reason: string, message: string): void {
    this.recorder.event(withKind(node, 'v1', 'Node'), 'Normal', reason, message);
  }

  async monitorNodeHealth(): Promise<void> {
    const nodes = this.nodes.store.list();
    const names = new Set(nodes.map((n) => n.metadata?.name ?? ''));
    for (const node of nodes) {
      const name = node.metadata?.name ?? '';
      if (this.known.has(name)) continue;
      this.nodeEvent(node, 'RegisteredNode', `Registered Node ${name} in Controller`);
      this.known.set(name, node);
      this.tainter.ensureZone(zoneKey(node), this.now());
      await this.markNodeAsReachable(node);
    }
    for (const [name, node] of this.known) {
      if (names.has(name)) continue;
      this.nodeEvent(node, 'RemovingNode', `Removing Node ${name} from Controller`);
      this.known.delete(name);
      this.health.delete(name);
    }
    const zoneConditions = new Map<string, Array<NodeCondition | undefined>>();
    for (const node of nodes) {
      const name = node.metadata?.name ?? '';
      let r: Awaited<ReturnType<NodeLifecycleController['updateHealth']>>;
      try {
        r = await this.updateHealth(node);
      } catch (err) {
        this.log.warn(`updating health of node ${name} failed, skipping it (no pods will be evicted): ${errorMessage(err)}`);
        continue;
      }
      const zone = zoneKey(r.node);
      zoneConditions.set(zone, [...(zoneConditions.get(zone) ?? []), r.current]);
      if (!r.current) continue;
      await this.processTaintBasedEviction(r.node, r.observed);
      const flipped = r.current.status !== 'True' && r.observed.status === 'True';
      if (flipped) this.nodeEvent(r.node, 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      if (flipped || (this.retry.has(name) && r.observed.status !== 'True')) {
        try {
          await markPodsNotReady(this.ctx.client, this.recorder, this.pods.store.byIndex('nodeName', name), name, this.now());
        } catch (err) {
          this.log.warn(`unable to mark all pods NotReady on node ${name}: ${errorMessage(err)}; queuing for retry`);
          this.retry.add(name);
          continue;
        }
      }
      this.retry.delete(name);
    }
    this.handleDisruption(zoneConditions, nodes);
  }

  /** Observes a node; marks it Unknown when silent past its grace period (5 tries on conflicts). */
  private async updateHealth(node: Node): Promise<{ node: Node; observed: NodeCondition; current: NodeCondition | undefined }> {
    const name = node.metadata?.name ?? '';
    let cur = node;
    for (let attempt = 0; ; attempt++) {
      const now = this.now();
      const obs = observeNode(this.health.get(name), cur, this.leases.store.get('kube-node-lease', name), now);
      this.health.set(name, obs.health);
      const grace = obs.grace === 'startup' ? this.opts.startupGracePeriodMs : this.opts.gracePeriodMs;
      const current = nodeCondition(cur, 'Ready');
      if (now <= obs.health.probeMs + grace) return { node: cur, observed: obs.observedReady, current };
      const conditions = unknownConditions(cur, now);
      const ready = conditions.find((c) => c.type === 'Ready');
      if (jsonEqual(ready, obs.observedReady)) return { node: cur, observed: obs.observedReady, current: ready };
      try {
        const written = await this.ctx.client.updateStatus<Node>(Resources.nodes, undefined, { ...cur, status: { ...cur.status, conditions } });
        this.health.set(name, { ...obs.health, status: written.status, readyTransitionMs: now });
        return { node: written, observed: obs.observedReady, current: ready };
      } catch (err) {
        if (attempt >= 4) throw err;
        cur = await this.ctx.client.get<Node>(Resources.nodes, undefined, name);
      }
    }
  }

  private async processTaintBasedEviction(node: Node, observed: NodeCondition): Promise<void> {
    const taints = noExecuteTaints(node);
    const has = (key: string) => taints.some((t) => t.key === key);
    const zone = zoneKey(node);
    const name = node.metadata?.name ?? '';
    if (observed.status === 'True') {
      await this.markNodeAsReachable(node);
      return;
    }
    const [want, opposite] = observed.status === 'False' ? [NOT_READY_NOEXEC, UNREACHABLE_NOEXEC] : [UNREACHABLE_NOEXEC, NOT_READY_NOEXEC];
    // Already tainted the other way: swap at once.
    if (has(opposite.key)) {
      if (!(await swapNodeTaints(this.ctx.client, node, [want], [opposite], this.now()))) this.log.warn(`failed to swap ${opposite.key} for ${want.key} on node ${name}; will try again`);
      return;
    }
    if (!has(want.key)) this.tainter.remove(zone, name);
    this.tainter.add(zone, name, this.now());
    this.startTainting();
  }

  /**
   * The NoExecute tainting pass runs every 100 ms (upstream's nodeEvictionPeriod) while nodes wait
   * in the zones' rate-limited queues, and not at all otherwise: an idle control plane wakes less.
   */
  private startTainting(): void {
    if (this.taintTimer || this.stopped) return;
    this.taintTimer = setInterval(() => {
      if (this.tainting || this.stopped) return;
      if (!this.tainter.hasPending()) {
        clearInterval(this.taintTimer);
        this.taintTimer = undefined;
        return;
      }
      this.tainting = true;
      void this.noExecuteTaintingPass()
        .catch((e) => this.log.error(`tainting pass: ${errorMessage(e)}`))
        .finally(() => (this.tainting = false));
    }, 100);
  }

  private async markNodeAsReachable(node: Node): Promise<void> {
    const name = node.metadata?.name ?? '';
    const taints = noExecuteTaints(node);
    if (taints.some((t) => t.key === TAINT_NOT_READY || t.key === TAINT_UNREACHABLE)) {
      if (!(await swapNodeTaints(this.ctx.client, node, [], [NOT_READY_NOEXEC, UNREACHABLE_NOEXEC], this.now()))) return;
    }
    this.tainter.remove(zoneKey(node), name);
  }

  /** Taints the nodes each zone's limiter lets through with not-ready or unreachable NoExecute. */
  private async noExecuteTaintingPass(): Promise<void> {
    for (const zone of this.tainter.zoneNames()) {
      for (const name of this.tainter.take(zone, this.now())) {
        const node = this.nodes.store.get(undefined, name);
        const ready = node && nodeCondition(node, 'Ready');
        if (!node || !ready || ready.status === 'True') {
          this.tainter.markDone(zone, name);
          continue;
        }
        const [add, remove] = ready.status === 'False' ? [NOT_READY_NOEXEC, UNREACHABLE_NOEXEC] : [UNREACHABLE_NOEXEC, NOT_READY_NOEXEC];
        let ok = false;
        try {
          ok = await swapNodeTaints(this.ctx.client, node, [add], [remove], this.now());
        } catch (err) {
          this.log.warn(`tainting node ${name}: ${errorMessage(err)}`);
        }
        if (ok) this.tainter.markDone(zone, name);
        else this.tainter.requeue(zone, name);
      }
    }
  }

  private async noScheduleTaintingPass(name: string): Promise<void> {
    const node = this.nodes.store.get(undefined, name);
    if (!node) return;
    const { add, remove } = noScheduleTaintChanges(node);
    if (add.length === 0 && remove.length === 0) return;
    if (!(await swapNodeTaints(this.ctx.client, node, add, remove, this.now()))) throw new Error(`failed to swap taints of node ${name}`);
  }

  /**
   * A pod (re)appearing on a node that is not Ready is marked not Ready too. Only while the node
   * is silent: a node still renewing its Lease reports its pods itself.
   */
  private async processPod(key: string): Promise<void> {
    const pod = this.pods.store.getByKey(key);
    const nodeName = pod?.spec?.nodeName;
    if (!pod || !nodeName) return;
    const node = this.nodes.store.get(undefined, nodeName);
    const ready = node && nodeCondition(node, 'Ready');
    const h = this.health.get(nodeName);
    if (!ready || ready.status === 'True' || !h || this.now() <= h.probeMs + this.opts.gracePeriodMs) return;
    try {
      await markPodsNotReady(this.ctx.client, this.recorder, [pod], nodeName, this.now());
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private handleDisruption(zoneConditions: Map<string, Array<NodeCondition | undefined>>, nodes: Node[]): void {
    const now = this.now();
    const change = this.tainter.updateZoneStates(zoneConditions, this.opts.unhealthyZoneThreshold, now);
    if (change === 'entered') {
      this.log.info('Controller detected that all Nodes are not-Ready. Entering master disruption mode');
      for (const node of nodes) void this.markNodeAsReachable(node).catch((e) => this.log.warn(`removing taints of node ${node.metadata?.name}: ${errorMessage(e)}`));
    } else if (change === 'exited') {
      this.log.info('Controller detected that some Nodes are Ready. Exiting master disruption mode');
      // Every node gets a fresh grace period.
      for (const [name, h] of this.health) this.health.set(name, { ...h, probeMs: now, readyTransitionMs: now });
    }
  }
}

export function nodeLifecycleController(opts?: NodeLifecycleOptions): Controller {
  return new NodeLifecycleController(opts);
}
