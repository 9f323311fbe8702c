// Unit tests of the workloads controllers' decision logic (no server).
import { describe, expect, it } from 'vitest';
import { computeHash, equalIgnoreHash, safeEncode, setNewReplicaSetAnnotations, findNewReplicaSet, byRevision } from './deployment-util.ts';
import { Expectations, EXPECTATIONS_TTL_MS } from './expectations.ts';
import { OwnWrites } from './own-writes.ts';
import { podsToDelete } from './pods.ts';
import { calculateStatus as rsStatus, slowStartBatch } from './replica-set-sync.ts';
import { calculateStatus, deploymentTimedOut, maxSurge, maxUnavailable, newRSNewReplicas, proportion, resolveFenceposts, scaledValue, setCondition } from './rollout-math.ts';
import type { Deployment, Pod, ReplicaSet } from './types.ts';

const NOW = Date.parse('2025-01-01T12:00:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function pod(name: string, o: { node?: string; phase?: string; readySince?: number; restarts?: number; created?: number; cost?: string } = {}): Pod {
  const conditions = o.readySince !== undefined ? [{ type: 'Ready', status: 'True', lastTransitionTime: ago(o.readySince) }] : [{ type: 'Ready', status: 'False' }];
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, creationTimestamp: ago(o.created ?? 1000), labels: { app: 'a' }, annotations: o.cost ? { 'controller.kubernetes.io/pod-deletion-cost': o.cost } : undefined },
    spec: { nodeName: o.node },
    status: { phase: o.phase ?? 'Running', conditions, containerStatuses: [{ name: 'c', restartCount: o.restarts ?? 0 }] },
  };
}

const names = (ps: Pod[]) => ps.map((p) => p.metadata?.name);

describe('scale-down victims', () => {
  it('prefers unassigned, then Pending < Unknown < Running, then not ready', () => {
    const pods = [pod('running-ready', { node: 'n1', readySince: 100 }), pod('running-unready', { node: 'n1' }), pod('unknown', { node: 'n1', phase: 'Unknown' }), pod('pending', { node: 'n1', phase: 'Pending' }), pod('unassigned', { phase: 'Pending' })];
    expect(names(podsToDelete(pods, [], 4, NOW))).toEqual(['unassigned', 'pending', 'unknown', 'running-unready']);
  });

  it('prefers a lower deletion cost, then pods doubled up on a node', () => {
    const pods = [pod('alone', { node: 'n1', readySince: 100 }), pod('crowded', { node: 'n2', readySince: 100 }), pod('cheap', { node: 'n1', readySince: 100, cost: '-5' })];
    const related = [pods[0], pods[1], pod('other', { node: 'n2', readySince: 50 })];
    expect(names(podsToDelete(pods, related, 2, NOW))).toEqual(['cheap', 'crowded']);
  });

  it('prefers ready for less time (log buckets), then more restarts, then newer', () => {
    const young = pod('ready-2s', { node: 'n1', readySince: 2 });
    const old = pod('ready-1h', { node: 'n2', readySince: 3600 });
    expect(names(podsToDelete([old, young], [], 1, NOW))).toEqual(['ready-2s']);
    const a = pod('few-restarts', { node: 'n1', readySince: 3600, restarts: 1 });
    const b = pod('many-restarts', { node: 'n2', readySince: 3600, restarts: 7 });
    expect(names(podsToDelete([a, b], [], 1, NOW))).toEqual(['many-restarts']);
    const older = pod('created-1d', { node: 'n1', readySince: 3600, created: 86400 });
    const newer = pod('created-2m', { node: 'n2', readySince: 3600, created: 120 });
    expect(names(podsToDelete([older, newer], [], 1, NOW))).toEqual(['created-2m']);
  });

  it('returns every pod when all go', () => {
    expect(podsToDelete([pod('a'), pod('b')], [], 5, NOW)).toHaveLength(2);
  });
});

