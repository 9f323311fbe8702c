// The EndpointSlice controller (upstream's endpointslice-controller): keeps the
// discovery.k8s.io/v1 EndpointSlices of each Service with a selector (endpointslice-reconcile.ts
// decides; this file watches, queues and writes). Slices are named `<service>-<random>`, owned
// by the Service, labelled `kubernetes.io/service-name` and
// `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`. A tracker of what
// this controller wrote keeps it from acting on a cache that has not seen its own writes yet
// (which would create duplicate slices), and resyncs a Service when someone else changes or
// deletes one of its slices.
import { StatusError } from '../../api/status.ts';
import { isNotFound } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { EventRecorder } from '../framework/events.ts';
import { deletedObject, type Informer } from '../framework/informer.ts';
import type { Logger } from '../framework/log.ts';
import { keyOf, splitKey } from '../framework/store.ts';
import { runWorkers, WorkQueue } from '../framework/workqueue.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { serviceKeysForPodChange, servicesOfPod } from './endpoints.ts';
import { reconcileSlices, SERVICE_NAME_LABEL, SLICE_CONTROLLER_NAME, SLICE_MANAGED_BY_LABEL, type EndpointSlice } from './endpointslice-reconcile.ts';
import { selectorMatches } from './pod-util.ts';
import { TriggerTimeTracker } from './trigger-time.ts';
import { withKind, type Node, type Pod, type Service } from './types.ts';

const BY_SERVICE = 'endpointslice-controller/service';
const DELETED = '';

/** resourceVersion a is older than b (k8ts's are revision numbers). */
function older(a: string, b: string): boolean {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return a.length !== b.length ? a.length < b.length : a < b;
  return a !== b;
}

/** The slices this controller wrote (name → resourceVersion, or DELETED), per Service key. */
export class SliceTracker {
  private readonly byService = new Map<string, Map<string, string>>();

  expect(svcKey: string, name: string, rv: string): void {
    let m = this.byService.get(svcKey);
    if (!m) this.byService.set(svcKey, (m = new Map()));
    m.set(name, rv);
  }

  /** The cache lacks a write of ours (or still has a slice we deleted). */
  stale(svcKey: string, cached: EndpointSlice[]): boolean {
    const m = this.byService.get(svcKey);
    if (!m) return false;
    const rvs = new Map(cached.map((s) => [s.metadata?.name ?? '', s.metadata?.resourceVersion ?? '']));
    for (const [name, rv] of m) {
      const have = rvs.get(name);
      if (rv === DELETED ? have !== undefined : have === undefined || older(have, rv)) return true;
    }
    return false;
  }

  /** An added or updated slice needs a sync unless it is exactly what this controller wrote. */
  shouldSync(svcKey: string, slice: EndpointSlice): boolean {
    const rv = this.byService.get(svcKey)?.get(slice.metadata?.name ?? '');
    return rv === undefined || rv === DELETED || older(rv, slice.metadata?.resourceVersion ?? '');
  }

  /** A slice is gone: whether the Service needs a sync (the deletion was not ours). */
  handleDeletion(svcKey: string, name: string): boolean {
    const m = this.byService.get(svcKey);
    if (!m) return true;
    const expected = m.get(name) === DELETED;
    m.delete(name);
    if (m.size === 0) this.byService.delete(svcKey);
    return !expected;
  }

  deleteService(svcKey: string): void {
    this.byService.delete(svcKey);
  }
}

const managed = (s: EndpointSlice) => s.metadata?.labels?.[SLICE_MANAGED_BY_LABEL] === SLICE_CONTROLLER_NAME && !!s.metadata?.labels?.[SERVICE_NAME_LABEL];
const serviceKeyOf = (s: EndpointSlice) => `${s.metadata?.namespace ?? ''}/${s.metadata?.labels?.[SERVICE_NAME_LABEL] ?? ''}`;

export interface EndpointSliceControllerOptions {
  /** Upstream's --max-endpoints-per-slice (default 100). */
  maxEndpointsPerSlice?: number;
}

