// The embedded backend: an MVCC keyspace in classic-level (LevelDB) with etcd v3 semantics.
import { ClassicLevel } from 'classic-level';
import { CompactedError, FutureRevisionError, InvalidRequestError, LeaseNotFoundError, UnavailableError } from '../errors.ts';
import type { KeyValue, Lease, RangeOptions, RangeResult, ResponseHeader, Store, TxnRequest, TxnResult, OpResponse, WatchHandler, WatchOptions, Watcher } from '../types.ts';
import { validatePut, validateTxn } from '../validate.ts';
import { decodeRecord, pointerOf, recordKey, revisionOf, toKeyValue, type StoredRecord, RECORD_PREFIX } from './codec.ts';
import { Committer } from './committer.ts';
import { Compactor, RetentionPolicy } from './compactor.ts';
import { Lessor } from './lessor.ts';
import { openDatabase } from './open.ts';
import type { Wal } from './wal.ts';
import { StateMachine, type ApplyOutcome, type ChangeEvent, type Command } from './state-machine.ts';
import { WatchHub } from './watch-hub.ts';
import { inRange } from './key-index.ts';

export interface EmbeddedOptions {
  /** Keep this much history; older revisions are compacted automatically. 0 disables. Default 5 min. */
  compactionRetentionMs?: number;
  /** Progress notifications for idle watchers that asked for them. Default 5 s. */
  progressNotifyIntervalMs?: number;
  /** Keep a write-ahead log (default true; see wal.ts); false: every batch is a synced LevelDB write. */
  wal?: boolean;
  /** Size of the log's segments (default 16 MiB). */
  walSegmentBytes?: number;
  /** How long a batch of nothing but heartbeats (`coalesce` txns) waits for company (default 100 ms; 0: never). */
  heartbeatHoldMs?: number;
}

const MAX_LEASE_TTL = 9_000_000_000;

export class EmbeddedStore implements Store {
  private closed = false;
  private readonly committer: Committer;
  private readonly hub: WatchHub;
  private readonly lessor: Lessor;
  readonly compactor: Compactor;
  private retentionTimer: NodeJS.Timeout | undefined;

  private readonly db: ClassicLevel<Buffer, Buffer>;
  private readonly sm: StateMachine;

  private readonly wal: Wal | undefined;

  private constructor(db: ClassicLevel<Buffer, Buffer>, sm: StateMachine, opts: EmbeddedOptions, wal: Wal | undefined) {
    this.wal = wal;
    this.db = db;
    this.sm = sm;
    this.hub = new WatchHub(
      {
        history: (from, to, key, end) => this.history(from, to, key, end),
        prevKv: (ev) => this.readKv(ev.prevPointer),
        compactRevision: () => this.sm.compactRevision,
      },
      sm.revision,
      opts.progressNotifyIntervalMs ?? 5000,
    );
    this.committer = new Committer(db, sm.revision, { onDurable: (events, rev) => this.hub.publish(events, rev) }, wal, opts.heartbeatHoldMs);
    this.compactor = new Compactor(db, sm.index);
    this.lessor = new Lessor((id) => this.leaseRevoke(id));
    for (const [id, l] of sm.leases) this.lessor.refresh(id, l.ttl);
    const retention = opts.compactionRetentionMs ?? 300_000;
    if (retention > 0) {
      const policy = new RetentionPolicy(retention);
      this.retentionTimer = setInterval(() => {
        const due = policy.sample(Date.now(), this.committer.durableRevision);
        if (due !== undefined && due > this.sm.compactRevision) this.compact(due).catch(() => undefined);
      }, Math.max(100, Math.min(retention / 10, 30_000)));
      this.retentionTimer.unref();
    }
  }

  /** Opens (creating if absent) the store in `dir`. Refuses a corrupted or foreign directory. */
  static async open(dir: string, opts: EmbeddedOptions = {}): Promise<EmbeddedStore> {
    const { db, sm, toPrune, wal } = await openDatabase(dir, { wal: opts.wal, walSegmentBytes: opts.walSegmentBytes });
    const store = new EmbeddedStore(db, sm, opts, wal);
    if (toPrune > 0) void store.compactor.prune(sm.compactRevision);
    return store;
  }

  /** Statistics for benchmarks and tests. */
  stats(): { revision: number; compactRevision: number; keys: number; batches: number; watchers: number } {
    return { revision: this.sm.revision, compactRevision: this.sm.compactRevision, keys: this.sm.index.size, batches: this.committer.batches, watchers: this.hub.size };
  }

  private header(): ResponseHeader {
    return { revision: this.committer.durableRevision };
  }

