// One cache per resource: the current objects and a window of recent events, fed by a single
// storage watch. Lists with resourceVersion 0/NotOlderThan and every watch are served from it.
// Each event is encoded once; unfiltered watchers all write the same bytes.
import { OrderedMap } from '@js-sdsl/ordered-map';
import type { KeyValue, Store, WatchEvent, Watcher } from '../store/types.ts';
import { meta, type KubeObject, cloneJson } from '../api/object.ts';
import { StatusError } from '../api/status.ts';
import { decodeObject, type GenericStore } from '../registry/generic.ts';
import type { Strategy } from '../registry/strategy.ts';
import { selectableAttrs, type SelectableAttrs } from './list-options.ts';

/**
 * One version of an object: its JSON (resourceVersion included), the object parsed from it on
 * demand (not kept: a cache of 10k pods as JS objects costs hundreds of MB and the garbage
 * collector's time), and the labels and fields selectors match on.
 */
export class CacheEntry {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly bytes: Buffer;
  readonly rv: number;
  private parsed: KubeObject | undefined;
  private selectable: SelectableAttrs | undefined;

  constructor(key: string, namespace: string, name: string, bytes: Buffer, rv: number, obj?: KubeObject, attrs?: SelectableAttrs) {
    this.key = key;
    this.namespace = namespace;
    this.name = name;
    this.bytes = bytes;
    this.rv = rv;
    this.parsed = obj;
    this.selectable = attrs;
  }

  /** The object: a fresh parse of the bytes, unless the entry was made from one (a DELETED event's; never change that). */
  get obj(): KubeObject {
    return this.parsed ?? (JSON.parse(this.bytes.toString('utf8')) as KubeObject);
  }

  /** Labels and selectable fields, worked out once (selectors match on these, not on the object). */
  attrs(strategy: Strategy): SelectableAttrs {
    return (this.selectable ??= selectableAttrs(this.obj, strategy));
  }

  /** A newer version replaced this one: it keeps its bytes only. */
  supersede(): void {
    this.parsed = undefined;
    this.selectable = undefined;
  }
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface CacheEvent {
  type: EventType;
  rv: number;
  /** The object after the change (for DELETED: its last state, at the deletion's resourceVersion). */
  cur: CacheEntry;
  prev?: CacheEntry;
}

export interface Filter {
  namespace: string;
  name?: string;
  matches(e: CacheEntry): boolean;
  /** matches() looks at labels or fields (so the cache works them out when the object is written). */
  selective?: boolean;
}

export interface CacheWatcher {
  /** One event: `e.bytes` is the object's JSON; `e.obj` parses it (only when needed). */
  send(type: EventType, e: CacheEntry, rv: number): void;
  /** The watcher fell too far behind or the cache restarted: it must end with 410. */
  expire(message: string): void;
}

/** Events kept per resource: 10,000, or K8TS_WATCH_CACHE_WINDOW (small values let tests reach "too old"). */
function windowSize(): number {
  return Math.max(4, Number(process.env.K8TS_WATCH_CACHE_WINDOW) || 10_000);
}

/**
 * `parts` joined in a buffer of their own, for bytes that live long (cache entries and what is
 * memoised per entry). A Buffer under 32 KiB from Buffer.concat or Buffer.from is a slice of
 * Node's 64 KiB pool slab, and keeps the whole slab alive: after 10,000 pods, memoised watch
 * frames and entries held ~2,300 slabs (145 MiB) for ~10 MiB of their own bytes.
 */
function ownBytes(...parts: Buffer[]): Buffer {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const p of parts) at += p.copy(out, at);
  return out;
}

/** The JSON of `value` in a buffer of its own (see ownBytes). */
export function ownJson(value: unknown): Buffer {
  const text = JSON.stringify(value);
  const out = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  out.write(text);
  return out;
}