describe('slow start', () => {
  it('creates in batches of 1, 2, 4, … and stops after a failing batch', async () => {
    // How many calls were in flight as each one started: batches of 1, 2, 4, then the last 3.
    const seen: number[] = [];
    let inFlight = 0;
    const r = await slowStartBatch(10, 1, async () => {
      seen.push(++inFlight);
      await new Promise((res) => setImmediate(res));
      inFlight--;
    });
    expect(r).toEqual({ successes: 10 });
    expect(seen).toEqual([1, 1, 2, 1, 2, 3, 4, 1, 2, 3]);
    let failAfter = 4;
    const f = await slowStartBatch(10, 1, async () => {
      if (--failAfter < 0) throw new Error('quota');
    });
    // Batches 1, 2 succeed; the batch of 4 has 1 success and 3 failures; nothing more is tried.
    expect(f.successes).toBe(4);
    expect(f.error?.message).toBe('quota');
  });
});

describe('expectations', () => {
  it('holds a set back until creations and the expected deletions are observed', () => {
    let now = 0;
    const e = new Expectations(() => now);
    expect(e.satisfied('ns/rs')).toBe(true);
    e.expectCreations('ns/rs', 2);
    expect(e.satisfied('ns/rs')).toBe(false);
    e.creationObserved('ns/rs');
    expect(e.satisfied('ns/rs')).toBe(false);
    e.creationObserved('ns/rs');
    expect(e.satisfied('ns/rs')).toBe(true);
    e.expectDeletions('ns/rs', ['ns/p1', 'ns/p2']);
    e.deletionObserved('ns/rs', 'ns/p1');
    e.deletionObserved('ns/rs', 'ns/p1');
    e.deletionObserved('ns/rs', 'ns/other');
    expect(e.satisfied('ns/rs')).toBe(false);
    now = EXPECTATIONS_TTL_MS + 1;
    expect(e.satisfied('ns/rs')).toBe(true);
  });
});

