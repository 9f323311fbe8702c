// Writing watch events to many streams. Events are queued per watcher and written by one
// scheduler in time slices, so a fan-out to thousands of watchers does not hold the event loop
// (writes and reads keep being served between slices) and events that arrive meanwhile leave in
// the same write: one TLS record and one syscall for all of a watcher's queued events, as
// upstream's watch server flushes only when its channel is empty.
import type { Socket } from 'node:net';

/**
 * Longest stretch the scheduler writes before letting other I/O run. Short, so that the writes
 * producing the events (each needs a few event-loop turns) keep flowing during a large fan-out;
 * the fewer events wait, the more each watcher's write carries. Measured with 1,000 watchers ×
 * 100 events: 0.25 ms → ~0.7 s and ~3k writes; 1 ms → ~1.4 s; 4 ms → ~2.7 s and ~15-30k writes.
 */
const SLICE_MS = 0.25;
/** A watcher with this much unsent data is too slow: it is ended and must re-list. */
export const MAX_BACKLOG_BYTES = 64 * 1024 * 1024;

const CRLF = Buffer.from('\r\n');

/**
 * The last chunk built from a run of queued events, keyed by its first event's bytes: watchers
 * that queued the same events (every unfiltered watcher of a resource) share one copy. Only
 * shared within a fan-out: cleared when the scheduler has nothing left, or grows past a bound.
 */
const chunks = new Map<Buffer, { parts: Buffer[]; out: Buffer }>();
const MAX_SHARED_CHUNKS = 1024;

function sameParts(a: Buffer[], b: Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** HTTP/1.1 chunk framing around the queued event lines. */
function chunkOf(parts: Buffer[], bytes: number): Buffer {
  const memo = chunks.get(parts[0]);
  if (memo && sameParts(memo.parts, parts)) return memo.out;
  const head = Buffer.from(`${bytes.toString(16)}\r\n`);
  const out = Buffer.concat([head, ...parts, CRLF], head.length + bytes + 2);
  if (chunks.size >= MAX_SHARED_CHUNKS) chunks.clear();
  chunks.set(parts[0], { parts, out });
  return out;
}

const dirty = new Set<WatchWriter>();
let scheduled = false;

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(run);
}

function run(): void {
  scheduled = false;
  const deadline = performance.now() + SLICE_MS;
  for (const w of dirty) {
    dirty.delete(w);
    w.flush();
    if (performance.now() > deadline) break;
  }
  if (dirty.size > 0) schedule();
  else chunks.clear();
}

/** The body of one chunked watch response, written straight to its socket after the headers. */
export class WatchWriter {
  private readonly socket: Socket;
  private queue: Buffer[] = [];
  private queued = 0;
  private closed = false;
  private readonly onOverflow: () => void;

  constructor(socket: Socket, onOverflow: () => void) {
    this.socket = socket;
    this.onOverflow = onOverflow;
  }

  /** Queues one framed event line. */
  push(line: Buffer): void {
    if (this.closed) return;
    this.queue.push(line);
    this.queued += line.length;
    if (this.queued + this.socket.writableLength > MAX_BACKLOG_BYTES) {
      this.queue = [];
      this.queued = 0;
      this.onOverflow();
      return;
    }
    dirty.add(this);
    schedule();
  }

  /** Writes everything queued as one chunk. */
  flush(): void {
    if (this.queue.length === 0 || this.closed || this.socket.destroyed) return;
    const out = chunkOf(this.queue, this.queued);
    this.queue = [];
    this.queued = 0;
    this.socket.write(out);
  }

  /** Writes what is queued and stops taking events; the response's own end() follows. */
  close(): void {
    this.flush();
    this.closed = true;
    dirty.delete(this);
  }
}
