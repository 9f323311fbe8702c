// Informers with client-go's reflector semantics: list (in pages of 500) at one resourceVersion,
// then watch from it with bookmarks; a watch that ends is resumed from the last resourceVersion
// seen; a 410 (refused watch, or an ERROR event with code 410) means that resourceVersion is gone
// from the server's window, so the informer re-lists and replaces its store, reporting what
// changed meanwhile (deletions as DeletedFinalStateUnknown tombstones). A shared informer factory
// gives one informer per (resource, namespace, selectors); factories given one InformerPool
// (informer-pool.ts) also share the list and watch, each informer keeping its own handlers and
// indexes over the same objects.
import type { KubeObject } from '../../api/object.ts';
import type { Status } from '../../api/status.ts';
import { StatusError } from '../../api/status.ts';
import { statusErrorFromStatus, type KubeClient, type ObjectList, type Watch } from '../../client/kube-client.ts';
import { resourcePath, type GVR } from '../../client/resources.ts';
import { Indexer, keyOf, type IndexFunc } from './store.ts';
import { errorMessage, stderrLogger, type Logger } from './log.ts';

/** An object deleted while the informer was not watching: its last known state. */
export class DeletedFinalStateUnknown<T extends KubeObject = KubeObject> {
  readonly key: string;
  readonly obj: T;
  constructor(key: string, obj: T) {
    this.key = key;
    this.obj = obj;
  }
}

/** The object of an onDelete argument, tombstone or not. */
export function deletedObject<T extends KubeObject>(x: T | DeletedFinalStateUnknown<T>): T {
  return x instanceof DeletedFinalStateUnknown ? x.obj : x;
}

export interface EventHandlers<T extends KubeObject = KubeObject> {
  /** `isInInitialList`: delivered by the first list (or replayed to a handler added later). */
  onAdd?(obj: T, isInInitialList: boolean): void;
  /** Also called with old === new on periodic resync. */
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T | DeletedFinalStateUnknown<T>): void;
}

export interface InformerOptions<T extends KubeObject = KubeObject> {
  /** Only this namespace ('' or absent: all). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  indexers?: Record<string, IndexFunc<T>>;
  /** onUpdate(obj, obj) for every object this often; 0 (default) disables. */
  resyncPeriodMs?: number;
  /** List page size; default 500. */
  pageSize?: number;
  /** Server-side watch timeout; default a random 5–10 minutes, as the reflector. */
  watchTimeoutSeconds?: number;
  /** Backoff after failures: from initialMs doubling to maxMs (default 800 ms → 30 s). */
  backoff?: { initialMs: number; maxMs: number };
  /**
   * Drop metadata.managedFields from what the store keeps (as upstream's controller manager and
   * scheduler trim their informers): nothing reads them, and they are ~40% of a pod. An update
   * built from a cached object leaves them out, which keeps the stored ones.
   */
  stripManagedFields?: boolean;
  /** Follow this shared list and watch instead of running one (see InformerPool). */
  shared?: InformerSource<T>;
  logger?: Logger;
}

/** A shared list and watch: acquire() starts following it (and hands out its informer), release() stops. */
export interface InformerSource<T extends KubeObject = KubeObject> {
  acquire(): Informer<T>;
  release(): void;
}

export interface InformerStats {
  /** Completed lists (the first and every re-list). */
  lists: number;
  /** Watches opened. */
  watches: number;
  /** 410s seen (refused watches, ERROR events, expired continue tokens). */
  expired: number;
  /** Watch events applied (bookmarks excluded). */
  events: number;
  /** Failed list or watch attempts. */
  failures: number;
}

interface Waiter {
  resolve(): void;
}

