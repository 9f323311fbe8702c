// The ResourceQuota controller: status.hard = spec.hard and status.used = what the namespace's
// objects use of each hard resource (quota-usage.ts evaluators; count/<resource>.<group> for any
// served resource), written only when it changed. Quotas are recalculated when their spec
// changes, when an object in their namespace is added, changes usage or goes, and every 5
// minutes. Objects are read from the informers the garbage collector shares (every monitored
// resource); count/ quotas of other resources (events) by listing the namespace.
import type { KubeObject } from '../../api/object.ts';
import { deepEqual } from '../../api/patch/json-patch.ts';
import { isConflict, isNotFound, type KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.ts';
import { deletedObject, type Informer } from '../framework/informer.ts';
import { keyOf, splitKey } from '../framework/store.ts';
import { runWorkers, WorkQueue } from '../framework/workqueue.ts';
import type { Logger } from '../framework/log.ts';
import { addList, equalLists, formatList, maskList, parseList, type ResourceList } from '../../api/quantity/resource-list.ts';
import { evaluatorFor, podEvaluator, pvcEvaluator, serviceEvaluator, sumUsage, type Evaluator } from '../../api/quantity/quota-usage.ts';
import { monitoredResources, preferredGVR } from './resources.ts';
import { cloneJson } from '../../api/object.ts';

export interface ResourceQuotaOptions {
  /** Full recalculation of every quota; default 5 minutes (--resource-quota-sync-period). */
  resyncMs?: number;
  workers?: number;
}


type Status = { hard?: Record<string, string>; used?: Record<string, string> };

/** The evaluators a quota's hard names need: pods, services, claims, and object counts. */
export function evaluatorsFor(hardNames: string[]): Evaluator[] {
  const out = new Map<string, Evaluator>();
  for (const ev of [podEvaluator, serviceEvaluator, pvcEvaluator]) if (ev.matching(hardNames).length > 0) out.set(`${ev.group}/${ev.resource}`, ev);
  for (const n of hardNames) {
    let group: string;
    let resource: string;
    if (n.startsWith('count/')) {
      const gr = n.slice('count/'.length);
      const dot = gr.indexOf('.');
      resource = dot < 0 ? gr : gr.slice(0, dot);
      group = dot < 0 ? '' : gr.slice(dot + 1);
    } else if (['configmaps', 'secrets', 'replicationcontrollers', 'resourcequotas'].includes(n)) {
      group = '';
      resource = n;
    } else continue;
    if (out.has(`${group}/${resource}`) || !preferredGVR(group, resource)) continue;
    const ev = evaluatorFor(group, resource);
    if (ev.matching(hardNames).length > 0) out.set(`${group}/${resource}`, ev);
  }
  return [...out.values()];
}

class ResourceQuotaController implements Controller {
  readonly name = 'resourcequota-controller';
  private readonly opts: ResourceQuotaOptions;
  private readonly queue = new WorkQueue<string>({ name: 'resourcequota_primary' });
  private client!: KubeClient;
  private log!: Logger;
  private now!: () => Date;
  private quotas!: Informer;
  private readonly watched = new Map<string, Informer>();
  private resync: NodeJS.Timeout | undefined;

  constructor(opts: ResourceQuotaOptions) {
    this.opts = opts;
  }

  start(ctx: ControllerContext): void {
    this.client = ctx.client;
    this.log = ctx.logger(this.name);
    this.now = ctx.now;
    this.quotas = ctx.informers.informerFor(Resources.resourcequotas);
    this.quotas.addEventHandler({
      onAdd: (q) => this.queue.add(keyOf(q)),
      onUpdate: (o, q) => {
        const status = (q.status ?? {}) as Status;
        const hardChanged = !equalLists(parseList((q.spec as Status | undefined)?.hard), parseList(status.hard));
        if (hardChanged || !status.used || !deepEqual(o.spec as never, q.spec as never)) this.queue.add(keyOf(q));
      },
    });
    for (const gvr of monitoredResources()) {
      if (!gvr.namespaced) continue;
      const inf = ctx.informers.informerFor(gvr);
      this.watched.set(`${gvr.group}/${gvr.resource}`, inf);
      const ev = evaluatorFor(gvr.group, gvr.resource);
      inf.addEventHandler({
        onAdd: (o, initial) => {
          if (!initial) this.replenish(o);
        },
        onUpdate: (o, n) => {
          // Usage is only worth computing where a quota counts it.
          if (!this.hasQuota(n)) return;
          const now = this.now();
          if (!equalLists(ev.usage(o, now), ev.usage(n, now))) this.replenish(n);
        },
        onDelete: (x) => this.replenish(deletedObject(x)),
      });
    }
  }

  private hasQuota(obj: KubeObject): boolean {
    const ns = obj.metadata?.namespace;
    return !!ns && this.quotas.store.byIndex('namespace', ns).length > 0;
  }

  /** Every quota in the object's namespace is looked at again. */
  private replenish(obj: KubeObject): void {
    const ns = obj.metadata?.namespace;
    if (!ns) return;
    for (const q of this.quotas.store.byIndex('namespace', ns)) this.queue.add(keyOf(q));
  }

  async run(): Promise<void> {
    this.resync = setInterval(() => {
      for (const q of this.quotas.store.list()) this.queue.add(keyOf(q));
    }, this.opts.resyncMs ?? 300_000);
    this.resync.unref();
    await runWorkers(this.queue, this.opts.workers ?? 2, (key) => this.sync(key), { logger: this.log });
  }

  stop(): void {
    clearInterval(this.resync);
    this.queue.shutDown();
  }

  private async objectsOf(ev: Evaluator, namespace: string): Promise<KubeObject[]> {
    const inf = this.watched.get(`${ev.group}/${ev.resource}`);
    if (inf) return inf.store.byIndex('namespace', namespace);
    const gvr = preferredGVR(ev.group, ev.resource);
    if (!gvr || !gvr.namespaced) return [];
    return (await this.client.listAll(gvr, namespace)).items;
  }

  /** The usage of the hard resources this controller can measure (CalculateUsage). */
  async calculateUsage(quota: KubeObject, hardNames: string[]): Promise<ResourceList> {
    const ns = quota.metadata?.namespace ?? '';
    let usage: ResourceList = {};
    const now = this.now();
    for (const ev of evaluatorsFor(hardNames)) {
      const names = ev.matching(hardNames);
      usage = addList(usage, sumUsage(ev, names, await this.objectsOf(ev, ns), quota, now));
    }
    return usage;
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const quota = this.quotas.store.get(namespace, name);
    if (!quota) return;
    const status = (quota.status ?? {}) as Status;
    const hard = parseList((quota.spec as Status | undefined)?.hard);
    const hardNames = Object.keys(hard);
    const oldUsed = parseList(status.used);
    const used = maskList({ ...oldUsed, ...(await this.calculateUsage(quota, hardNames)) }, hardNames);
    const dirty = !status.hard || !status.used || !equalLists(hard, parseList(status.hard)) || !equalLists(used, oldUsed);
    if (!dirty) return;
    const next = cloneJson(quota);
    next.status = { hard: formatList(hard), used: formatList(used) };
    try {
      await this.client.updateStatus(Resources.resourcequotas, namespace, next);
    } catch (err) {
      if (isNotFound(err)) return;
      // Admission charged the quota meanwhile: recount from the newer object.
      if (!isConflict(err)) throw err;
      this.queue.addRateLimited(key);
    }
  }
}

export function resourceQuotaController(opts: ResourceQuotaOptions = {}): ControllerFactory {
  return () => new ResourceQuotaController(opts);
}
