// The taint eviction controller (upstream's taint-eviction-controller, the "taint manager"):
// pods on a node with NoExecute taints are deleted — at once when some taint is not tolerated,
// else after the shortest tolerationSeconds of the tolerations used (counted from when this
// controller first saw the pod under the taints; tolerations without seconds tolerate forever).
// Before deleting, it records TaintManagerEviction ("Marking for deletion Pod ns/name") and adds
// the DisruptionTarget condition (DeletionByTaintManager); a pending deletion whose taints go
// away is cancelled ("Cancelling deletion of Pod ns/name").
import { isNotFound } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { EventRecorder } from '../framework/events.ts';
import { deletedObject, type Informer } from '../framework/informer.ts';
import { errorMessage, type Logger } from '../framework/log.ts';
import { Indexers, keyOf } from '../framework/store.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { jsonEqual } from './pod-util.ts';
import { matchingTolerations, minTolerationMs, noExecuteTaints } from './taints.ts';
import { rfc3339, withKind, type Node, type Pod } from './types.ts';

interface Scheduled {
  uid: string;
  createdAt: number;
  fireAt: number;
  timer: NodeJS.Timeout;
}

export class TaintEvictionController implements Controller {
  readonly name = 'taint-eviction-controller';
  private ctx!: ControllerContext;
  private pods!: Informer<Pod>;
  private nodes!: Informer<Node>;
  private recorder!: EventRecorder;
  private log!: Logger;
  private readonly scheduled = new Map<string, Scheduled>();
  /** Pods (by uid) whose deletion was already issued. */
  private readonly fired = new Set<string>();
  private stopped = false;
  private done: (() => void) | undefined;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.recorder = ctx.recorder('taint-eviction-controller');
    this.log = ctx.logger(this.name);
    this.pods = ctx.informers.informerFor<Pod>(Resources.pods, {}, { nodeName: Indexers.nodeName as (p: Pod) => string[] });
    this.nodes = ctx.informers.informerFor<Node>(Resources.nodes);
    this.pods.addEventHandler({
      onAdd: (p) => this.processPod(p),
      onUpdate: (_o, p) => this.processPod(p),
      onDelete: (x) => {
        const p = deletedObject(x);
        this.cancel(keyOf(p), p, false);
        this.fired.delete(p.metadata?.uid ?? '');
      },
    });
    this.nodes.addEventHandler({
      onAdd: (n) => this.processNode(n),
      onUpdate: (o, n) => {
        if (!jsonEqual(noExecuteTaints(o), noExecuteTaints(n))) this.processNode(n);
      },
      onDelete: (x) => this.processNode(deletedObject(x), true),
    });
  }

  run(): Promise<void> {
    for (const n of this.nodes.store.list()) this.processNode(n);
    return new Promise((resolve) => {
      this.done = resolve;
      if (this.stopped) resolve();
    });
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.scheduled.values()) clearTimeout(s.timer);
    this.scheduled.clear();
    this.done?.();
  }

  private processNode(node: Node, deleted = false): void {
    const name = node.metadata?.name ?? '';
    for (const pod of this.pods.store.byIndex('nodeName', name)) this.processPod(pod, deleted ? undefined : node);
  }

  /** Decides the fate of one pod under its node's NoExecute taints. */
  private processPod(pod: Pod, nodeArg?: Node): void {
    if (this.stopped) return;
    const nodeName = pod.spec?.nodeName;
    const key = keyOf(pod);
    if (!nodeName || pod.metadata?.deletionTimestamp) {
      if (!nodeName) this.cancel(key, pod, true);
      return;
    }
    const node = nodeArg ?? this.nodes.store.get(undefined, nodeName);
    const taints = noExecuteTaints(node);
    if (taints.length === 0) {
      this.cancel(key, pod, true);
      return;
    }
    const now = this.ctx.now().getTime();
    const { all, used } = matchingTolerations(taints, pod.spec?.tolerations ?? []);
    if (!all) {
      this.schedule(key, pod, now, now);
      return;
    }
    const min = minTolerationMs(used);
    if (min < 0) {
      this.cancel(key, pod, true);
      return;
    }
    const prev = this.scheduled.get(key);
    const start = prev?.uid === pod.metadata?.uid ? prev!.createdAt : now;
    if (prev && prev.uid === pod.metadata?.uid && start + min >= prev.fireAt) return;
    this.schedule(key, pod, start, start + min);
  }

  private schedule(key: string, pod: Pod, createdAt: number, fireAt: number): void {
    const uid = pod.metadata?.uid ?? '';
    if (this.fired.has(uid)) return;
    const prev = this.scheduled.get(key);
    if (prev) clearTimeout(prev.timer);
    const delay = Math.max(0, fireAt - this.ctx.now().getTime());
    const timer = setTimeout(() => void this.evict(key, uid), delay);
    timer.unref();
    this.scheduled.set(key, { uid, createdAt, fireAt, timer });
  }

  private cancel(key: string, pod: Pod, withEvent: boolean): void {
    const s = this.scheduled.get(key);
    if (!s) return;
    clearTimeout(s.timer);
    this.scheduled.delete(key);
    if (withEvent) this.recorder.event(withKind(pod, 'v1', 'Pod'), 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
  }

  private async evict(key: string, uid: string): Promise<void> {
    const s = this.scheduled.get(key);
    if (!s || s.uid !== uid || this.stopped) return;
    this.scheduled.delete(key);
    this.fired.add(uid);
    const pod = this.pods.store.getByKey(key);
    if (!pod || pod.metadata?.uid !== uid) return;
    const ns = pod.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    this.recorder.event(withKind(pod, 'v1', 'Pod'), 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const has = (pod.status?.conditions ?? []).some((c) => c.type === 'DisruptionTarget' && c.status === 'True' && c.reason === 'DeletionByTaintManager');
        if (!has) {
          const condition = { type: 'DisruptionTarget', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339(this.ctx.now().getTime()), reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' };
          await this.ctx.client.patch(Resources.pods, ns, name, 'strategic', { metadata: { uid }, status: { conditions: [condition] } }, { subresource: 'status' });
        }
        await this.ctx.client.delete(Resources.pods, ns, name, { preconditions: { uid } });
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        this.log.warn(`deleting pod ${key} (attempt ${attempt + 1}): ${errorMessage(err)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    this.fired.delete(uid);
  }
}

export function taintEvictionController(): Controller {
  return new TaintEvictionController();
}
