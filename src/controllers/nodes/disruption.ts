// The disruption controller (upstream's disruption controller; Events as "controllermanager"):
// keeps each PodDisruptionBudget's status (currentHealthy, desiredHealthy, expectedPods,
// disruptionsAllowed, observedGeneration, disruptedPods, the DisruptionAllowed condition) in
// line with the pods its selector selects (disruption-logic.ts computes). The pods/eviction
// subresource of the API server reads and decrements that status. A pod left with
// DisruptionTarget=True but not deleted for 2 minutes (K8TS_STALE_POD_DISRUPTION_SECONDS) gets
// the condition reset to False.
import type { KubeObject, OwnerReference } from '../../api/object.ts';
import { fromLabelSelectorObject, matchesLabels } from '../../api/selectors.ts';
import { isConflict, isNotFound } from '../../client/kube-client.ts';
import { Resources, resourceOf } from '../../client/resources.ts';
import type { EventRecorder } from '../framework/events.ts';
import { deletedObject, type Informer } from '../framework/informer.ts';
import { errorMessage, type Logger } from '../framework/log.ts';
import { keyOf, splitKey } from '../framework/store.ts';
import { runWorkers, WorkQueue, type ReconcileResult } from '../framework/workqueue.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import {
  countHealthy,
  disruptedPodMap,
  expectedPodCount,
  failSafeStatus,
  goLabelSelector,
  pdbStatus,
  resetDisruptionTarget,
  STALE_POD_DISRUPTION_TIMEOUT_MS,
  staleDisruptionWaitMs,
  type Pdb,
  type PdbStatus,
} from './disruption-logic.ts';
import { controllerOf, rfc3339, withKind, type Pod } from './types.ts';

interface Scalable extends KubeObject {
  spec?: { replicas?: number };
}

export interface DisruptionControllerOptions {
  /** upstream's stalePodDisruptionTimeout (2 minutes). */
  stalePodDisruptionTimeoutMs?: number;
}

/** The options from the environment: K8TS_STALE_POD_DISRUPTION_SECONDS (default 120). */
export function disruptionOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DisruptionControllerOptions {
  const raw = env.K8TS_STALE_POD_DISRUPTION_SECONDS;
  const n = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? { stalePodDisruptionTimeoutMs: n * 1000 } : {};
}

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');

export class DisruptionController implements Controller {
  readonly name = 'disruption-controller';
  private ctx!: ControllerContext;
  private pdbs!: Informer<Pdb>;
  private pods!: Informer<Pod>;
  private rcs!: Informer<Scalable>;
  private rss!: Informer<Scalable>;
  private deployments!: Informer<Scalable>;
  private statefulsets!: Informer<Scalable>;
  private recorder!: EventRecorder;
  private log!: Logger;
  private readonly queue = new WorkQueue<string>({ name: 'disruption' });
  private readonly staleQueue = new WorkQueue<string>({ name: 'stale_pod_disruption' });
  private readonly staleTimeoutMs: number;

