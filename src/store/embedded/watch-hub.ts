// Fan-out of durable changes to watchers. A watcher that starts in the past first replays history
// from disk (buffering live changes meanwhile), then switches to the live feed, so that it sees
// every revision exactly once and in order.
import { CompactedError } from '../errors.ts';
import type { KeyValue, WatchEvent, WatchHandler, WatchOptions, Watcher } from '../types.ts';
import { inRange } from './key-index.ts';
import type { ChangeEvent } from './state-machine.ts';

export interface HistorySource {
  /** Changes with revision in [from, to], in order, from disk. */
  history(from: number, to: number, key: string, end: string | undefined): Promise<ChangeEvent[]>;
  /** The previous version a change replaced, if any. */
  prevKv(ev: ChangeEvent): Promise<KeyValue | undefined>;
  compactRevision(): number;
}

class HubWatcher implements Watcher {
  buffered: Array<{ events: ChangeEvent[]; revision: number }> | undefined = [];
  idleSince = Date.now();
  cancelled = false;
  /** Revision up to which this watcher has been told everything. */
  seen: number;
  /** Deliveries run one after another per watcher (prevKv lookups may be asynchronous). */
  chain: Promise<void> = Promise.resolve();

  readonly id: number;
  readonly key: string;
  readonly opts: WatchOptions;
  readonly handler: WatchHandler;
  private readonly hub: WatchHub;

  constructor(id: number, key: string, opts: WatchOptions, handler: WatchHandler, hub: WatchHub, start: number) {
    this.id = id;
    this.key = key;
    this.opts = opts;
    this.handler = handler;
    this.hub = hub;
    this.seen = start - 1;
  }

  matches(ev: ChangeEvent): boolean {
    return inRange(ev.key, this.key, this.opts.end);
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.hub.remove(this);
  }

  requestProgress(): void {
    this.hub.progressFor(this);
  }
}

export function toWatchEvent(ev: ChangeEvent): WatchEvent {
  const kv: KeyValue = { key: ev.key, value: ev.value, createRevision: ev.createRevision, modRevision: ev.modRevision, version: ev.version, lease: ev.lease };
  return { type: ev.type, kv };
}

export class WatchHub {
  private readonly watchers = new Map<number, HubWatcher>();
  private nextId = 1;
  private progressTimer: NodeJS.Timeout | undefined;

  private readonly source: HistorySource;
  /** The newest revision every live watcher has been given. */
  private delivered: number;

  constructor(source: HistorySource, delivered: number, progressIntervalMs: number) {
    this.source = source;
    this.delivered = delivered;
    if (progressIntervalMs > 0) {
      this.progressTimer = setInterval(() => this.progress(progressIntervalMs), Math.max(10, Math.floor(progressIntervalMs / 2)));
      this.progressTimer.unref();
    }
  }

  get size(): number {
    return this.watchers.size;
  }

  watch(key: string, opts: WatchOptions, handler: WatchHandler): Watcher {
    const start = opts.fromRevision && opts.fromRevision > 0 ? opts.fromRevision : this.delivered + 1;
    const w = new HubWatcher(this.nextId++, key, opts, handler, this, start);
    this.watchers.set(w.id, w);
    if (start <= this.delivered) {
      const upTo = this.delivered;
      w.chain = this.catchUp(w, start, upTo);
    } else {
      w.buffered = undefined;
    }
    return w;
  }

  remove(w: HubWatcher): void {
    this.watchers.delete(w.id);
  }

  private async catchUp(w: HubWatcher, from: number, to: number): Promise<void> {
    try {
      const past = await this.source.history(from, to, w.key, w.opts.end);
      if (this.source.compactRevision() >= from) throw new CompactedError(this.source.compactRevision(), from);
      if (past.length > 0) await this.deliver(w, past, to);
      else w.seen = to;
      const buffered = w.buffered ?? [];
      w.buffered = undefined;
      for (const batch of buffered) await this.deliver(w, batch.events, batch.revision);
    } catch (err) {
      this.fail(w, err as Error);
    }
  }

  private fail(w: HubWatcher, err: Error): void {
    if (w.cancelled) return;
    w.cancel();
    w.handler.onError?.(err);
  }

  /** A durable batch: hand it to every matching watcher. */
  publish(events: ChangeEvent[], revision: number): void {
    this.delivered = revision;
    if (events.length === 0) return;
    for (const w of this.watchers.values()) {
      let mine: ChangeEvent[] | undefined;
      if (w.opts.end === undefined) {
        for (const ev of events) if (ev.key === w.key) (mine ??= []).push(ev);
      } else {
        for (const ev of events) if (w.matches(ev)) (mine ??= []).push(ev);
      }
      if (!mine) continue;
      if (w.buffered) {
        w.buffered.push({ events: mine, revision });
        continue;
      }
      if (w.opts.prevKv) {
        const evs = mine;
        w.chain = w.chain.then(() => this.deliver(w, evs, revision)).catch((err: Error) => this.fail(w, err));
      } else {
        this.deliverNow(w, mine, revision);
      }
    }
  }

  private deliverNow(w: HubWatcher, events: ChangeEvent[], revision: number): void {
    if (w.cancelled) return;
    const out: WatchEvent[] = [];
    for (const ev of events) if (ev.modRevision > w.seen) out.push(toWatchEvent(ev));
    w.seen = Math.max(w.seen, revision);
    w.idleSince = Date.now();
    if (out.length > 0) w.handler.onEvents(out, revision);
  }

  private async deliver(w: HubWatcher, events: ChangeEvent[], revision: number): Promise<void> {
    if (w.cancelled) return;
    if (!w.opts.prevKv) return this.deliverNow(w, events, revision);
    const out: WatchEvent[] = [];
    for (const ev of events) {
      if (ev.modRevision <= w.seen) continue;
      const we = toWatchEvent(ev);
      const prev = ev.prevPointer ? await this.source.prevKv(ev) : undefined;
      if (prev) we.prevKv = prev;
      out.push(we);
    }
    if (w.cancelled) return;
    w.seen = Math.max(w.seen, revision);
    w.idleSince = Date.now();
    if (out.length > 0) w.handler.onEvents(out, revision);
  }

  /** Progress for one watcher now: everything durable has been handed to it (or is queued before this). */
  progressFor(w: HubWatcher): void {
    const rev = this.delivered;
    w.chain = w.chain.then(() => {
      if (w.cancelled) return;
      // A watcher still replaying history reports once it has caught up.
      if (w.seen < rev) w.seen = Math.max(w.seen, rev);
      w.handler.onProgress?.(w.seen);
    });
  }

  private progress(intervalMs: number): void {
    const now = Date.now();
    for (const w of this.watchers.values()) {
      if (!w.opts.progressNotify || w.buffered || !w.handler.onProgress) continue;
      if (now - w.idleSince < intervalMs) continue;
      w.idleSince = now;
      const rev = this.delivered;
      w.chain = w.chain.then(() => {
        if (!w.cancelled && w.seen <= rev) {
          w.seen = rev;
          w.handler.onProgress?.(rev);
        }
      });
    }
  }

  close(): void {
    if (this.progressTimer) clearInterval(this.progressTimer);
    for (const w of [...this.watchers.values()]) w.cancel();
  }
}
