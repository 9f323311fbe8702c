// The store's write-ahead log. Each durable batch is one record, written with a single O_DSYNC
// write on the calling thread into a segment file that was filled with zeros when it was made:
// no block is allocated and the file never grows, so the flush carries no file-system metadata
// (under a burst of writes ~2-3 ms, where an fdatasync of LevelDB's growing log took ~15 ms) and
// no thread-pool round trip. LevelDB takes the same writes afterwards without sync; a synced
// LevelDB write (a checkpoint) lets the segments before it go. Opening replays every record of
// the remaining segments, in order, onto LevelDB: they are LevelDB writes of whole batches, so
// replaying one that LevelDB already holds changes nothing.
//
// Record: u32 payload length, u32 CRC-32 of the payload, payload, zeros up to a multiple of 8
// bytes (so that a header never straddles a disk sector). Payload: f64 first revision, f64 last
// revision, u32 write count, then per write u8 kind (1 put, 2 del), u32 key length, key, and for
// a put u32 value length, value. A zero length ends a segment's records. A crash can cut the last
// record short: the disk wrote some of its sectors, so part of it is still zeros (etcd tells a
// torn write the same way); a bad record without that, or with records after it, is damage.
import { closeSync, constants, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open as openAsync } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DataDirError } from '../errors.ts';
import type { LevelWrite } from './state-machine.ts';

export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;
const FIRST_SEGMENT_BYTES = 1024 * 1024;
const HEADER = 8;
const NAME = /^wal-(\d{10})\.k8ts$/;

export interface WalBatch {
  /** Revisions the batch takes the store through: (from - 1, to]. */
  from: number;
  to: number;
  writes: LevelWrite[];
}

const segmentName = (seq: number) => `wal-${String(seq).padStart(10, '0')}.k8ts`;

const align8 = (n: number) => (n + 7) & ~7;
const SECTOR = 512;

export function encodeBatch(b: WalBatch): Buffer {
  let size = HEADER + 20;
  for (const w of b.writes) size += 5 + w.key.length + (w.type === 'put' ? 4 + w.value.length : 0);
  const out = Buffer.alloc(align8(size));
  let at = HEADER;
  at = out.writeDoubleLE(b.from, at);
  at = out.writeDoubleLE(b.to, at);
  at = out.writeUInt32LE(b.writes.length, at);
  for (const w of b.writes) {
    at = out.writeUInt8(w.type === 'put' ? 1 : 2, at);
    at = out.writeUInt32LE(w.key.length, at);
    at += w.key.copy(out, at);
    if (w.type === 'put') {
      at = out.writeUInt32LE(w.value.length, at);
      at += w.value.copy(out, at);
    }
  }
  out.writeUInt32LE(size - HEADER, 0);
  out.writeUInt32LE(crc32(out.subarray(HEADER, size)), 4);
  return out;
}

function decodePayload(p: Buffer): WalBatch {
  let at = 0;
  const from = p.readDoubleLE(at);
  const to = p.readDoubleLE((at += 8));
  const n = p.readUInt32LE((at += 8));
  at += 4;
  const writes: LevelWrite[] = [];
  for (let i = 0; i < n; i++) {
    const kind = p.readUInt8(at);
    const klen = p.readUInt32LE(at + 1);
    const key = Buffer.from(p.subarray(at + 5, at + 5 + klen));
    at += 5 + klen;
    if (kind === 1) {
      const vlen = p.readUInt32LE(at);
      writes.push({ type: 'put', key, value: Buffer.from(p.subarray(at + 4, at + 4 + vlen)) });
      at += 4 + vlen;
    } else if (kind === 2) writes.push({ type: 'del', key });
    else throw new Error(`unknown write kind ${kind}`);
  }
  if (at !== p.length) throw new Error('record length does not match its writes');
  return { from, to, writes };
}

function validAt(data: Buffer, at: number): WalBatch | undefined {
  const len = data.readUInt32LE(at);
  const end = at + HEADER + len;
  if (len === 0 || end > data.length || crc32(data.subarray(at + HEADER, end)) !== data.readUInt32LE(at + 4)) return undefined;
  try {
    return decodePayload(data.subarray(at + HEADER, end));
  } catch {
    return undefined;
  }
}

