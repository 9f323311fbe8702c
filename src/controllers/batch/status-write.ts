// Status writes (PUT …/status, conditioned on the object's resourceVersion) that hand back the
// object as stored. Should the answer carry the resourceVersion that was sent although the status
// changed, the object is read back, so that a following write in the same sync is not refused as
// a conflict.
import type { KubeObject } from '../../api/object.ts';
import type { KubeClient } from '../../client/kube-client.ts';
import type { GVR } from '../../client/resources.ts';

export async function writeStatus<T extends KubeObject>(client: KubeClient, gvr: GVR, obj: T): Promise<T> {
  const ns = obj.metadata?.namespace;
  const sent = obj.metadata?.resourceVersion;
  const written = await client.updateStatus<T>(gvr, ns, obj);
  if (sent === undefined || written.metadata?.resourceVersion !== sent) return written;
  const fresh = await client.get<T>(gvr, ns, obj.metadata?.name ?? '');
  return fresh.metadata?.uid === written.metadata?.uid ? fresh : written;
}
