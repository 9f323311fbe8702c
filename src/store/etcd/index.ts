// Store over an external etcd (v3 gRPC API).
import { randomBytes } from 'node:crypto';
import {
  CompactedError, FutureRevisionError, InvalidRequestError, LeaseNotFoundError, StoreError, UnavailableError,
} from '../errors.ts';
import {
  HEARTBEAT_HOLD_MS, type KeyValue, type Lease, type RangeOptions, type RangeResult, type ResponseHeader, type Store, type TxnRequest,
  type TxnResult, type WatchHandler, type WatchOptions, type Watcher,
} from '../types.ts';
import { validatePut, validateTxn } from '../validate.ts';
import { classify } from './grpc-errors.ts';
import { HeartbeatHold } from './hold.ts';
import { KeepAliveStream } from './keepalive.ts';
import { EtcdRpc } from './rpc.ts';
import { toTarget } from './target.ts';
import { WatchStream, type WatchEntry } from './watch.ts';
import {
  fromWireKv, fromWireOpResponse, fromWireRange, keyBytes, rangeEndBytes, rangeKeyBytes, rangeRequest, revisionOf,
  toBuffer, toWireCompare, toWireOp,
} from './wire.ts';

export interface EtcdConnectOptions {
  /** Client URLs, e.g. `http://127.0.0.1:2379`. */
  endpoints: string[];
  /** How long `connect` waits for the first connection; default 5 s. */
  dialTimeoutMs?: number;
  /** Deadline of each request; default 60 s. */
  requestTimeoutMs?: number;
  /** How long heartbeats (`coalesce` txns) wait to be sent with others (default HEARTBEAT_HOLD_MS; 0: never). */
  heartbeatHoldMs?: number;
}

/** What a failed request was about, to build a precise error. */
interface FailContext {
  /** The revision asked for: a compacted error means the compact revision is above it. */
  revision?: number;
  /** For compact(): a compacted error means the compact revision is at least this. */
  compactAtLeast?: number;
  leases?: number[];
}

/** The smallest key: single-key reads of it are the cheapest way to learn the revision. */
const PROBE_KEY = Buffer.from([0]);

function randomLeaseId(): number {
  for (;;) {
    const id = Number(randomBytes(8).readBigUInt64BE() >> 11n); // uniform in [0, 2^53)
    if (id > 0) return id;
  }
}

export class EtcdStore implements Store {
  readonly #rpc: EtcdRpc;
  readonly #requestTimeoutMs: number;
  #watchStream: WatchStream | undefined;
  #keepAlive: KeepAliveStream | undefined;
  /** Highest compact revision seen; etcd's only grows. */
  #knownCompact = 0;
  #nextWatcherId = 1;
  #closed = false;
  readonly #hold: HeartbeatHold;

  private constructor(rpc: EtcdRpc, requestTimeoutMs: number, heartbeatHoldMs: number) {
    this.#rpc = rpc;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#hold = new HeartbeatHold(heartbeatHoldMs);
  }

  static async connect(opts: EtcdConnectOptions): Promise<EtcdStore> {
    const { target, credentials } = toTarget(opts.endpoints);
    const requestTimeoutMs = opts.requestTimeoutMs ?? 60_000;
    const rpc = new EtcdRpc(target, credentials, { requestTimeoutMs });
    const store = new EtcdStore(rpc, requestTimeoutMs, opts.heartbeatHoldMs ?? HEARTBEAT_HOLD_MS);
    try {
      await rpc.waitForReady(opts.dialTimeoutMs ?? 5_000);
      await store.revision();
    } catch (err) {
      rpc.close();
      const why = err instanceof Error ? err.message : String(err);
      throw new UnavailableError(`cannot connect to etcd at ${opts.endpoints.join(', ')}: ${why}`);
    }
    return store;
  }

  // ---- errors ----

  async #fail(err: unknown, ctx: FailContext = {}): Promise<never> {
    if (err instanceof StoreError) throw err;
    const { kind, message } = classify(err);
    switch (kind) {
      case 'compacted': {
        const floor = ctx.compactAtLeast ?? (ctx.revision !== undefined ? ctx.revision + 1 : 0);
        throw new CompactedError(await this.#discoverCompact(floor).catch(() => Math.max(this.#knownCompact, floor)), ctx.revision);
      }
      case 'future-revision':
        throw new FutureRevisionError(ctx.revision ?? 0, await this.revision().catch(() => 0));
      case 'lease-not-found':
        throw new LeaseNotFoundError(await this.#missingLease(ctx.leases ?? []));
      case 'invalid':
      case 'lease-exists':
        throw new InvalidRequestError(message);
      case 'no-space':
        throw new StoreError('no-space', message);
      case 'closed':
        throw new UnavailableError('store is closed');
      case 'unavailable':
        throw new UnavailableError(`etcd unavailable: ${message}`);
      default:
        throw new StoreError('internal', `etcd: ${message}`);
    }
  }

  /** Which of the given leases is gone (etcd's error does not say). */
  async #missingLease(leases: number[]): Promise<number> {
    const distinct = [...new Set(leases.filter((l) => l !== 0))];
    if (distinct.length <= 1) return distinct[0] ?? 0;
    for (const id of distinct) {
      const res = await this.#rpc.leaseTimeToLive({ ID: id }).catch(() => undefined);
      if (res && res.TTL < 0) return id;
    }
    return distinct[0]!;
  }