/** A bad record at `at` that a crash cut short: it runs past the segment or has a sector of zeros, and no record follows it. */
function tornAt(data: Buffer, at: number): boolean {
  const claimed = at + HEADER + data.readUInt32LE(at);
  const end = Math.min(data.length, claimed);
  // The record's bytes, split at sector boundaries: a sector the disk never wrote reads as zeros.
  let unwritten = false;
  for (let s = at + HEADER; !unwritten && s < end; s = (Math.floor(s / SECTOR) + 1) * SECTOR) {
    unwritten = data.subarray(s, Math.min(end, (Math.floor(s / SECTOR) + 1) * SECTOR)).every((b) => b === 0);
  }
  if (!unwritten || claimed > data.length) return false; // a header is written whole: one claiming past the end is damage
  return !recordAfter(data, at);
}

/** Whether a valid record starts anywhere after `at`. */
function recordAfter(data: Buffer, at: number): boolean {
  for (let p = at + 8; p + HEADER <= data.length; p += 8) if (data.readUInt32LE(p) !== 0 && validAt(data, p)) return true;
  return false;
}

/** The records of one segment, up to its end (zeros) or a torn last record; `torn` says which. */
function readSegment(file: string): { batches: WalBatch[]; torn: boolean } {
  const data = readFileSync(file);
  const batches: WalBatch[] = [];
  let at = 0;
  while (at + HEADER <= data.length) {
    const len = data.readUInt32LE(at);
    if (len === 0) {
      // The end, unless a record follows (a header that reads as zeros is damage, not the end).
      if (recordAfter(data, at)) throw new DataDirError(`the write-ahead log segment ${file} has a zeroed record at byte ${at} with records after it; refusing to open it with writes missing`);
      return { batches, torn: false };
    }
    const b = validAt(data, at);
    if (!b) {
      if (tornAt(data, at)) return { batches, torn: true };
      throw new DataDirError(`the write-ahead log segment ${file} has a damaged record at byte ${at} (not a write cut short by a crash); refusing to open it with writes missing`);
    }
    batches.push(b);
    at += HEADER + align8(len);
  }
  return { batches, torn: false };
}