/** True when `a` is a later resourceVersion than `b` (k8ts's are revisions; others compare as unknown). */
function newer(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return true;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return a.length !== b.length ? a.length > b.length : a > b;
  return a !== b;
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly gvr: GVR;
  readonly store: Indexer<T>;
  readonly stats: InformerStats = { lists: 0, watches: 0, expired: 0, events: 0, failures: 0 };
  /** The resourceVersion to resume watching from (last list, event or bookmark). */
  lastSyncResourceVersion = '';
  private readonly client: KubeClient;
  private readonly opts: InformerOptions<T>;
  private readonly log: Logger;
  private readonly handlers = new Set<EventHandlers<T>>();
  private synced = false;
  private started = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private watch: Watch<T> | undefined;
  private wakeSleep: (() => void) | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly syncWaiters = new Set<Waiter>();
  /** Aborts in-flight list and watch requests on stop(). */
  private readonly abort = new AbortController();

  constructor(client: KubeClient, gvr: GVR, opts: InformerOptions<T> = {}) {
    this.client = client;
    this.gvr = gvr;
    this.opts = opts;
    this.store = new Indexer<T>(opts.indexers);
    this.log = opts.logger ?? stderrLogger(`informer ${resourcePath(gvr, opts.namespace)}`);
  }

  /** Registers handlers; when the informer has synced already, replays the store as adds. */
  addEventHandler(h: EventHandlers<T>): { remove(): void } {
    this.handlers.add(h);
    if (this.synced) for (const obj of this.store.list()) this.call(h, 'onAdd', () => h.onAdd?.(obj, true));
    return { remove: () => void this.handlers.delete(h) };
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves at the first complete list; rejects after `timeoutMs` or if stopped first. */
  waitForSync(timeoutMs = 30_000): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve: () => {
          clearTimeout(t);
          this.syncWaiters.delete(w);
          if (this.synced) resolve();
          else reject(new Error(`informer for ${this.gvr.resource} stopped before it synced`));
        },
      };
      const t = setTimeout(() => {
        this.syncWaiters.delete(w);
        reject(new Error(`informer for ${this.gvr.resource} did not sync within ${timeoutMs} ms`));
      }, timeoutMs);
      this.syncWaiters.add(w);
    });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.loop = this.opts.shared ? this.follow(this.opts.shared) : this.run();
    if (this.opts.resyncPeriodMs && this.opts.resyncPeriodMs > 0) {
      this.resyncTimer = setInterval(() => this.resync(), this.opts.resyncPeriodMs);
      this.resyncTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    this.abort.abort();
    this.watch?.stop();
    this.wakeSleep?.();
    for (const w of [...this.syncWaiters]) w.resolve();
    await this.loop;
  }

  /** Mirrors a shared informer: its store's objects (the same ones), its changes, its sync. */
  private async follow(shared: InformerSource<T>): Promise<void> {
    const src = shared.acquire();
    const reg = src.addEventHandler({
      onAdd: (obj) => this.mirror(src, obj),
      onUpdate: (_old, obj) => this.mirror(src, obj),
      onDelete: (x) => {
        this.lastSyncResourceVersion = src.lastSyncResourceVersion;
        if (this.store.delete(x instanceof DeletedFinalStateUnknown ? x.key : keyOf(x))) this.dispatch('onDelete', (h) => h.onDelete?.(x));
      },
    });
    const stopped = new Promise<void>((resolve) => this.abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    try {
      await Promise.race([src.waitForSync(2 ** 31 - 1).catch(() => undefined), stopped]);
      if (!this.stopped && src.hasSynced()) {
        this.lastSyncResourceVersion = src.lastSyncResourceVersion;
        this.synced = true;
        for (const w of [...this.syncWaiters]) w.resolve();
      }
      await stopped;
    } finally {
      reg.remove();
      shared.release();
    }
  }

  private mirror(src: Informer<T>, obj: T): void {
    this.lastSyncResourceVersion = src.lastSyncResourceVersion;
    const old = this.store.set(obj);
    if (old) this.dispatch('onUpdate', (h) => h.onUpdate?.(old, obj));
    else this.dispatch('onAdd', (h) => h.onAdd?.(obj, !this.synced));
  }

  private async run(): Promise<void> {
    let needList = true;
    let failures = 0;
    while (!this.stopped) {
      let failed = false;
      try {
        if (needList) {
          await this.listAndReplace();
          needList = false;
          if (this.stopped) break;
        }
        const started = Date.now();
        const r = await this.watchOnce();
        if (r.outcome === 'expired') {
          needList = true;
          this.stats.expired++;
          this.log.info(`watch from resourceVersion ${this.lastSyncResourceVersion} expired: ${r.message}; re-listing`);
        } else if (r.events === 0 && Date.now() - started < 1000 && !this.stopped) {
          // A watch that the server ends at once, again and again, must not spin.
          failed = true;
        }
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof StatusError && err.code === 410) {
          needList = true;
          this.stats.expired++;
          this.log.info(`resourceVersion ${this.lastSyncResourceVersion} too old (${err.message}); re-listing`);
        } else {
          failed = true;
          this.stats.failures++;
          this.log.warn(`${needList ? 'list' : 'watch'} failed: ${errorMessage(err)}`);
        }
      }
      if (failed) {
        failures++;
        const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 800, maxMs: 30_000 };
        const base = Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 30));
        await this.sleep(base * (1 + Math.random() * 0.2));
      } else failures = 0;
    }
    for (const w of [...this.syncWaiters]) w.resolve();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeSleep = done;
    });
  }

  /** A full list in pages, at one resourceVersion; then the store is replaced. */
  private async listAndReplace(): Promise<void> {
    const { namespace, labelSelector, fieldSelector } = this.opts;
    const limit = this.opts.pageSize ?? 500;
    let items: T[] = [];
    let rv = '';
    let cont: string | undefined;
    for (let page = 0; page < 1_000_000; page++) {
      let l: ObjectList<T>;
      try {
        l = await this.client.list<T>(this.gvr, namespace, { labelSelector, fieldSelector, limit, continue: cont, signal: this.abort.signal });
      } catch (err) {
        if (!(cont && err instanceof StatusError && err.code === 410)) throw err;
        // The continue token outlived its revision: one unpaged list (served whole, consistent).
        this.stats.expired++;
        l = await this.client.list<T>(this.gvr, namespace, { labelSelector, fieldSelector, signal: this.abort.signal });
        items = [];
        rv = '';
      }
      if (this.stopped) return;
      if (!rv) rv = l.metadata?.resourceVersion ?? '';
      for (const it of l.items) items.push(this.withTypeMeta(it));
      cont = l.metadata?.continue || undefined;
      if (!cont) break;
    }
    this.replace(items, rv);
    this.stats.lists++;
  }

  /** Servers may leave apiVersion/kind out of list items; Events and owner references need them. */
  private withTypeMeta(obj: T): T {
    if (!obj.kind && this.gvr.kind) {
      obj.apiVersion = this.gvr.group ? `${this.gvr.group}/${this.gvr.version}` : this.gvr.version;
      obj.kind = this.gvr.kind;
    }
    // Assigned, not deleted: a delete would turn every metadata object into a slow dictionary.
    if (this.opts.stripManagedFields && obj.metadata?.managedFields !== undefined) obj.metadata.managedFields = undefined;
    return obj;
  }

  private replace(items: T[], rv: string): void {
    const initial = !this.synced;
    const seen = new Set<string>();
    for (const obj of items) {
      const key = keyOf(obj);
      seen.add(key);
      const old = this.store.set(obj);
      if (!old) this.dispatch('onAdd', (h) => h.onAdd?.(obj, initial));
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.dispatch('onUpdate', (h) => h.onUpdate?.(old, obj));
    }
    if (seen.size !== this.store.size) {
      for (const key of this.store.keys()) {
        if (seen.has(key)) continue;
        const old = this.store.delete(key)!;
        const tomb = new DeletedFinalStateUnknown(key, old);
        this.dispatch('onDelete', (h) => h.onDelete?.(tomb));
      }
    }
    this.lastSyncResourceVersion = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of [...this.syncWaiters]) w.resolve();
    }
  }

  private async watchOnce(): Promise<{ outcome: 'ended' | 'expired'; events: number; message?: string }> {
    const { namespace, labelSelector, fieldSelector } = this.opts;
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? Math.floor(300 * (1 + Math.random()));
    const w = await this.client.watch<T>(this.gvr, namespace, {
      resourceVersion: this.lastSyncResourceVersion,
      allowWatchBookmarks: true,
      labelSelector,
      fieldSelector,
      timeoutSeconds,
      signal: this.abort.signal,
    });
    this.stats.watches++;
    this.watch = w;
    if (this.stopped) w.stop();
    let events = 0;
    try {
      for await (const ev of w) {
        if (this.stopped) break;
        if (ev.type === 'ERROR') {
          const st = ev.object as Status;
          if (st.code === 410) return { outcome: 'expired', events, message: st.message };
          throw statusErrorFromStatus(st);
        }
        const obj = this.withTypeMeta(ev.object as T);
        const rv = obj.metadata?.resourceVersion;
        if (ev.type === 'BOOKMARK') {
          if (rv && newer(rv, this.lastSyncResourceVersion)) this.lastSyncResourceVersion = rv;
          continue;
        }
        events++;
        this.stats.events++;
        this.apply(ev.type, obj);
        if (rv && newer(rv, this.lastSyncResourceVersion)) this.lastSyncResourceVersion = rv;
      }
    } finally {
      w.stop();
      this.watch = undefined;
    }
    return { outcome: 'ended', events };
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void {
    const key = keyOf(obj);
    if (type === 'DELETED') {
      const old = this.store.delete(key);
      if (old) this.dispatch('onDelete', (h) => h.onDelete?.(obj));
      return;
    }
    const cur = this.store.getByKey(key);
    // A replayed event (not newer than what the store holds) changes nothing.
    if (cur && !newer(obj.metadata?.resourceVersion, cur.metadata?.resourceVersion)) return;
    this.store.set(obj);
    if (cur) this.dispatch('onUpdate', (h) => h.onUpdate?.(cur, obj));
    else this.dispatch('onAdd', (h) => h.onAdd?.(obj, false));
  }

  private resync(): void {
    if (!this.synced || this.stopped) return;
    for (const obj of this.store.list()) this.dispatch('onUpdate', (h) => h.onUpdate?.(obj, obj));
  }

  private dispatch(what: string, fn: (h: EventHandlers<T>) => void): void {
    for (const h of this.handlers) this.call(h, what, () => fn(h));
  }

  private call(_h: EventHandlers<T>, what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error(`${what} handler threw: ${errorMessage(err)}`);
    }
  }
}

