// Small write helpers the core controllers share: conditional metadata patches (finalizers,
// ownerReferences) that re-read, change and write with the resourceVersion as precondition.
import type { KubeObject, OwnerReference } from '../../api/object.ts';
import { StatusError } from '../../api/status.ts';
import { isConflict, isNotFound, type KubeClient } from '../../client/kube-client.ts';
import type { GVR } from '../../client/resources.ts';

const MAX_CONFLICT_RETRIES = 10;

/**
 * Reads the object, lets `change` compute new metadata fields (undefined: nothing to do), and
 * writes them with a JSON merge patch conditioned on resourceVersion (and uid when given),
 * retrying on conflicts. A missing object (or another uid) is nothing to do.
 */
export async function patchMetadata(
  client: KubeClient,
  gvr: GVR,
  namespace: string,
  name: string,
  uid: string | undefined,
  change: (obj: KubeObject) => Record<string, unknown> | undefined,
): Promise<void> {
  for (let i = 0; ; i++) {
    let cur: KubeObject;
    try {
      cur = await client.get(gvr, namespace || undefined, name);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (uid && cur.metadata?.uid !== uid) return;
    const fields = change(cur);
    if (!fields) return;
    const metadata = { ...fields, resourceVersion: cur.metadata?.resourceVersion, uid: cur.metadata?.uid };
    try {
      await client.patch(gvr, namespace || undefined, name, 'merge', { metadata });
      return;
    } catch (err) {
      if (isNotFound(err)) return;
      if (!isConflict(err) || i >= MAX_CONFLICT_RETRIES) throw err;
    }
  }
}

/** Removes one finalizer from metadata.finalizers. */
export function removeFinalizer(client: KubeClient, gvr: GVR, namespace: string, name: string, uid: string | undefined, finalizer: string): Promise<void> {
  return patchMetadata(client, gvr, namespace, name, uid, (obj) => {
    const fs = obj.metadata?.finalizers ?? [];
    if (!fs.includes(finalizer)) return undefined;
    const rest = fs.filter((f) => f !== finalizer);
    return { finalizers: rest.length > 0 ? rest : null };
  });
}

/** Removes the ownerReferences to the given owner uids. */
export function removeOwnerReferences(client: KubeClient, gvr: GVR, namespace: string, name: string, uid: string | undefined, ownerUids: Set<string>): Promise<void> {
  return patchMetadata(client, gvr, namespace, name, uid, (obj) => {
    const refs = obj.metadata?.ownerReferences ?? [];
    const rest = refs.filter((r) => !ownerUids.has(r.uid));
    if (rest.length === refs.length) return undefined;
    return { ownerReferences: rest.length > 0 ? rest : null };
  });
}

/** Sets blockOwnerDeletion false on every ownerReference that blocks. */
export function unblockOwnerReferences(client: KubeClient, gvr: GVR, namespace: string, name: string, uid: string | undefined): Promise<void> {
  return patchMetadata(client, gvr, namespace, name, uid, (obj) => {
    const refs = obj.metadata?.ownerReferences ?? [];
    if (!refs.some((r) => r.blockOwnerDeletion)) return undefined;
    return { ownerReferences: refs.map((r): OwnerReference => (r.blockOwnerDeletion ? { ...r, blockOwnerDeletion: false } : r)) };
  });
}

/** The create was refused because the namespace is going away (NamespaceTerminating cause). */
export function isNamespaceTerminating(err: unknown): boolean {
  return err instanceof StatusError && err.code === 403 && (err.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}

export function hasFinalizer(obj: KubeObject, f: string): boolean {
  return (obj.metadata?.finalizers ?? []).includes(f);
}
