// Group commit: every write applied while a disk sync is in flight joins the next single LevelDB
// batch, which is written with sync: true. Callers are answered only once their batch is durable.
import type { ClassicLevel } from 'classic-level';
import type { ChangeEvent, LevelWrite } from './state-machine.ts';
import { META_REVISION, encodeNumber } from './codec.ts';

interface Pending {
  writes: LevelWrite[];
  records: Map<number, Buffer>;
  events: ChangeEvent[];
  waiters: Array<{ resolve: () => void; reject: (e: Error) => void }>;
  revision: number;
}

export interface CommitterHooks {
  /** Called once per durable batch, in order, before its writers are answered. */
  onDurable(events: ChangeEvent[], revision: number): void;
}

export class Committer {
  private next: Pending;
  private inFlight: Pending | undefined;
  private scheduled = false;
  private failed: Error | undefined;
  durableRevision: number;
  batches = 0;

  private readonly db: ClassicLevel<Buffer, Buffer>;
  private readonly hooks: CommitterHooks;

  constructor(db: ClassicLevel<Buffer, Buffer>, revision: number, hooks: CommitterHooks) {
    this.db = db;
    this.hooks = hooks;
    this.durableRevision = revision;
    this.next = this.empty(revision);
  }

  private empty(revision: number): Pending {
    return { writes: [], records: new Map(), events: [], waiters: [], revision };
  }

  /** Record bytes written but not yet durable, for reads that must see the newest state. */
  pendingRecord(pointer: number): Buffer | undefined {
    return this.next.records.get(pointer) ?? this.inFlight?.records.get(pointer);
  }

  /** Queues the writes of one applied command; resolves when they are durable. */
  add(writes: LevelWrite[], records: Map<number, Buffer>, events: ChangeEvent[], revision: number): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const p = this.next;
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
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    // setImmediate lets every write that arrives in the same turn of the event loop join the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.next.waiters.length === 0) return;
    const batch = (this.inFlight = this.next);
    this.next = this.empty(batch.revision);
    const ops: LevelWrite[] = batch.writes;
    if (batch.revision > this.durableRevision) ops.push({ type: 'put', key: META_REVISION, value: encodeNumber(batch.revision) });
    try {
      if (ops.length > 0) await this.db.batch(ops, { sync: true });
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
      if (this.next.waiters.length > 0) void this.flush();
    }
  }

  private fail(err: Error, batch: Pending): void {
    // The in-memory state is ahead of the disk now: refuse everything from here on.
    this.failed = new Error(`store write failed, the store must be reopened: ${err.message}`);
    this.inFlight = undefined;
    for (const w of [...batch.waiters, ...this.next.waiters]) w.reject(this.failed);
    this.next = this.empty(batch.revision);
  }

  /** Waits for in-flight and queued batches to reach the disk. */
  async drain(): Promise<void> {
    while (this.inFlight || this.next.waiters.length > 0) await this.barrier().catch(() => undefined);
  }
}
