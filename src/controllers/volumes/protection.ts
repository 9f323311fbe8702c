// The two storage-object-in-use protection controllers, as upstream's:
// - pvc-protection: a claim being deleted keeps its `kubernetes.io/pvc-protection` finalizer while
//   a pod on a node uses it (a persistentVolumeClaim volume naming it, in any phase; or a generic
//   ephemeral volume it was made for, while that pod is not shut down); then the finalizer goes.
//   A claim without the finalizer (made before admission added it) gets it.
// - pv-protection: a volume being deleted keeps `kubernetes.io/pv-protection` while it is Bound.
// Pods count from the informer first, then from a live list of the namespace (a pod created a
// moment ago may not be in the cache).
import type { KubeObject } from '../../api/object.ts';
import { isNotFound, type KubeClient } from '../../client/kube-client.ts';
import { Resources, type GVR } from '../../client/resources.ts';
import { PV_PROTECTION, PVC_PROTECTION } from '../../api/storage-class.ts';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.ts';
import { deletedObject, type Informer } from '../framework/informer.ts';
import { keyOf, splitKey } from '../framework/store.ts';
import { runWorkers, WorkQueue } from '../framework/workqueue.ts';
import type { Logger } from '../framework/log.ts';
import { patchMetadata } from '../core/util.ts';

interface PodVolume {
  name: string;
  persistentVolumeClaim?: { claimName?: string };
  ephemeral?: unknown;
}
export interface Pod extends KubeObject {
  spec?: { nodeName?: string; volumes?: PodVolume[]; initContainers?: unknown[]; containers?: unknown[] };
  status?: { phase?: string; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[]; ephemeralContainerStatuses?: ContainerStatus[] };
}
interface ContainerStatus {
  state?: { running?: unknown; terminated?: unknown; waiting?: unknown };
}

/** The pods informer's index of the claims each pod's volumes name (`namespace/claim`). */
export const POD_CLAIMS = 'podClaims';

const needsFinalizer = (o: KubeObject, f: string) => !o.metadata?.deletionTimestamp && !(o.metadata?.finalizers ?? []).includes(f);
const deletionCandidate = (o: KubeObject, f: string) => !!o.metadata?.deletionTimestamp && (o.metadata?.finalizers ?? []).includes(f);

/** `namespace/claim` keys of the claims a pod's volumes name (ephemeral ones as `<pod>-<volume>`). */
export function claimKeysOf(pod: Pod): string[] {
  const ns = pod.metadata?.namespace ?? '';
  const out: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName) out.push(`${ns}/${v.persistentVolumeClaim.claimName}`);
    else if (v.ephemeral) out.push(`${ns}/${pod.metadata?.name ?? ''}-${v.name}`);
  }
  return out;
}

/** Upstream's IsPodTerminated: finished, or being deleted with no container running. */
export function podTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return true;
  if (!pod.metadata?.deletionTimestamp) return false;
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])];
  return all.every((s) => !s.state?.running);
}

/** Whether `pod` keeps `pvc` from going (upstream's podUsesPVC). */
export function podUsesClaim(pod: Pod, pvc: KubeObject): boolean {
  if (!pod.spec?.nodeName) return false;
  const name = pvc.metadata?.name ?? '';
  for (const v of pod.spec.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName === name) return true;
    if (!v.ephemeral) continue;
    const shutDown = !!pod.metadata?.deletionTimestamp && pod.metadata.deletionGracePeriodSeconds === 0;
    if (shutDown || `${pod.metadata?.name ?? ''}-${v.name}` !== name || pod.metadata?.namespace !== pvc.metadata?.namespace) continue;
    if ((pvc.metadata?.ownerReferences ?? []).some((o) => o.controller && o.uid === pod.metadata?.uid)) return true;
  }
  return false;
}

/** Adds or removes `finalizer` with a conditional metadata patch (nothing when already so). */
function setFinalizer(client: KubeClient, gvr: GVR, obj: KubeObject, finalizer: string, present: boolean): Promise<void> {
  const m = obj.metadata ?? {};
  return patchMetadata(client, gvr, m.namespace ?? '', m.name ?? '', m.uid, (cur) => {
    const list = cur.metadata?.finalizers ?? [];
    if (list.includes(finalizer) === present) return undefined;
    if (present && cur.metadata?.deletionTimestamp) return undefined;
    return { finalizers: present ? [...list, finalizer] : list.filter((f) => f !== finalizer) };
  });
}