const HEAD = /^\{"apiVersion":"[\w./-]*","kind":"\w*","metadata":\{/;

/**
 * Stored JSON (encodeObject: no resourceVersion) with `"resourceVersion":"<rv>"` added first in
 * metadata, when the document starts as encodeObject writes it; undefined otherwise.
 */
export function withResourceVersion(value: Uint8Array, rv: number): Buffer | undefined {
  const raw = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const m = HEAD.exec(raw.toString('latin1', 0, Math.min(raw.length, 256)));
  if (!m) return undefined;
  const at = m[0].length;
  const field = `"resourceVersion":"${rv}"${raw[at] === 0x7d ? '' : ','}`;
  return ownBytes(raw.subarray(0, at), Buffer.from(field, 'latin1'), raw.subarray(at));
}

export class WatchCache {
  readonly gs: GenericStore;
  private readonly store: Store;
  private readonly objects = new OrderedMap<string, CacheEntry>([], (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  private readonly window: CacheEvent[] = [];
  /** Every change of this resource after this revision is in the window (the load's, then the last trimmed event's). */
  private windowFrom = 0;
  private readonly windowSize = windowSize();
  private readonly watchers = new Map<CacheWatcher, Filter>();
  private selectiveWatchers = 0;
  /** Labels and fields of objects being written, taken from the object itself, until their event arrives. */
  private readonly offered = new Map<string, { bytes: Buffer; attrs: SelectableAttrs }>();
  private readonly waiters: Array<{ rv: number; resolve: () => void }> = [];
  private storeWatch: Watcher | undefined;
  revision = 0;
  private ready: Promise<void> | undefined;

  constructor(store: Store, gs: GenericStore) {
    this.store = store;
    this.gs = gs;
  }

  start(): Promise<void> {
    this.ready ??= this.load();
    return this.ready;
  }

  private async load(): Promise<void> {
    const { key, end } = this.gs.range('');
    const r = await this.store.range(key, { end });
    for (const kv of r.kvs) this.objects.setElement(kv.key, this.stored(kv));
    this.revision = r.header.revision;
    this.windowFrom = r.header.revision;
    this.storeWatch = await this.store.watch(key, { end, fromRevision: r.header.revision + 1, progressNotify: true }, {
      onEvents: (events, revision) => this.apply(events, revision),
      onProgress: (revision) => this.advance(revision),
      onError: (err) => this.restart(err),
    });
  }

  /**
   * An entry from stored bytes: the resourceVersion spliced in, nothing parsed (a document that
   * does not start as encodeObject writes it is parsed and written again). No parsed object is
   * kept, so `obj` always hands out a fresh copy of a current entry.
   */
  private stored(kv: KeyValue): CacheEntry {
    const bytes = withResourceVersion(kv.value, kv.modRevision) ?? ownJson(decodeObject(kv));
    const rest = kv.key.slice(this.gs.prefix.length);
    const slash = this.gs.info.namespaced ? rest.indexOf('/') : -1;
    let attrs: SelectableAttrs | undefined;
    const o = this.offered.get(kv.key);
    if (o) {
      this.offered.delete(kv.key);
      if (o.bytes.equals(kv.value)) attrs = o.attrs;
    }
    return new CacheEntry(kv.key, slash >= 0 ? rest.slice(0, slash) : '', slash >= 0 ? rest.slice(slash + 1) : rest, bytes, kv.modRevision, undefined, attrs);
  }

  /**
   * An object is about to be written as `bytes`: while watchers with selectors are on, its
   * labels and fields are worked out now, from the object, instead of from a parse of the event.
   */
  offer(key: string, bytes: Buffer, obj: KubeObject): void {
    if (this.selectiveWatchers === 0) return;
    // Writes that never happened (conflicts, dry runs) leave entries behind: keep it bounded.
    if (this.offered.size >= 4096) this.offered.clear();
    const a = selectableAttrs(obj, this.gs.strategy);
    this.offered.set(key, { bytes, attrs: { labels: a.labels ? { ...a.labels } : undefined, fields: a.fields } });
  }

  private apply(events: WatchEvent[], revision: number): void {
    for (const ev of events) {
      const key = ev.kv.key;
      const prev = this.objects.getElementByKey(key);
      let ce: CacheEvent;
      if (ev.type === 'put') {
        const cur = this.stored(ev.kv);
        this.objects.setElement(key, cur);
        ce = { type: prev ? 'MODIFIED' : 'ADDED', rv: ev.kv.modRevision, cur, prev };
      } else {
        if (!prev) continue;
        this.objects.eraseElementByKey(key);
        const last = cloneJson(prev.obj);
        meta(last).resourceVersion = String(ev.kv.modRevision);
        ce = { type: 'DELETED', rv: ev.kv.modRevision, cur: new CacheEntry(key, prev.namespace, prev.name, ownJson(last), ev.kv.modRevision, last), prev };
      }
      this.window.push(ce);
      // Trimmed in steps of a quarter window: one splice per 2,500 events instead of a 10k-entry shift per event.
      if (this.window.length > this.windowSize * 1.25) this.windowFrom = this.window.splice(0, this.window.length - this.windowSize).at(-1)!.rv;
      this.revision = ce.rv;
      for (const [w, f] of this.watchers) dispatch(w, f, ce);
      ce.prev?.supersede();
      if (ce.type === 'DELETED') ce.cur.supersede();
    }
    this.advance(revision);
  }

  private advance(revision: number): void {
    if (revision > this.revision) this.revision = revision;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].rv <= this.revision) {
        this.waiters[i].resolve();
        this.waiters.splice(i, 1);
      }
    }
  }

  private restart(err: Error): void {
    // Lost the storage watch (compaction while behind, backend lost): start over from a fresh list.
    for (const w of this.watchers.keys()) w.expire(`watch cache restarted: ${err.message}`);
    this.watchers.clear();
    this.selectiveWatchers = 0;
    this.offered.clear();
    this.objects.clear();
    this.window.length = 0;
    this.ready = undefined;
    setTimeout(() => void this.start().catch(() => undefined), 100).unref();
  }

  /** Resolves when the cache has seen `rv`; a 504 Timeout after `timeoutMs` (as upstream's "Too large resource version"). */
  async waitFor(rv: number, timeoutMs = 3000): Promise<void> {
    await this.start();
    if (this.revision >= rv) return;
    await new Promise<void>((resolve, reject) => {
      const waiter = { rv, resolve: () => (clearTimeout(t), resolve()) };
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new StatusError(504, 'Timeout', `Timeout: Too large resource version: ${rv}, current: ${this.revision}`, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 }));
      }, timeoutMs);
      this.waiters.push(waiter);
      // The revision may be another resource's: only a progress notification can say this
      // resource has seen everything up to it.
      this.storeWatch?.requestProgress();
    });
  }

  /** Waits until the cache holds everything the store has acknowledged (a consistent read). */
  async sync(): Promise<void> {
    await this.start();
    const rev = await this.store.revision();
    if (this.revision >= rev) return;
    // Events for this resource may all be in; only a progress notification can say so.
    this.storeWatch?.requestProgress();
    await this.waitFor(rev);
  }

  list(filter: Filter): CacheEntry[] {
    const out: CacheEntry[] = [];
    if (filter.name !== undefined) {
      const e = this.objects.getElementByKey(this.gs.key(filter.namespace, filter.name));
      if (e && filter.matches(e)) out.push(e);
      return out;
    }
    const { key, end } = this.gs.range(filter.namespace);
    const stop = this.objects.end();
    for (let it = this.objects.lowerBound(key); !it.equals(stop); it = it.next()) {
      const [k, e] = it.pointer;
      if (k >= end) break;
      if (filter.matches(e)) out.push(e);
    }
    return out;
  }

  get(namespace: string, name: string): CacheEntry | undefined {
    return this.objects.getElementByKey(this.gs.key(namespace, name));
  }

  /**
   * Starts a watch. `fromRv` 0 means "now, after sending the current state as ADDED"; otherwise
   * events after fromRv from the window, or 410 Gone when the window no longer reaches back.
   */
  watch(w: CacheWatcher, filter: Filter, fromRv: number, initialEvents: boolean): void {
    if (initialEvents) {
      for (const e of this.list(filter)) w.send('ADDED', e, e.rv);
    } else if (fromRv < this.revision) {
      // A quiet resource's window may be empty while other resources move the revision on: a
      // watch from any revision since the load (or the last trimmed event) misses nothing.
      if (fromRv < this.windowFrom) {
        throw new StatusError(410, 'Expired', `too old resource version: ${fromRv} (${this.windowFrom})`);
      }
      for (const ce of this.window) if (ce.rv > fromRv) dispatch(w, filter, ce);
    }
    this.watchers.set(w, filter);
    if (filter.selective) this.selectiveWatchers++;
  }

  unwatch(w: CacheWatcher): void {
    const f = this.watchers.get(w);
    if (!f) return;
    this.watchers.delete(w);
    if (f.selective) this.selectiveWatchers--;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  stop(): void {
    this.storeWatch?.cancel();
  }
}

function inScope(f: Filter, e: CacheEntry | undefined): boolean {
  if (!e) return false;
  if (f.namespace && e.namespace !== f.namespace) return false;
  if (f.name !== undefined && e.name !== f.name) return false;
  return f.matches(e);
}

function dispatch(w: CacheWatcher, f: Filter, ce: CacheEvent): void {
  const now = ce.type !== 'DELETED' && inScope(f, ce.cur);
  const before = inScope(f, ce.prev);
  if (ce.type === 'DELETED') {
    if (before) w.send('DELETED', ce.cur, ce.rv);
  } else if (now && before) w.send('MODIFIED', ce.cur, ce.rv);
  else if (now) w.send('ADDED', ce.cur, ce.rv);
  else if (before && ce.prev) {
    // Left the selection: a DELETED carrying the previous state at the new resourceVersion.
    const last = cloneJson(ce.prev.obj);
    meta(last).resourceVersion = String(ce.rv);
    w.send('DELETED', new CacheEntry(ce.prev.key, ce.prev.namespace, ce.prev.name, ownJson(last), ce.rv, last), ce.rv);
  }
}

