// One sync of a ReplicaSet or ReplicationController (upstream's syncReplicaSet): claim the active
// pods its selector matches, create or delete pods to reach spec.replicas (unless expectations
// from the last round are still outstanding), then write the status.
import type { ObjectMeta } from '../../api/object.ts';
import { fromLabelSelectorObject, matchesLabels, type LabelSelector, type LabelSelectorObject } from '../../api/selectors.ts';
import { StatusError } from '../../api/status.ts';
import { isNotFound, type KubeClient } from '../../client/kube-client.ts';
import { Resources, type GVR } from '../../client/resources.ts';
import type { EventRecorder } from '../framework/events.ts';
import type { Informer } from '../framework/informer.ts';
import { splitKey } from '../framework/store.ts';
import type { ReconcileResult } from '../framework/workqueue.ts';
import { claim, controllerOf, newControllerRef, recheckOwner } from './controller-ref.ts';
import type { Expectations } from './expectations.ts';
import { isPodActive, isPodAvailable, isPodReady, podKey, podsToDelete } from './pods.ts';
import { replicasOf, rfc3339, type Pod, type ReplicaSet, type SetCondition, type SetStatus } from './types.ts';
import { cloneJson } from '../../api/object.ts';

/** What differs between the ReplicaSet and the ReplicationController controllers. */
export interface SetKind {
  /** The controller's name (and the key prefix of its logs). */
  name: string;
  /** Events' source component. */
  component: string;
  gvr: GVR;
  /** A ReplicationController's selector is a plain label map (defaulting to the template's labels). */
  mapSelector: boolean;
}

export interface SetSyncState {
  kind: SetKind;
  client: KubeClient;
  pods: Informer<Pod>;
  sets: Informer<ReplicaSet>;
  expectations: Expectations;
  recorder: EventRecorder;
  now(): Date;
  /** The most pods created or deleted in one sync (upstream: 500). */
  burstReplicas: number;
}

/** The owner's pod selector; undefined when it cannot be used (nothing then matches). */
export function selectorOf(kind: SetKind, rs: ReplicaSet): LabelSelector | undefined {
  const sel = rs.spec?.selector;
  if (kind.mapSelector) {
    const labels = (sel as Record<string, string> | undefined) ?? rs.spec?.template?.metadata?.labels;
    return labels ? Object.entries(labels).map(([key, value]) => ({ key, op: '=' as const, value })) : undefined;
  }
  try {
    return fromLabelSelectorObject(sel as LabelSelectorObject | undefined);
  } catch {
    return undefined;
  }
}

/** At most `count` calls of fn, in batches of 1, 2, 4, …; stops after the first batch with a failure. */
export async function slowStartBatch(count: number, initial: number, fn: () => Promise<void>): Promise<{ successes: number; error?: Error }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initial); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += batch - failed.length;
    if (failed.length > 0) return { successes, error: failed[0].reason as Error };
    remaining -= batch;
  }
  return { successes };
}

function namespaceTerminating(err: unknown): boolean {
  return err instanceof StatusError && (err.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}

function errMsg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function createPod(s: SetSyncState, rs: ReplicaSet): Promise<void> {
  const t = rs.spec?.template ?? {};
  const labels = { ...(t.metadata?.labels ?? {}) };
  if (Object.keys(labels).length === 0) throw new Error('unable to create pods, no labels');
  const name = rs.metadata?.name ?? '';
  const metadata: ObjectMeta = { generateName: name.length < 253 ? `${name}-` : name, labels, ownerReferences: [newControllerRef(rs)] };
  if (t.metadata?.annotations && Object.keys(t.metadata.annotations).length > 0) metadata.annotations = { ...t.metadata.annotations };
  if (t.metadata?.finalizers?.length) metadata.finalizers = [...t.metadata.finalizers];
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata, spec: cloneJson(t.spec ?? {}) };
  let created: Pod;
  try {
    created = await s.client.create<Pod>(Resources.pods, rs.metadata?.namespace, pod);
  } catch (err) {
    if (namespaceTerminating(err)) return;
    s.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${errMsg(err)}`);
    throw err;
  }
  s.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name}`);
}