/**
 * Keeps `finalizer` on objects of `gvr`: adds it to live objects made without it, and removes it
 * from an object being deleted once `inUse` says nothing holds it any more.
 */
abstract class ProtectionController implements Controller {
  abstract readonly name: string;
  protected readonly queue: WorkQueue<string>;
  protected client!: KubeClient;
  protected objects!: Informer;
  private log!: Logger;
  private readonly gvr: GVR;
  private readonly finalizer: string;

  constructor(queueName: string, gvr: GVR, finalizer: string) {
    this.queue = new WorkQueue<string>({ name: queueName });
    this.gvr = gvr;
    this.finalizer = finalizer;
  }

  start(ctx: ControllerContext): void {
    this.client = ctx.client;
    this.log = ctx.logger(this.name);
    this.objects = ctx.informers.informerFor(this.gvr);
    const on = (o: KubeObject) => {
      if (needsFinalizer(o, this.finalizer) || deletionCandidate(o, this.finalizer)) this.queue.add(keyOf(o));
    };
    this.objects.addEventHandler({ onAdd: on, onUpdate: (_o, o) => on(o) });
  }

  run(): Promise<void> {
    return runWorkers(this.queue, 1, (key) => this.sync(key), { logger: this.log });
  }

  stop(): void {
    this.queue.shutDown();
  }

  protected abstract inUse(obj: KubeObject): Promise<boolean> | boolean;

  private async sync(key: string): Promise<void> {
    const obj = this.objects.store.getByKey(key);
    if (!obj) return;
    if (deletionCandidate(obj, this.finalizer)) {
      if (await this.inUse(obj)) return;
      await setFinalizer(this.client, this.gvr, obj, this.finalizer, false);
    } else if (needsFinalizer(obj, this.finalizer)) {
      await setFinalizer(this.client, this.gvr, obj, this.finalizer, true);
    }
  }
}

class PVCProtectionController extends ProtectionController {
  readonly name = 'pvc-protection-controller';
  private pods!: Informer<Pod>;

  constructor() {
    super('pvcprotection', Resources.persistentvolumeclaims, PVC_PROTECTION);
  }

  override start(ctx: ControllerContext): void {
    super.start(ctx);
    this.pods = ctx.informers.informerFor<Pod>(Resources.pods, {}, { [POD_CLAIMS]: claimKeysOf });
    // Only a pod that stops counting can free a claim: gone, finished, or never scheduled.
    const onPod = (pod: Pod, deleted: boolean) => {
      if (!pod.spec?.volumes?.length) return;
      if (deleted || !pod.spec.nodeName || podTerminated(pod)) for (const k of claimKeysOf(pod)) this.queue.add(k);
    };
    this.pods.addEventHandler({
      onAdd: (p) => onPod(p, false),
      onUpdate: (old, p) => {
        if (old.metadata?.uid !== p.metadata?.uid) onPod(old, true);
        onPod(p, false);
      },
      onDelete: (x) => onPod(deletedObject(x) as Pod, true),
    });
  }

  /** A pod on a node uses it: from the informer's index, then a live list of the namespace. */
  protected async inUse(pvc: KubeObject): Promise<boolean> {
    if (this.pods.store.byIndex(POD_CLAIMS, keyOf(pvc)).some((p) => podUsesClaim(p, pvc))) return true;
    const { namespace } = splitKey(keyOf(pvc));
    try {
      const live = await this.client.listAll<Pod>(Resources.pods, namespace);
      return live.items.some((p) => podUsesClaim(p, pvc));
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}

class PVProtectionController extends ProtectionController {
  readonly name = 'pv-protection-controller';

  constructor() {
    super('pvprotection', Resources.persistentvolumes, PV_PROTECTION);
  }

  protected inUse(pv: KubeObject): boolean {
    return (pv.status as { phase?: string } | undefined)?.phase === 'Bound';
  }
}

export const pvcProtectionController = (): ControllerFactory => () => new PVCProtectionController();
export const pvProtectionController = (): ControllerFactory => () => new PVProtectionController();