  #assertOpen(): void {
    if (this.#closed) throw new UnavailableError('store is closed');
  }

  // ---- KV ----

  async revision(): Promise<number> {
    this.#assertOpen();
    try {
      const res = await this.#rpc.range({ key: PROBE_KEY, count_only: true });
      return revisionOf(res.header);
    } catch (err) {
      return this.#fail(err);
    }
  }

  async range(key: string, opts: RangeOptions = {}): Promise<RangeResult> {
    this.#assertOpen();
    try {
      return fromWireRange(await this.#rpc.range(rangeRequest(key, opts)));
    } catch (err) {
      return this.#fail(err, { revision: opts.revision });
    }
  }

  async put(key: string, value: Uint8Array, opts: { lease?: number; prevKv?: boolean } = {}): Promise<{ header: ResponseHeader; prevKv?: KeyValue }> {
    this.#assertOpen();
    validatePut(key, value);
    this.#hold.release();
    try {
      const res = await this.#rpc.put({ key: keyBytes(key), value: toBuffer(value), lease: opts.lease ?? 0, prev_kv: opts.prevKv ?? false });
      const header = { revision: revisionOf(res.header) };
      return res.prev_kv ? { header, prevKv: fromWireKv(res.prev_kv) } : { header };
    } catch (err) {
      return this.#fail(err, { leases: [opts.lease ?? 0] });
    }
  }

  async delete(key: string, opts: { end?: string; prevKv?: boolean } = {}): Promise<{ header: ResponseHeader; deleted: number; prevKvs: KeyValue[] }> {
    this.#assertOpen();
    validateTxn({ success: [{ type: 'delete', key, end: opts.end, prevKv: opts.prevKv }] });
    this.#hold.release();
    try {
      const res = await this.#rpc.deleteRange({ key: rangeKeyBytes(key, opts.end), range_end: rangeEndBytes(opts.end), prev_kv: opts.prevKv ?? false });
      return { header: { revision: revisionOf(res.header) }, deleted: res.deleted, prevKvs: res.prev_kvs.map(fromWireKv) };
    } catch (err) {
      return this.#fail(err);
    }
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    this.#assertOpen();
    validateTxn(req);
    const success = req.success ?? [];
    const failure = req.failure ?? [];
    // A heartbeat waits to go with others; any other write takes the waiting ones along.
    if (req.coalesce) await this.#hold.wait();
    else this.#hold.release();
    try {
      this.#assertOpen();
      const res = await this.#rpc.txn({
        compare: (req.compare ?? []).map(toWireCompare),
        success: success.map(toWireOp),
        failure: failure.map(toWireOp),
      });
      const revision = revisionOf(res.header);
      return { header: { revision }, succeeded: res.succeeded, responses: res.responses.map((r) => fromWireOpResponse(r, revision)) };
    } catch (err) {
      const ops = [...success, ...failure];
      const leases = ops.flatMap((op) => (op.type === 'put' && op.lease ? [op.lease] : []));
      const revs = ops.flatMap((op) => (op.type === 'range' && op.revision ? [op.revision] : []));
      return this.#fail(err, { leases, revision: revs.length > 0 ? Math.min(...revs) : undefined });
    }
  }

  // ---- compaction ----

  async compact(revision: number): Promise<void> {
    this.#assertOpen();
    try {
      await this.#rpc.compact({ revision, physical: true });
      this.#knownCompact = Math.max(this.#knownCompact, revision);
    } catch (err) {
      return this.#fail(err, { revision, compactAtLeast: revision });
    }
  }

  async compactRevision(): Promise<number> {
    this.#assertOpen();
    try {
      return await this.#discoverCompact(0);
    } catch (err) {
      return this.#fail(err);
    }
  }

  /** Whether a read at `rev` is still possible (etcd refuses reads below the compact revision). */
  async #readable(rev: number): Promise<boolean> {
    try {
      await this.#rpc.range({ key: PROBE_KEY, revision: rev, count_only: true });
      return true;
    } catch (err) {
      const { kind } = classify(err);
      if (kind === 'compacted') return false;
      if (kind === 'future-revision') return true;
      throw err;
    }
  }

  /**
   * etcd does not expose its compact revision, but a read at revision r fails exactly when
   * r < compact revision; so it is the smallest readable revision, found by binary search between
   * the last one known (it only grows) and the current revision. Usually one probe suffices.
   * A compaction at revision 1 cannot be told from none: it is reported as the last known value.
   */
  async #discoverCompact(atLeast: number): Promise<number> {
    let lo = Math.max(this.#knownCompact, atLeast, 1);
    if (await this.#readable(lo)) return this.#learnCompact(lo === 1 ? this.#knownCompact : lo);
    // Invariant: lo is unreadable, hi is readable (the current revision always is).
    let hi = await this.revision();
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (await this.#readable(mid)) hi = mid;
      else lo = mid;
    }
    return this.#learnCompact(hi);
  }

  #learnCompact(rev: number): number {
    this.#knownCompact = Math.max(this.#knownCompact, rev);
    return this.#knownCompact;
  }

  // ---- watch ----

  #stream(): WatchStream {
    if (this.#watchStream && !this.#watchStream.dead) return this.#watchStream;
    const stream = new WatchStream(this.#rpc.watchStream(), {
      onCompactRevision: (rev) => this.#learnCompact(rev),
      onDead: (s) => {
        if (this.#watchStream === s) this.#watchStream = undefined;
      },
    });
    this.#watchStream = stream;
    return stream;
  }

  async watch(key: string, opts: WatchOptions, handler: WatchHandler): Promise<Watcher> {
    this.#assertOpen();
    const from = opts.fromRevision ?? 0;
    // etcd accepts a watch from a compacted revision and only cancels it later, asynchronously;
    // checking first makes the rejection deterministic. Our contract also refuses a watch from
    // the compact revision itself (etcd would accept it, but compaction may have dropped a
    // deletion at that revision): fromRevision ≤ compact revision ⟺ revision fromRevision-1 is
    // unreadable.
    if (from > 0) {
      let compacted: boolean;
      try {
        compacted = from === 1 ? !(await this.#readable(1)) || this.#knownCompact >= 1 : !(await this.#readable(from - 1));
      } catch (err) {
        return this.#fail(err);
      }
      if (compacted) {
        const compactRev = await this.#discoverCompact(from).catch(() => Math.max(this.#knownCompact, from));
        throw new CompactedError(compactRev, from);
      }
    }
    this.#assertOpen();
    let stream: WatchStream;
    try {
      stream = this.#stream();
    } catch (err) {
      return this.#fail(err);
    }
    const entry: WatchEntry = { handler, etcdId: -1, done: false, minProgress: Math.max(0, from - 1) };
    await stream.create({
      key: rangeKeyBytes(key, opts.end),
      range_end: rangeEndBytes(opts.end),
      start_revision: from,
      progress_notify: opts.progressNotify ?? false,
      prev_kv: opts.prevKv ?? false,
    }, entry);
    return { id: this.#nextWatcherId++, cancel: () => stream.cancel(entry), requestProgress: () => stream.requestProgress() };
  }

  // ---- leases ----

  async leaseGrant(ttlSeconds: number): Promise<Lease> {
    this.#assertOpen();
    for (let attempt = 0; ; attempt++) {
      const id = randomLeaseId();
      try {
        const res = await this.#rpc.leaseGrant({ ID: id, TTL: ttlSeconds });
        if (res.error) throw new StoreError('internal', `etcd lease grant: ${res.error}`);
        return { id: res.ID, ttl: res.TTL };
      } catch (err) {
        if (classify(err).kind === 'lease-exists' && attempt < 10) continue;
        return this.#fail(err);
      }
    }
  }

  async leaseKeepAlive(id: number): Promise<Lease> {
    this.#assertOpen();
    if (!this.#keepAlive || this.#keepAlive.dead) {
      try {
        this.#keepAlive = new KeepAliveStream(this.#rpc.keepAliveStream(), this.#requestTimeoutMs, (s) => {
          if (this.#keepAlive === s) this.#keepAlive = undefined;
        });
      } catch (err) {
        return this.#fail(err);
      }
    }
    const ttl = await this.#keepAlive.keepAlive(id);
    if (ttl <= 0) throw new LeaseNotFoundError(id);
    return { id, ttl };
  }

  async leaseRevoke(id: number): Promise<void> {
    this.#assertOpen();
    try {
      await this.#rpc.leaseRevoke({ ID: id });
    } catch (err) {
      return this.#fail(err, { leases: [id] });
    }
  }

  // ---- lifecycle ----

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#hold.release();
    const closed = new UnavailableError('store is closed');
    this.#watchStream?.fail(closed);
    this.#keepAlive?.fail(closed);
    this.#rpc.close();
  }
}
