// Multiplexes watchers over one etcd Watch stream, as etcd's clientv3 does. etcd handles the
// create requests of a stream in order and answers each with a `created` response carrying the
// watch id it assigned, so pending creates are matched first-in first-out.
import { CompactedError, InvalidRequestError, StoreError, UnavailableError } from '../errors.ts';
import type { WatchEvent, WatchHandler } from '../types.ts';
import type { Duplex } from './rpc.ts';
import { fromWireKv, revisionOf, type WireEvent, type WireWatchCreateRequest, type WireWatchRequest, type WireWatchResponse } from './wire.ts';

export interface WatchEntry {
  handler: WatchHandler;
  etcdId: number;
  done: boolean;
  /**
   * Progress below this is not reported: etcd 3.4 sends a watch that starts in the future
   * progress notifications at the (older) current revision (fixed upstream in etcd PR #20229).
   */
  minProgress: number;
}

interface PendingCreate {
  entry: WatchEntry;
  resolve(): void;
  reject(err: Error): void;
}

export interface WatchStreamHooks {
  /** A compact revision learned from a cancel response. */
  onCompactRevision(rev: number): void;
  /** The stream is gone; the owner must not use it again. */
  onDead(stream: WatchStream): void;
}

/** Calls a handler callback without letting its exception break the stream for other watchers. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

function toWatchEvent(ev: WireEvent): WatchEvent {
  if (!ev.kv) throw new Error('watch event without kv');
  const out: WatchEvent = { type: ev.type === 'DELETE' ? 'delete' : 'put', kv: fromWireKv(ev.kv) };
  if (ev.prev_kv) out.prevKv = fromWireKv(ev.prev_kv);
  return out;
}

export class WatchStream {
  readonly #call: Duplex<WireWatchRequest, WireWatchResponse>;
  readonly #hooks: WatchStreamHooks;
  readonly #pending: PendingCreate[] = [];
  readonly #active = new Map<number, WatchEntry>();
  #dead = false;

  constructor(call: Duplex<WireWatchRequest, WireWatchResponse>, hooks: WatchStreamHooks) {
    this.#call = call;
    this.#hooks = hooks;
    call.on('data', (res: WireWatchResponse) => this.#onResponse(res));
    call.on('error', (err: Error) => this.fail(new UnavailableError(`etcd watch stream failed: ${(err as { details?: string }).details ?? err.message}`)));
    call.on('end', () => this.fail(new UnavailableError('etcd closed the watch stream')));
  }

  get dead(): boolean {
    return this.#dead;
  }

  get size(): number {
    return this.#active.size + this.#pending.length;
  }

  /** Sends a create request; resolves once etcd confirms it, after which events flow to the entry. */
  create(req: WireWatchCreateRequest, entry: WatchEntry): Promise<void> {
    if (this.#dead) return Promise.reject(new UnavailableError('etcd watch stream is closed'));
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ entry, resolve, reject });
      this.#call.write({ create_request: req });
    });
  }

  /** Asks etcd for a progress notification, which it broadcasts to every watcher of the stream. */
  requestProgress(): void {
    if (!this.#dead) this.#call.write({ progress_request: {} });
  }

  /** Stops delivery at once; etcd's cancel confirmation is ignored. */
  cancel(entry: WatchEntry): void {
    if (entry.done) return;
    entry.done = true;
    this.#active.delete(entry.etcdId);
    if (!this.#dead) this.#call.write({ cancel_request: { watch_id: entry.etcdId } });
  }

  /** Ends the stream: pending creates reject and live watchers get `onError(err)`. */
  fail(err: Error): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#hooks.onDead(this);
    for (const p of this.#pending.splice(0)) p.reject(err);
    const live = [...this.#active.values()];
    this.#active.clear();
    for (const e of live) {
      e.done = true;
      safely(() => e.handler.onError?.(err));
    }
    this.#call.removeAllListeners('data');
    this.#call.on('error', () => {});
    this.#call.cancel();
  }

  #onResponse(res: WireWatchResponse): void {
    if (res.created) return this.#onCreated(res);
    if (res.watch_id === -1 && !res.canceled && res.events.length === 0) {
      // The answer to requestProgress(): for every watcher of the stream.
      const revision = revisionOf(res.header);
      for (const e of this.#active.values()) if (revision >= e.minProgress) safely(() => e.handler.onProgress?.(revision));
      return;
    }
    const entry = this.#active.get(res.watch_id);
    if (!entry) return; // canceled by us
    if (res.canceled) {
      this.#active.delete(res.watch_id);
      entry.done = true;
      let err: Error;
      if (res.compact_revision > 0) {
        this.#hooks.onCompactRevision(res.compact_revision);
        err = new CompactedError(res.compact_revision);
      } else {
        err = new UnavailableError(`etcd canceled the watch${res.cancel_reason ? `: ${res.cancel_reason}` : ''}`);
      }
      safely(() => entry.handler.onError?.(err));
      return;
    }
    const revision = revisionOf(res.header);
    if (res.events.length > 0) {
      const events = res.events.map(toWatchEvent);
      safely(() => entry.handler.onEvents(events, revision));
    } else if (revision >= entry.minProgress) {
      safely(() => entry.handler.onProgress?.(revision));
    }
  }

  #onCreated(res: WireWatchResponse): void {
    const p = this.#pending.shift();
    if (!p) {
      this.fail(new UnavailableError(`unexpected watch created response for watch id ${res.watch_id}`));
      return;
    }
    if (res.canceled) {
      p.entry.done = true;
      if (res.compact_revision > 0) {
        this.#hooks.onCompactRevision(res.compact_revision);
        p.reject(new CompactedError(res.compact_revision));
      } else if (/permission|auth/i.test(res.cancel_reason)) {
        p.reject(new StoreError('permission-denied', `etcd refused the watch: ${res.cancel_reason}`));
      } else {
        p.reject(new InvalidRequestError(`etcd refused the watch: ${res.cancel_reason || 'canceled at creation'}`));
      }
      return;
    }
    p.entry.etcdId = res.watch_id;
    this.#active.set(res.watch_id, p.entry);
    p.resolve();
  }
}
