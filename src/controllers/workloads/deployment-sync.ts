// One Deployment sync's working state and the steps every strategy shares (upstream's
// deployment/sync.go): finding or creating the new ReplicaSet and syncing revisions, scaling a
// ReplicaSet (with its ScalingReplicaSet event), proportional scaling, history cleanup, and
// writing the status with its Progressing condition.
import { StatusError } from '../../api/status.ts';
import { isAlreadyExists, isNotFound, type KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { EventRecorder } from '../framework/events.ts';
import type { Informer } from '../framework/informer.ts';
import { controllerOf, newControllerRef } from './controller-ref.ts';
import type { OwnWrites } from './own-writes.ts';
import * as U from './deployment-util.ts';
import * as M from './rollout-math.ts';
import { replicasOf, parseTime, type Deployment, type DeploymentStatus, type Pod, type ReplicaSet } from './types.ts';
import { cloneJson } from '../../api/object.ts';

export interface DeploymentEnv {
  client: KubeClient;
  deployments: Informer<Deployment>;
  rss: Informer<ReplicaSet>;
  pods: Informer<Pod>;
  recorder: EventRecorder;
  now(): Date;
  /** What this controller wrote last (a sync waits for its cache to catch up). */
  writes: OwnWrites;
}

const PROGRESSING = 'Progressing';

export class DeploymentSync {
  readonly env: DeploymentEnv;
  /** The working copy (status and annotations change as the sync goes). */
  readonly d: Deployment;
  /** The Deployment's ReplicaSets, replaced by what each write returns. */
  rsList: ReplicaSet[] = [];
  /** Look at the Deployment again after this long (progress deadline). */
  requeueAfterMs: number | undefined;
  private storedAnnotations: string;
  private dirty = false;

  constructor(env: DeploymentEnv, d: Deployment) {
    this.env = env;
    this.d = cloneJson(d);
    this.d.status ??= {};
    this.storedAnnotations = U.canonical(d.metadata?.annotations ?? {});
  }

  get name(): string {
    return this.d.metadata?.name ?? '';
  }

  get namespace(): string {
    return this.d.metadata?.namespace ?? '';
  }

  /** The latest version (from this sync's writes) of each ReplicaSet. */
  latest(rss: ReplicaSet[]): ReplicaSet[] {
    return rss.map((rs) => this.latestOne(rs)!);
  }

  latestOne(rs: ReplicaSet | undefined): ReplicaSet | undefined {
    if (!rs) return undefined;
    return this.rsList.find((x) => x.metadata?.uid === rs.metadata?.uid) ?? rs;
  }

  private track(rs: ReplicaSet): ReplicaSet {
    this.env.writes.wrote(rs);
    const i = this.rsList.findIndex((x) => x.metadata?.uid === rs.metadata?.uid);
    if (i >= 0) this.rsList[i] = rs;
    else this.rsList.push(rs);
    return rs;
  }

  /** The status (or the revision annotation) changed: written once, by flush(). */
  markDirty(): void {
    this.dirty = true;
  }

  /**
   * Writes the working copy's status, once per sync: k8ts's status subresource keeps metadata as
   * stored (a changed revision annotation is written through the object first) and answers with
   * the resourceVersion the request carried, so a second write in one sync would conflict.
   */
  async flush(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const d = this.d;
    const c = this.env.client;
    if (U.canonical(d.metadata?.annotations ?? {}) !== this.storedAnnotations) {
      const { status: _s, ...obj } = d;
      const written = await c.update<Deployment>(Resources.deployments, this.namespace, obj as Deployment);
      this.env.writes.wrote(written, d.metadata?.resourceVersion);
      d.metadata!.resourceVersion = written.metadata?.resourceVersion;
      this.storedAnnotations = U.canonical(d.metadata?.annotations ?? {});
    }
    const sent = d.metadata?.resourceVersion;
    const status = M.prunedStatus(d.status ?? {});
    const written = await c.updateStatus<Deployment>(Resources.deployments, this.namespace, { ...d, status });
    this.env.writes.wrote(written, sent, U.canonical(status));
  }

  private condition(type: string, status: string, reason: string, message: string): void {
    M.setCondition(this.d.status!, M.newCondition(type, status, reason, message, this.env.now()));
  }

  /** The new ReplicaSet (found, or created when `create`) and the old ones; revisions synced. */
  async getAllReplicaSetsAndSyncRevision(create: boolean): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
    const oldRSs = U.findOldReplicaSets(this.d, this.rsList);
    const newRS = await this.getNewReplicaSet(oldRSs, create);
    return { newRS, oldRSs };
  }

  private async getNewReplicaSet(oldRSs: ReplicaSet[], create: boolean): Promise<ReplicaSet | undefined> {
    const d = this.d;
    const existing = U.findNewReplicaSet(d, this.rsList);
    const newRevision = U.maxRevision(oldRSs) + 1;
    if (existing) {
      let rs = cloneJson(existing);
      const annotationsChanged = U.setNewReplicaSetAnnotations(d, rs, newRevision, true, M.maxSurge(d));
      const minReadyChanged = (rs.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
      if (annotationsChanged || minReadyChanged) {
        rs.spec = { ...rs.spec, minReadySeconds: d.spec?.minReadySeconds ?? 0 };
        if (!rs.spec.minReadySeconds) delete rs.spec.minReadySeconds;
        rs = this.track(await this.env.client.update<ReplicaSet>(Resources.replicasets, this.namespace, rs));
      }
      let needsUpdate = U.setDeploymentRevision(d, rs.metadata?.annotations?.[U.REVISION] ?? '');
      if (!M.getCondition(d.status?.conditions, PROGRESSING)) {
        this.condition(PROGRESSING, 'True', 'FoundNewReplicaSet', `Found new replica set "${rs.metadata?.name}"`);
        needsUpdate = true;
      }
      if (needsUpdate) this.markDirty();
      return rs;
    }
    if (!create) return undefined;
    const hash = U.computeHash(d.spec?.template, d.status?.collisionCount);
    const template = cloneJson(d.spec?.template ?? {});
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [U.HASH_LABEL]: hash } };
    const selector = cloneJson(d.spec?.selector ?? {});
    selector.matchLabels = { ...selector.matchLabels, [U.HASH_LABEL]: hash };
    const name = `${this.name}-${hash}`;
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace: this.namespace, ownerReferences: [newControllerRef(d)], labels: { ...template.metadata.labels } },
      spec: { replicas: 0, selector, template },
    };
    if (d.spec?.minReadySeconds) rs.spec!.minReadySeconds = d.spec.minReadySeconds;
    rs.spec!.replicas = M.newRSNewReplicas(d, [...oldRSs, rs], rs);
    U.setNewReplicaSetAnnotations(d, rs, newRevision, false, M.maxSurge(d));
    let created: ReplicaSet;
    let alreadyExists = false;
    try {
      created = await this.env.client.create<ReplicaSet>(Resources.replicasets, this.namespace, rs);
    } catch (err) {
      if (isAlreadyExists(err)) {
        const found = this.env.rss.store.get(this.namespace, name) ?? (await this.env.client.get<ReplicaSet>(Resources.replicasets, this.namespace, name));
        if (controllerOf(found)?.uid === d.metadata?.uid && U.equalIgnoreHash(d.spec?.template, found.spec?.template)) {
          created = found;
          alreadyExists = true;
        } else {
          // A hash collision: a different template under this name. Hash again with a new count.
          d.status!.collisionCount = (d.status!.collisionCount ?? 0) + 1;
          this.markDirty();
          await this.flush().catch(() => undefined);
          throw err;
        }
      } else {
        const terminating = err instanceof StatusError && (err.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
        if (terminating) throw err;
        const msg = `Failed to create new replica set "${name}": ${(err as Error).message}`;
        if (M.hasProgressDeadline(d)) {
          this.condition(PROGRESSING, 'False', 'ReplicaSetCreateError', msg);
          this.markDirty();
          await this.flush().catch(() => undefined);
        }
        this.env.recorder.event(d, 'Warning', 'ReplicaSetCreateError', msg);
        throw err;
      }
    }
    this.track(created);
    const replicas = replicasOf(rs);
    if (!alreadyExists && replicas > 0) this.env.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata?.name} from 0 to ${replicas}`);
    let needsUpdate = U.setDeploymentRevision(d, String(newRevision));
    if (!alreadyExists && M.hasProgressDeadline(d)) {
      this.condition(PROGRESSING, 'True', 'NewReplicaSetCreated', `Created new replica set "${created.metadata?.name}"`);
      needsUpdate = true;
    }
    if (needsUpdate) this.markDirty();
    return created;
  }

  /** Scales `rs` to `newScale` (an event when it changed); returns whether it scaled and the result. */
  async scaleAndRecord(rs: ReplicaSet, newScale: number): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    if (replicasOf(rs) === newScale) return { scaled: false, rs };
    return this.scaleReplicaSet(rs, newScale, replicasOf(rs) < newScale ? 'up' : 'down');
  }

  async scaleReplicaSet(rs: ReplicaSet, newScale: number, op: string): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    const d = this.d;
    const desired = replicasOf(d);
    const max = desired + M.maxSurge(d);
    const sizeChanges = replicasOf(rs) !== newScale;
    if (!sizeChanges && !U.replicasAnnotationsNeedUpdate(rs, desired, max)) return { scaled: false, rs };
    const oldScale = replicasOf(rs);
    const copy = cloneJson(rs);
    copy.spec = { ...copy.spec, replicas: newScale };
    U.setReplicasAnnotations(copy, desired, max);
    const updated = this.track(await this.env.client.update<ReplicaSet>(Resources.replicasets, this.namespace, copy));
    if (sizeChanges) this.env.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${op} replica set ${rs.metadata?.name} from ${oldScale} to ${newScale}`);
    return { scaled: sizeChanges, rs: updated };
  }

  /** Deletes the oldest empty ReplicaSets beyond revisionHistoryLimit. */
  async cleanup(oldRSs: ReplicaSet[]): Promise<void> {
    const d = this.d;
    if (!M.hasRevisionHistoryLimit(d)) return;
    const alive = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp);
    const diff = alive.length - (d.spec?.revisionHistoryLimit ?? 0);
    if (diff <= 0) return;
    alive.sort(U.byRevision);
    for (const rs of alive.slice(0, diff)) {
      if ((rs.status?.replicas ?? 0) !== 0 || replicasOf(rs) !== 0 || (rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      try {
        await this.env.client.delete(Resources.replicasets, this.namespace, rs.metadata?.name ?? '');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** Writes the computed status (Available condition only) when it changed. */
  syncDeploymentStatus(allRSs: Array<ReplicaSet | undefined>, newRS: ReplicaSet | undefined): void {
    const st = M.calculateStatus(allRSs, newRS, this.d, this.env.now());
    if (M.sameStatus(this.d.status, st)) return;
    this.d.status = st;
    this.markDirty();
  }

  /** The status of a rollout: Available, Progressing (progress, completion, deadline) and ReplicaFailure. */
  syncRolloutStatus(allRSs: Array<ReplicaSet | undefined>, newRS: ReplicaSet | undefined): void {
    const d = this.d;
    const now = this.env.now();
    const st = M.calculateStatus(allRSs, newRS, d, now);
    if (!M.hasProgressDeadline(d)) M.removeCondition(st, PROGRESSING);
    const cur = M.getCondition(d.status?.conditions, PROGRESSING);
    const complete = (st.replicas ?? 0) === (st.updatedReplicas ?? 0) && cur?.reason === 'NewReplicaSetAvailable';
    const subject = newRS ? `ReplicaSet "${newRS.metadata?.name}"` : `Deployment "${this.name}"`;
    if (M.hasProgressDeadline(d) && !complete) {
      if (M.deploymentComplete(d, st)) {
        M.setCondition(st, M.newCondition(PROGRESSING, 'True', 'NewReplicaSetAvailable', `${subject} has successfully progressed.`, now));
      } else if (M.deploymentProgressing(d, st)) {
        const c = M.newCondition(PROGRESSING, 'True', 'ReplicaSetUpdated', `${subject} is progressing.`, now);
        if (cur) {
          if (cur.status === 'True') c.lastTransitionTime = cur.lastTransitionTime;
          M.removeCondition(st, PROGRESSING);
        }
        M.setCondition(st, c);
      } else if (M.deploymentTimedOut(d, st, now.getTime())) {
        M.setCondition(st, M.newCondition(PROGRESSING, 'False', 'ProgressDeadlineExceeded', `${subject} has timed out progressing.`, now));
      }
    }
    const failures = M.replicaFailures(allRSs, newRS);
    if (failures.length > 0) M.setCondition(st, failures[0]);
    else M.removeCondition(st, 'ReplicaFailure');
    if (M.sameStatus(d.status, st)) {
      if (!this.dirty) this.requeueStuck(st);
      return;
    }
    d.status = st;
    this.markDirty();
  }

  /** A rollout that is neither complete nor timed out is looked at again when its deadline passes. */
  private requeueStuck(st: DeploymentStatus): void {
    const d = this.d;
    const cur = M.getCondition(d.status?.conditions, PROGRESSING);
    if (!M.hasProgressDeadline(d) || !cur) return;
    if (M.deploymentComplete(d, st) || cur.reason === 'ProgressDeadlineExceeded') return;
    const from = parseTime(cur.lastUpdateTime) ?? this.env.now().getTime();
    const after = from + (d.spec?.progressDeadlineSeconds ?? 0) * 1000 - this.env.now().getTime();
    this.requeueAfterMs = after < 1000 ? 1000 : after + 1000;
  }

  /** Progressing Unknown with DeploymentPaused / DeploymentResumed as the Deployment is paused or resumed. */
  checkPausedConditions(): void {
    const d = this.d;
    if (!M.hasProgressDeadline(d)) return;
    const cond = M.getCondition(d.status?.conditions, PROGRESSING);
    if (cond?.reason === 'ProgressDeadlineExceeded') return;
    const pausedCond = cond?.reason === 'DeploymentPaused';
    if (d.spec?.paused && !pausedCond) this.condition(PROGRESSING, 'Unknown', 'DeploymentPaused', 'Deployment is paused');
    else if (!d.spec?.paused && pausedCond) this.condition(PROGRESSING, 'Unknown', 'DeploymentResumed', 'Deployment is resumed');
    else return;
    this.markDirty();
  }
}
