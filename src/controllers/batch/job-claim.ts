// Which pods a Job claims (upstream's PodControllerRefManager with the Job's tracking finalizer):
// an orphan its selector matches (not being deleted, in its namespace) is adopted while the Job
// is not being deleted — a controller ownerReference and `batch.kubernetes.io/job-tracking` are
// added; a pod it controls that no longer matches is released — the reference and the finalizer
// are removed — unless the Job is being deleted. Pods controlled by others are left alone. Both
// patches carry the pod's uid, so a recreated namesake is never touched.
import { fromLabelSelectorObject, matchesLabels } from '../../api/selectors.ts';
import { StatusError } from '../../api/status.ts';
import { jobControllerRef } from './job-pods.ts';
import { controllerRefOf, hasTrackingFinalizer } from './job-util.ts';
import { JOB_TRACKING_FINALIZER, type Job, type Pod } from './types.ts';

export type ClaimAction = 'keep' | 'adopt' | 'release' | 'ignore';

/** What a Job does with one pod of its namespace (pure). */
export function claimAction(job: Job, pod: Pod): ClaimAction {
  const sel = fromLabelSelectorObject(job.spec.selector);
  const matches = !!sel && sel.length > 0 && matchesLabels(sel, pod.metadata.labels);
  const jobDeleting = !!job.metadata.deletionTimestamp;
  const ref = controllerRefOf(pod);
  if (ref) {
    if (ref.uid !== job.metadata.uid) return 'ignore';
    if (matches) return 'keep';
    return jobDeleting ? 'ignore' : 'release';
  }
  if (jobDeleting || !matches || pod.metadata.deletionTimestamp) return 'ignore';
  if (pod.metadata.namespace !== job.metadata.namespace) return 'ignore';
  return 'adopt';
}

export const adoptPatch = (job: Job, pod: Pod) => ({ metadata: { uid: pod.metadata.uid, ownerReferences: [jobControllerRef(job)], finalizers: [JOB_TRACKING_FINALIZER] } });

export const releasePatch = (job: Job, pod: Pod) => ({
  metadata: { uid: pod.metadata.uid, ownerReferences: [{ $patch: 'delete', uid: job.metadata.uid }], '$deleteFromPrimitiveList/finalizers': [JOB_TRACKING_FINALIZER] },
});

export interface ClaimDeps {
  /** A strategic-merge patch of the pod; returns the patched pod. */
  patchPod(pod: Pod, patch: object): Promise<Pod>;
  /** Checked once before the first adoption (upstream RecheckDeletionTimestamp): throws to refuse. */
  canAdopt(): Promise<void>;
}

const notFound = (err: unknown) => err instanceof StatusError && err.code === 404;

/**
 * Claims the Job's pods from `candidates` (its namespace's pods in the cache). Returns the claimed
 * pods (adopted ones carry the tracking finalizer) and throws, after trying all, when a patch failed.
 */
export async function claimPods(job: Job, candidates: Pod[], deps: ClaimDeps): Promise<Pod[]> {
  const claimed: Pod[] = [];
  const errors: unknown[] = [];
  let adoptable: Promise<void> | undefined;
  for (const pod of candidates) {
    const action = claimAction(job, pod);
    if (action === 'keep') claimed.push(pod);
    if (action !== 'adopt' && action !== 'release') continue;
    try {
      if (action === 'release') {
        await deps.patchPod(pod, releasePatch(job, pod));
        continue;
      }
      adoptable ??= deps.canAdopt();
      await adoptable.catch((err: unknown) => {
        throw new Error(`can't adopt Pod ${pod.metadata.namespace}/${pod.metadata.name} (${pod.metadata.uid}): ${(err as Error).message}`, { cause: err });
      });
      const adopted = await deps.patchPod(pod, adoptPatch(job, pod));
      claimed.push(hasTrackingFinalizer(adopted) ? adopted : { ...adopted, metadata: { ...adopted.metadata, finalizers: [...(adopted.metadata.finalizers ?? []), JOB_TRACKING_FINALIZER] } });
    } catch (err) {
      if (!notFound(err)) errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => (e as Error).message).join(', '));
  return claimed;
}
