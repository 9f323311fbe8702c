// One generic store per served group/version/resource, and one watch cache per storage prefix
// (versions of the same resource share their objects).
import type { Store } from '../store/types.ts';
import type { Catalog, ResourceInfo } from '../registry/catalog.ts';
import { GenericStore } from '../registry/generic.ts';
import { strategyFor } from '../registry/strategy.ts';
import '../registry/kinds/index.ts';
import { WatchCache } from './watch-cache.ts';

export interface Registry {
  info: ResourceInfo;
  gs: GenericStore;
  cache: WatchCache;
  store: Store;
}

export class Registries {
  private readonly byPath = new Map<string, Registry>();
  private readonly caches = new Map<string, WatchCache>();
  readonly catalog: Catalog;
  readonly store: Store;

  constructor(store: Store, catalog: Catalog) {
    this.store = store;
    this.catalog = catalog;
    for (const info of catalog.resources) {
      if (!info.storageVersion) continue; // virtual resources (reviews, bindings) have no storage
      const gs = new GenericStore(store, info, strategyFor(info));
      let cache = this.caches.get(gs.prefix);
      if (!cache) {
        cache = new WatchCache(store, gs);
        this.caches.set(gs.prefix, cache);
      }
      const c = cache;
      gs.onEncode = (key, bytes, stored) => c.offer(key, bytes, stored);
      gs.cachedLookup = (namespace, name) => {
        const e = c.get(namespace, name);
        return e ? { obj: e.obj, modRevision: e.rv } : undefined;
      };
      this.byPath.set(`${info.group}/${info.version}/${info.resource}`, { info, gs, cache, store });
    }
  }

  get(group: string, version: string, resource: string): Registry | undefined {
    return this.byPath.get(`${group}/${version}/${resource}`);
  }

  /** Fills every watch cache (in the background); resolves when all are ready. */
  async startCaches(): Promise<void> {
    await Promise.all([...this.caches.values()].map((c) => c.start()));
  }

  stop(): void {
    for (const c of this.caches.values()) c.stop();
  }
}
