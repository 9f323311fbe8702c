// Group commit: every write applied while a disk sync is in flight joins the next single batch.
// Callers are answered only once their batch is durable: with a write-ahead log (the default),
// once its log record is written (one O_DSYNC write); LevelDB then takes the batches without
// sync, several at a time, and a synced LevelDB write frees each full log segment. Without a log,
// the batch is written to LevelDB with sync: true. Heartbeats (writes that say `coalesce`) may
// wait up to HEARTBEAT_HOLD_MS for company: a batch of nothing but heartbeats starts after that
// delay, any other write starts it at once.
import type { ClassicLevel } from 'classic-level';
import type { ChangeEvent, LevelWrite } from './state-machine.ts';
import { META_REVISION, encodeNumber } from './codec.ts';
import type { Wal } from './wal.ts';
import { HEARTBEAT_HOLD_MS } from '../types.ts';

/**
 * Makes everything LevelDB took durable: a synced write alone is not enough (LevelDB may have
 * moved to a new log file since the writes it took without sync, and syncs only the new one),
 * so the memtable is flushed into a synced table file (a compaction of an empty key range always
 * does that first).
 */
export async function checkpointLevel(db: ClassicLevel<Buffer, Buffer>): Promise<void> {
  await db.compactRange(Buffer.from('x'), Buffer.from('x\0'));
}

/**
 * How long durable batches wait to go to LevelDB together. Each LevelDB write is a round trip
 * through the thread pool (a wake-up of a pool thread and one of the event loop): at 10 ms,
 * 1,000 nodes' Lease renewals (one every 10 ms) each paid one; at 100 ms ten share it. The
 * records wait in memory meanwhile (a storm of 3,000 writes/s holds ~300 of them).
 */
const APPLY_DELAY_MS = 100;

interface Pending {
  writes: LevelWrite[];
  records: Map<number, Buffer>;
  events: ChangeEvent[];
  waiters: Array<{ resolve: () => void; reject: (e: Error) => void }>;
  revision: number;
  /** Some writer in it is not a heartbeat: the batch goes without waiting. */
  urgent: boolean;
}

export interface CommitterHooks {
  /** Called once per durable batch, in order, before its writers are answered. */
  onDurable(events: ChangeEvent[], revision: number): void;
}

export class Committer {
  private next: Pending;
  private inFlight: Pending | undefined;
  private scheduled = false;
  private holdTimer: NodeJS.Timeout | undefined;
  private readonly holdMs: number;
  private failed: Error | undefined;
  durableRevision: number;
  batches = 0;

  private readonly db: ClassicLevel<Buffer, Buffer>;
  private readonly hooks: CommitterHooks;
  private readonly wal: Wal | undefined;
  /** Durable (logged) writes LevelDB does not have yet, their records (still readable here), and the full segment they free. */
  private unapplied: LevelWrite[] = [];
  private unappliedRecords = new Map<number, Buffer>();
  private freeSegment: number | undefined;
  private applying: Promise<void> | undefined;
  private applyingRecords: Map<number, Buffer> | undefined;
  /** LevelDB's last write was synced (true after opening: the replay syncs). */
  private levelSynced = true;
  private applyTimer: NodeJS.Timeout | undefined;

  constructor(db: ClassicLevel<Buffer, Buffer>, revision: number, hooks: CommitterHooks, wal?: Wal, holdMs = HEARTBEAT_HOLD_MS) {
    this.db = db;
    this.holdMs = holdMs;
    this.hooks = hooks;
    this.wal = wal;
    this.durableRevision = revision;
    this.next = this.empty(revision);
  }

  private empty(revision: number): Pending {
    return { writes: [], records: new Map(), events: [], waiters: [], revision, urgent: false };
  }

  /** Record bytes written but not yet durable, for reads that must see the newest state. */
  pendingRecord(pointer: number): Buffer | undefined {
    return this.next.records.get(pointer) ?? this.inFlight?.records.get(pointer) ?? this.unappliedRecords.get(pointer) ?? this.applyingRecords?.get(pointer);
  }

