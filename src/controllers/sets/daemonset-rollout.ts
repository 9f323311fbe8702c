// The DaemonSet's decisions, pure: which pods each node needs or has too many of
// (podsShouldBeOnNode), which old pods to replace in a rolling update within maxUnavailable or
// maxSurge, and status (desired/current/ready/available/updated/misscheduled counts).
import { isPodAvailable, isPodReady, byCreationTimestampAndPhase, isTerminating, scaledValue } from './util.ts';
import { isPodUpdated, nodeShouldRunDaemonPod, templateGeneration } from './daemonset-nodes.ts';
import type { DaemonSet, DaemonSetStatus, Node, Pod } from './types.ts';

const isRolling = (ds: DaemonSet): boolean => (ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

/** Surge is allowed: RollingUpdate with maxSurge set (a percentage of any size counts). */
export function allowsSurge(ds: DaemonSet): boolean {
  const s = ds.spec.updateStrategy?.rollingUpdate?.maxSurge;
  return isRolling(ds) && s !== undefined && s !== null && s !== 0 && s !== '0' && s !== '0%';
}

/** Pods to create on and delete from one node (podsShouldBeOnNode). `deleteFailed` rate-limits failed pods. */
export function podsShouldBeOnNode(node: Node, pods: Pod[] | undefined, ds: DaemonSet, hash: string, now: Date, deleteFailed: (pod: Pod) => boolean): { create: boolean; delete: Pod[] } {
  const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds);
  const out = { create: false, delete: [] as Pod[] };
  if (shouldRun && !pods?.length) {
    out.create = true;
    return out;
  }
  if (!shouldContinueRunning) {
    for (const p of pods ?? []) if (!isTerminating(p)) out.delete.push(p);
    return out;
  }
  const running: Pod[] = [];
  for (const p of pods ?? []) {
    if (isTerminating(p)) continue;
    const phase = p.status?.phase;
    if (phase === 'Failed') {
      if (deleteFailed(p)) out.delete.push(p);
    } else if (phase === 'Succeeded') out.delete.push(p);
    else running.push(p);
  }
  running.sort(byCreationTimestampAndPhase);
  if (!allowsSurge(ds)) {
    out.delete.push(...running.slice(1));
    return out;
  }
  if (running.length <= 1) {
    if (running.length === 0 && shouldRun) out.create = true;
    return out;
  }
  // With surge, an old and a new pod may share the node while the new one becomes available.
  const gen = templateGeneration(ds);
  let oldestNew: Pod | undefined;
  let oldestOld: Pod | undefined;
  for (const p of running) {
    if (isPodUpdated(p, hash, gen)) {
      if (!oldestNew) {
        oldestNew = p;
        continue;
      }
    } else if (!oldestOld) {
      oldestOld = p;
      continue;
    }
    out.delete.push(p);
  }
  if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec.minReadySeconds ?? 0, now))) out.delete.push(oldestOld);
  return out;
}

/** At most one new and one old live pod on the node; undefined when there are more (manage prunes them). */
export function findUpdatedPodsOnNode(ds: DaemonSet, pods: Pod[], hash: string): { newPod?: Pod; oldPod?: Pod } | undefined {
  const gen = templateGeneration(ds);
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const p of pods) {
    if (isTerminating(p)) continue;
    if (isPodUpdated(p, hash, gen)) {
      if (newPod) return undefined;
      newPod = p;
    } else {
      if (oldPod) return undefined;
      oldPod = p;
    }
  }
  return { newPod, oldPod };
}

