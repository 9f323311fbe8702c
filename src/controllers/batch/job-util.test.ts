// Pure pieces of the Job controller: the completed-indexes text form, pod failure policy matching,
// the pod-failure backoff, and the pods a Job creates.
import { describe, expect, it } from 'vitest';
import { firstPendingIndexes, formatIndexes, parseIndexes, withIndexes } from './indexes.ts';
import { adoptPatch, claimAction, claimPods, releasePatch } from './job-claim.ts';
import { podForJob, podGenerateName } from './job-pods.ts';
import { nextBackoffRecord, remainingBackoffMs } from './job-util.ts';
import { matchPodFailurePolicy } from './pod-failure-policy.ts';
import type { Job, Pod } from './types.ts';

describe('completion indexes', () => {
  it('formats runs of three or more as first-last, pairs as two numbers', () => {
    expect(formatIndexes(withIndexes([], [1, 3, 4, 5, 7]))).toBe('1,3-5,7');
    expect(formatIndexes(withIndexes([], [0, 1]))).toBe('0,1');
    expect(formatIndexes(withIndexes(parseIndexes('0,2-4', 10), [1, 9]))).toBe('0-4,9');
  });

  it('parses, dropping indexes at or above completions', () => {
    expect(formatIndexes(parseIndexes('1,3-5,7', 5))).toBe('1,3,4');
    expect(parseIndexes('', 5)).toEqual([]);
  });

  it('picks the lowest free indexes', () => {
    expect(firstPendingIndexes(parseIndexes('0,2-3', 10), 3, 10)).toEqual([1, 4, 5]);
    expect(firstPendingIndexes(parseIndexes('0-2', 3), 2, 3)).toEqual([]);
  });
});

const failedPod = (exitCode: number, conditions: Array<{ type: string; status: 'True' | 'False' }> = []): Pod => ({
  metadata: { name: 'p', namespace: 'ns' },
  status: { phase: 'Failed', conditions, containerStatuses: [{ name: 'main', state: { terminated: { exitCode } } }] },
});

describe('pod failure policy', () => {
  const rules = [
    { action: 'Ignore' as const, onPodConditions: [{ type: 'DisruptionTarget' }] },
    { action: 'FailJob' as const, onExitCodes: { operator: 'In' as const, values: [42] } },
    { action: 'Count' as const, onExitCodes: { operator: 'NotIn' as const, values: [1] } },
  ];

  it('FailJob on an exit code, with upstream wording', () => {
    expect(matchPodFailurePolicy(rules, failedPod(42))).toEqual({ failJobMessage: 'Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1', countFailed: true, action: 'FailJob' });
  });

  it('Ignore on a pod condition does not count the failure', () => {
    expect(matchPodFailurePolicy(rules, failedPod(42, [{ type: 'DisruptionTarget', status: 'True' }]))).toEqual({ countFailed: false, action: 'Ignore' });
  });

  it('NotIn matches other non-zero codes; nothing matching counts as usual', () => {
    expect(matchPodFailurePolicy(rules, failedPod(3)).action).toBe('Count');
    expect(matchPodFailurePolicy(rules, failedPod(1))).toEqual({ countFailed: true });
  });
});

describe('pod failure backoff', () => {
  const failedAt = (iso: string): Pod => ({ metadata: { name: 'x' }, status: { phase: 'Failed', containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 1, finishedAt: iso } } }] } });

  it('waits 10 s after one failure, doubling per further failure', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const r1 = nextBackoffRecord(undefined, [], [failedAt('2026-01-01T00:00:00Z')]);
    expect(remainingBackoffMs(r1.failuresAfterLastSuccess, r1.lastFailureTime, t0 + 4000)).toBe(6000);
    const r2 = nextBackoffRecord(r1, [], [failedAt('2026-01-01T00:00:20Z')]);
    expect(remainingBackoffMs(r2.failuresAfterLastSuccess, r2.lastFailureTime, t0 + 20_000)).toBe(20_000);
    expect(remainingBackoffMs(12, t0, t0)).toBe(600_000);
    expect(nextBackoffRecord(r2, [failedAt('2026-01-01T00:00:30Z')], []).failuresAfterLastSuccess).toBe(0);
  });
});