  constructor(opts: DisruptionControllerOptions = {}) {
    this.staleTimeoutMs = opts.stalePodDisruptionTimeoutMs ?? STALE_POD_DISRUPTION_TIMEOUT_MS;
  }

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.recorder = ctx.recorder('controllermanager');
    this.log = ctx.logger(this.name);
    this.pdbs = ctx.informers.informerFor<Pdb>(Resources.poddisruptionbudgets);
    this.pods = ctx.informers.informerFor<Pod>(Resources.pods);
    this.rcs = ctx.informers.informerFor<Scalable>(Resources.replicationcontrollers);
    this.rss = ctx.informers.informerFor<Scalable>(Resources.replicasets);
    this.deployments = ctx.informers.informerFor<Scalable>(Resources.deployments);
    this.statefulsets = ctx.informers.informerFor<Scalable>(Resources.statefulsets);
    const q = (p: Pdb) => this.queue.add(keyOf(p));
    this.pdbs.addEventHandler({ onAdd: q, onUpdate: (_o, n) => q(n), onDelete: (x) => q(deletedObject(x)) });
    const qPod = (p: Pod) => {
      this.budgetsOfPod(p).forEach(q);
      const wait = staleDisruptionWaitMs(p, this.ctx.now().getTime(), this.staleTimeoutMs);
      if (wait !== undefined) this.staleQueue.addAfter(keyOf(p), wait);
    };
    this.pods.addEventHandler({
      onAdd: qPod,
      onUpdate: (o, n) => {
        qPod(n);
        // Budgets the pod left (no warning: that is about the pod as it is now).
        if (JSON.stringify(o.metadata?.labels ?? {}) !== JSON.stringify(n.metadata?.labels ?? {})) this.pdbsOfPod(o).forEach(q);
      },
      onDelete: (x) => this.budgetsOfPod(deletedObject(x)).forEach(q),
    });
  }

  async run(): Promise<void> {
    await Promise.all([runWorkers(this.queue, 1, (key) => this.sync(key), { logger: this.log }), runWorkers(this.staleQueue, 1, (key) => this.syncStalePodDisruption(key), { logger: this.log })]);
  }

  stop(): void {
    this.queue.shutDown();
    this.staleQueue.shutDown();
  }

  /** Resets a stale DisruptionTarget condition to False (a status update: a conflict retries). */
  private async syncStalePodDisruption(key: string): Promise<void | ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const pod = this.pods.store.get(namespace, name);
    if (!pod) return;
    const now = this.ctx.now().getTime();
    const wait = staleDisruptionWaitMs(pod, now, this.staleTimeoutMs);
    if (wait === undefined) return;
    if (wait > 0) return { requeueAfterMs: wait };
    const conditions = resetDisruptionTarget(pod, rfc3339(now));
    try {
      await this.ctx.client.updateStatus(Resources.pods, namespace, { ...withKind(pod, 'v1', 'Pod'), status: { ...pod.status, conditions } });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    this.log.info(`reset stale DisruptionTarget condition of pod ${key} to False`);
  }

  /**
   * The budgets covering a pod, all of which are synced. Upstream's getPdbForPod picks the first
   * and warns on the pod when there are more, with this event.
   */
  private budgetsOfPod(pod: Pod): Pdb[] {
    const pdbs = this.pdbsOfPod(pod);
    if (pdbs.length > 1) {
      const m = pod.metadata ?? {};
      const msg = `Pod ${JSON.stringify(m.namespace ?? '')}/${JSON.stringify(m.name ?? '')} matches multiple PodDisruptionBudgets.  Chose ${JSON.stringify(pdbs[0].metadata?.name ?? '')} arbitrarily.`;
      this.recorder.event(withKind(pod, 'v1', 'Pod'), 'Warning', 'MultiplePodDisruptionBudgets', msg);
    }
    return pdbs;
  }

  private pdbsOfPod(pod: Pod): Pdb[] {
    return this.pdbs.store.byIndex('namespace', pod.metadata?.namespace ?? '').filter((pdb) => {
      const sel = selectorOf(pdb);
      return sel !== undefined && sel.length > 0 && matchesLabels(sel, pod.metadata?.labels);
    });
  }

  private async sync(key: string): Promise<void | ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const pdb = this.pdbs.store.get(namespace, name);
    if (!pdb) return;
    try {
      return await this.trySync(pdb);
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) throw err;
      this.log.warn(`failed to sync PDB ${key}: ${errorMessage(err)}`);
      await this.writeStatus(pdb, failSafeStatus(pdb, errorMessage(err), rfc3339(this.ctx.now().getTime())));
    }
  }

  private async trySync(pdb: Pdb): Promise<void | ReconcileResult> {
    const ns = pdb.metadata?.namespace ?? '';
    const sel = selectorOf(pdb);
    const pods = sel === undefined ? [] : this.pods.store.byIndex('namespace', ns).filter((p) => matchesLabels(sel, p.metadata?.labels));
    const ref = withKind(pdb, 'policy/v1', 'PodDisruptionBudget');
    if (pods.length === 0) this.recorder.event(ref, 'Normal', 'NoPods', 'No matching pods found');
    let e;
    try {
      e = await expectedPodCount(pdb, pods, (pod, r) => this.scaleOf(ns, pod, r));
    } catch (err) {
      this.recorder.event(ref, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${errorMessage(err)}`);
      throw err;
    }
    if (e.unmanaged.length > 0) {
      this.recorder.event(ref, 'Warning', 'UnmanagedPods', `Pods selected by this PodDisruptionBudget (selector: ${goLabelSelector(pdb.spec?.selector)}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.`);
    }
    const now = this.ctx.now().getTime();
    const { map, recheckMs } = disruptedPodMap(pdb, pods, now);
    const healthy = countHealthy(pods, map, now);
    const status = pdbStatus(pdb, { expected: e.expected, desired: e.desired, healthy, disrupted: map }, rfc3339(now));
    if (status) await this.writeStatus(pdb, status);
    if (recheckMs !== undefined) return { requeueAfterMs: Math.max(0, recheckMs - now) + 1 };
  }

  private async writeStatus(pdb: Pdb, status: PdbStatus): Promise<void> {
    await this.ctx.client.updateStatus(Resources.poddisruptionbudgets, pdb.metadata?.namespace, { ...withKind(pdb, 'policy/v1', 'PodDisruptionBudget'), status });
  }

  /** The scale of a pod's controller, found as upstream's finders do (a Deployment for its ReplicaSets). */
  private async scaleOf(ns: string, _pod: Pod, ref: OwnerReference): Promise<{ uid: string; replicas: number } | undefined> {
    const group = groupOf(ref.apiVersion);
    const owned = (inf: Informer<Scalable>) => {
      const o = inf.store.get(ns, ref.name);
      return o && o.metadata?.uid === ref.uid ? o : undefined;
    };
    const scale = (o: Scalable) => ({ uid: o.metadata?.uid ?? '', replicas: o.spec?.replicas ?? 1 });
    if (group === '' && ref.kind === 'ReplicationController') {
      const rc = owned(this.rcs);
      return rc && scale(rc);
    }
    if (group === 'apps' && ref.kind === 'ReplicaSet') {
      const rs = owned(this.rss);
      if (!rs) return undefined;
      const dref = controllerOf(rs);
      if (dref && dref.kind === 'Deployment' && groupOf(dref.apiVersion) === 'apps') {
        const d = this.deployments.store.get(ns, dref.name);
        if (d && d.metadata?.uid === dref.uid) return scale(d);
      }
      return scale(rs);
    }
    if (group === 'apps' && ref.kind === 'StatefulSet') {
      const ss = owned(this.statefulsets);
      return ss && scale(ss);
    }
    // Any other controller with a scale subresource.
    const gvr = resourceOf(ref.apiVersion, ref.kind);
    if (!gvr) throw new Error(`no matches for kind "${ref.kind}" in version "${ref.apiVersion}"`);
    try {
      const s = await this.ctx.client.getSubresource<{ metadata?: { uid?: string }; spec?: { replicas?: number } }>(gvr, ns, ref.name, 'scale');
      if (s.metadata?.uid !== ref.uid) return undefined;
      return { uid: ref.uid, replicas: s.spec?.replicas ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

function selectorOf(pdb: Pdb) {
  try {
    return fromLabelSelectorObject(pdb.spec?.selector);
  } catch {
    return undefined;
  }
}

export function disruptionController(opts: DisruptionControllerOptions = disruptionOptionsFromEnv()): Controller {
  return new DisruptionController(opts);
}
