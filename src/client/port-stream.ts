// A byte stream over a worker MessagePort, so that an in-process connection can cross threads:
// the control plane runs in a worker and speaks HTTP/1.1 to the API server's in-process listener
// on the main thread. Each chunk is copied into its own buffer and transferred (a Buffer from the
// pool would otherwise clone its whole slab, 64 KiB on Node 24); `null` marks the end of the
// stream. Each message wakes the other thread, which costs more than the copy: writes are sent
// in batches.
//
// Flow control, as TCP gives a socket: the receiver acknowledges what it has taken in (a number
// message, once per ACK_BYTES, so that a quiet stream costs no extra wake-ups), and a writer with
// more than WINDOW_BYTES unacknowledged waits. Its writes then queue in the stream (writableLength),
// where the API server's watch writer sees a slow watcher and ends it, as it would over TLS.
import { Duplex } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';

export interface PortStreamOptions {
  /**
   * Hold outgoing bytes until this many ms after the previous message (a watch stream under load
   * then crosses threads in batches; a quiet stream's first bytes still go at once). Default 0:
   * bytes written in one turn of the event loop go together at its end.
   */
  holdMs?: number;
}

/** Bytes that may be sent and not yet acknowledged before writes wait. */
export const WINDOW_BYTES = 8 * 1024 * 1024;
/** The receiver acknowledges once it has taken in this many bytes. */
export const ACK_BYTES = 1024 * 1024;

export function portStream(port: MessagePort, opts: PortStreamOptions = {}): Duplex {
  let open = true;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  let lastSent = 0;
  /** Sent and not yet acknowledged by the other side. */
  let unacked = 0;
  /** Taken in and not yet acknowledged to the other side. */
  let received = 0;
  /** The callback of a write that waits for acknowledgements. */
  let waiting: (() => void) | undefined;
  const hold = opts.holdMs ?? 0;
  const release = (): void => {
    if (!waiting || (open && unacked + pendingBytes > WINDOW_BYTES)) return;
    const cb = waiting;
    waiting = undefined;
    cb();
  };
  const written = (callback: () => void): void => {
    if (unacked + pendingBytes > WINDOW_BYTES) waiting = callback;
    else callback();
  };
  const flush = (): void => {
    scheduled = false;
    if (!open || pendingBytes === 0) return;
    const copy = new Uint8Array(pendingBytes);
    let at = 0;
    for (const b of pending) {
      copy.set(b, at);
      at += b.length;
    }
    pending = [];
    unacked += pendingBytes;
    pendingBytes = 0;
    lastSent = performance.now();
    port.postMessage(copy, [copy.buffer]);
  };
  const send = (chunk: Buffer): void => {
    if (!open || chunk.length === 0) return;
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (scheduled) return;
    scheduled = true;
    const wait = hold > 0 ? lastSent + hold - performance.now() : 0;
    if (wait > 0) setTimeout(flush, wait);
    else setImmediate(flush);
  };
  const stream = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      send(chunk);
      written(callback);
    },
    writev(chunks, callback) {
      for (const c of chunks) send(c.chunk as Buffer);
      written(callback);
    },
    final(callback) {
      flush();
      if (open) port.postMessage(null);
      callback();
    },
    read() {},
    destroy(err, callback) {
      if (open) {
        flush();
        open = false;
        port.close();
      }
      release();
      callback(err);
    },
  });
  port.on('message', (m: Uint8Array | number | null) => {
    if (m === null) stream.push(null);
    else if (typeof m === 'number') {
      unacked -= m;
      release();
    } else {
      stream.push(Buffer.from(m.buffer, m.byteOffset, m.byteLength));
      received += m.byteLength;
      if (received >= ACK_BYTES && open) {
        port.postMessage(received);
        received = 0;
      }
    }
  });
  port.on('close', () => {
    open = false;
    release();
    stream.destroy();
  });
  return stream;
}
