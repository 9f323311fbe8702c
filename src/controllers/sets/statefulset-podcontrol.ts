// What the StatefulSet controller does to pods and claims, with upstream's Events about the set:
// `create Claim www-web-0 Pod web-0 in StatefulSet web success`,
// `create Pod web-0 in StatefulSet web successful`, `delete Pod …`, `update Pod …`, and
// `Failed…` Warnings with `… failed error: <err>`.
import type { KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { EventRecorder } from '../framework/events.ts';
import { errorMessage } from '../framework/log.ts';
import { claimOwnerRefsFor, claimsFor, identityMatches, ordinalOf, setName, storageMatches, updateIdentity, updateStorage } from './statefulset-pods.ts';
import type { PersistentVolumeClaim, Pod, StatefulSet } from './types.ts';
import { isAlreadyExists, isConflict, isNotFound, isNamespaceTerminating, isTerminating } from './util.ts';
import { cloneJson } from '../../api/object.ts';

const title = (verb: string): string => verb[0].toUpperCase() + verb.slice(1);

export class StatefulPodControl {
  private readonly client: KubeClient;
  private readonly recorder: EventRecorder;
  /** The claim as the informer has it. */
  private readonly cachedClaim: (namespace: string, name: string) => PersistentVolumeClaim | undefined;

  constructor(client: KubeClient, recorder: EventRecorder, cachedClaim: (namespace: string, name: string) => PersistentVolumeClaim | undefined) {
    this.client = client;
    this.recorder = recorder;
    this.cachedClaim = cachedClaim;
  }

  private podEvent(verb: string, set: StatefulSet, pod: Pod, err?: unknown): void {
    const ref = { ...set, apiVersion: 'apps/v1', kind: 'StatefulSet' };
    if (err === undefined) this.recorder.event(ref, 'Normal', `Successful${title(verb)}`, `${verb} Pod ${pod.metadata.name} in StatefulSet ${setName(set)} successful`);
    else this.recorder.event(ref, 'Warning', `Failed${title(verb)}`, `${verb} Pod ${pod.metadata.name} in StatefulSet ${setName(set)} failed error: ${errorMessage(err)}`);
  }

  private claimEvent(verb: string, set: StatefulSet, pod: Pod, claim: PersistentVolumeClaim, err?: unknown): void {
    const ref = { ...set, apiVersion: 'apps/v1', kind: 'StatefulSet' };
    if (err === undefined) this.recorder.event(ref, 'Normal', `Successful${title(verb)}`, `${verb} Claim ${claim.metadata.name} Pod ${pod.metadata.name} in StatefulSet ${setName(set)} success`);
    else this.recorder.event(ref, 'Warning', `Failed${title(verb)}`, `${verb} Claim ${claim.metadata.name} for Pod ${pod.metadata.name} in StatefulSet ${setName(set)} failed error: ${errorMessage(err)}`);
  }

  /** True when one of the pod's claims is being deleted: the pod must wait for it to go. */
  claimsBeingDeleted(set: StatefulSet, pod: Pod): boolean {
    for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
      const c = this.cachedClaim(set.metadata.namespace ?? '', claim.metadata.name!);
      if (c && isTerminating(c)) return true;
    }
    return false;
  }

  /** Creates the pod's missing claims (each with an Event). */
  async createMissingClaims(set: StatefulSet, pod: Pod): Promise<void> {
    const ns = set.metadata.namespace;
    for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
      const cached = this.cachedClaim(ns ?? '', claim.metadata.name!);
      if (cached) {
        if (isTerminating(cached)) throw new Error(`pvc ${claim.metadata.name} is being deleted`);
        continue;
      }
      const refs = claimOwnerRefsFor(set, pod, claim);
      if (refs && refs.length > 0) claim.metadata.ownerReferences = refs;
      try {
        await this.client.create(Resources.persistentvolumeclaims, ns, claim);
      } catch (err) {
        if (isAlreadyExists(err)) continue;
        if (!isNamespaceTerminating(err)) this.claimEvent('create', set, pod, claim, err);
        throw err;
      }
      this.claimEvent('create', set, pod, claim);
    }
  }

  /** Claims first, then the pod; returns the created pod, or undefined when it exists already. */
  async createPod(set: StatefulSet, pod: Pod): Promise<Pod | undefined> {
    await this.createMissingClaims(set, pod);
    try {
      const created = await this.client.create<Pod>(Resources.pods, set.metadata.namespace, pod);
      this.podEvent('create', set, pod);
      return created;
    } catch (err) {
      if (isAlreadyExists(err)) return undefined;
      if (!isNamespaceTerminating(err)) this.podEvent('create', set, pod, err);
      throw err;
    }
  }

  /** Deletes this very pod (uid precondition: a cache this stale must not delete its successor). */
  async deletePod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.client.delete(Resources.pods, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return;
      this.podEvent('delete', set, pod, err);
      throw err;
    }
    this.podEvent('delete', set, pod);
  }

  /** Whether every claim of the pod carries the owner references the retention policy asks for. */
  claimsMatchRetentionPolicy(set: StatefulSet, pod: Pod): boolean {
    for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
      const c = this.cachedClaim(set.metadata.namespace ?? '', claim.metadata.name!);
      if (c && claimOwnerRefsFor(set, pod, c)) return false;
    }
    return true;
  }

  /** Sets the claims' owner references for the retention policy. */
  async updateClaimsForRetentionPolicy(set: StatefulSet, pod: Pod): Promise<void> {
    const ns = set.metadata.namespace;
    for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
      for (let attempt = 0; attempt < 5; attempt++) {
        let c: PersistentVolumeClaim;
        try {
          c = await this.client.get<PersistentVolumeClaim>(Resources.persistentvolumeclaims, ns, claim.metadata.name!);
        } catch (err) {
          if (isNotFound(err)) break;
          throw err;
        }
        const refs = claimOwnerRefsFor(set, pod, c);
        if (!refs) break;
        c.metadata.ownerReferences = refs;
        try {
          await this.client.update(Resources.persistentvolumeclaims, ns, c);
          break;
        } catch (err) {
          if (!isConflict(err)) throw err;
        }
      }
    }
  }

  /** Restores the pod's identity and storage, and its claims' owner references (UpdateStatefulPod). */
  async updatePod(set: StatefulSet, pod: Pod): Promise<void> {
    let cur = cloneJson(pod);
    for (let attempt = 0; attempt < 5; attempt++) {
      const ordinal = ordinalOf(cur);
      let dirty = false;
      if (!identityMatches(set, cur)) {
        updateIdentity(set, cur, ordinal);
        dirty = true;
      }
      if (!storageMatches(set, cur)) {
        updateStorage(set, cur, ordinal);
        await this.createMissingClaims(set, cur);
        dirty = true;
      }
      if (!this.claimsMatchRetentionPolicy(set, cur)) await this.updateClaimsForRetentionPolicy(set, cur);
      if (!dirty) return;
      try {
        await this.client.update(Resources.pods, cur.metadata.namespace, cur);
        this.podEvent('update', set, cur);
        return;
      } catch (err) {
        if (!isConflict(err)) {
          this.podEvent('update', set, cur, err);
          throw err;
        }
        cur = await this.client.get<Pod>(Resources.pods, cur.metadata.namespace, cur.metadata.name!);
      }
    }
  }
}
