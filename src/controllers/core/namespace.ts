// The namespace controller: a namespace with a deletionTimestamp is emptied (namespace-deleter.ts)
// and then released by taking the `kubernetes` finalizer out of spec.finalizers through the
// `finalize` subresource, after which the API server removes it. While content remains the
// namespace is looked at again after estimate/2+1 seconds (and as soon as one of its pods goes).
import type { KubeObject } from '../../api/object.ts';
import { isConflict, isNotFound, type KubeClient } from '../../client/kube-client.ts';
import { resourcePath, Resources } from '../../client/resources.ts';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.ts';
import { deletedObject, type Informer } from '../framework/informer.ts';
import { keyOf } from '../framework/store.ts';
import { runWorkers, WorkQueue, type ReconcileResult } from '../framework/workqueue.ts';
import type { Logger } from '../framework/log.ts';
import { Deleter, discoverNamespacedResources, type Discover } from './namespace-deleter.ts';

export const FINALIZER_KUBERNETES = 'kubernetes';

export interface NamespaceControllerOptions {
  /** Delay before a namespace's deletion is processed, as upstream (objects created at the last moment land first); default 5 s. */
  deletionDelayMs?: number;
  /** Periodic re-check of every namespace; default 5 minutes. */
  resyncMs?: number;
  workers?: number;
  /** Discovery of the resources emptied (default: the server's aggregated discovery, custom resources included). */
  discover?: Discover;
}

const specFinalizers = (ns: KubeObject): string[] => (ns.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [];

class NamespaceController implements Controller {
  readonly name = 'namespace-controller';
  private readonly opts: NamespaceControllerOptions;
  private readonly queue = new WorkQueue<string>({ name: 'namespace' });
  private client!: KubeClient;
  private namespaces!: Informer;
  private deleter!: Deleter;
  private log!: Logger;
  private resync: NodeJS.Timeout | undefined;
  /** Namespaces whose content deletion has begun (a pod going wakes only these). */
  private readonly emptying = new Set<string>();

  constructor(opts: NamespaceControllerOptions) {
    this.opts = opts;
  }

  start(ctx: ControllerContext): void {
    this.client = ctx.client;
    this.log = ctx.logger(this.name);
    this.deleter = new Deleter(ctx.client, this.opts.discover ?? discoverNamespacedResources(ctx.client), ctx.now);
    this.namespaces = ctx.informers.informerFor(Resources.namespaces);
    const enqueue = (ns: KubeObject) => {
      if (ns.metadata?.deletionTimestamp) this.queue.addAfter(keyOf(ns), this.opts.deletionDelayMs ?? 5000);
    };
    this.namespaces.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n) });
    // A pod gone from a terminating namespace may be the last content it waited for.
    ctx.informers.informerFor(Resources.pods).addEventHandler({
      onDelete: (p) => {
        const ns = deletedObject(p).metadata?.namespace ?? '';
        if (this.emptying.has(ns)) this.queue.add(ns);
      },
    });
  }

  async run(): Promise<void> {
    this.resync = setInterval(() => {
      for (const ns of this.namespaces.store.list()) if (ns.metadata?.deletionTimestamp) this.queue.add(keyOf(ns));
    }, this.opts.resyncMs ?? 300_000);
    this.resync.unref();
    await runWorkers(this.queue, this.opts.workers ?? 2, (name) => this.sync(name), { logger: this.log });
  }

  stop(): void {
    clearInterval(this.resync);
    this.queue.shutDown();
  }

  private async sync(name: string): Promise<ReconcileResult | void> {
    let ns: KubeObject;
    try {
      ns = await this.client.get(Resources.namespaces, undefined, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.emptying.delete(name);
      return;
    }
    if (!ns.metadata?.deletionTimestamp) return;
    ns = await this.ensureTerminating(ns);
    if (!ns.metadata?.deletionTimestamp || !specFinalizers(ns).includes(FINALIZER_KUBERNETES)) return;
    this.emptying.add(name);
    const estimate = await this.deleter.deleteAllContent(ns);
    if (estimate > 0) {
      this.log.info(`content remaining in namespace ${name}; checking again in ${Math.floor(estimate / 2) + 1}s`);
      return { requeueAfterMs: (Math.floor(estimate / 2) + 1) * 1000 };
    }
    await this.finalize(name);
    this.emptying.delete(name);
  }

  /** status.phase Terminating (the API server sets it on delete; this covers older objects). */
  private async ensureTerminating(ns: KubeObject): Promise<KubeObject> {
    for (let cur = ns; ; ) {
      if ((cur.status as { phase?: string } | undefined)?.phase === 'Terminating') return cur;
      const next = structuredClone(cur);
      next.status = { ...((next.status as object) ?? {}), phase: 'Terminating' };
      try {
        return await this.client.updateStatus(Resources.namespaces, undefined, next);
      } catch (err) {
        if (!isConflict(err)) throw err;
        cur = await this.client.get(Resources.namespaces, undefined, ns.metadata?.name ?? '');
      }
    }
  }

  /** Drops the `kubernetes` finalizer through namespaces/{name}/finalize. */
  private async finalize(name: string): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      let cur: KubeObject;
      try {
        cur = await this.client.get(Resources.namespaces, undefined, name);
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      const rest = [...new Set(specFinalizers(cur).filter((f) => f !== FINALIZER_KUBERNETES))].sort();
      const body = { apiVersion: 'v1', kind: 'Namespace', metadata: cur.metadata, spec: { ...((cur.spec as object) ?? {}), finalizers: rest } };
      try {
        await this.client.request('PUT', resourcePath(Resources.namespaces, undefined, name, 'finalize'), body);
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err)) throw err;
      }
    }
    throw new Error(`finalizing namespace ${name}: too many conflicts`);
  }
}

export function namespaceController(opts: NamespaceControllerOptions = {}): ControllerFactory {
  return () => new NamespaceController(opts);
}
