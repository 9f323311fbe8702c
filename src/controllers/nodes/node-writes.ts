// The node lifecycle controller's writes: a node's taints swapped under optimistic concurrency
// (upstream's SwapNodeControllerTaint: added taints get timeAdded), and the pods of an
// unreachable node marked not Ready (upstream's MarkPodsNotReady, with a NodeNotReady Event).
import { isConflict, isNotFound, type KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { EventRecorder } from '../framework/events.ts';
import { swapTaints } from './taints.ts';
import { rfc3339, withKind, type Node, type Pod, type Taint } from './types.ts';
import { cloneJson } from '../../api/object.ts';

/** Adds and removes node taints; false when it could not (logged by the caller). */
export async function swapNodeTaints(client: KubeClient, node: Node, add: Taint[], remove: Taint[], nowMs: number): Promise<boolean> {
  const name = node.metadata?.name ?? '';
  let cur = node;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (attempt > 0) {
      try {
        cur = await client.get<Node>(Resources.nodes, undefined, name);
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    }
    const next = swapTaints(cur.spec?.taints ?? [], add, remove, rfc3339(nowMs));
    if (!next) return true;
    try {
      await client.patch(Resources.nodes, undefined, name, 'merge', { metadata: { resourceVersion: cur.metadata?.resourceVersion }, spec: { taints: next.length > 0 ? next : null } });
      return true;
    } catch (err) {
      if (isConflict(err)) continue;
      if (isNotFound(err)) return false;
      throw err;
    }
  }
  return false;
}

/**
 * Sets the Ready condition of each pod of `nodeName` that has one to False (its
 * lastTransitionTime to now) and records NodeNotReady on it. Throws the first failure (other
 * than a pod that is gone) after trying them all.
 */
export async function markPodsNotReady(client: KubeClient, recorder: EventRecorder, pods: Pod[], nodeName: string, nowMs: number): Promise<void> {
  let firstErr: unknown;
  for (const pod of pods) {
    if (pod.spec?.nodeName !== nodeName) continue;
    const conds = pod.status?.conditions ?? [];
    const i = conds.findIndex((c) => c.type === 'Ready');
    if (i < 0 || conds[i].status === 'False') continue;
    const copy = cloneJson(pod);
    copy.status!.conditions![i] = { ...conds[i], status: 'False', lastTransitionTime: rfc3339(nowMs) };
    try {
      await client.updateStatus(Resources.pods, pod.metadata?.namespace, copy);
    } catch (err) {
      if (!isNotFound(err)) firstErr ??= err;
      continue;
    }
    recorder.event(withKind(pod, 'v1', 'Pod'), 'Warning', 'NodeNotReady', 'Node is not ready');
  }
  if (firstErr) throw firstErr;
}