/** Segment numbers present in `dir`, in order. */
export function listSegments(dir: string): number[] {
  return readdirSync(dir)
    .map((f) => NAME.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/**
 * Every batch of the log, in order. A torn record (a write cut short by a crash) may only be
 * the last thing written: anything valid after it means the log is damaged.
 */
export function readLog(dir: string): { batches: WalBatch[]; segments: number[] } {
  const segments = listSegments(dir);
  const batches: WalBatch[] = [];
  let tornAt: number | undefined;
  for (const seq of segments) {
    const r = readSegment(join(dir, segmentName(seq)));
    if (tornAt !== undefined && r.batches.length > 0) {
      throw new DataDirError(`the write-ahead log in ${dir} is damaged: ${segmentName(tornAt)} has a broken record followed by more records; refusing to open it with writes missing`);
    }
    batches.push(...r.batches);
    if (r.torn) tornAt = seq;
  }
  for (let i = 1; i < batches.length; i++) {
    if (batches[i].from > batches[i - 1].to + 1) throw new DataDirError(`the write-ahead log in ${dir} skips revisions ${batches[i - 1].to + 1}..${batches[i].from - 1}; refusing to open it with writes missing`);
  }
  return { batches, segments };
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The segment being written. */
export class Wal {
  private readonly dir: string;
  private readonly segmentBytes: number;
  private fd: number;
  private seq: number;
  private size: number;
  private offset = 0;
  /** The next segment, being zero-filled in the background once this one is half full. */
  private preparing: Promise<void> | undefined;
  private prepared: number | undefined;

  private constructor(dir: string, seq: number, fd: number, size: number, segmentBytes: number) {
    this.dir = dir;
    this.seq = seq;
    this.fd = fd;
    this.size = size;
    this.segmentBytes = segmentBytes;
  }

  /** Starts a new, empty log at segment `seq` (after the old ones were replayed and removed). */
  static create(dir: string, seq: number, segmentBytes = DEFAULT_SEGMENT_BYTES): Wal {
    for (const f of readdirSync(dir)) if (/^wal-\d{10}\.k8ts\.tmp$/.test(f)) unlinkSync(join(dir, f));
    // A small first segment keeps opening fast; full-size ones are made in the background.
    const { fd, size } = makeSegment(dir, seq, Math.min(segmentBytes, FIRST_SEGMENT_BYTES));
    return new Wal(dir, seq, fd, size, segmentBytes);
  }

  get segment(): number {
    return this.seq;
  }

  /**
   * Writes the batch durably. When the current segment is full, the batch starts a new one and
   * the number of the full segment is returned: it may go once LevelDB holds its writes durably.
   */
  append(b: WalBatch): number | undefined {
    const rec = encodeBatch(b);
    let full: number | undefined;
    // Room for the record and a zero length after it.
    if (this.offset + rec.length + HEADER > this.size) {
      full = this.seq;
      closeSync(this.fd);
      this.fd = -1;
      this.seq++;
      const need = Math.max(this.segmentBytes, rec.length + HEADER);
      if (this.prepared === this.seq && need <= this.segmentBytes) {
        this.fd = openSync(join(this.dir, segmentName(this.seq)), constants.O_RDWR | constants.O_DSYNC);
        this.size = this.segmentBytes;
      } else {
        const s = makeSegment(this.dir, this.seq, need);
        this.fd = s.fd;
        this.size = s.size;
      }
      this.prepared = undefined;
      this.offset = 0;
    }
    let done = 0;
    while (done < rec.length) done += writeSync(this.fd, rec, done, rec.length - done, this.offset + done);
    this.offset += rec.length;
    if (this.offset > this.size / 2 && !this.preparing && this.prepared === undefined) this.prepareNext();
    return full;
  }

  /** Zero-fills the next segment off the event loop's back (a temporary name until it is complete). */
  private prepareNext(): void {
    const seq = this.seq + 1;
    const file = join(this.dir, segmentName(seq));
    this.preparing = (async () => {
      const fh = await openAsync(`${file}.tmp`, 'w', 0o600);
      try {
        const zeros = Buffer.alloc(1 << 20);
        for (let at = 0; at < this.segmentBytes; at += zeros.length) await fh.write(zeros, 0, Math.min(zeros.length, this.segmentBytes - at), at);
        await fh.sync();
      } finally {
        await fh.close();
      }
      // Checked and renamed in one go: a segment change in between made this one itself.
      if (this.seq >= seq) {
        unlinkSync(`${file}.tmp`);
        return;
      }
      renameSync(`${file}.tmp`, file);
      fsyncDir(this.dir);
      this.prepared = seq;
    })()
      .catch(() => undefined)
      .finally(() => (this.preparing = undefined));
  }

  /** Removes the segments up to and including `seq`. */
  remove(seq: number): void {
    let removed = false;
    for (const s of listSegments(this.dir)) {
      if (s <= seq && s !== this.seq) {
        Wal.removeSegment(this.dir, s);
        removed = true;
      }
    }
    // Removals must be on disk before writes that depend on them (a segment back from the dead
    // with a torn tail, before a newer one with records, would read as damage).
    if (removed) fsyncDir(this.dir);
  }

  static removeSegment(dir: string, seq: number): void {
    unlinkSync(join(dir, segmentName(seq)));
  }

  /** Closes the log; `discard` (LevelDB holds every write durably) removes its segments too. */
  async close(discard = false): Promise<void> {
    await this.preparing;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    if (discard) {
      for (const s of listSegments(this.dir)) Wal.removeSegment(this.dir, s);
      fsyncDir(this.dir);
    }
  }
}

/** A zero-filled segment, on disk before it is used (with its directory entry), opened O_DSYNC. */
function makeSegment(dir: string, seq: number, size: number): { fd: number; size: number } {
  const file = join(dir, segmentName(seq));
  const tmp = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o600);
  try {
    const zeros = Buffer.alloc(Math.min(size, 1 << 20));
    for (let at = 0; at < size; at += zeros.length) writeSync(tmp, zeros, 0, Math.min(zeros.length, size - at), at);
    fsyncSync(tmp);
  } finally {
    closeSync(tmp);
  }
  fsyncDir(dir);
  return { fd: openSync(file, constants.O_RDWR | constants.O_DSYNC), size };
}
