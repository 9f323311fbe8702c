// A Deployment sync (upstream's syncDeployment): claim the ReplicaSets, then either only scale
// (paused, or a change of spec.replicas) or roll out with the Deployment's strategy —
// RollingUpdate (new up within maxSurge, old down within maxUnavailable) or Recreate (old all
// down and their pods gone, then new all up) — and clean up history once complete.
import { fromLabelSelectorObject, matchesLabels, type LabelSelector } from '../../api/selectors.ts';
import { Resources } from '../../client/resources.ts';
import { splitKey } from '../framework/store.ts';
import type { ReconcileResult } from '../framework/workqueue.ts';
import { claim, controllerOf, recheckOwner } from './controller-ref.ts';
import { DeploymentSync, type DeploymentEnv } from './deployment-sync.ts';
import * as U from './deployment-util.ts';
import * as M from './rollout-math.ts';
import { replicasOf, type Deployment, type Pod, type ReplicaSet } from './types.ts';

export function deploymentSelector(d: Deployment): LabelSelector | undefined {
  try {
    return fromLabelSelectorObject(d.spec?.selector);
  } catch {
    return undefined;
  }
}

/** The only active ReplicaSet; with none active, the new one or the latest old one. */
function findActiveOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const olds = [...oldRSs].sort((a, b) => U.byCreation(b, a));
  const active = U.activeReplicaSets([...olds, newRS]);
  if (active.length === 0) return newRS ?? olds[0];
  return active.length === 1 ? active[0] : undefined;
}

/** Scaling without a rollout: the single active (or latest) ReplicaSet, or all of them in proportion. */
async function scale(s: DeploymentSync, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
  const d = s.d;
  const replicas = replicasOf(d);
  const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
  if (activeOrLatest) {
    if (replicasOf(activeOrLatest) !== replicas) await s.scaleAndRecord(activeOrLatest, replicas);
    return;
  }
  if (M.isSaturated(d, newRS)) {
    for (const old of U.activeReplicaSets(oldRSs)) await s.scaleAndRecord(old, 0);
    return;
  }
  if (!M.isRollingUpdate(d)) return;
  const all = U.activeReplicaSets([...oldRSs, newRS]);
  const allowed = replicas > 0 ? replicas + M.maxSurge(d) : 0;
  const toAdd = allowed - U.specReplicas(all);
  let op = '';
  if (toAdd > 0) {
    all.sort(U.bySizeNewer);
    op = 'up';
  } else if (toAdd < 0) {
    all.sort(U.bySizeOlder);
    op = 'down';
  }
  let added = 0;
  const sizes: number[] = [];
  for (const rs of all) {
    const p = toAdd !== 0 ? M.proportion(rs, d, toAdd, added) : 0;
    sizes.push(replicasOf(rs) + p);
    added += p;
  }
  // Leftovers go to the largest.
  if (all.length > 0 && toAdd !== 0) sizes[0] = Math.max(0, sizes[0] + toAdd - added);
  for (let i = 0; i < all.length; i++) await s.scaleReplicaSet(all[i], sizes[i], op);
}

/** Paused, or scaled: proportional scaling and status, no rollout. */
async function syncOnly(s: DeploymentSync): Promise<void> {
  const { newRS, oldRSs } = await s.getAllReplicaSetsAndSyncRevision(false);
  await scale(s, newRS, oldRSs);
  const latest = s.latest(oldRSs);
  if (s.d.spec?.paused) await s.cleanup(latest);
  s.syncDeploymentStatus([...latest, s.latestOne(newRS)], s.latestOne(newRS));
}

/** spec.replicas differs from what an active ReplicaSet was last sized for. */
async function isScalingEvent(s: DeploymentSync): Promise<boolean> {
  const { newRS, oldRSs } = await s.getAllReplicaSetsAndSyncRevision(false);
  for (const rs of U.activeReplicaSets([...oldRSs, newRS])) {
    const desired = U.intAnnotation(rs, U.DESIRED_REPLICAS);
    if (desired !== undefined && desired !== replicasOf(s.d)) return true;
  }
  return false;
}

async function reconcileNewReplicaSet(s: DeploymentSync, allRSs: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
  const want = replicasOf(s.d);
  if (replicasOf(newRS) === want) return false;
  if (replicasOf(newRS) > want) return (await s.scaleAndRecord(newRS, want)).scaled;
  return (await s.scaleAndRecord(newRS, M.newRSNewReplicas(s.d, allRSs, newRS))).scaled;
}

/** Scales down old ReplicaSets' unavailable replicas first (oldest first), up to `max`. */
async function cleanupUnhealthyReplicas(s: DeploymentSync, oldRSs: ReplicaSet[], max: number): Promise<{ rss: ReplicaSet[]; count: number }> {
  const rss = [...oldRSs].sort(U.byCreation);
  let total = 0;
  for (let i = 0; i < rss.length && total < max; i++) {
    const rs = rss[i];
    const available = rs.status?.availableReplicas ?? 0;
    if (replicasOf(rs) === 0 || replicasOf(rs) === available) continue;
    const down = Math.min(max - total, replicasOf(rs) - available);
    rss[i] = (await s.scaleAndRecord(rs, replicasOf(rs) - down)).rs;
    total += down;
  }
  return { rss, count: total };
}

/** Scales old ReplicaSets down (oldest first) as far as availability above the minimum allows. */
async function scaleDownOldForRolling(s: DeploymentSync, allRSs: ReplicaSet[], oldRSs: ReplicaSet[]): Promise<number> {
  const minAvailable = replicasOf(s.d) - M.maxUnavailable(s.d);
  const available = U.statusCount(allRSs, 'availableReplicas');
  if (available <= minAvailable) return 0;
  const budget = available - minAvailable;
  let total = 0;
  for (const rs of [...oldRSs].sort(U.byCreation)) {
    if (total >= budget) break;
    if (replicasOf(rs) === 0) continue;
    const down = Math.min(replicasOf(rs), budget - total);
    await s.scaleAndRecord(rs, replicasOf(rs) - down);
    total += down;
  }
  return total;
}