export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice-controller';
  private ctx!: ControllerContext;
  private services!: Informer<Service>;
  private pods!: Informer<Pod>;
  private nodes!: Informer<Node>;
  private slices!: Informer<EndpointSlice>;
  private recorder!: EventRecorder;
  private log!: Logger;
  private readonly queue = new WorkQueue<string>({ name: 'endpoint_slice' });
  private readonly tracker = new SliceTracker();
  private readonly triggerTimes = new TriggerTimeTracker();
  private readonly maxPerSlice: number;

  constructor(opts: EndpointSliceControllerOptions = {}) {
    this.maxPerSlice = opts.maxEndpointsPerSlice ?? 100;
  }

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.recorder = ctx.recorder('endpoint-slice-controller');
    this.log = ctx.logger(this.name);
    this.services = ctx.informers.informerFor<Service>(Resources.services);
    this.pods = ctx.informers.informerFor<Pod>(Resources.pods);
    this.nodes = ctx.informers.informerFor<Node>(Resources.nodes);
    this.slices = ctx.informers.informerFor<EndpointSlice>(Resources.endpointslices, {}, { [BY_SERVICE]: (s) => (managed(s) ? [serviceKeyOf(s)] : []) });
    const q = (svc: Service) => this.queue.add(keyOf(svc));
    this.services.addEventHandler({ onAdd: q, onUpdate: (_o, n) => q(n), onDelete: (x) => q(deletedObject(x)) });
    this.pods.addEventHandler({
      onAdd: (p) => servicesOfPod(this.services, p).forEach(q),
      onUpdate: (o, n) => serviceKeysForPodChange(this.services, o, n).forEach((k) => this.queue.add(k)),
      onDelete: (x) => servicesOfPod(this.services, deletedObject(x)).forEach(q),
    });
    const onSlice = (s: EndpointSlice) => {
      if (managed(s) && this.tracker.shouldSync(serviceKeyOf(s), s)) this.queue.add(serviceKeyOf(s));
    };
    this.slices.addEventHandler({
      onAdd: onSlice,
      onUpdate: (o, n) => {
        // A slice taken over by another manager: its old Service needs a replacement.
        if (managed(o) && !managed(n)) this.queue.add(serviceKeyOf(o));
        onSlice(n);
      },
      onDelete: (x) => {
        const s = deletedObject(x);
        if (managed(s) && this.tracker.handleDeletion(serviceKeyOf(s), s.metadata?.name ?? '')) this.queue.add(serviceKeyOf(s));
      },
    });
  }

  async run(): Promise<void> {
    await runWorkers(this.queue, 5, (key) => this.sync(key), { logger: this.log, maxRetries: 15 });
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const client = this.ctx.client;
    const cached = this.slices.store.byIndex(BY_SERVICE, key);
    const svc = this.services.store.get(namespace, name);
    if (!svc) {
      // The garbage collector removes slices through their ownerReference; do it here as well.
      for (const s of cached) {
        try {
          await client.delete(Resources.endpointslices, namespace, s.metadata!.name!);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      this.tracker.deleteService(key);
      this.triggerTimes.deleteService(namespace, name);
      return;
    }
    if (svc.spec?.type === 'ExternalName' || svc.metadata?.deletionTimestamp) return;
    const selector = svc.spec?.selector;
    if (selector === undefined || selector === null) return;
    if (this.tracker.stale(key, cached)) throw new Error(`EndpointSlice informer cache is out of date for service ${key}`);
    const pods = this.pods.store.byIndex('namespace', namespace).filter((p) => selectorMatches(selector, p.metadata?.labels));
    const triggerTime = this.triggerTimes.compute(svc, pods);
    const plan = reconcileSlices({
      service: svc,
      pods,
      node: (n) => this.nodes.store.get(undefined, n),
      existing: cached.filter((s) => !s.metadata?.deletionTimestamp),
      maxPerSlice: this.maxPerSlice,
      triggerTime,
    });
    try {
      for (const s of plan.create) {
        try {
          const made = await client.create<EndpointSlice>(Resources.endpointslices, namespace, s);
          this.tracker.expect(key, made.metadata?.name ?? '', made.metadata?.resourceVersion ?? '');
        } catch (err) {
          if (err instanceof StatusError && err.code === 403 && /terminat/i.test(err.message)) return;
          throw err;
        }
      }
      for (const s of plan.update) {
        const done = await client.update<EndpointSlice>(Resources.endpointslices, namespace, s);
        this.tracker.expect(key, done.metadata?.name ?? '', done.metadata?.resourceVersion ?? '');
      }
      for (const s of plan.delete) {
        try {
          await client.delete(Resources.endpointslices, namespace, s.metadata!.name!);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        this.tracker.expect(key, s.metadata!.name!, DELETED);
      }
      if (plan.errors.length > 0) throw new Error(plan.errors.join('; '));
    } catch (err) {
      this.recorder.event(withKind(svc, 'v1', 'Service'), 'Warning', 'FailedToUpdateEndpointSlices', `Error updating Endpoint Slices for Service ${namespace}/${name}: ${(err as Error).message}`);
      throw err;
    }
  }
}

export function endpointSliceController(opts?: EndpointSliceControllerOptions): Controller {
  return new EndpointSliceController(opts);
}
