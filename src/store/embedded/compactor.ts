// Compaction in two steps. The logical step (a state-machine command) makes reads below the
// compact revision fail at once. The physical step, here, prunes the key index and deletes the
// superseded records from disk in small chunks, yielding between chunks so writes are not stalled.
import type { ClassicLevel } from 'classic-level';
import { RECORD_PREFIX, recordKey, revisionOf } from './codec.ts';
import type { KeyIndex } from './key-index.ts';

const KEYS_PER_CHUNK = 2000;
const DELETES_PER_BATCH = 1000;
const RECLAIM_AFTER_DELETES = 1000;

/** Pointers of `pointers` that a compaction at `revision` makes unreachable. Mutates `pointers`. */
export function prunePointers(pointers: number[], revision: number): number[] {
  let keep = -1;
  for (let i = pointers.length - 1; i >= 0; i--) {
    if (revisionOf(pointers[i]) <= revision) {
      keep = i;
      break;
    }
  }
  if (keep < 0) return [];
  // The newest version at or below the compact revision stays readable, unless it is a tombstone
  // older than the compact revision (a tombstone at exactly the compact revision stays so that a
  // watch starting there still sees the deletion).
  const p = pointers[keep];
  const dropKept = p < 0 && revisionOf(p) < revision;
  const removed = pointers.splice(0, dropKept ? keep + 1 : keep);
  return removed;
}

export class Compactor {
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Records deleted so far, for tests and benchmarks. */
  deleted = 0;

  private readonly db: ClassicLevel<Buffer, Buffer>;
  private readonly index: KeyIndex;

  constructor(db: ClassicLevel<Buffer, Buffer>, index: KeyIndex) {
    this.db = db;
    this.index = index;
  }

  /** Queues the physical compaction at `revision`; resolves when it is done. */
  prune(revision: number): Promise<void> {
    this.chain = this.chain.then(() => this.run(revision)).catch(() => undefined);
    return this.chain;
  }

  private async run(revision: number): Promise<void> {
    let after: string | undefined;
    const before = this.deleted;
    for (;;) {
      if (this.closed) return;
      const keys = this.index.keysAfter(after, KEYS_PER_CHUNK);
      if (keys.length === 0) {
        // Give the space back: LevelDB would only reclaim deleted records on its own schedule.
        if (this.deleted - before >= RECLAIM_AFTER_DELETES) await this.db.compactRange(Buffer.from([RECORD_PREFIX]), Buffer.from([RECORD_PREFIX + 1]));
        return;
      }
      const dels: Array<{ type: 'del'; key: Buffer }> = [];
      // Small batches: LevelDB serializes writers, so a huge delete batch would hold up puts.
      for (const key of keys) {
        after = key;
        const h = this.index.get(key);
        if (!h) continue;
        for (const p of prunePointers(h.pointers, revision)) dels.push({ type: 'del', key: recordKey(Math.abs(p)) });
        if (h.pointers.length === 0) this.index.remove(key);
        if (dels.length >= DELETES_PER_BATCH) break;
      }
      if (dels.length > 0) {
        await this.db.batch(dels);
        this.deleted += dels.length;
      } else {
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
  }
}

/** Chooses the revision to compact to: the store's revision as it was `retentionMs` ago. */
export class RetentionPolicy {
  private readonly samples: Array<{ at: number; revision: number }> = [];

  private readonly retentionMs: number;

  constructor(retentionMs: number) {
    this.retentionMs = retentionMs;
  }

  /** Records the current revision; returns the revision to compact to, if one is due. */
  sample(now: number, revision: number): number | undefined {
    this.samples.push({ at: now, revision });
    let due: number | undefined;
    while (this.samples.length > 0 && this.samples[0].at <= now - this.retentionMs) due = this.samples.shift()?.revision;
    return due;
  }
}
