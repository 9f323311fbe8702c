// One StatefulSet sync, as upstream's defaultStatefulSetControl: find or make the update
// revision, converge the pods (create missing ordinals, recreate finished ones, delete condemned
// ordinals from the highest down, roll out the update revision from the highest ordinal down to
// the partition), write status, and trim the revision history. OrderedReady waits at every step
// for the pods before to be Running and Ready; Parallel does not (rolling updates stay one at a
// time either way).
import type { KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { EventRecorder } from '../framework/events.ts';
import { createRevision, equalRevision, newRevision, nextRevision, sortRevisions } from './history.ts';
import { StatefulPodControl } from './statefulset-podcontrol.ts';
import {
  applyRevision, computeStatus, identityMatches, isCreated, isFailed, isHealthy, isPending, isRunningAndAvailable, isRunningAndReady, isSucceeded,
  newVersionedPod, ordinalOf, podRevision, replicasOf, revisionData, setName, startOrdinal, storageMatches,
} from './statefulset-pods.ts';
import type { ControllerRevision, PersistentVolumeClaim, Pod, StatefulSet, StatefulSetStatus } from './types.ts';
import { canonicalJson, isConflict, isNotFound, isTerminating, untilAvailableMs } from './util.ts';
import { cloneJson } from '../../api/object.ts';

export interface StatefulSetControlDeps {
  client: KubeClient;
  recorder: EventRecorder;
  cachedClaim: (namespace: string, name: string) => PersistentVolumeClaim | undefined;
  now: () => Date;
}

export class StatefulSetControl {
  private readonly client: KubeClient;
  private readonly recorder: EventRecorder;
  private readonly pods: StatefulPodControl;
  private readonly now: () => Date;

  constructor(deps: StatefulSetControlDeps) {
    this.client = deps.client;
    this.recorder = deps.recorder;
    this.now = deps.now;
    this.pods = new StatefulPodControl(deps.client, deps.recorder, deps.cachedClaim);
  }

  /** Converges `set`; returns ms after which to look again (pods becoming available), if any. */
  async sync(set: StatefulSet, pods: Pod[], revisions: ControllerRevision[]): Promise<number | undefined> {
    const sorted = sortRevisions(revisions);
    const { current, update, collisionCount } = await this.revisions(set, sorted);
    const status = await this.updatePods(set, current, update, collisionCount, pods);
    await this.writeStatus(set, status);
    await this.truncateHistory(set, pods, sorted, current, update);
    const minReady = set.spec.minReadySeconds ?? 0;
    if (minReady > 0 && (status.readyReplicas ?? 0) !== (status.availableReplicas ?? 0)) {
      const now = this.now();
      const waits = pods.map((p) => untilAvailableMs(p, minReady, now)).filter((ms) => ms > 0);
      return waits.length > 0 ? Math.min(...waits) : minReady * 1000;
    }
    return undefined;
  }

  /** getStatefulSetRevisions: the current revision (status.currentRevision) and the update one. */
  private async revisions(set: StatefulSet, revisions: ControllerRevision[]): Promise<{ current: ControllerRevision; update: ControllerRevision; collisionCount: number }> {
    const collision = { count: set.status?.collisionCount ?? 0 };
    const candidate = newRevision(set, 'StatefulSet', set.spec.template.metadata?.labels, revisionData(set), nextRevision(revisions), collision.count);
    candidate.metadata.annotations = { ...(set.metadata.annotations ?? {}) };
    const equal = revisions.filter((r) => equalRevision(r, candidate));
    let update: ControllerRevision;
    const last = revisions[revisions.length - 1];
    if (equal.length > 0 && last && equalRevision(last, equal[equal.length - 1])) {
      update = last;
    } else if (equal.length > 0) {
      update = await this.bumpRevision(equal[equal.length - 1], candidate.revision);
    } else {
      update = await createRevision(this.client, set, candidate, collision);
    }
    const current = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    return { current, update, collisionCount: collision.count };
  }

  /** A rollback to an older revision: it gets the next revision number. */
  private async bumpRevision(rev: ControllerRevision, revision: number): Promise<ControllerRevision> {
    let cur = cloneJson(rev);
    for (let attempt = 0; ; attempt++) {
      if (cur.revision === revision) return cur;
      cur.revision = revision;
      try {
        return await this.client.update<ControllerRevision>(Resources.controllerrevisions, cur.metadata.namespace, cur);
      } catch (err) {
        if (!isConflict(err) || attempt >= 4) throw err;
        cur = await this.client.get<ControllerRevision>(Resources.controllerrevisions, cur.metadata.namespace, cur.metadata.name!);
      }
    }
  }

  private async updatePods(set: StatefulSet, current: ControllerRevision, update: ControllerRevision, collisionCount: number, pods: Pod[]): Promise<StatefulSetStatus> {
    const currentSet = applyRevision(set, current);
    const updateSet = applyRevision(set, update);
    const currentName = current.metadata.name!;
    const updateName = update.metadata.name!;
    const now = this.now();
    const count = replicasOf(set);
    const start = startOrdinal(set);
    const replicas: Array<Pod | undefined> = new Array(count).fill(undefined);
    const condemned: Pod[] = [];
    for (const pod of pods) {
      const ord = ordinalOf(pod);
      if (ord >= start && ord < start + count) replicas[ord - start] = pod;
      else if (ord >= 0) condemned.push(pod);
    }
    condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));
    const statusNow = (): StatefulSetStatus => computeStatus(set, [...replicas.filter((p): p is Pod => !!p), ...condemned], currentName, updateName, collisionCount, now);
    if (isTerminating(set)) return statusNow();
    const monotonic = set.spec.podManagementPolicy !== 'Parallel';
    const minReady = set.spec.minReadySeconds ?? 0;
    const ev = { ...set, apiVersion: 'apps/v1', kind: 'StatefulSet' };

    // The replicas, in ordinal order.
    for (let i = 0; i < count; i++) {
      const pod = replicas[i];
      if (pod && (isFailed(pod) || isSucceeded(pod))) {
        if (!isTerminating(pod)) {
          if (isFailed(pod)) this.recorder.event(ev, 'Warning', 'RecreatingFailedPod', `StatefulSet ${set.metadata.namespace}/${setName(set)} is recreating failed Pod ${pod.metadata.name}`);
          else this.recorder.event(ev, 'Normal', 'RecreatingTerminatedPod', `StatefulSet ${set.metadata.namespace}/${setName(set)} is recreating terminated Pod ${pod.metadata.name}`);
          await this.pods.deletePod(set, pod);
        }
        if (monotonic) return statusNow();
        continue;
      }
      if (!pod || !isCreated(pod)) {
        const fresh = newVersionedPod(currentSet, updateSet, currentName, updateName, start + i);
        if (this.pods.claimsBeingDeleted(updateSet, fresh)) return statusNow();
        const created = await this.pods.createPod(updateSet, fresh);
        if (created) replicas[i] = created;
        if (monotonic) return statusNow();
        continue;
      }
      if (isPending(pod)) await this.pods.createMissingClaims(updateSet, pod);
      if (monotonic && (isTerminating(pod) || !isRunningAndReady(pod) || !isRunningAndAvailable(pod, minReady, now))) return statusNow();
      if (identityMatches(set, pod) && storageMatches(set, pod) && this.pods.claimsMatchRetentionPolicy(updateSet, pod)) continue;
      await this.pods.updatePod(updateSet, pod);
    }

    // Claims of condemned pods get the owner references whenScaled asks for before the pods go.
    for (const pod of condemned) {
      if (!this.pods.claimsMatchRetentionPolicy(updateSet, pod)) {
        await this.pods.updateClaimsForRetentionPolicy(updateSet, pod);
        if (monotonic) return statusNow();
      }
    }

    // Condemned pods, from the highest ordinal down.
    let firstUnhealthy: Pod | undefined = replicas.find((p) => p && !isHealthy(p));
    if (!firstUnhealthy) for (let i = condemned.length - 1; i >= 0 && !firstUnhealthy; i--) if (!isHealthy(condemned[i])) firstUnhealthy = condemned[i];
    for (const pod of condemned) {
      if (isTerminating(pod)) {
        if (monotonic) return statusNow();
        continue;
      }
      if (monotonic && !isRunningAndReady(pod) && pod !== firstUnhealthy) return statusNow();
      await this.pods.deletePod(set, pod);
      if (monotonic) return statusNow();
    }

    // Rolling update from the highest ordinal down to the partition.
    const st = set.spec.updateStrategy;
    if (st?.type === 'OnDelete') return statusNow();
    const partition = st?.rollingUpdate?.partition ?? 0;
    for (let target = count - 1; target >= partition; target--) {
      const pod = replicas[target];
      if (!pod) return statusNow();
      if (podRevision(pod) !== updateName && !isTerminating(pod)) {
        await this.pods.deletePod(set, pod);
        return statusNow();
      }
      if (!isHealthy(pod)) return statusNow();
    }
    return statusNow();
  }

  /** Writes status when it changed, re-reading the set on conflicts. */
  private async writeStatus(set: StatefulSet, status: StatefulSetStatus): Promise<void> {
    if (sameStatus(set.status, status)) return;
    let cur: StatefulSet = { ...set, apiVersion: 'apps/v1', kind: 'StatefulSet', status };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.updateStatus(Resources.statefulsets, cur.metadata.namespace, cur);
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err) || attempt >= 4) throw err;
        const fresh = await this.client.get<StatefulSet>(Resources.statefulsets, cur.metadata.namespace, cur.metadata.name!);
        if (fresh.metadata.uid !== set.metadata.uid) return;
        cur = { ...fresh, status };
      }
    }
  }

  /** Deletes the oldest revisions no pod uses beyond revisionHistoryLimit. */
  private async truncateHistory(set: StatefulSet, pods: Pod[], revisions: ControllerRevision[], current: ControllerRevision, update: ControllerRevision): Promise<void> {
    const live = new Set([current.metadata.name, update.metadata.name, ...pods.map(podRevision)]);
    const history = revisions.filter((r) => !live.has(r.metadata.name));
    const limit = set.spec.revisionHistoryLimit ?? 10;
    for (const r of history.slice(0, Math.max(0, history.length - limit))) {
      try {
        await this.client.delete(Resources.controllerrevisions, r.metadata.namespace, r.metadata.name!);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
}

function sameStatus(a: StatefulSetStatus | undefined, b: StatefulSetStatus): boolean {
  if (!a) return false;
  const pick = (s: StatefulSetStatus) => canonicalJson({ ...s, conditions: undefined, readyReplicas: s.readyReplicas || 0, currentReplicas: s.currentReplicas || 0, updatedReplicas: s.updatedReplicas || 0, availableReplicas: s.availableReplicas || 0 });
  return pick(a) === pick(b);
}
