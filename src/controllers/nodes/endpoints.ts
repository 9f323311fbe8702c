// The Endpoints controller (upstream's endpoint-controller): for each Service with a selector, a
// core/v1 Endpoints object of the same name listing its pods (see endpoints-subsets.ts), labelled
// with the Service's labels, `service.kubernetes.io/headless` for headless Services and
// `endpoints.kubernetes.io/managed-by: endpoint-controller`, annotated with the last change
// trigger time (and `endpoints.kubernetes.io/over-capacity: truncated` past 1000 addresses).
// The Endpoints of a deleted Service are deleted; at start, Endpoints without a Service too.
import type { KubeObject } from '../../api/object.ts';
import { StatusError } from '../../api/status.ts';
import { isNotFound } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { EventRecorder } from '../framework/events.ts';
import { deletedObject, type Informer } from '../framework/informer.ts';
import type { Logger } from '../framework/log.ts';
import { keyOf, splitKey } from '../framework/store.ts';
import { runWorkers, WorkQueue } from '../framework/workqueue.ts';
import type { Controller, ControllerContext } from '../manager.ts';
import { computeSubsets, countAddresses, MAX_ENDPOINTS_CAPACITY, truncateSubsets, type EndpointSubset } from './endpoints-subsets.ts';
import { endpointFingerprint, isServiceIPSet, jsonEqual, selectorMatches } from './pod-util.ts';
import { TRIGGER_TIME_ANNOTATION, TriggerTimeTracker } from './trigger-time.ts';
import { rfc3339Nano, type Pod, type Service } from './types.ts';
import { cloneJson } from '../../api/object.ts';

export const ENDPOINTS_MANAGED_BY_LABEL = 'endpoints.kubernetes.io/managed-by';
export const ENDPOINT_CONTROLLER_NAME = 'endpoint-controller';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
const OVER_CAPACITY_ANNOTATION = 'endpoints.kubernetes.io/over-capacity';
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

export interface Endpoints extends KubeObject {
  subsets?: EndpointSubset[];
}

/** The Services of a pod's namespace whose selector selects it. */
export function servicesOfPod(services: Informer<Service>, pod: Pod): Service[] {
  const ns = pod.metadata?.namespace ?? '';
  return services.store.byIndex('namespace', ns).filter((s) => {
    const sel = s.spec?.selector;
    return sel !== undefined && sel !== null && selectorMatches(sel, pod.metadata?.labels);
  });
}

/** Service keys to sync after a pod changed (none when nothing endpoints publish changed). */
export function serviceKeysForPodChange(services: Informer<Service>, old: Pod, cur: Pod): string[] {
  if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return [];
  // A pod keeps its namespace: with no Service selecting pods there, nothing can change.
  if (!services.store.byIndex('namespace', cur.metadata?.namespace ?? '').some((s) => s.spec?.selector)) return [];
  const labelsChanged = !jsonEqual(old.metadata?.labels ?? {}, cur.metadata?.labels ?? {});
  const podChanged = endpointFingerprint(old) !== endpointFingerprint(cur);
  if (!podChanged && !labelsChanged) return [];
  const now = servicesOfPod(services, cur).map(keyOf);
  if (!labelsChanged) return now;
  const before = servicesOfPod(services, old).map(keyOf);
  if (podChanged) return [...new Set([...before, ...now])];
  // Only labels changed: the Services the pod joined or left.
  const a = new Set(before);
  const b = new Set(now);
  return [...before.filter((k) => !b.has(k)), ...now.filter((k) => !a.has(k))];
}