describe('rolling update arithmetic', () => {
  it('scales percentages like upstream (surge up, unavailable down, never both 0)', () => {
    expect(scaledValue('25%', 3, true)).toBe(1);
    expect(scaledValue('25%', 3, false)).toBe(0);
    expect(scaledValue('50%', 5, false)).toBe(2);
    expect(scaledValue(2, 10, true)).toBe(2);
    expect(resolveFenceposts('25%', '25%', 3)).toEqual({ surge: 1, unavailable: 0 });
    expect(resolveFenceposts(0, '10%', 3)).toEqual({ surge: 0, unavailable: 1 });
    expect(resolveFenceposts('30%', '30%', 10)).toEqual({ surge: 3, unavailable: 3 });
  });

  const dep = (replicas: number, surge: number | string, unavailable: number | string, extra: Partial<Deployment['spec']> = {}): Deployment => ({
    metadata: { name: 'd', generation: 1 },
    spec: { replicas, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } }, ...extra },
    status: {},
  });
  const rs = (name: string, replicas: number, available = replicas, annotations: Record<string, string> = {}): ReplicaSet => ({
    metadata: { name, uid: name, annotations, creationTimestamp: ago(name.length) },
    spec: { replicas },
    status: { replicas, availableReplicas: available, readyReplicas: available },
  });

  it('bounds the new ReplicaSet by maxSurge; caps maxUnavailable at replicas; Recreate has none', () => {
    const d = dep(10, '20%', 5);
    expect(maxSurge(d)).toBe(2);
    expect(maxUnavailable(d)).toBe(5);
    expect(maxUnavailable(dep(2, 0, 5))).toBe(2);
    const newRS = rs('new', 0);
    expect(newRSNewReplicas(d, [rs('old', 10), newRS], newRS)).toBe(2);
    expect(newRSNewReplicas(d, [rs('old', 6), rs('new', 4)], rs('new', 4))).toBe(6);
    expect(newRSNewReplicas(d, [rs('old', 9), rs('new', 3)], rs('new', 3))).toBe(3);
    const recreate: Deployment = { ...d, spec: { ...d.spec, strategy: { type: 'Recreate' } } };
    expect(maxSurge(recreate)).toBe(0);
    expect(newRSNewReplicas(recreate, [rs('old', 10), newRS], newRS)).toBe(10);
  });

  it('hands out proportional scaling by max-replicas, rounding halves away from zero', () => {
    const d = dep(20, 0, 1);
    // Was 10 (max 10), now 20: a ReplicaSet of 5 gets 5 more, clipped to what is left.
    expect(proportion(rs('a', 5, 5, { 'deployment.kubernetes.io/max-replicas': '10' }), d, 10, 0)).toBe(5);
    expect(proportion(rs('a', 5, 5, { 'deployment.kubernetes.io/max-replicas': '10' }), d, 10, 8)).toBe(2);
    const down = dep(3, 0, 1);
    // 5 of 10 → 1.5 → 2: a change of -3.
    expect(proportion(rs('b', 5, 5, { 'deployment.kubernetes.io/max-replicas': '10' }), down, -7, 0)).toBe(-3);
    expect(proportion(rs('c', 0), d, 10, 0)).toBe(0);
  });

  it('computes status and the Available condition; keeps transition times while the status holds', () => {
    const d = dep(3, 1, 0);
    const now = new Date(NOW);
    const st = calculateStatus([rs('old', 1, 1), rs('new', 3, 2)], rs('new', 3, 2), d, now);
    expect(st).toMatchObject({ observedGeneration: 1, replicas: 4, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 1 });
    expect(st.conditions).toEqual([{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: '2025-01-01T12:00:00Z', lastTransitionTime: '2025-01-01T12:00:00Z' }]);
    const low = calculateStatus([rs('new', 3, 1)], rs('new', 3, 1), d, now);
    expect(low.conditions?.[0]).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' });
    const s2 = { conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', lastTransitionTime: 'T0', lastUpdateTime: 'T0' }] };
    setCondition(s2, { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', lastTransitionTime: 'T1', lastUpdateTime: 'T1' });
    expect(s2.conditions[0]).toMatchObject({ reason: 'ReplicaSetUpdated', lastTransitionTime: 'T0', lastUpdateTime: 'T1' });
  });

  it('times out a rollout whose Progressing condition is older than the deadline', () => {
    const d = dep(1, 1, 0, { progressDeadlineSeconds: 10 });
    const st = (reason: string, age: number) => ({ conditions: [{ type: 'Progressing', status: 'True', reason, lastUpdateTime: ago(age) }] });
    expect(deploymentTimedOut(d, st('ReplicaSetUpdated', 5), NOW)).toBe(false);
    expect(deploymentTimedOut(d, st('ReplicaSetUpdated', 11), NOW)).toBe(true);
    expect(deploymentTimedOut(d, st('NewReplicaSetAvailable', 1000), NOW)).toBe(false);
    expect(deploymentTimedOut({ ...d, spec: { ...d.spec, progressDeadlineSeconds: 2147483647 } }, st('ReplicaSetUpdated', 1000), NOW)).toBe(false);
  });
});

describe('pod-template-hash and revisions', () => {
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] } };

  it('is stable, safe-encoded, and changes with the template and the collision count', () => {
    const h = computeHash(template);
    expect(h).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(computeHash(structuredClone(template))).toBe(h);
    // Key order does not matter.
    expect(computeHash({ spec: template.spec, metadata: template.metadata })).toBe(h);
    expect(computeHash({ ...template, spec: { containers: [{ name: 'nginx', image: 'nginx:1.26' }] } })).not.toBe(h);
    const restarted = structuredClone(template) as typeof template & { metadata: { annotations?: Record<string, string> } };
    restarted.metadata.annotations = { 'kubectl.kubernetes.io/restartedAt': '2025-01-01T00:00:00Z' };
    expect(computeHash(restarted)).not.toBe(h);
    expect(computeHash(template, 1)).not.toBe(h);
    expect(computeHash(template, 1)).not.toBe(computeHash(template, 2));
    expect(safeEncode('0123456789')).toBe('456789bcdf');
  });

  it('compares templates ignoring the hash label; the oldest equal ReplicaSet is the new one', () => {
    const withHash = { ...template, metadata: { labels: { app: 'web', 'pod-template-hash': 'abc' } } };
    expect(equalIgnoreHash(template, withHash)).toBe(true);
    expect(equalIgnoreHash(template, { ...withHash, spec: {} })).toBe(false);
    const d: Deployment = { metadata: { name: 'web' }, spec: { template } };
    const a: ReplicaSet = { metadata: { name: 'web-b', creationTimestamp: ago(5) }, spec: { template: withHash } };
    const b: ReplicaSet = { metadata: { name: 'web-a', creationTimestamp: ago(10) }, spec: { template: withHash } };
    expect(findNewReplicaSet(d, [a, b])?.metadata?.name).toBe('web-a');
  });

  it('raises a returning ReplicaSet to the new revision and keeps the old one in revision-history', () => {
    const d: Deployment = { metadata: { name: 'web', annotations: { 'kubernetes.io/change-cause': 'undo', 'deployment.kubernetes.io/revision': '2' } }, spec: { replicas: 3 } };
    const rs: ReplicaSet = { metadata: { name: 'web-1', annotations: { 'deployment.kubernetes.io/revision': '1' } } };
    expect(setNewReplicaSetAnnotations(d, rs, 3, true, 1)).toBe(true);
    expect(rs.metadata?.annotations).toEqual({ 'deployment.kubernetes.io/revision': '3', 'deployment.kubernetes.io/revision-history': '1', 'kubernetes.io/change-cause': 'undo' });
    expect(setNewReplicaSetAnnotations(d, rs, 3, true, 1)).toBe(false);
    const fresh: ReplicaSet = { metadata: { name: 'web-2' } };
    setNewReplicaSetAnnotations(d, fresh, 1, false, 1);
    expect(fresh.metadata?.annotations).toMatchObject({ 'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4' });
    const revs = [{ metadata: { name: 'x', annotations: { 'deployment.kubernetes.io/revision': '10' } } }, { metadata: { name: 'y', annotations: { 'deployment.kubernetes.io/revision': '9' } } }];
    expect(revs.sort(byRevision).map((r) => r.metadata.name)).toEqual(['y', 'x']);
  });
});