  /** Queues the writes of one applied command; resolves when they are durable. A `coalesce` write may wait up to the hold for company. */
  add(writes: LevelWrite[], records: Map<number, Buffer>, events: ChangeEvent[], revision: number, coalesce = false): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const p = this.next;
    if (!coalesce || this.holdMs <= 0) p.urgent = true;
    for (const w of writes) p.writes.push(w);
    for (const [k, v] of records) p.records.set(k, v);
    for (const e of events) p.events.push(e);
    p.revision = revision;
    return new Promise((resolve, reject) => {
      p.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything applied so far is durable. */
  barrier(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (!this.inFlight && this.next.waiters.length === 0) return Promise.resolve();
    return this.add([], new Map(), [], this.next.revision);
  }

  private schedule(): void {
    // A batch in flight schedules the next one when it is done.
    if (this.inFlight || this.next.waiters.length === 0) return;
    if (!this.next.urgent) {
      this.holdTimer ??= setTimeout(() => {
        this.holdTimer = undefined;
        void this.flush();
      }, this.holdMs);
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every write that arrives in the same turn of the event loop join the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.next.waiters.length === 0) return;
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const batch = (this.inFlight = this.next);
    this.next = this.empty(batch.revision);
    const ops: LevelWrite[] = batch.writes;
    if (batch.revision > this.durableRevision) ops.push({ type: 'put', key: META_REVISION, value: encodeNumber(batch.revision) });
    try {
      if (this.wal) {
        if (ops.length > 0) this.log(batch, ops);
      } else if (ops.length > 0) await this.db.batch(ops, { sync: true });
    } catch (err) {
      this.fail(err as Error, batch);
      return;
    }
    this.batches++;
    this.durableRevision = batch.revision;
    this.inFlight = undefined;
    try {
      this.hooks.onDurable(batch.events, batch.revision);
    } finally {
      for (const w of batch.waiters) w.resolve();
      if (this.next.urgent) void this.flush();
      else this.schedule();
    }
  }

  /** Writes the batch to the log (durable on return) and queues it for LevelDB. */
  private log(batch: Pending, ops: LevelWrite[]): void {
    const full = this.wal!.append({ from: this.durableRevision + 1, to: batch.revision, writes: ops });
    for (const w of ops) this.unapplied.push(w);
    for (const [k, v] of batch.records) this.unappliedRecords.set(k, v);
    if (full !== undefined) {
      // A full segment goes as soon as LevelDB holds its writes: no waiting out the delay.
      this.freeSegment = full;
      clearTimeout(this.applyTimer);
      this.applyTimer = undefined;
    }
    this.applyTimer ??= setTimeout(() => void this.apply().catch(() => undefined), full !== undefined ? 0 : APPLY_DELAY_MS);
  }

  /**
   * Hands the logged writes to LevelDB (one at a time, in order). Synced when asked, or when a
   * full log segment waits: after that write LevelDB holds everything the segment has.
   */
  async apply(sync = false): Promise<void> {
    clearTimeout(this.applyTimer);
    this.applyTimer = undefined;
    while (this.applying) await this.applying;
    if (this.failed) throw this.failed;
    const ops = this.unapplied;
    const records = this.unappliedRecords;
    const free = this.freeSegment;
    if (ops.length === 0 && free === undefined && (!sync || this.levelSynced)) return;
    this.unapplied = [];
    this.unappliedRecords = new Map();
    this.freeSegment = undefined;
    // The records stay readable from the map until LevelDB has them.
    this.applyingRecords = records;
    this.applying = (async () => {
      try {
        const checkpoint = sync || free !== undefined;
        await this.db.batch(ops.length > 0 ? ops : [{ type: 'put', key: META_REVISION, value: encodeNumber(this.durableRevision) }], { sync: checkpoint });
        if (checkpoint) await checkpointLevel(this.db);
        this.levelSynced = checkpoint;
        if (free !== undefined) this.wal!.remove(free);
      } catch (err) {
        // Nothing is lost from memory: the records stay readable, the writes stay queued.
        this.unapplied = ops.concat(this.unapplied);
        for (const [k, v] of records) if (!this.unappliedRecords.has(k)) this.unappliedRecords.set(k, v);
        this.failed ??= new Error(`store write failed, the store must be reopened: ${(err as Error).message}`);
        throw this.failed;
      } finally {
        this.applyingRecords = undefined;
        this.applying = undefined;
      }
    })();
    await this.applying;
  }

  private fail(err: Error, batch: Pending): void {
    // The in-memory state is ahead of the disk now: refuse everything from here on.
    this.failed = new Error(`store write failed, the store must be reopened: ${err.message}`);
    this.inFlight = undefined;
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    for (const w of [...batch.waiters, ...this.next.waiters]) w.reject(this.failed);
    this.next = this.empty(batch.revision);
  }

  /** Waits for in-flight and queued batches to reach the disk, and (with a log) LevelDB to hold them durably; false if a write failed. */
  async drain(): Promise<boolean> {
    while (this.inFlight || this.next.waiters.length > 0) await this.barrier().catch(() => undefined);
    if (!this.wal) return !this.failed;
    return this.apply(true).then(
      () => true,
      () => false,
    );
  }
}