  private checkOpen(): void {
    if (this.closed) throw new UnavailableError('store is closed');
  }

  /** Applies a command and waits until it is durable (a `coalesce` one may wait for company first). */
  private async submit(cmd: Command, coalesce = false): Promise<ApplyOutcome> {
    this.checkOpen();
    const valueKeys = StateMachine.valueCompareKeys(cmd);
    let outcome: ApplyOutcome;
    if (valueKeys.length === 0) {
      outcome = this.sm.apply(cmd);
    } else {
      // Read the current values, then apply only if none of those keys changed meanwhile.
      for (;;) {
        const pointers = valueKeys.map((k) => this.sm.index.get(k)?.latestPointer() ?? 0);
        const values = new Map<string, Uint8Array | undefined>();
        for (let i = 0; i < valueKeys.length; i++) values.set(valueKeys[i], pointers[i] > 0 ? (await this.readRecord(pointers[i])).value : undefined);
        this.checkOpen();
        if (valueKeys.every((k, i) => (this.sm.index.get(k)?.latestPointer() ?? 0) === pointers[i])) {
          outcome = this.sm.apply(cmd, values);
          break;
        }
      }
    }
    await this.committer.add(outcome.writes, outcome.records, outcome.events, outcome.revision, coalesce);
    return outcome;
  }

  private async readRecord(pointer: number): Promise<StoredRecord> {
    const p = Math.abs(pointer);
    const raw = this.committer.pendingRecord(p) ?? (await this.db.get(recordKey(p)));
    if (raw === undefined) throw new CompactedError(this.sm.compactRevision, revisionOf(p));
    return decodeRecord(raw);
  }

  private async readKv(pointer: number): Promise<KeyValue | undefined> {
    if (pointer <= 0) return undefined;
    return toKeyValue(await this.readRecord(pointer), revisionOf(pointer));
  }

  async revision(): Promise<number> {
    this.checkOpen();
    return this.committer.durableRevision;
  }

  async compactRevision(): Promise<number> {
    return this.sm.compactRevision;
  }

  async range(key: string, opts: RangeOptions = {}): Promise<RangeResult> {
    this.checkOpen();
    if (typeof key !== 'string' || key === '') throw new InvalidRequestError('key is not provided');
    const current = this.committer.durableRevision;
    const rev = opts.revision && opts.revision > 0 ? opts.revision : current;
    if (rev > current) throw new FutureRevisionError(rev, current);
    if (rev < this.sm.compactRevision) throw new CompactedError(this.sm.compactRevision, rev);
    const pointers: number[] = [];
    this.sm.index.forEachInRange(key, opts.end, (_k, h) => {
      const p = h.pointerAt(rev);
      if (p > 0) pointers.push(p);
    });
    const count = pointers.length;
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const more = count > limit;
    if (more) pointers.length = limit;
    const result: RangeResult = { header: { revision: current }, kvs: [], count, more };
    if (opts.countOnly) return result;
    const raws: Array<Buffer | undefined> = new Array(pointers.length);
    const missing: number[] = [];
    for (let i = 0; i < pointers.length; i++) {
      raws[i] = this.committer.pendingRecord(pointers[i]);
      if (raws[i] === undefined) missing.push(i);
    }
    if (missing.length > 0) {
      const got = await this.db.getMany(missing.map((i) => recordKey(pointers[i])));
      for (let j = 0; j < missing.length; j++) raws[missing[j]] = got[j];
    }
    for (let i = 0; i < pointers.length; i++) {
      const raw = raws[i];
      if (raw === undefined) throw new CompactedError(this.sm.compactRevision, rev);
      result.kvs.push(toKeyValue(decodeRecord(raw), revisionOf(pointers[i]), opts.keysOnly));
    }
    return result;
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    validateTxn(req);
    const out = await this.submit({ type: 'txn', req }, req.coalesce === true);
    const ops = (out.succeeded ? req.success : req.failure) ?? [];
    const responses: OpResponse[] = [];
    for (let i = 0; i < out.opResults.length; i++) {
      const r = out.opResults[i];
      const op = ops[i];
      if (r.type === 'put') {
        const prevKv = op.type === 'put' && op.prevKv ? await this.readKv(r.prevPointer) : undefined;
        responses.push(prevKv ? { type: 'put', prevKv } : { type: 'put' });
      } else if (r.type === 'delete') {
        const prevKvs: KeyValue[] = [];
        if (op.type === 'delete' && op.prevKv) for (const p of r.prevPointers) prevKvs.push((await this.readKv(p)) as KeyValue);
        responses.push({ type: 'delete', deleted: r.deleted, prevKvs });
      } else {
        const { type: _t, key, ...rangeOpts } = r.op;
        responses.push({ type: 'range', ...(await this.range(key, { ...rangeOpts, revision: r.op.revision || out.readRevision })) });
      }
    }
    return { header: { revision: out.revision }, succeeded: out.succeeded, responses };
  }

