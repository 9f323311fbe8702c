// Controller references (upstream's ControllerRefManager): an owner claims the objects that
// match its selector. Orphans that match are adopted (an ownerReference with controller and
// blockOwnerDeletion set); owned objects that stop matching are released; objects controlled by
// someone else are left alone. Adoption and release are strategic-merge patches carrying the
// object's uid, so a recreated namesake is never touched.
import type { KubeObject, OwnerReference } from '../../api/object.ts';
import { StatusError } from '../../api/status.ts';
import type { KubeClient } from '../../client/kube-client.ts';
import type { GVR } from '../../client/resources.ts';

export function controllerOf(obj: KubeObject | undefined): OwnerReference | undefined {
  return obj?.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** The reference a controller puts on what it creates or adopts. */
export function newControllerRef(owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion ?? '', kind: owner.kind ?? '', name: owner.metadata?.name ?? '', uid: owner.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
}

export interface ClaimOptions<T extends KubeObject> {
  client: KubeClient;
  /** The owner (with apiVersion, kind, uid). */
  owner: KubeObject;
  /** The resource of the claimed objects. */
  gvr: GVR;
  /** Whether an object belongs to the owner (its selector). */
  matches(obj: T): boolean;
  /** Checked once before the first adoption: throws when the owner may not adopt (deleted or replaced). */
  canAdopt(): Promise<void>;
}

export interface ClaimResult<T> {
  claimed: T[];
  errors: Error[];
}

const ignorable = (err: unknown) => err instanceof StatusError && (err.code === 404 || err.code === 422);

/** Claims from `objs` (a cache's view) what the owner controls; adopts and releases as needed. */
export async function claim<T extends KubeObject>(objs: T[], o: ClaimOptions<T>): Promise<ClaimResult<T>> {
  const ownerUid = o.owner.metadata?.uid ?? '';
  const ownerDeleting = !!o.owner.metadata?.deletionTimestamp;
  const claimed: T[] = [];
  const errors: Error[] = [];
  let adoptable: Promise<void> | undefined;
  for (const obj of objs) {
    const m = obj.metadata ?? {};
    const ref = controllerOf(obj);
    if (ref) {
      if (ref.uid !== ownerUid) continue;
      if (o.matches(obj)) {
        claimed.push(obj);
        continue;
      }
      if (ownerDeleting) continue;
      try {
        await o.client.patch(o.gvr, m.namespace, m.name ?? '', 'strategic', { metadata: { ownerReferences: [{ $patch: 'delete', uid: ownerUid }], uid: m.uid } });
      } catch (err) {
        // Gone, or no longer ours (recreated): nothing to release.
        if (!ignorable(err)) errors.push(err as Error);
      }
      continue;
    }
    // An orphan.
    if (ownerDeleting || !o.matches(obj) || m.deletionTimestamp) continue;
    if (o.owner.metadata?.namespace && o.owner.metadata.namespace !== m.namespace) continue;
    try {
      adoptable ??= o.canAdopt();
      try {
        await adoptable;
      } catch (err) {
        throw new Error(`can't adopt ${o.gvr.kind ?? o.gvr.resource} ${m.namespace}/${m.name} (${m.uid}): ${(err as Error).message}`, { cause: err });
      }
      const adopted = await o.client.patch<T>(o.gvr, m.namespace, m.name ?? '', 'strategic', { metadata: { ownerReferences: [newControllerRef(o.owner)], uid: m.uid } });
      claimed.push(adopted);
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) errors.push(err as Error);
    }
  }
  return { claimed, errors };
}

/**
 * upstream's RecheckDeletionTimestamp: reads the owner afresh (not from a cache) and refuses when
 * it was replaced by a namesake or is being deleted.
 */
export function recheckOwner(client: KubeClient, gvr: GVR, owner: KubeObject): () => Promise<void> {
  return async () => {
    const m = owner.metadata ?? {};
    const fresh = await client.get(gvr, m.namespace, m.name ?? '');
    const fm = fresh.metadata ?? {};
    if (fm.uid !== m.uid) throw new Error(`original ${m.namespace}/${m.name} is gone: got uid ${fm.uid}, wanted ${m.uid}`);
    if (fm.deletionTimestamp) throw new Error(`${m.namespace}/${m.name} has just been deleted at ${fm.deletionTimestamp}`);
  };
}
