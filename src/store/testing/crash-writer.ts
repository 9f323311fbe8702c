// Child process for the crash-safety test: writes atomic multi-key txns from several concurrent
// writers into an embedded store and prints one line per acknowledged txn, until it is killed.
// Usage: node crash-writer.ts DIR WRITERS [WAL_SEGMENT_BYTES]
import { EmbeddedStore } from '../embedded/index.ts';
import { txnForWrite } from './crash-check.ts';

const [dir, writersArg, segmentArg] = process.argv.slice(2);
const store = await EmbeddedStore.open(dir, { compactionRetentionMs: 0, walSegmentBytes: segmentArg ? Number(segmentArg) : undefined });
const start = Date.now();
const tag = `${process.pid}`;
process.stdout.write(`ready ${await store.revision()}\n`);

async function writer(w: number): Promise<void> {
  for (let seq = 0; Date.now() - start < 30_000; seq++) {
    const id = `${tag}-${w}-${seq}`;
    const r = await store.txn(txnForWrite(id, seq));
    // Pipes are written synchronously on Linux: once this returns, the parent will see the line.
    process.stdout.write(`ack ${id} ${r.header.revision}\n`);
  }
}

await Promise.all(Array.from({ length: Number(writersArg) }, (_, w) => writer(w)));
await store.close();