/** Old pods to delete and nodes to surge onto for one step of a rolling update. */
export function rollingUpdatePlan(ds: DaemonSet, nodes: Node[], nodeToPods: Map<string, Pod[]>, hash: string, now: Date): { delete: Pod[]; createOn: string[] } {
  const byName = new Map(nodes.map((n) => [n.metadata.name ?? '', n]));
  const plan = new Map(nodeToPods);
  let desired = 0;
  for (const n of nodes) {
    if (!nodeShouldRunDaemonPod(n, ds).shouldRun) continue;
    desired++;
    if (!plan.has(n.metadata.name ?? '')) plan.set(n.metadata.name ?? '', []);
  }
  const ru = ds.spec.updateStrategy?.rollingUpdate;
  let maxUnavailable = isRolling(ds) ? scaledValue(ru?.maxUnavailable ?? 1, desired, true) : 0;
  const maxSurge = isRolling(ds) ? scaledValue(ru?.maxSurge, desired, true) : 0;
  if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
  const minReady = ds.spec.minReadySeconds ?? 0;
  const available = (p: Pod) => isPodAvailable(p, minReady, now);

  if (maxSurge === 0) {
    let unavailable = 0;
    const replace: Pod[] = [];
    const candidates: Pod[] = [];
    for (const pods of plan.values()) {
      const found = findUpdatedPodsOnNode(ds, pods, hash);
      if (!found) {
        unavailable++;
        continue;
      }
      const { newPod, oldPod } = found;
      if ((!oldPod && !newPod) || (oldPod && newPod)) unavailable++;
      else if (newPod) {
        if (!available(newPod)) unavailable++;
      } else if (oldPod && !available(oldPod)) {
        replace.push(oldPod);
        unavailable++;
      } else if (oldPod && unavailable < maxUnavailable) candidates.push(oldPod);
    }
    const room = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
    return { delete: [...replace, ...candidates.slice(0, room)], createOn: [] };
  }

  const del: Pod[] = [];
  const notWanted: Pod[] = [];
  const candidateNodes: string[] = [];
  const allowedNodes: string[] = [];
  let surge = 0;
  let numAvailable = 0;
  for (const [nodeName, pods] of plan) {
    const found = findUpdatedPodsOnNode(ds, pods, hash);
    if (!found) {
      surge++;
      continue;
    }
    const { newPod, oldPod } = found;
    if (oldPod ? available(oldPod) : newPod && available(newPod)) numAvailable++;
    if (!oldPod) continue;
    const node = byName.get(nodeName);
    const shouldRun = !!node && nodeShouldRunDaemonPod(node, ds).shouldRun;
    if (!newPod) {
      if (!available(oldPod)) {
        if (!shouldRun) del.push(oldPod);
        else allowedNodes.push(nodeName);
      } else if (!shouldRun) notWanted.push(oldPod);
      else if (surge < maxSurge) candidateNodes.push(nodeName);
      continue;
    }
    if (!available(newPod)) surge++;
    else del.push(oldPod);
  }
  const deletable = Math.min(numAvailable - desired, notWanted.length);
  for (const p of notWanted.slice(0, Math.max(0, deletable))) if (!isTerminating(p)) del.push(p);
  const room = Math.min(Math.max(0, maxSurge - surge), candidateNodes.length);
  return { delete: del, createOn: [...allowedNodes, ...candidateNodes.slice(0, room)] };
}

/** DaemonSetStatus over the nodes (updateDaemonSetStatus); observedGeneration only after a full sync. */
export function daemonSetStatus(ds: DaemonSet, nodes: Node[], nodeToPods: Map<string, Pod[]>, hash: string, now: Date, observe: boolean): DaemonSetStatus {
  let desired = 0, current = 0, misscheduled = 0, ready = 0, available = 0, updated = 0;
  const gen = templateGeneration(ds);
  for (const node of nodes) {
    const shouldRun = nodeShouldRunDaemonPod(node, ds).shouldRun;
    const pods = nodeToPods.get(node.metadata.name ?? '') ?? [];
    if (!shouldRun) {
      if (pods.length > 0) misscheduled++;
      continue;
    }
    desired++;
    if (pods.length === 0) continue;
    current++;
    const pod = [...pods].sort(byCreationTimestampAndPhase)[0];
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, ds.spec.minReadySeconds ?? 0, now)) available++;
    }
    if (isPodUpdated(pod, hash, gen)) updated++;
  }
  const status: DaemonSetStatus = { currentNumberScheduled: current, numberMisscheduled: misscheduled, desiredNumberScheduled: desired, numberReady: ready };
  const observed = observe ? ds.metadata.generation : ds.status?.observedGeneration;
  if (observed) status.observedGeneration = observed;
  if (updated) status.updatedNumberScheduled = updated;
  if (available) status.numberAvailable = available;
  if (desired - available) status.numberUnavailable = desired - available;
  if (ds.status?.collisionCount !== undefined) status.collisionCount = ds.status.collisionCount;
  if (ds.status?.conditions) status.conditions = ds.status.conditions;
  return status;
}