  async put(key: string, value: Uint8Array, opts: { lease?: number; prevKv?: boolean } = {}): Promise<{ header: ResponseHeader; prevKv?: KeyValue }> {
    validatePut(key, value);
    const r = await this.txn({ success: [{ type: 'put', key, value, lease: opts.lease, prevKv: opts.prevKv }] });
    const res = r.responses[0] as { prevKv?: KeyValue };
    return res.prevKv ? { header: r.header, prevKv: res.prevKv } : { header: r.header };
  }

  async delete(key: string, opts: { end?: string; prevKv?: boolean } = {}): Promise<{ header: ResponseHeader; deleted: number; prevKvs: KeyValue[] }> {
    const r = await this.txn({ success: [{ type: 'delete', key, end: opts.end, prevKv: opts.prevKv }] });
    const res = r.responses[0] as { deleted: number; prevKvs: KeyValue[] };
    return { header: r.header, deleted: res.deleted, prevKvs: res.prevKvs };
  }

  async watch(key: string, opts: WatchOptions, handler: WatchHandler): Promise<Watcher> {
    this.checkOpen();
    if (typeof key !== 'string' || key === '') throw new InvalidRequestError('key is not provided');
    if (opts.fromRevision && opts.fromRevision > 0 && opts.fromRevision <= this.sm.compactRevision) {
      throw new CompactedError(this.sm.compactRevision, opts.fromRevision);
    }
    return this.hub.watch(key, opts, handler);
  }

  /** Changes in revisions [from, to] within the key range, read back from disk. */
  private async history(from: number, to: number, key: string, end: string | undefined): Promise<ChangeEvent[]> {
    const out: ChangeEvent[] = [];
    await this.committer.apply(); // LevelDB must hold every logged write before it is iterated
    const it = this.db.iterator({ gte: recordKey(pointerOf(from, 0)), lt: recordKey(pointerOf(to + 1, 0)) });
    try {
      for (;;) {
        const entries = await it.nextv(1000);
        if (entries.length === 0) break;
        for (const [k, v] of entries) {
          if (k[0] !== RECORD_PREFIX) continue;
          const rec = decodeRecord(v);
          if (!inRange(rec.key, key, end)) continue;
          const pointer = Number(k.readUInt32BE(1)) * 0x100000000 + k.readUInt32BE(5);
          const prevPointer = this.sm.index.get(rec.key)?.pointerBefore(pointer) ?? 0;
          out.push({
            type: rec.tombstone ? 'delete' : 'put',
            key: rec.key,
            value: rec.value,
            modRevision: revisionOf(pointer),
            createRevision: rec.createRevision,
            version: rec.version,
            lease: rec.lease,
            pointer: rec.tombstone ? -pointer : pointer,
            prevPointer,
          });
        }
      }
    } finally {
      await it.close();
    }
    return out;
  }

  async compact(revision: number): Promise<void> {
    await this.submit({ type: 'compact', revision });
    await this.committer.apply(); // LevelDB deletes only after it holds every logged write
    await this.compactor.prune(revision);
  }

  async leaseGrant(ttlSeconds: number): Promise<Lease> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_LEASE_TTL) throw new InvalidRequestError(`lease TTL must be an integer between 1 and ${MAX_LEASE_TTL} seconds`);
    for (;;) {
      const id = Math.floor(Math.random() * (Number.MAX_SAFE_INTEGER - 1)) + 1;
      if (this.sm.leases.has(id)) continue;
      this.lessor.refresh(id, ttlSeconds);
      try {
        await this.submit({ type: 'leaseGrant', id, ttl: ttlSeconds });
      } catch (err) {
        this.lessor.forget(id);
        throw err;
      }
      return { id, ttl: ttlSeconds };
    }
  }

  async leaseKeepAlive(id: number): Promise<Lease> {
    this.checkOpen();
    const l = this.sm.leases.get(id);
    if (!l) throw new LeaseNotFoundError(id);
    this.lessor.refresh(id, l.ttl);
    return { id, ttl: l.ttl };
  }

  async leaseRevoke(id: number): Promise<void> {
    await this.submit({ type: 'leaseRevoke', id });
    this.lessor.forget(id);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.lessor.close();
    this.hub.close();
    const synced = await this.committer.drain();
    await this.compactor.close();
    // LevelDB holds every logged write durably: the next open has nothing to replay.
    await this.wal?.close(synced);
    await this.db.close();
  }
}