async function deletePod(s: SetSyncState, rs: ReplicaSet, pod: Pod): Promise<void> {
  const name = pod.metadata?.name ?? '';
  try {
    await s.client.delete(Resources.pods, pod.metadata?.namespace, name);
  } catch (err) {
    if (isNotFound(err)) throw err;
    s.recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${errMsg(err)}`);
    throw new Error(`unable to delete pods: ${errMsg(err)}`, { cause: err });
  }
  s.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
}

/** Pods of every set controlled by the same owner (e.g. a Deployment's ReplicaSets); just this set's without one. */
function indirectlyRelatedPods(s: SetSyncState, rs: ReplicaSet): Pod[] {
  const ns = rs.metadata?.namespace ?? '';
  const ref = controllerOf(rs);
  const family = ref ? s.sets.store.byIndex('namespace', ns).filter((x) => controllerOf(x)?.uid === ref.uid) : [rs];
  const seen = new Set<string>();
  const out: Pod[] = [];
  const podsInNs = s.pods.store.byIndex('namespace', ns);
  for (const member of family) {
    const sel = selectorOf(s.kind, member);
    if (!sel) continue;
    for (const p of podsInNs) {
      const uid = p.metadata?.uid ?? '';
      if (seen.has(uid) || !matchesLabels(sel, p.metadata?.labels)) continue;
      seen.add(uid);
      out.push(p);
    }
  }
  return out;
}

async function manageReplicas(s: SetSyncState, key: string, pods: Pod[], rs: ReplicaSet): Promise<void> {
  const diff = pods.length - replicasOf(rs);
  if (diff < 0) {
    const n = Math.min(-diff, s.burstReplicas);
    s.expectations.expectCreations(key, n);
    const { successes, error } = await slowStartBatch(n, 1, () => createPod(s, rs));
    // Pods never created (failed or skipped) will never be observed.
    for (let i = successes; i < n; i++) s.expectations.creationObserved(key);
    if (error) throw error;
  } else if (diff > 0) {
    const n = Math.min(diff, s.burstReplicas);
    const victims = podsToDelete(pods, indirectlyRelatedPods(s, rs), n, s.now().getTime());
    s.expectations.expectDeletions(key, victims.map(podKey));
    const errors = await Promise.all(
      victims.map(async (p) => {
        try {
          await deletePod(s, rs, p);
          return undefined;
        } catch (err) {
          // This deletion will never be observed.
          s.expectations.deletionObserved(key, podKey(p));
          return isNotFound(err) ? undefined : (err as Error);
        }
      }),
    );
    const first = errors.find((e) => e);
    if (first) throw first;
  }
}

function labelsContain(labels: Record<string, string> | undefined, want: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(want)) if (labels?.[k] !== v) return false;
  return true;
}

/** The status the pods give the set (and the ReplicaFailure condition of a failed create or delete). */
export function calculateStatus(rs: ReplicaSet, pods: Pod[], manageErr: Error | undefined, now: Date): SetStatus {
  const st: SetStatus = cloneJson(rs.status ?? {});
  const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
  const minReady = rs.spec?.minReadySeconds ?? 0;
  let fully = 0;
  let ready = 0;
  let available = 0;
  for (const p of pods) {
    if (labelsContain(p.metadata?.labels, templateLabels)) fully++;
    if (isPodReady(p)) {
      ready++;
      if (isPodAvailable(p, minReady, now.getTime())) available++;
    }
  }
  const failure = st.conditions?.find((c) => c.type === 'ReplicaFailure');
  if (manageErr && !failure) {
    const diff = pods.length - replicasOf(rs);
    const cond: SetCondition = { type: 'ReplicaFailure', status: 'True', lastTransitionTime: rfc3339(now), reason: diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '', message: manageErr.message };
    st.conditions = [...(st.conditions ?? []).filter((c) => c.type !== 'ReplicaFailure'), cond];
  } else if (!manageErr && failure) {
    st.conditions = st.conditions!.filter((c) => c.type !== 'ReplicaFailure');
  }
  st.replicas = pods.length;
  st.fullyLabeledReplicas = fully;
  st.readyReplicas = ready;
  st.availableReplicas = available;
  return st;
}

/** Upstream's JSON leaves zero counts and empty lists out (`replicas` always stays). */
function pruned(st: SetStatus): SetStatus {
  const out: SetStatus = { replicas: st.replicas ?? 0 };
  if (st.fullyLabeledReplicas) out.fullyLabeledReplicas = st.fullyLabeledReplicas;
  if (st.readyReplicas) out.readyReplicas = st.readyReplicas;
  if (st.availableReplicas) out.availableReplicas = st.availableReplicas;
  if (st.observedGeneration) out.observedGeneration = st.observedGeneration;
  if (st.conditions?.length) out.conditions = st.conditions;
  return out;
}

async function updateStatus(s: SetSyncState, rs: ReplicaSet, st: SetStatus): Promise<ReplicaSet> {
  const cur = rs.status ?? {};
  const gen = rs.metadata?.generation ?? 0;
  const same =
    (cur.replicas ?? 0) === st.replicas &&
    (cur.fullyLabeledReplicas ?? 0) === st.fullyLabeledReplicas &&
    (cur.readyReplicas ?? 0) === st.readyReplicas &&
    (cur.availableReplicas ?? 0) === st.availableReplicas &&
    (cur.observedGeneration ?? 0) === gen &&
    JSON.stringify(cur.conditions ?? []) === JSON.stringify(st.conditions ?? []);
  if (same) return rs;
  const status = pruned({ ...st, observedGeneration: gen });
  let target = rs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await s.client.updateStatus<ReplicaSet>(s.kind.gvr, target.metadata?.namespace, { ...target, status });
    } catch (err) {
      if (attempt >= 1) throw err;
      target = await s.client.get<ReplicaSet>(s.kind.gvr, target.metadata?.namespace, target.metadata?.name ?? '');
    }
  }
}

export async function syncSet(s: SetSyncState, key: string): Promise<void | ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const rs = s.sets.store.get(namespace, name);
  if (!rs) {
    s.expectations.delete(key);
    return;
  }
  const needsSync = s.expectations.satisfied(key);
  const selector = selectorOf(s.kind, rs);
  if (!selector) return;
  const active = s.pods.store.byIndex('namespace', namespace).filter(isPodActive);
  const { claimed, errors } = await claim(active, {
    client: s.client,
    owner: rs,
    gvr: Resources.pods,
    matches: (p) => matchesLabels(selector, p.metadata?.labels),
    canAdopt: recheckOwner(s.client, s.kind.gvr, rs),
  });
  if (errors.length > 0) throw errors[0];
  let manageErr: Error | undefined;
  if (needsSync && !rs.metadata?.deletionTimestamp) {
    try {
      await manageReplicas(s, key, claimed, rs);
    } catch (err) {
      manageErr = err as Error;
    }
  }
  const updated = await updateStatus(s, rs, calculateStatus(rs, claimed, manageErr, s.now()));
  if (manageErr) throw manageErr;
  const minReady = updated.spec?.minReadySeconds ?? 0;
  const want = replicasOf(updated);
  // Look again once the ready pods have been ready long enough to count as available.
  if (minReady > 0 && (updated.status?.readyReplicas ?? 0) === want && (updated.status?.availableReplicas ?? 0) !== want) return { requeueAfterMs: minReady * 1000 };
}