/** What SharedInformerFactory needs of an InformerPool. */
export interface InformerPoolLike {
  source<T extends KubeObject>(gvr: GVR, key: InformerKey): InformerSource<T>;
}

export interface InformerKey {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * One informer per (resource, namespace, selectors), shared by every controller that asks.
 * Informers asked for after start() are started at once.
 */
export class SharedInformerFactory {
  private readonly client: KubeClient;
  private readonly defaults: Omit<InformerOptions, 'namespace' | 'labelSelector' | 'fieldSelector' | 'indexers'>;
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private started = false;

  private readonly pool: InformerPoolLike | undefined;

  /** With a pool, informers follow the pool's shared lists and watches instead of running their own. */
  constructor(client: KubeClient, defaults: Omit<InformerOptions, 'namespace' | 'labelSelector' | 'fieldSelector' | 'indexers'> = {}, pool?: InformerPoolLike) {
    this.client = client;
    this.defaults = defaults;
    this.pool = pool;
  }

  /** The shared informer; `indexers` are added to it (names must not clash between callers). */
  informerFor<T extends KubeObject = KubeObject>(gvr: GVR, key: InformerKey = {}, indexers: Record<string, IndexFunc<T>> = {}): Informer<T> {
    const id = `${gvr.group}/${gvr.version}/${gvr.resource}|${key.namespace ?? ''}|${key.labelSelector ?? ''}|${key.fieldSelector ?? ''}`;
    let inf = this.informers.get(id) as Informer<T> | undefined;
    if (!inf) {
      inf = new Informer<T>(this.client, gvr, { ...this.defaults, ...key, shared: this.pool?.source<T>(gvr, key) } as InformerOptions<T>);
      this.informers.set(id, inf as unknown as Informer<KubeObject>);
      if (this.started) inf.start();
    }
    const fresh: Record<string, IndexFunc<T>> = {};
    for (const [name, fn] of Object.entries(indexers)) if (!inf.store.hasIndex(name)) fresh[name] = fn;
    inf.store.addIndexers(fresh);
    return inf;
  }

  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  hasSynced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced());
  }

  async waitForSync(timeoutMs = 30_000): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync(timeoutMs)));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
