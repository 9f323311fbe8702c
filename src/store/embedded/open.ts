// Opening a data directory: refuse anything that is not ours, then rebuild the key index and the
// lease table from disk. Never resets or repairs silently.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { DataDirError } from '../errors.ts';
import { FORMAT, LEASE_PREFIX, META_COMPACT, META_FORMAT, META_REVISION, RECORD_PREFIX, RecordDecodeError, decodeNumber, decodeRecord, encodeNumber, leaseIdFromKey, pointerFromRecordKey, revisionOf } from './codec.ts';
import { readLog, Wal, type WalBatch } from './wal.ts';
import { checkpointLevel } from './committer.ts';
import { prunePointers } from './compactor.ts';
import { StateMachine } from './state-machine.ts';

export interface OpenOptions {
  /** Keep a write-ahead log (default true); without one every batch is a synced LevelDB write. */
  wal?: boolean;
  walSegmentBytes?: number;
}

export async function openDatabase(dir: string, opts: OpenOptions = {}): Promise<{ db: ClassicLevel<Buffer, Buffer>; sm: StateMachine; toPrune: number; wal: Wal | undefined }> {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new DataDirError(`data directory ${dir} is not a directory`);
    const entries = readdirSync(dir);
    if (entries.length > 0 && !entries.includes('CURRENT')) {
      throw new DataDirError(`data directory ${dir} is not empty and holds no k8ts store (no LevelDB CURRENT file); refusing to use it`);
    }
  }
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  try {
    await db.open({ createIfMissing: true });
  } catch (err) {
    const e = err as Error & { cause?: Error };
    throw new DataDirError(`cannot open the store in ${dir}: ${e.cause?.message ?? e.message}`);
  }
  try {
    const log = readLog(dir);
    // Logged writes mean LevelDB took the latest ones without sync: after a power loss it may
    // drop that tail, which the log restores. With none, anything LevelDB drops is lost.
    checkRecoveryLog(dir, log.batches.length > 0);
    const sm = await load(db, dir, log.batches);
    const toPrune = sm.compactRevision > 0 ? pruneIndex(sm) : 0;
    // LevelDB holds everything durably now: start a fresh log after the old segments.
    let wal: Wal | undefined;
    if (opts.wal !== false) {
      wal = Wal.create(dir, (log.segments.at(-1) ?? 0) + 1, opts.walSegmentBytes);
      wal.remove(wal.segment - 1);
    } else if (log.segments.length > 0) {
      for (const seq of log.segments) Wal.removeSegment(dir, seq);
    }
    return { db, sm, toPrune, wal };
  } catch (err) {
    await db.close().catch(() => undefined);
    if (err instanceof DataDirError) throw err;
    throw new DataDirError(`the store in ${dir} is corrupted: ${(err as Error).message}`);
  }
}

/**
 * LevelDB skips a damaged stretch of its write-ahead log when it recovers (paranoid checks are
 * off and classic-level cannot turn them on), silently losing acknowledged writes. Its info LOG,
 * rewritten at every open, says so: refuse the store rather than serve the truncated state.
 */
function checkRecoveryLog(dir: string, logged: boolean): void {
  let log: string;
  try {
    log = readFileSync(join(dir, 'LOG'), 'utf8');
  } catch {
    return;
  }
  // With our log holding batches, LevelDB's own log holds only writes taken since the last
  // checkpoint (all in our log too): a torn tail of it is expected after a power loss.
  const bad = log.split('\n').find((l) => /Corruption|dropping \d+ bytes/i.test(l) && !(logged && /\.log: dropping \d+ bytes/.test(l)));
  if (bad) throw new DataDirError(`the store in ${dir} is corrupted: LevelDB reported "${bad.replace(/^\S+ \S+ \S+ /, '').trim()}" while recovering its log; refusing to open it with writes missing`);
}

/** Writes the logged batches to LevelDB in order (each a whole batch: one LevelDB already has changes nothing), then syncs. */
async function replay(db: ClassicLevel<Buffer, Buffer>, dir: string, batches: WalBatch[]): Promise<void> {
  if (batches.length === 0) return;
  const rev = await db.get(META_REVISION);
  // A store that LevelDB holds no write of is at revision 1 (an empty store's): its first write,
  // revision 2, may be in the log only.
  const stored = rev === undefined ? 1 : decodeNumber(rev);
  if (batches[0].from > stored + 1) throw new DataDirError(`the store in ${dir} is missing revisions ${stored + 1}..${batches[0].from - 1} (neither in LevelDB nor in the write-ahead log); refusing to open it`);
  for (const b of batches) await db.batch(b.writes);
  await db.put(META_REVISION, encodeNumber(Math.max(stored, batches[batches.length - 1].to)), { sync: true });
  await checkpointLevel(db);
}

async function load(db: ClassicLevel<Buffer, Buffer>, dir: string, logged: WalBatch[]): Promise<StateMachine> {
  const format = await db.get(META_FORMAT);
  if (format === undefined) {
    for await (const _k of db.keys({ limit: 1 })) {
      throw new DataDirError(`${dir} is a LevelDB database but not a k8ts store (no format marker); refusing to use it`);
    }
    await db.put(META_FORMAT, FORMAT, { sync: true });
  } else if (!FORMAT.equals(format)) {
    throw new DataDirError(`${dir} holds an unsupported store format ${JSON.stringify(format.toString('latin1').slice(0, 40))} (this k8ts reads ${FORMAT.toString()})`);
  }
  await replay(db, dir, logged);
  const sm = new StateMachine();
  const rev = await db.get(META_REVISION);
  if (rev !== undefined) sm.revision = Math.max(sm.revision, decodeNumber(rev));
  const compact = await db.get(META_COMPACT);
  if (compact !== undefined) sm.compactRevision = decodeNumber(compact);

  for await (const [k, v] of db.iterator({ gte: Buffer.from([LEASE_PREFIX]), lt: Buffer.from([LEASE_PREFIX + 1]) })) {
    sm.restoreLease(leaseIdFromKey(k), decodeNumber(v));
  }
  const it = db.iterator({ gte: Buffer.from([RECORD_PREFIX]), lt: Buffer.from([RECORD_PREFIX + 1]) });
  try {
    for (;;) {
      const entries = await it.nextv(4096);
      if (entries.length === 0) break;
      for (const [k, v] of entries) {
        if (k.length !== 9) throw new RecordDecodeError(`malformed record key of ${k.length} bytes`);
        const pointer = pointerFromRecordKey(k);
        const rec = decodeRecord(v);
        const h = sm.index.getOrCreate(rec.key);
        h.pointers.push(rec.tombstone ? -pointer : pointer);
        h.createRevision = rec.createRevision;
        h.version = rec.version;
        h.lease = rec.lease;
        sm.revision = Math.max(sm.revision, revisionOf(pointer));
      }
    }
  } finally {
    await it.close();
  }
  // Reattach live keys to their leases.
  sm.index.forEachInRange('\0', '\0', (key, h) => {
    if (h.live && h.lease) sm.leases.get(h.lease)?.keys.add(key);
  });
  return sm;
}

/** Prunes versions that an interrupted physical compaction left behind; returns how many. */
function pruneIndex(sm: StateMachine): number {
  let n = 0;
  sm.index.forEachInRange('\0', '\0', (_key, h) => {
    const copy = h.pointers.slice();
    n += prunePointers(copy, sm.compactRevision).length;
  });
  return n;
}