describe('pods of a Job', () => {
  const job: Job = {
    metadata: { name: 'work', namespace: 'ns', uid: 'u1' },
    spec: { completionMode: 'Indexed', completions: 3, template: { metadata: { labels: { 'job-name': 'work' } }, spec: { containers: [{ name: 'c' }] } } },
  };

  it('carries the template, the tracking finalizer, the controller reference and, when Indexed, the index', () => {
    const p = podForJob(job, 2);
    expect(p.metadata).toMatchObject({
      generateName: 'work-2-',
      labels: { 'job-name': 'work', 'batch.kubernetes.io/job-completion-index': '2' },
      annotations: { 'batch.kubernetes.io/job-completion-index': '2' },
      finalizers: ['batch.kubernetes.io/job-tracking'],
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'work', uid: 'u1', controller: true, blockOwnerDeletion: true }],
    });
    expect(p.spec?.hostname).toBe('work-2');
    expect(p.spec?.containers?.[0]?.env).toEqual([{ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']" } } }]);
    expect(job.spec.template.spec?.containers?.[0]?.env).toBeUndefined();
    expect(podGenerateName('x'.repeat(60), 12)).toBe(`${'x'.repeat(54)}-12-`);
  });
});

describe('claiming pods (adoption and release)', () => {
  const job: Job = { metadata: { name: 'j', namespace: 'ns', uid: 'job-uid' }, spec: { selector: { matchLabels: { app: 'a' } }, template: {} } };
  const ref = (uid: string) => [{ apiVersion: 'batch/v1', kind: 'Job', name: 'x', uid, controller: true }];
  const pod = (labels: Record<string, string>, extra: Partial<Pod['metadata']> = {}): Pod => ({ metadata: { name: 'p', namespace: 'ns', uid: 'pod-uid', labels, ...extra } });
  const deleting = { ...job, metadata: { ...job.metadata, deletionTimestamp: '2025-01-01T00:00:00Z' } };

  it('adopts matching orphans only while the Job is not being deleted', () => {
    expect(claimAction(job, pod({ app: 'a' }))).toBe('adopt');
    expect(claimAction(deleting, pod({ app: 'a' }))).toBe('ignore');
    expect(claimAction(job, pod({ app: 'b' }))).toBe('ignore');
    expect(claimAction(job, pod({ app: 'a' }, { deletionTimestamp: '2025-01-01T00:00:00Z' }))).toBe('ignore');
    expect(claimAction(job, pod({ app: 'a' }, { namespace: 'other' }))).toBe('ignore');
  });

  it('keeps its matching pods, releases the others unless being deleted, ignores pods of other controllers', () => {
    expect(claimAction(job, pod({ app: 'a' }, { ownerReferences: ref('job-uid') }))).toBe('keep');
    expect(claimAction(job, pod({ app: 'b' }, { ownerReferences: ref('job-uid') }))).toBe('release');
    expect(claimAction(deleting, pod({ app: 'b' }, { ownerReferences: ref('job-uid') }))).toBe('ignore');
    expect(claimAction(job, pod({ app: 'a' }, { ownerReferences: ref('other') }))).toBe('ignore');
  });

  it('adopts with the tracking finalizer and releases without it, by uid', async () => {
    const patches: object[] = [];
    const deps = { patchPod: async (p: Pod, patch: object) => (patches.push(patch), { ...p, metadata: { ...p.metadata, ownerReferences: ref('job-uid') } }), canAdopt: async () => undefined };
    const claimed = await claimPods(job, [pod({ app: 'a' }), pod({ app: 'b' }, { ownerReferences: ref('job-uid') })], deps);
    expect(claimed).toHaveLength(1);
    expect(claimed[0]?.metadata.finalizers).toEqual(['batch.kubernetes.io/job-tracking']);
    expect(patches).toEqual([adoptPatch(job, pod({ app: 'a' })), releasePatch(job, pod({ app: 'b' }))]);
    expect(adoptPatch(job, pod({}))).toMatchObject({ metadata: { uid: 'pod-uid', finalizers: ['batch.kubernetes.io/job-tracking'], ownerReferences: [{ uid: 'job-uid', controller: true, blockOwnerDeletion: true }] } });
    expect(releasePatch(job, pod({}))).toEqual({ metadata: { uid: 'pod-uid', ownerReferences: [{ $patch: 'delete', uid: 'job-uid' }], '$deleteFromPrimitiveList/finalizers': ['batch.kubernetes.io/job-tracking'] } });
  });

  it('refuses to adopt when the fresh Job is gone', async () => {
    const deps = { patchPod: async (p: Pod) => p, canAdopt: async () => Promise.reject(new Error('original Job ns/j is gone')) };
    await expect(claimPods(job, [pod({ app: 'a' })], deps)).rejects.toThrow("can't adopt Pod ns/p (pod-uid): original Job ns/j is gone");
  });
});
