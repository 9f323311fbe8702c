// A byte stream over a worker MessagePort, so that an in-process connection can cross threads:
// the control plane runs in a worker and speaks HTTP/1.1 to the API server's in-process listener
// on the main thread. Each chunk is copied into its own buffer and transferred (a Buffer from the
// pool would otherwise clone its whole 8 KiB slab); `null` marks the end of the stream. Each
// message wakes the other thread, which costs more than the copy: writes are sent in batches.
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

export function portStream(port: MessagePort, opts: PortStreamOptions = {}): Duplex {
  let open = true;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  let lastSent = 0;
  const hold = opts.holdMs ?? 0;
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
      callback();
    },
    writev(chunks, callback) {
      for (const c of chunks) send(c.chunk as Buffer);
      callback();
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
      callback(err);
    },
  });
  port.on('message', (m: Uint8Array | null) => {
    if (m === null) stream.push(null);
    else stream.push(Buffer.from(m.buffer, m.byteOffset, m.byteLength));
  });
  port.on('close', () => {
    open = false;
    stream.destroy();
  });
  return stream;
}
