import { MessageChannel } from 'node:worker_threads';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ACK_BYTES, portStream, WINDOW_BYTES } from './port-stream.ts';

function collect(stream: NodeJS.ReadableStream): { bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { bytes: () => Buffer.concat(chunks) };
}

/** Two connected streams; `acks` are the acknowledgements that reached `a`, `got` what `b` read. */
function pair() {
  const { port1, port2 } = new MessageChannel();
  const acks: number[] = [];
  port1.on('message', (m) => typeof m === 'number' && acks.push(m));
  const a = portStream(port1);
  const b = portStream(port2);
  return { a, b, acks, got: collect(b) };
}

describe('portStream', () => {
  it('carries bytes both ways and ends the other side', async () => {
    const { port1, port2 } = new MessageChannel();
    const a = portStream(port1);
    const b = portStream(port2);
    const fromA = collect(b);
    const fromB = collect(a);
    a.write('hello ');
    a.end('world');
    b.write('back');
    await once(b, 'end');
    expect(fromA.bytes().toString()).toBe('hello world');
    await new Promise((r) => setTimeout(r, 10));
    expect(fromB.bytes().toString()).toBe('back');
    a.destroy();
    b.destroy();
  });

  it('holds a writer past its window until the reader acknowledges, then drains in order', async () => {
    const { a, b, acks, got } = pair();
    const big = Buffer.alloc(WINDOW_BYTES + 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    expect(a.write(big)).toBe(false);
    expect(a.writableLength).toBeGreaterThan(WINDOW_BYTES);
    // A second write queues behind the first, in the stream, until the window opens.
    a.write(Buffer.from('tail'));
    await once(a, 'drain');
    expect(acks.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(big.length);
    a.end();
    await once(b, 'end');
    expect(got.bytes().equals(Buffer.concat([big, Buffer.from('tail')]))).toBe(true);
    a.destroy();
    b.destroy();
  });

  it('sends no acknowledgement while less than ACK_BYTES have crossed', async () => {
    const { a, b, acks, got } = pair();
    for (let i = 0; i < 100; i++) {
      expect(a.write(Buffer.alloc(ACK_BYTES / 256))).toBe(true);
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(got.bytes().length).toBe(100 * (ACK_BYTES / 256));
    expect(acks).toEqual([]);
    a.destroy();
    b.destroy();
  });

  it('lets a waiting writer go when the other side closes', async () => {
    const { port1, port2 } = new MessageChannel();
    const a = portStream(port1);
    a.on('error', () => {});
    const done = new Promise<Error | null | undefined>((resolve) => a.write(Buffer.alloc(WINDOW_BYTES * 2), (err) => resolve(err)));
    port2.close();
    await expect(Promise.race([done.then(() => 'called'), new Promise((r) => setTimeout(() => r('stuck'), 2000))])).resolves.toBe('called');
  });
});
