// One DaemonSet sync, as upstream's syncDaemonSet: find or make the current ControllerRevision
// (its hash labels new pods), create a pod for every node that should run one and delete those on
// nodes that should not (in slow-start batches, under expectations), then one rolling-update
// step, history cleanup and status. Events as upstream's pod control: `Created pod: <name>`,
// `Deleted pod: <name>`, `Error creating: …`; `FailedDaemonPod`, `SelectingAll`.
import type { KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { EventRecorder } from '../framework/events.ts';
import { errorMessage } from '../framework/log.ts';
import { daemonPodTemplate, pinToNode, targetNodeName } from './daemonset-nodes.ts';
import { daemonSetStatus, podsShouldBeOnNode, rollingUpdatePlan } from './daemonset-rollout.ts';
import type { Expectations } from './expectations.ts';
import { hashTemplate, nextRevision, revisionName, templatePatch } from './history.ts';
import type { ControllerRevision, DaemonSet, DaemonSetStatus, Node, Pod } from './types.ts';
import { CONTROLLER_REVISION_HASH, canonicalJson, isAlreadyExists, isConflict, isEmptySelector, isNamespaceTerminating, isNotFound, isTerminating, newControllerRef } from './util.ts';
import { cloneJson } from '../../api/object.ts';

const BURST_REPLICAS = 250;

export interface DaemonSetControlDeps {
  client: KubeClient;
  recorder: EventRecorder;
  expectations: Expectations;
  now: () => Date;
}

export class DaemonSetControl {
  private readonly client: KubeClient;
  private readonly recorder: EventRecorder;
  private readonly exp: Expectations;
  private readonly now: () => Date;
  /** Failed-pod backoff per DaemonSet, generation and node: 1 s doubling to 15 min. */
  private readonly backoff = new Map<string, { delayMs: number; at: number }>();

  constructor(deps: DaemonSetControlDeps) {
    this.client = deps.client;
    this.recorder = deps.recorder;
    this.exp = deps.expectations;
    this.now = deps.now;
  }

  /**
   * Converges `ds` (queue key `key`); returns ms after which to look again, if any. `needsSync`:
   * the expectations were satisfied before `pods` was read.
   */
  async sync(key: string, ds: DaemonSet, nodes: Node[], pods: Pod[], revisions: ControllerRevision[], needsSync: boolean): Promise<number | undefined> {
    const ev = { ...ds, apiVersion: 'apps/v1', kind: 'DaemonSet' };
    if (isEmptySelector(ds.spec.selector)) {
      this.recorder.event(ev, 'Warning', 'SelectingAll', 'This daemon set is selecting all pods. A non-empty selector is required.');
      return undefined;
    }
    const nodeToPods = new Map<string, Pod[]>();
    for (const p of pods) {
      const phase = p.status?.phase;
      if ((phase === 'Succeeded' || phase === 'Failed') && isTerminating(p)) continue;
      const node = targetNodeName(p);
      if (node === undefined) continue;
      nodeToPods.set(node, [...(nodeToPods.get(node) ?? []), p]);
    }
    const { cur, old } = await this.constructHistory(ds, revisions, pods);
    const hash = cur.metadata.labels?.[CONTROLLER_REVISION_HASH] ?? '';
    let retry: number | undefined;
    let failure: unknown;
    if (needsSync && !isTerminating(ds)) {
      try {
        const managed = await this.manage(key, ds, nodes, nodeToPods, hash);
        retry = managed.retry;
        // The rolling update plans from the same pods; once manage() created or deleted some, that
        // picture is stale, and the events of its changes bring the next sync.
        if (!managed.changed && this.exp.satisfied(key) && (ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
          const plan = rollingUpdatePlan(ds, nodes, nodeToPods, hash, this.now());
          await this.syncNodes(key, ds, plan.delete, plan.createOn, hash);
        }
        await this.cleanupHistory(ds, old, pods);
      } catch (err) {
        failure = err;
      }
    }
    const status = daemonSetStatus(ds, nodes, nodeToPods, hash, this.now(), needsSync && !isTerminating(ds));
    await this.writeStatus(ds, status);
    if (failure) throw failure;
    const minReady = ds.spec.minReadySeconds ?? 0;
    if (minReady > 0 && status.numberReady !== (status.numberAvailable ?? 0)) retry = Math.min(retry ?? Infinity, minReady * 1000);
    return retry;
  }

  /** Pods to create and delete so each node has what it should (manage). */
  private async manage(key: string, ds: DaemonSet, nodes: Node[], nodeToPods: Map<string, Pod[]>, hash: string): Promise<{ retry: number | undefined; changed: boolean }> {
    const createOn: string[] = [];
    const del: Pod[] = [];
    let retry: number | undefined;
    const now = this.now();
    for (const node of nodes) {
      const name = node.metadata.name ?? '';
      const r = podsShouldBeOnNode(node, nodeToPods.get(name), ds, hash, now, (pod) => {
        const wait = this.failedPodWait(ds, name, now.getTime());
        if (wait > 0) {
          retry = Math.min(retry ?? Infinity, wait);
          return false;
        }
        this.recorder.event({ ...ds, apiVersion: 'apps/v1', kind: 'DaemonSet' }, 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${name}, will try to kill it`);
        return true;
      });
      if (r.create) createOn.push(name);
      del.push(...r.delete);
    }
    // Unscheduled pods pinned to nodes that are gone never run; nothing else deletes them.
    const existing = new Set(nodes.map((n) => n.metadata.name));
    for (const [node, pods] of nodeToPods) if (!existing.has(node)) for (const p of pods) if (!p.spec.nodeName && !isTerminating(p)) del.push(p);
    await this.syncNodes(key, ds, del, createOn, hash);
    return { retry, changed: del.length + createOn.length > 0 };
  }

  /** 0 when a failed pod on the node may be deleted now (and starts the next backoff), else ms to wait. */
  private failedPodWait(ds: DaemonSet, node: string, now: number): number {
    const k = `${ds.metadata.uid}/${ds.status?.observedGeneration ?? 0}/${node}`;
    const b = this.backoff.get(k);
    if (b && now - b.at < b.delayMs) return b.delayMs - (now - b.at);
    const delayMs = !b || now - b.at > 2 * 900_000 ? 1000 : Math.min(b.delayMs * 2, 900_000);
    this.backoff.set(k, { delayMs, at: now });
    return 0;
  }

  /** Creates pods pinned to `createOn` (slow start: 1, 2, 4, …) and deletes `del`, under expectations. */
  private async syncNodes(key: string, ds: DaemonSet, del: Pod[], createOn: string[], hash: string): Promise<void> {
    const ev = { ...ds, apiVersion: 'apps/v1', kind: 'DaemonSet' };
    const creates = createOn.slice(0, BURST_REPLICAS);
    const deletes = del.slice(0, BURST_REPLICAS);
    this.exp.set(key, creates.length, deletes.length);
    const errors: unknown[] = [];
    const template = daemonPodTemplate(ds, hash);
    const ns = ds.metadata.namespace;
    let batch = Math.min(creates.length, 1);
    for (let pos = 0; pos < creates.length; pos += batch, batch = Math.min(2 * batch, creates.length - pos)) {
      const before = errors.length;
      await Promise.all(creates.slice(pos, pos + batch).map(async (node) => {
        const t = cloneJson(template);
        const pod: Pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { generateName: `${ds.metadata.name}-`, namespace: ns, labels: t.metadata?.labels, ownerReferences: [newControllerRef(ds, 'DaemonSet')] },
          spec: { ...(t.spec ?? {}), affinity: pinToNode(t.spec?.affinity, node) },
        };
        if (t.metadata?.annotations) pod.metadata.annotations = t.metadata.annotations;
        if (t.metadata?.finalizers) pod.metadata.finalizers = t.metadata.finalizers;
        try {
          const created = await this.client.create<Pod>(Resources.pods, ns, pod);
          this.recorder.event(ev, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
        } catch (err) {
          this.exp.creationObserved(key);
          if (isNamespaceTerminating(err)) return;
          this.recorder.event(ev, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`);
          errors.push(err);
        }
      }));
      const skipped = creates.length - (pos + batch);
      if (errors.length > before && skipped > 0) {
        this.exp.lower(key, skipped, 0);
        break;
      }
    }
    await Promise.all(deletes.map(async (pod) => {
      try {
        await this.client.delete(Resources.pods, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
        this.recorder.event(ev, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      } catch (err) {
        this.exp.deletionObserved(key);
        if (isNotFound(err) || isConflict(err)) return;
        this.recorder.event(ev, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(err)}`);
        errors.push(err);
      }
    }));
    if (errors.length > 0) throw new Error(errors.map(errorMessage).join('; '));
  }

  /** The revision matching the template (made if missing, renumbered to be the newest) and the others. */
  private async constructHistory(ds: DaemonSet, revisions: ControllerRevision[], pods: Pod[]): Promise<{ cur: ControllerRevision; old: ControllerRevision[] }> {
    const patch = canonicalJson(templatePatch(ds.spec.template));
    const current: ControllerRevision[] = [];
    const old: ControllerRevision[] = [];
    for (let h of revisions) {
      if (!h.metadata.labels?.[CONTROLLER_REVISION_HASH]) {
        const copy = cloneJson(h);
        copy.metadata.labels = { ...(copy.metadata.labels ?? {}), [CONTROLLER_REVISION_HASH]: copy.metadata.name! };
        h = await this.client.update<ControllerRevision>(Resources.controllerrevisions, copy.metadata.namespace, copy);
      }
      (canonicalJson(h.data) === patch ? current : old).push(h);
    }
    const next = nextRevision(old);
    if (current.length === 0) return { cur: await this.snapshot(ds, next), old };
    current.sort((a, b) => b.revision - a.revision);
    const [keep, ...dups] = current;
    const keepHash = keep.metadata.labels![CONTROLLER_REVISION_HASH];
    for (const dup of dups) {
      const dupHash = dup.metadata.labels![CONTROLLER_REVISION_HASH];
      for (const p of pods) {
        if (p.metadata.labels?.[CONTROLLER_REVISION_HASH] !== dupHash) continue;
        await this.client.patch(Resources.pods, p.metadata.namespace, p.metadata.name!, 'merge', { metadata: { labels: { [CONTROLLER_REVISION_HASH]: keepHash } } }).catch((err) => {
          if (!isNotFound(err)) throw err;
        });
      }
      await this.client.delete(Resources.controllerrevisions, dup.metadata.namespace, dup.metadata.name!).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
    }
    if (keep.revision >= next) return { cur: keep, old };
    const bumped = await this.client.patch<ControllerRevision>(Resources.controllerrevisions, keep.metadata.namespace, keep.metadata.name!, 'merge', { revision: next });
    return { cur: bumped, old };
  }

  /** Creates the current revision; a name taken by other data bumps status.collisionCount. */
  private async snapshot(ds: DaemonSet, revision: number): Promise<ControllerRevision> {
    const hash = hashTemplate(ds.spec.template, ds.status?.collisionCount);
    const ns = ds.metadata.namespace;
    const rev: ControllerRevision = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: revisionName(ds.metadata.name ?? '', hash),
        namespace: ns,
        labels: { ...(ds.spec.template.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH]: hash },
        annotations: { ...(ds.metadata.annotations ?? {}) },
        ownerReferences: [newControllerRef(ds, 'DaemonSet')],
      },
      data: templatePatch(ds.spec.template),
      revision,
    };
    try {
      return await this.client.create<ControllerRevision>(Resources.controllerrevisions, ns, rev);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await this.client.get<ControllerRevision>(Resources.controllerrevisions, ns, rev.metadata.name!);
      if (canonicalJson(existing.data) === canonicalJson(rev.data)) return existing;
      const fresh = await this.client.get<DaemonSet>(Resources.daemonsets, ns, ds.metadata.name!);
      if (fresh.status?.collisionCount !== ds.status?.collisionCount) throw new Error(`found a stale collision count (${ds.status?.collisionCount}, expected ${fresh.status?.collisionCount}) of DaemonSet ${ds.metadata.name} while processing; will retry until it is updated`, { cause: err });
      fresh.status = { ...(fresh.status ?? { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 }), collisionCount: (fresh.status?.collisionCount ?? 0) + 1 };
      await this.client.updateStatus(Resources.daemonsets, ns, fresh);
      throw err;
    }
  }

  /** Deletes the oldest unused revisions beyond revisionHistoryLimit. */
  private async cleanupHistory(ds: DaemonSet, old: ControllerRevision[], pods: Pod[]): Promise<void> {
    let toKill = old.length - (ds.spec.revisionHistoryLimit ?? 10);
    if (toKill <= 0) return;
    const live = new Set(pods.map((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH]));
    for (const h of [...old].sort((a, b) => a.revision - b.revision)) {
      if (toKill <= 0) break;
      if (live.has(h.metadata.labels?.[CONTROLLER_REVISION_HASH])) continue;
      await this.client.delete(Resources.controllerrevisions, h.metadata.namespace, h.metadata.name!).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
      toKill--;
    }
  }

  private async writeStatus(ds: DaemonSet, status: DaemonSetStatus): Promise<void> {
    if (ds.status && canonicalJson(ds.status) === canonicalJson(status)) return;
    let cur: DaemonSet = { ...ds, apiVersion: 'apps/v1', kind: 'DaemonSet', status };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.updateStatus(Resources.daemonsets, cur.metadata.namespace, cur);
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err) || attempt >= 4) throw err;
        const fresh = await this.client.get<DaemonSet>(Resources.daemonsets, cur.metadata.namespace, cur.metadata.name!);
        if (fresh.metadata.uid !== ds.metadata.uid) return;
        cur = { ...fresh, status: { ...status, collisionCount: fresh.status?.collisionCount } };
      }
    }
  }
}
