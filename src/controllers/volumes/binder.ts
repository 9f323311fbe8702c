// The PersistentVolume binder (kube-controller-manager's persistentvolume-binder, events as
// `persistentvolume-controller`): binds claims to volumes, keeps both phases right, and reclaims
// volumes whose claim is gone. See README.md for the rules and what is not done.
import { jsonDeepEqual, type KubeObject } from '../../api/object.ts';
import { isNotFound, type KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import { claimNamesClass, defaultClass, storageClassOf } from '../../api/storage-class.ts';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.ts';
import type { EventRecorder, EventType } from '../framework/events.ts';
import { deletedObject, type Informer } from '../framework/informer.ts';
import type { Logger } from '../framework/log.ts';
import { keyOf, splitKey } from '../framework/store.ts';
import { runWorkers, WorkQueue } from '../framework/workqueue.ts';
import { boundToClaim, findBestMatch, mismatch, volumeModeMismatch, type PV, type PVC } from './match.ts';
import { reclaim } from './reclaim.ts';
import { claimKeysOf, POD_CLAIMS, podTerminated, type Pod } from './protection.ts';

export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
const ANN_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
const ANN_PROVISIONER_BETA = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
/** How often every claim and volume is looked at again (--pvclaimbinder-sync-period). */
const RESYNC_MS = 15_000;

const rv = (o: KubeObject | undefined): number => Number(o?.metadata?.resourceVersion ?? 0);
const withKind = <T extends KubeObject>(o: T, kind: string): T => ({ ...o, kind, apiVersion: 'v1' });

class PersistentVolumeBinder implements Controller {
  readonly name = 'persistentvolume-binder-controller';
  private readonly claimQueue = new WorkQueue<string>({ name: 'claims' });
  private readonly volumeQueue = new WorkQueue<string>({ name: 'volumes' });
  private client!: KubeClient;
  private claims!: Informer<PVC>;
  private volumes!: Informer<PV>;
  private classes!: Informer;
  private pods!: Informer<Pod>;
  private recorder!: EventRecorder;
  private log!: Logger;
  private timer: NodeJS.Timeout | undefined;
  /** What this controller wrote last, newer than the informers until they catch up. */
  private readonly written = new Map<string, KubeObject>();

  start(ctx: ControllerContext): void {
    this.client = ctx.client;
    this.log = ctx.logger(this.name);
    this.recorder = ctx.recorder('persistentvolume-controller');
    this.claims = ctx.informers.informerFor<PVC>(Resources.persistentvolumeclaims);
    this.volumes = ctx.informers.informerFor<PV>(Resources.persistentvolumes);
    this.classes = ctx.informers.informerFor(Resources.storageclasses);
    this.pods = ctx.informers.informerFor<Pod>(Resources.pods, {}, { [POD_CLAIMS]: claimKeysOf });
    this.claims.addEventHandler({
      onAdd: (c) => this.claimQueue.add(keyOf(c)),
      onUpdate: (_o, c) => this.claimQueue.add(keyOf(c)),
      onDelete: (x) => {
        const c = deletedObject(x) as PVC;
        this.written.delete(`pvc:${keyOf(c)}`);
        if (c.spec?.volumeName) this.volumeQueue.add(c.spec.volumeName);
      },
    });
    this.volumes.addEventHandler({
      onAdd: (v) => this.volumeQueue.add(keyOf(v)),
      onUpdate: (_o, v) => this.volumeQueue.add(keyOf(v)),
      onDelete: (x) => {
        const v = deletedObject(x) as PV;
        this.written.delete(`pv:${keyOf(v)}`);
        const ref = v.spec?.claimRef;
        if (ref?.name) this.claimQueue.add(`${ref.namespace ?? ''}/${ref.name}`);
      },
    });
    // A class that appears (or becomes the default) matters to the claims still waiting.
    this.classes.addEventHandler({ onAdd: () => this.enqueueWaitingClaims(), onUpdate: () => this.enqueueWaitingClaims() });
  }

  /** Claims not bound yet: a volume became Available, or a class appeared (sooner than the resync). */
  private enqueueWaitingClaims(): void {
    for (const c of this.claims.store.list()) if (!c.metadata?.annotations?.[ANN_BIND_COMPLETED]) this.claimQueue.add(keyOf(c));
  }

  run(): Promise<void> {
    this.timer = setInterval(() => {
      for (const c of this.claims.store.list()) this.claimQueue.add(keyOf(c));
      for (const v of this.volumes.store.list()) this.volumeQueue.add(keyOf(v));
    }, RESYNC_MS);
    this.timer.unref();
    const opts = { logger: this.log };
    return Promise.all([runWorkers(this.claimQueue, 1, (k) => this.syncClaim(k), opts), runWorkers(this.volumeQueue, 1, (k) => this.syncVolume(k), opts)]).then(() => undefined);
  }

  stop(): void {
    clearInterval(this.timer);
    this.claimQueue.shutDown();
    this.volumeQueue.shutDown();
  }

  // --- reading: the informer's copy or this controller's own newer write

  private claim(key: string): PVC | undefined {
    return this.latest(`pvc:${key}`, this.claims.store.getByKey(key)) as PVC | undefined;
  }

  private volume(name: string): PV | undefined {
    return this.latest(`pv:${name}`, this.volumes.store.getByKey(name)) as PV | undefined;
  }

  private latest(key: string, cached: KubeObject | undefined): KubeObject | undefined {
    const mine = this.written.get(key);
    if (!cached) return undefined;
    if (mine && rv(mine) > rv(cached) && mine.metadata?.uid === cached.metadata?.uid) return mine;
    this.written.delete(key);
    return cached;
  }

  private remember<T extends KubeObject>(kind: 'pv' | 'pvc', o: T): T {
    this.written.set(`${kind}:${keyOf(o)}`, o);
    return o;
  }

  private event(o: KubeObject, kind: 'PersistentVolume' | 'PersistentVolumeClaim', type: EventType, reason: string, message: string): void {
    this.recorder.event(withKind(o, kind), type, reason, message);
  }

  // --- writes

  private async updateClaim(c: PVC): Promise<PVC> {
    return this.remember('pvc', await this.client.update<PVC>(Resources.persistentvolumeclaims, c.metadata?.namespace, withKind(c, 'PersistentVolumeClaim')));
  }

  private async claimStatus(c: PVC, status: NonNullable<PVC['status']>): Promise<PVC> {
    return this.remember('pvc', await this.client.updateStatus<PVC>(Resources.persistentvolumeclaims, c.metadata?.namespace, withKind({ ...c, status }, 'PersistentVolumeClaim')));
  }

  /** Sets the claim's phase, clearing what only a bound claim shows; returns whether it changed. */
  private async claimPhase(c: PVC, phase: 'Pending' | 'Lost'): Promise<boolean> {
    const s = c.status ?? {};
    if (s.phase === phase && !s.accessModes && !s.capacity) return false;
    const changed = s.phase !== phase;
    const { accessModes: _a, capacity: _c, ...rest } = s;
    await this.claimStatus(c, { ...rest, phase });
    return changed;
  }

  private async updateVolume(v: PV): Promise<PV> {
    return this.remember('pv', await this.client.update<PV>(Resources.persistentvolumes, undefined, withKind(v, 'PersistentVolume')));
  }

  /**
   * Sets the volume's phase and message, as upstream only when the phase is new (a volume already
   * in the phase keeps its message); the API server stamps lastPhaseTransitionTime. Returns the
   * volume and whether the phase changed.
   */
  async volumePhase(v: PV, phase: string, message = ''): Promise<{ volume: PV; changed: boolean }> {
    const s = v.status ?? {};
    if (s.phase === phase) return { volume: v, changed: false };
    const status: NonNullable<PV['status']> = { ...s, phase };
    if (message) status.message = message;
    else delete status.message;
    const volume = this.remember('pv', await this.client.updateStatus<PV>(Resources.persistentvolumes, undefined, withKind({ ...v, status }, 'PersistentVolume')));
    return { volume, changed: true };
  }

  /** Upstream's bind: the volume's claimRef, its phase, the claim's volumeName, the claim's status, in that order. */
  private async bind(v: PV, c: PVC): Promise<void> {
    const ref = v.spec?.claimRef;
    const m = c.metadata ?? {};
    if (!ref || ref.name !== m.name || ref.namespace !== m.namespace || ref.uid !== m.uid) {
      const annotations = { ...v.metadata?.annotations };
      if (!boundToClaim(v, c)) annotations[ANN_BOUND_BY_CONTROLLER] ??= 'yes';
      v = await this.updateVolume({ ...v, metadata: { ...v.metadata, annotations }, spec: { ...v.spec, claimRef: { kind: 'PersistentVolumeClaim', namespace: m.namespace, name: m.name, uid: m.uid, apiVersion: 'v1', resourceVersion: m.resourceVersion } } });
    }
    v = (await this.volumePhase(v, 'Bound')).volume;
    const name = v.metadata?.name ?? '';
    if (c.spec?.volumeName !== name || !c.metadata?.annotations?.[ANN_BIND_COMPLETED]) {
      const annotations = { ...c.metadata?.annotations };
      if (c.spec?.volumeName !== name) annotations[ANN_BOUND_BY_CONTROLLER] ??= 'yes';
      annotations[ANN_BIND_COMPLETED] ??= 'yes';
      c = await this.updateClaim({ ...c, metadata: { ...c.metadata, annotations }, spec: { ...c.spec, volumeName: name } });
    }
    const s = c.status ?? {};
    const modes = v.spec?.accessModes ?? [];
    const capacityStale = s.phase !== 'Bound' && s.capacity?.storage !== v.spec?.capacity?.storage;
    if (s.phase !== 'Bound' || !jsonDeepEqual(s.accessModes ?? [], modes) || capacityStale) {
      await this.claimStatus(c, { ...s, phase: 'Bound', accessModes: modes, ...(capacityStale ? { capacity: { ...v.spec?.capacity } } : {}) });
    }
  }

  // --- claims

  private async syncClaim(key: string): Promise<void> {
    const c = this.claim(key);
    if (!c) return;
    if (c.metadata?.annotations?.[ANN_BIND_COMPLETED] === undefined) return this.syncUnboundClaim(c);
    const name = c.spec?.volumeName;
    const lost = async (reason: string, message: string) => {
      if (await this.claimPhase(c, 'Lost')) this.event(c, 'PersistentVolumeClaim', 'Warning', reason, message);
    };
    if (!name) return lost('ClaimLost', 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!');
    const v = this.volume(name);
    if (!v) return lost('ClaimLost', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
    if (!v.spec?.claimRef || v.spec.claimRef.uid === c.metadata?.uid) return this.bind(v, c);
    return lost('ClaimMisbound', 'Two claims are bound to the same volume, this one is bound incorrectly');
  }

  private async syncUnboundClaim(c: PVC): Promise<void> {
    const name = c.spec?.volumeName;
    if (name) {
      const v = this.volume(name);
      if (!v) {
        await this.claimPhase(c, 'Pending');
      } else if (!v.spec?.claimRef) {
        const why = mismatch(v, c);
        if (!why) return this.bind(v, c);
        this.event(c, 'PersistentVolumeClaim', 'Warning', 'VolumeMismatch', `Cannot bind to requested volume "${name}": ${why}`);
        await this.claimPhase(c, 'Pending');
      } else if (boundToClaim(v, c)) {
        return this.bind(v, c);
      } else {
        this.event(c, 'PersistentVolumeClaim', 'Warning', 'FailedBinding', `volume "${name}" already bound to a different claim.`);
        if (c.metadata?.annotations?.[ANN_BOUND_BY_CONTROLLER]) throw new Error(`volume ${name} is bound to another claim than ${keyOf(c)}`);
        await this.claimPhase(c, 'Pending');
      }
      return;
    }
    const cls = storageClassOf(c);
    const sc = cls ? this.classes.store.getByKey(cls) : undefined;
    const delay = (sc as { volumeBindingMode?: string } | undefined)?.volumeBindingMode === 'WaitForFirstConsumer';
    const v = findBestMatch(this.volumes.store.list().map((x) => this.volume(keyOf(x)) ?? (x as PV)), c, delay);
    if (v) return this.bind(v, c);
    if (!claimNamesClass(c)) {
      // Retroactive default class: a claim made before any default gets it now.
      const def = defaultClass(this.classes.store.list());
      if (def) {
        await this.updateClaim({ ...c, spec: { ...c.spec, storageClassName: def.metadata?.name } });
        return;
      }
    }
    if (delay && !c.metadata?.annotations?.[ANN_SELECTED_NODE]) {
      const waiting = this.pods.store.byIndex(POD_CLAIMS, keyOf(c)).filter((p) => !p.spec?.nodeName && !podTerminated(p)).map((p) => p.metadata?.name ?? '');
      if (waiting.length > 0) this.event(c, 'PersistentVolumeClaim', 'Normal', 'WaitForPodScheduled', `waiting for pod${waiting.length > 1 ? 's' : ''} ${waiting.join(',')} to be scheduled`);
      else this.event(c, 'PersistentVolumeClaim', 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
    } else if (cls) {
      return this.provision(c, cls, sc);
    } else {
      this.event(c, 'PersistentVolumeClaim', 'Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set');
    }
    await this.claimPhase(c, 'Pending');
  }

  /** No in-tree provisioner runs here: an external one is named on the claim and waited for. */
  private async provision(c: PVC, cls: string, sc: KubeObject | undefined): Promise<void> {
    if (!sc) return this.event(c, 'PersistentVolumeClaim', 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${cls}" not found`);
    const provisioner = String((sc as { provisioner?: string }).provisioner ?? '');
    if (provisioner.startsWith('kubernetes.io/')) {
      const msg = provisioner === 'kubernetes.io/host-path' ? 'Failed to create provisioner: Provisioning in volume plugin "kubernetes.io/host-path" is disabled' : `no volume plugin matched name: ${provisioner}`;
      return this.event(c, 'PersistentVolumeClaim', 'Warning', 'ProvisioningFailed', msg);
    }
    if (c.metadata?.annotations?.[ANN_PROVISIONER] !== provisioner) {
      const annotations = { ...c.metadata?.annotations, [ANN_PROVISIONER]: provisioner, [ANN_PROVISIONER_BETA]: provisioner };
      c = await this.updateClaim({ ...c, metadata: { ...c.metadata, annotations } });
    }
    this.event(c, 'PersistentVolumeClaim', 'Normal', 'ExternalProvisioning', `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`);
  }

  // --- volumes

  private async syncVolume(name: string): Promise<void> {
    const v = this.volume(name);
    if (!v) return;
    const ref = v.spec?.claimRef;
    if (!ref || !ref.uid) {
      if ((await this.volumePhase(v, 'Available')).changed) this.enqueueWaitingClaims();
      if (ref?.name) this.claimQueue.add(`${ref.namespace ?? ''}/${ref.name}`);
      return;
    }
    const key = `${ref.namespace ?? ''}/${ref.name ?? ''}`;
    let c = this.claim(key);
    const phase = v.status?.phase;
    if (!c || c.metadata?.uid !== ref.uid) {
      // The informer may be behind: only the API says a claim is gone (or was made anew).
      c = phase === 'Released' || phase === 'Failed' ? c : await this.liveClaim(key);
      if (c && c.metadata?.uid !== ref.uid) c = undefined;
    }
    if (!c) return this.release(v);
    if (!c.spec?.volumeName) {
      if (volumeModeMismatch(v, c)) {
        this.event(v, 'PersistentVolume', 'Warning', 'VolumeMismatch', `Cannot bind PersistentVolume to requested PersistentVolumeClaim "${c.metadata?.name ?? ''}" due to incompatible volumeMode.`);
        this.event(c, 'PersistentVolumeClaim', 'Warning', 'VolumeMismatch', `Cannot bind PersistentVolume "${name}" to requested PersistentVolumeClaim due to incompatible volumeMode.`);
        return;
      }
      this.claimQueue.add(key);
      return;
    }
    if (c.spec.volumeName === name) {
      await this.volumePhase(v, 'Bound');
      return;
    }
    // The claim went to another volume: one made for it and meant to go is released, others freed.
    if (v.metadata?.annotations?.[ANN_PROVISIONED_BY] && v.spec?.persistentVolumeReclaimPolicy === 'Delete') return this.release(v);
    await this.unbind(v);
  }

  /** The volume's claim is gone: Released (a Failed volume stays Failed), then its reclaim policy. */
  private async release(v: PV): Promise<void> {
    const phase = v.status?.phase;
    const released = phase === 'Released' || phase === 'Failed' ? v : (await this.volumePhase(v, 'Released')).volume;
    await reclaim(released, {
      setPhase: (x, p, msg) => this.volumePhase(x, p, msg),
      event: (x, t, r, m) => this.event(x, 'PersistentVolume', t, r, m),
      delete: (x) => this.deleteVolume(x),
    });
  }

  private async liveClaim(key: string): Promise<PVC | undefined> {
    const { namespace, name } = splitKey(key);
    try {
      return await this.client.get<PVC>(Resources.persistentvolumeclaims, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** A volume the controller bound is freed entirely; one a user pre-bound keeps its claim's name. */
  private async unbind(v: PV): Promise<void> {
    const annotations = { ...v.metadata?.annotations };
    const byController = annotations[ANN_BOUND_BY_CONTROLLER] !== undefined;
    delete annotations[ANN_BOUND_BY_CONTROLLER];
    const spec = { ...v.spec };
    if (byController) delete spec.claimRef;
    else if (spec.claimRef) {
      const { uid: _uid, ...rest } = spec.claimRef;
      spec.claimRef = rest;
    }
    const meta = { ...v.metadata, annotations: Object.keys(annotations).length > 0 ? annotations : undefined };
    const updated = await this.updateVolume({ ...v, metadata: meta, spec });
    if ((await this.volumePhase(updated, 'Available')).changed) this.enqueueWaitingClaims();
  }

  private async deleteVolume(v: PV): Promise<void> {
    try {
      await this.client.delete(Resources.persistentvolumes, undefined, v.metadata?.name ?? '', { preconditions: { uid: v.metadata?.uid } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export const persistentVolumeBinder = (): ControllerFactory => () => new PersistentVolumeBinder();