export class EndpointsController implements Controller {
  readonly name = ENDPOINT_CONTROLLER_NAME;
  private ctx!: ControllerContext;
  private services!: Informer<Service>;
  private pods!: Informer<Pod>;
  private endpoints!: Informer<Endpoints>;
  private recorder!: EventRecorder;
  private log!: Logger;
  private readonly queue = new WorkQueue<string>({ name: 'endpoint' });
  private readonly tracker = new TriggerTimeTracker();

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.recorder = ctx.recorder(ENDPOINT_CONTROLLER_NAME);
    this.log = ctx.logger(ENDPOINT_CONTROLLER_NAME);
    this.services = ctx.informers.informerFor<Service>(Resources.services);
    this.pods = ctx.informers.informerFor<Pod>(Resources.pods);
    this.endpoints = ctx.informers.informerFor<Endpoints>(Resources.endpoints);
    const q = (obj: KubeObject) => this.queue.add(keyOf(obj));
    this.services.addEventHandler({ onAdd: q, onUpdate: (_o, n) => q(n), onDelete: (x) => q(deletedObject(x)) });
    this.endpoints.addEventHandler({ onDelete: (x) => q(deletedObject(x)) });
    const podServices = (p: Pod) => {
      for (const s of servicesOfPod(this.services, p)) q(s);
    };
    this.pods.addEventHandler({
      onAdd: podServices,
      onUpdate: (o, n) => {
        for (const k of serviceKeysForPodChange(this.services, o, n)) this.queue.add(k);
      },
      onDelete: (x) => podServices(deletedObject(x)),
    });
  }

  async run(): Promise<void> {
    // Endpoints left behind by Services deleted while no controller ran.
    for (const ep of this.endpoints.store.list()) if (!ep.metadata?.annotations?.[LEADER_ANNOTATION]) this.queue.add(keyOf(ep));
    await runWorkers(this.queue, 5, (key) => this.sync(key), { logger: this.log, maxRetries: 15 });
  }

  stop(): void {
    this.queue.shutDown();
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const client = this.ctx.client;
    const svc = this.services.store.get(namespace, name);
    if (!svc) {
      try {
        await client.delete(Resources.endpoints, namespace, name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      this.tracker.deleteService(namespace, name);
      return;
    }
    if (svc.spec?.type === 'ExternalName') return;
    const selector = svc.spec?.selector;
    if (selector === undefined || selector === null) return;
    const pods = this.pods.store.byIndex('namespace', namespace).filter((p) => selectorMatches(selector, p.metadata?.labels));
    const trigger = this.tracker.compute(svc, pods);
    const subsets = computeSubsets(svc, pods);

    const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
    if (isServiceIPSet(svc)) delete labels[HEADLESS_LABEL];
    else labels[HEADLESS_LABEL] = '';
    labels[ENDPOINTS_MANAGED_BY_LABEL] = ENDPOINT_CONTROLLER_NAME;

    const cur = this.endpoints.store.get(namespace, name);
    if (cur && jsonEqual(withoutRefVersions(cur.subsets ?? []), subsets) && jsonEqual(cur.metadata?.labels ?? {}, labels) && capacityAnnotationCorrect(cur)) return;

    const ep: Endpoints = cur ? cloneJson(cur) : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace } };
    ep.apiVersion = 'v1';
    ep.kind = 'Endpoints';
    const m = ep.metadata!;
    m.labels = labels;
    const annotations: Record<string, string> = { ...(m.annotations ?? {}) };
    if (trigger !== undefined) annotations[TRIGGER_TIME_ANNOTATION] = rfc3339Nano(trigger);
    else delete annotations[TRIGGER_TIME_ANNOTATION];
    if (truncateSubsets(subsets)) annotations[OVER_CAPACITY_ANNOTATION] = 'truncated';
    else delete annotations[OVER_CAPACITY_ANNOTATION];
    if (Object.keys(annotations).length > 0) m.annotations = annotations;
    else delete m.annotations;
    if (subsets.length > 0) ep.subsets = subsets;
    else delete ep.subsets;

    try {
      if (cur) await client.update(Resources.endpoints, namespace, ep);
      else await client.create(Resources.endpoints, namespace, ep);
    } catch (err) {
      // A terminating namespace refuses new objects: nothing to do.
      if (!cur && err instanceof StatusError && err.code === 403 && /terminat/i.test(err.message)) return;
      if (!cur) this.recorder.event(ep, 'Warning', 'FailedToCreateEndpoint', `Failed to create endpoint for service ${namespace}/${name}: ${(err as Error).message}`);
      else this.recorder.event(ep, 'Warning', 'FailedToUpdateEndpoint', `Failed to update endpoint ${namespace}/${name}: ${(err as Error).message}`);
      throw err;
    }
  }
}

function withoutRefVersions(subsets: EndpointSubset[]): EndpointSubset[] {
  const copy = cloneJson(subsets);
  for (const s of copy) for (const a of [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])]) if (a.targetRef) delete a.targetRef.resourceVersion;
  return copy;
}

function capacityAnnotationCorrect(ep: Endpoints): boolean {
  if (countAddresses(ep.subsets ?? []) > MAX_ENDPOINTS_CAPACITY) return false;
  return ep.metadata?.annotations?.[OVER_CAPACITY_ANNOTATION] === undefined;
}

export function endpointsController(): Controller {
  return new EndpointsController();
}
