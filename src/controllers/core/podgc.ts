// The pod garbage collector (upstream's PodGC), every 20 s: terminated pods beyond the threshold
// (12500; evicted first, then oldest), terminating pods on out-of-service nodes that are not
// ready, pods bound to nodes that no longer exist (after a 40 s quarantine and a live check;
// marked Failed with a DisruptionTarget condition first), and unscheduled terminating pods. All
// are force deleted (grace period 0).
import type { KubeObject } from '../../api/object.ts';
import { isNotFound, type KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.ts';
import type { Informer } from '../framework/informer.ts';
import { errorMessage, type Logger } from '../framework/log.ts';

export interface PodGCOptions {
  /** --terminated-pod-gc-threshold; 0 disables the terminated-pod pass. Default 12500. */
  terminatedPodThreshold?: number;
  /** How often the passes run; default 20 s. */
  periodMs?: number;
  /** How long a missing node must stay missing before its pods go; default 40 s. */
  quarantineMs?: number;
}

type Obj = Record<string, unknown>;
interface PodCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
}

const phaseOf = (p: KubeObject) => ((p.status ?? {}) as Obj).phase as string | undefined;
const nodeNameOf = (p: KubeObject) => (((p.spec ?? {}) as Obj).nodeName as string | undefined) ?? '';
const isTerminated = (p: KubeObject) => phaseOf(p) === 'Succeeded' || phaseOf(p) === 'Failed';
const isEvicted = (p: KubeObject) => phaseOf(p) === 'Failed' && ((p.status ?? {}) as Obj).reason === 'Evicted';

/** Evicted pods first, then by creationTimestamp, then by name. */
export function byEvictionAndCreation(a: KubeObject, b: KubeObject): number {
  if (isEvicted(a) !== isEvicted(b)) return isEvicted(a) ? -1 : 1;
  const ta = Date.parse(a.metadata?.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata?.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

function nodeReady(node: KubeObject): boolean {
  const conds = (((node.status ?? {}) as Obj).conditions as PodCondition[] | undefined) ?? [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

function outOfService(node: KubeObject): boolean {
  const taints = (((node.spec ?? {}) as Obj).taints as Array<{ key?: string; effect?: string }> | undefined) ?? [];
  return taints.some((t) => t.key === 'node.kubernetes.io/out-of-service' && (t.effect === 'NoExecute' || t.effect === undefined));
}

class PodGC implements Controller {
  readonly name = 'pod-garbage-collector';
  private readonly threshold: number;
  private readonly periodMs: number;
  private readonly quarantineMs: number;
  private client!: KubeClient;
  private pods!: Informer;
  private nodes!: Informer;
  private log!: Logger;
  private now!: () => Date;
  /** Missing node name → when it was first seen missing. */
  private readonly quarantine = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(opts: PodGCOptions) {
    this.threshold = opts.terminatedPodThreshold ?? 12500;
    this.periodMs = opts.periodMs ?? 20_000;
    this.quarantineMs = opts.quarantineMs ?? 40_000;
  }

  start(ctx: ControllerContext): void {
    this.client = ctx.client;
    this.log = ctx.logger(this.name);
    this.now = ctx.now;
    this.pods = ctx.informers.informerFor(Resources.pods);
    this.nodes = ctx.informers.informerFor(Resources.nodes);
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.gc();
      } catch (err) {
        this.log.warn(`pod GC pass failed: ${errorMessage(err)}`);
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.periodMs);
      });
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
  }

  /** One pass of all four collections. */
  async gc(): Promise<void> {
    const pods = this.pods.store.list();
    if (this.threshold > 0) await this.gcTerminated(pods);
    await this.gcTerminating(pods);
    await this.gcOrphaned(pods);
    await this.gcUnscheduledTerminating(pods);
  }

  private async gcTerminated(pods: KubeObject[]): Promise<void> {
    const terminated = pods.filter(isTerminated);
    const excess = terminated.length - this.threshold;
    if (excess <= 0) return;
    terminated.sort(byEvictionAndCreation);
    await this.forEach(terminated.slice(0, excess), (p) => this.markFailedAndDelete(p));
  }

  private async gcTerminating(pods: KubeObject[]): Promise<void> {
    const down = new Set(this.nodes.store.list().filter((n) => !nodeReady(n) && outOfService(n)).map((n) => n.metadata?.name ?? ''));
    if (down.size === 0) return;
    const victims = pods.filter((p) => p.metadata?.deletionTimestamp && down.has(nodeNameOf(p))).sort(byEvictionAndCreation);
    await this.forEach(victims, (p) => this.markFailedAndDelete(p));
  }

  private async gcOrphaned(pods: KubeObject[]): Promise<void> {
    const existing = new Set(this.nodes.store.list().map((n) => n.metadata?.name ?? ''));
    const now = this.now().getTime();
    for (const p of pods) {
      const node = nodeNameOf(p);
      if (node && !existing.has(node) && !this.quarantine.has(node)) this.quarantine.set(node, now);
    }
    const deleted = new Set<string>();
    for (const [node, since] of [...this.quarantine]) {
      if (existing.has(node)) {
        this.quarantine.delete(node);
        continue;
      }
      if (now - since < this.quarantineMs) continue;
      this.quarantine.delete(node);
      try {
        await this.client.get(Resources.nodes, undefined, node);
      } catch (err) {
        if (isNotFound(err)) deleted.add(node);
        else this.log.warn(`checking node ${node}: ${errorMessage(err)}`);
      }
    }
    if (deleted.size === 0) return;
    const condition: PodCondition = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' };
    await this.forEach(pods.filter((p) => deleted.has(nodeNameOf(p))), (p) => this.markFailedAndDelete(p, condition));
  }

  private async gcUnscheduledTerminating(pods: KubeObject[]): Promise<void> {
    await this.forEach(pods.filter((p) => p.metadata?.deletionTimestamp && !nodeNameOf(p)), (p) => this.markFailedAndDelete(p));
  }

  private async forEach(pods: KubeObject[], fn: (p: KubeObject) => Promise<void>): Promise<void> {
    for (let i = 0; i < pods.length; i += 50) {
      await Promise.all(
        pods.slice(i, i + 50).map((p) => fn(p).catch((err) => this.log.warn(`deleting pod ${p.metadata?.namespace}/${p.metadata?.name}: ${errorMessage(err)}`))),
      );
    }
  }

  /** A pod that has not finished is marked Failed (with `condition`), then it is force deleted. */
  private async markFailedAndDelete(pod: KubeObject, condition?: PodCondition): Promise<void> {
    const ns = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    this.log.info(`PodGC is force deleting Pod ${ns}/${name}`);
    try {
      if (!isTerminated(pod)) {
        const status = (pod.status ?? {}) as Obj;
        const patch: Obj = { phase: 'Failed' };
        if (condition) {
          const stamp = this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
          const conds = ((status.conditions as PodCondition[] | undefined) ?? []).filter((c) => c.type !== condition.type);
          const old = ((status.conditions as PodCondition[] | undefined) ?? []).find((c) => c.type === condition.type);
          const lastTransitionTime = old && old.status === condition.status ? old.lastTransitionTime : stamp;
          patch.conditions = [...conds, { ...condition, lastProbeTime: null, lastTransitionTime }];
        }
        await this.client.patch(Resources.pods, ns, name, 'merge', { metadata: { uid: pod.metadata?.uid }, status: patch }, { subresource: 'status' });
      }
      await this.client.delete(Resources.pods, ns, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export function podGarbageCollector(opts: PodGCOptions = {}): ControllerFactory {
  return () => new PodGC(opts);
}
