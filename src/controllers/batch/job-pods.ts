// The pods a Job creates from its template (upstream GetPodFromTemplate plus the Job's
// additions), and the controller's expectations of pod creations, deletions and finalizer
// removals not yet seen through the informer.
import type { OwnerReference } from '../../api/object.ts';
import { clone } from './job-util.ts';
import { COMPLETION_INDEX, INDEX_FAILURE_COUNT, INDEX_IGNORED_FAILURE_COUNT, JOB_TRACKING_FINALIZER, type Container, type Job, type Pod } from './types.ts';

/** Generated names are at most 63 characters: a prefix of up to 58 and 5 random ones. */
const MAX_GENERATED_NAME_PREFIX = 58;

export function jobControllerRef(job: Job): OwnerReference {
  return { apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name ?? '', uid: job.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

export function podGenerateName(jobName: string, index?: number): string {
  if (index === undefined) return `${jobName}-`;
  const suffix = `-${index}-`;
  const prefix = jobName + suffix;
  return prefix.length > MAX_GENERATED_NAME_PREFIX ? prefix.slice(0, MAX_GENERATED_NAME_PREFIX - suffix.length) + suffix : prefix;
}

function addIndexEnv(c: Container): void {
  const env = (c.env ??= []);
  if (env.some((e) => e.name === 'JOB_COMPLETION_INDEX')) return;
  env.push({ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: `metadata.labels['${COMPLETION_INDEX}']` } } });
}

export interface IndexFailureCounts {
  failed: number;
  ignored: number;
}

/** The pod to create for `job` (and completion `index` of an Indexed Job). */
export function podForJob(job: Job, index?: number, failureCounts?: IndexFailureCounts): Pod {
  const t = job.spec.template ?? {};
  const tm = t.metadata ?? {};
  const spec = clone(t.spec ?? {});
  const labels: Record<string, string> = { ...(tm.labels ?? {}) };
  const annotations: Record<string, string> = { ...(tm.annotations ?? {}) };
  const finalizers = [...(tm.finalizers ?? [])];
  if (!finalizers.includes(JOB_TRACKING_FINALIZER)) finalizers.push(JOB_TRACKING_FINALIZER);
  if (index !== undefined) {
    for (const c of spec.initContainers ?? []) addIndexEnv(c);
    for (const c of spec.containers ?? []) addIndexEnv(c);
    annotations[COMPLETION_INDEX] = String(index);
    labels[COMPLETION_INDEX] = String(index);
    spec.hostname = `${job.metadata.name}-${index}`;
    if (failureCounts) {
      annotations[INDEX_FAILURE_COUNT] = String(failureCounts.failed);
      if (failureCounts.ignored > 0) annotations[INDEX_IGNORED_FAILURE_COUNT] = String(failureCounts.ignored);
    }
  }
  const metadata: Pod['metadata'] = { generateName: podGenerateName(job.metadata.name ?? '', index), namespace: job.metadata.namespace, labels, finalizers, ownerReferences: [jobControllerRef(job)] };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

const EXPECTATION_TTL_MS = 5 * 60_000;

/** Pod creations and deletions a Job's sync expects to see (upstream ControllerExpectations). */
export class Expectations {
  private readonly byKey = new Map<string, { add: number; del: number; at: number }>();

  expect(key: string, add: number, del: number): void {
    const e = this.byKey.get(key);
    if (e) {
      e.add = Math.max(0, e.add) + add;
      e.del = Math.max(0, e.del) + del;
      e.at = Date.now();
    } else {
      this.byKey.set(key, { add, del, at: Date.now() });
    }
  }

  creationObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.add--;
  }

  deletionObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.del--;
  }

  /** Nothing pending (or the expectations are older than 5 minutes). */
  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    return (e.add <= 0 && e.del <= 0) || Date.now() - e.at > EXPECTATION_TTL_MS;
  }

  delete(key: string): void {
    this.byKey.delete(key);
  }
}

/** Pods (by uid) whose tracking finalizer a Job's sync removed but the informer still shows. */
export class FinalizerExpectations {
  private readonly byKey = new Map<string, Set<string>>();

  expectRemoved(key: string, uids: string[]): void {
    let s = this.byKey.get(key);
    if (!s) this.byKey.set(key, (s = new Set()));
    for (const u of uids) s.add(u);
  }

  observed(key: string, uid: string): void {
    const s = this.byKey.get(key);
    if (!s) return;
    s.delete(uid);
    if (s.size === 0) this.byKey.delete(key);
  }

  expected(key: string): ReadonlySet<string> {
    return this.byKey.get(key) ?? new Set();
  }

  delete(key: string): void {
    this.byKey.delete(key);
  }
}
