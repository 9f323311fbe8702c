// Claiming dependents as upstream's ControllerRefManager does: objects controlled by the owner
// that still match its selector are its own; those that no longer match are released (the owner
// reference removed); orphans that match are adopted (a controller reference added), after one
// fresh read of the owner confirms it still exists with the same uid and is not being deleted.
import type { KubeObject } from '../../api/object.ts';
import type { KubeClient } from '../../client/kube-client.ts';
import type { GVR } from '../../client/resources.ts';
import { Resources } from '../../client/resources.ts';
import { controllerRefOf, isNotFound, isTerminating, newControllerRef } from './util.ts';

export interface ClaimOptions {
  client: KubeClient;
  /** The dependents' resource. */
  gvr: GVR;
  owner: KubeObject;
  /** StatefulSet or DaemonSet. */
  ownerKind: 'StatefulSet' | 'DaemonSet';
  /** Whether the owner selects the object (its selector, and for a StatefulSet the pod's name). */
  match: (obj: KubeObject) => boolean;
}

function ownerGVR(kind: ClaimOptions['ownerKind']): GVR {
  return kind === 'StatefulSet' ? Resources.statefulsets : Resources.daemonsets;
}

/** The candidates the owner controls after adopting and releasing; never mutates them. */
export async function claimObjects<T extends KubeObject>(opts: ClaimOptions, candidates: T[]): Promise<T[]> {
  const { owner, client, gvr } = opts;
  const ownerUid = owner.metadata?.uid;
  const ns = owner.metadata?.namespace;
  const claimed: T[] = [];
  let adoptable: boolean | undefined;
  const canAdopt = async (): Promise<boolean> => {
    if (adoptable !== undefined) return adoptable;
    try {
      const fresh = await client.get(ownerGVR(opts.ownerKind), ns, owner.metadata!.name!);
      adoptable = fresh.metadata?.uid === ownerUid && !isTerminating(fresh);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      adoptable = false;
    }
    return adoptable;
  };
  for (const obj of candidates) {
    const ref = controllerRefOf(obj);
    if (ref) {
      if (ref.uid !== ownerUid) continue;
      if (opts.match(obj)) {
        claimed.push(obj);
        continue;
      }
      if (isTerminating(owner)) continue;
      try {
        await client.patch(gvr, ns, obj.metadata!.name!, 'strategic', { metadata: { ownerReferences: [{ $patch: 'delete', uid: ownerUid }], uid: obj.metadata?.uid } });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      continue;
    }
    if (isTerminating(owner) || !opts.match(obj) || isTerminating(obj)) continue;
    if (!(await canAdopt())) continue;
    try {
      const adopted = await client.patch<T>(gvr, ns, obj.metadata!.name!, 'strategic', {
        metadata: { ownerReferences: [newControllerRef(owner, opts.ownerKind)], uid: obj.metadata?.uid },
      });
      claimed.push(adopted);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return claimed;
}