describe('ReplicaSet status', () => {
  it('counts fully labeled, ready and available pods, and reports a failed create', () => {
    const rs: ReplicaSet = { metadata: { name: 'rs', generation: 2 }, spec: { replicas: 4, minReadySeconds: 10, template: { metadata: { labels: { app: 'a', tier: 'x' } } } }, status: { replicas: 0 } };
    const p1 = pod('p1', { node: 'n', readySince: 60 });
    p1.metadata!.labels = { app: 'a', tier: 'x' };
    const p2 = pod('p2', { node: 'n', readySince: 1 });
    const st = rsStatus(rs, [p1, p2, pod('p3')], new Error('pods "rs-x" is forbidden: exceeded quota'), new Date(NOW));
    expect(st).toMatchObject({ replicas: 3, fullyLabeledReplicas: 1, readyReplicas: 2, availableReplicas: 1 });
    expect(st.conditions).toEqual([{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "rs-x" is forbidden: exceeded quota', lastTransitionTime: '2025-01-01T12:00:00Z' }]);
    const cleared = rsStatus({ ...rs, status: st }, [p1], undefined, new Date(NOW));
    expect(cleared.conditions).toEqual([]);
  });
});

describe('own writes', () => {
  it('reports a cache older than the last write, also when the write answered with the version sent', () => {
    const w = new OwnWrites();
    const obj = (rv: string) => ({ metadata: { uid: 'u', resourceVersion: rv } });
    w.wrote(obj('10'));
    expect(w.stale(obj('9'))).toBe(true);
    expect(w.stale(obj('10'))).toBe(false);
    w.wrote(obj('20'), '20');
    expect(w.stale(obj('20'))).toBe(true);
    expect(w.stale(obj('21'))).toBe(false);
    expect(w.stale(obj('5'))).toBe(false);
    // A write that changed nothing: the cache at that version with the written content is current.
    w.wrote(obj('30'), '30', 'A');
    expect(w.stale(obj('30'), 'B')).toBe(true);
    expect(w.stale(obj('30'), 'A')).toBe(false);
  });

  it('drops a mark after 30 s whatever the cache shows', () => {
    let now = 0;
    const w = new OwnWrites(() => now);
    w.wrote({ metadata: { uid: 'u', resourceVersion: '10' } });
    expect(w.stale({ metadata: { uid: 'u', resourceVersion: '9' } })).toBe(true);
    now = 30_001;
    expect(w.stale({ metadata: { uid: 'u', resourceVersion: '9' } })).toBe(false);
  });
});