async function reconcileOldReplicaSets(s: DeploymentSync, allRSs: ReplicaSet[], oldRSs: ReplicaSet[], newRS: ReplicaSet): Promise<boolean> {
  if (U.specReplicas(oldRSs) === 0) return false;
  const minAvailable = replicasOf(s.d) - M.maxUnavailable(s.d);
  const newUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = U.specReplicas(allRSs) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  const cleaned = await cleanupUnhealthyReplicas(s, oldRSs, maxScaledDown);
  const down = await scaleDownOldForRolling(s, [...cleaned.rss, newRS], cleaned.rss);
  return cleaned.count + down > 0;
}

async function rolloutRolling(s: DeploymentSync): Promise<void> {
  const { newRS: created, oldRSs } = await s.getAllReplicaSetsAndSyncRevision(true);
  const newRS = created!;
  const all = () => [...s.latest(oldRSs), s.latestOne(newRS)!];
  if (await reconcileNewReplicaSet(s, all(), newRS)) return s.syncRolloutStatus(all(), s.latestOne(newRS));
  if (await reconcileOldReplicaSets(s, all(), U.activeReplicaSets(s.latest(oldRSs)), s.latestOne(newRS)!)) return s.syncRolloutStatus(all(), s.latestOne(newRS));
  if (M.deploymentComplete(s.d, s.d.status ?? {})) await s.cleanup(s.latest(oldRSs));
  s.syncRolloutStatus(all(), s.latestOne(newRS));
}

/** Pods of old ReplicaSets that have not finished (Recreate waits for them). */
function oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[], podMap: Map<string, Pod[]>): boolean {
  if (U.statusCount(oldRSs, 'replicas') > 0) return true;
  for (const [uid, pods] of podMap) {
    if (newRS && newRS.metadata?.uid === uid) continue;
    if (pods.some((p) => p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded')) return true;
  }
  return false;
}

async function rolloutRecreate(s: DeploymentSync, podMap: Map<string, Pod[]>): Promise<void> {
  let { newRS, oldRSs } = await s.getAllReplicaSetsAndSyncRevision(false);
  const all = () => [...s.latest(oldRSs), s.latestOne(newRS)];
  let scaledDown = false;
  for (const rs of U.activeReplicaSets(oldRSs)) if ((await s.scaleAndRecord(rs, 0)).scaled) scaledDown = true;
  if (scaledDown || oldPodsRunning(newRS, s.latest(oldRSs), podMap)) return s.syncRolloutStatus(all(), s.latestOne(newRS));
  if (!newRS) ({ newRS, oldRSs } = await s.getAllReplicaSetsAndSyncRevision(true));
  if (newRS) await s.scaleAndRecord(s.latestOne(newRS)!, replicasOf(s.d));
  if (M.deploymentComplete(s.d, s.d.status ?? {})) await s.cleanup(s.latest(oldRSs));
  s.syncRolloutStatus(all(), s.latestOne(newRS));
}

/** The Deployment's pods by the uid of their ReplicaSet (all phases: Recreate checks them). */
function podMapOf(env: DeploymentEnv, d: Deployment, sel: LabelSelector, rsList: ReplicaSet[]): Map<string, Pod[]> {
  const map = new Map<string, Pod[]>(rsList.map((rs) => [rs.metadata?.uid ?? '', []]));
  for (const p of env.pods.store.byIndex('namespace', d.metadata?.namespace ?? '')) {
    if (!matchesLabels(sel, p.metadata?.labels)) continue;
    const list = map.get(controllerOf(p)?.uid ?? '');
    if (list) list.push(p);
  }
  return map;
}

export async function syncDeployment(env: DeploymentEnv, key: string): Promise<void | ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const cached = env.deployments.store.get(namespace, name);
  if (!cached || env.writes.stale(cached, M.statusFingerprint(cached))) return;
  const s = new DeploymentSync(env, cached);
  const d = s.d;
  const sel = deploymentSelector(d);
  if (!sel) return;
  if (sel.length === 0) {
    env.recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
    if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
      d.status!.observedGeneration = d.metadata?.generation;
      s.markDirty();
      await s.flush();
    }
    return;
  }
  const { claimed, errors } = await claim(env.rss.store.byIndex('namespace', namespace), {
    client: env.client,
    owner: d,
    gvr: Resources.replicasets,
    matches: (rs) => matchesLabels(sel, rs.metadata?.labels),
    canAdopt: recheckOwner(env.client, Resources.deployments, d),
  });
  if (errors.length > 0) throw errors[0];
  // A ReplicaSet we changed and whose change the cache has not shown yet: its event brings us back.
  if (claimed.some((rs) => env.writes.stale(rs))) return;
  s.rsList = claimed;
  if (d.metadata?.deletionTimestamp) {
    const { newRS, oldRSs } = await s.getAllReplicaSetsAndSyncRevision(false);
    s.syncDeploymentStatus([...oldRSs, newRS], newRS);
    await s.flush();
    return;
  }
  s.checkPausedConditions();
  if (d.spec?.paused || (await isScalingEvent(s))) await syncOnly(s);
  else if (d.spec?.strategy?.type === 'Recreate') await rolloutRecreate(s, podMapOf(env, d, sel, claimed));
  else await rolloutRolling(s);
  await s.flush();
  if (s.requeueAfterMs !== undefined) return { requeueAfterMs: s.requeueAfterMs };
}
