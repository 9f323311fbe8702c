// Lists and watches shared by several informer factories: the controller manager and the scheduler
// on one thread ask for the same resources (pods, nodes, namespaces, ...). With one pool, each
// (resource, namespace, selectors) is listed, watched and decoded once; every factory's informer
// follows it with its own handlers and indexes over the same objects. A shared list and watch runs
// while at least one following informer is started (each factory starts and stops with its own
// leader election).
import type { KubeObject } from '../../api/object.ts';
import type { KubeClient } from '../../client/kube-client.ts';
import type { GVR } from '../../client/resources.ts';
import { Informer, type InformerKey, type InformerOptions, type InformerPoolLike, type InformerSource } from './informer.ts';

export type PoolDefaults = Omit<InformerOptions, 'namespace' | 'labelSelector' | 'fieldSelector' | 'indexers' | 'shared' | 'resyncPeriodMs'>;

export class InformerPool implements InformerPoolLike {
  private readonly client: KubeClient;
  private readonly defaults: PoolDefaults;
  private readonly running = new Map<string, { inf: Informer<KubeObject>; users: number }>();

  constructor(client: KubeClient, defaults: PoolDefaults = {}) {
    this.client = client;
    this.defaults = defaults;
  }

  /** Shared lists and watches running now. */
  get size(): number {
    return this.running.size;
  }

  source<T extends KubeObject>(gvr: GVR, key: InformerKey): InformerSource<T> {
    const id = `${gvr.group}/${gvr.version}/${gvr.resource}|${key.namespace ?? ''}|${key.labelSelector ?? ''}|${key.fieldSelector ?? ''}`;
    return {
      acquire: () => {
        let r = this.running.get(id);
        if (!r) {
          r = { inf: new Informer<KubeObject>(this.client, gvr, { ...this.defaults, ...key }), users: 0 };
          this.running.set(id, r);
          r.inf.start();
        }
        r.users++;
        return r.inf as unknown as Informer<T>;
      },
      release: () => {
        const r = this.running.get(id);
        if (!r || --r.users > 0) return;
        this.running.delete(id);
        void r.inf.stop();
      },
    };
  }
}
