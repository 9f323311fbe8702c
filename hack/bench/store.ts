// npm run bench -- store: the embedded store and a real etcd, side by side in one run.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ClassicLevel } from 'classic-level';
import { EmbeddedStore } from '../../src/store/embedded/index.ts';
import { EtcdStore } from '../../src/store/etcd/index.ts';
import { etcdAvailable, startEtcd } from '../../src/store/testing/etcd-server.ts';
import { prefixEnd, type Store } from '../../src/store/types.ts';
import { fmt, percentile, type Row } from './table.ts';

const VALUE = Buffer.alloc(1024, 'v');
type Results = Record<string, number>;

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

/** `writers` concurrent loops doing `total` durable puts of 1 KiB; throughput and latency. */
async function puts(store: Store, prefix: string, writers: number, total: number): Promise<{ perS: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      for (let i = next++; i < total; i = next++) {
        const s = performance.now();
        await store.put(`${prefix}${i % 10_000}`, VALUE);
        lat.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { perS: total / secs, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** 16 workers each incrementing their own counter with compare-and-swap on modRevision. */
async function cas(store: Store, prefix: string, total: number): Promise<number> {
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      const key = `${prefix}${w}`;
      let mod = (await store.put(key, Buffer.from('0'))).header.revision;
      for (let n = 1; done < total; n++) {
        const r = await store.txn({ compare: [{ key, target: 'modRevision', result: '=', value: mod }], success: [{ type: 'put', key, value: Buffer.from(String(n)) }] });
        if (!r.succeeded) throw new Error('CAS lost with a single writer per key');
        mod = r.header.revision;
        done++;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

async function rangeOf10k(store: Store, prefix: string): Promise<{ p50: number; p99: number }> {
  await Promise.all(Array.from({ length: 32 }, async (_, w) => {
    for (let i = w; i < 10_000; i += 32) await store.put(`${prefix}${String(i).padStart(5, '0')}`, VALUE);
  }));
  const lat: number[] = [];
  for (let i = 0; i < 12; i++) {
    const s = performance.now();
    const r = await store.range(prefix, { end: prefixEnd(prefix) });
    if (r.kvs.length !== 10_000) throw new Error(`range returned ${r.kvs.length} keys`);
    lat.push(performance.now() - s);
  }
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** 1,000 watchers on one prefix; 100 sequential puts; time until every watcher has all 100. */
async function watchFanOut(store: Store, prefix: string): Promise<number> {
  const watchers = [];
  let complete = 0;
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((r) => (resolveAll = r));
  for (let i = 0; i < 1000; i++) {
    let got = 0;
    watchers.push(
      await store.watch(prefix, { end: prefixEnd(prefix) }, {
        onEvents: (evs) => {
          got += evs.length;
          if (got === 100 && ++complete === 1000) resolveAll();
        },
      }),
    );
  }
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) await store.put(`${prefix}${i}`, VALUE);
  const timeout = setTimeout(() => resolveAll(), 30_000);
  await all;
  clearTimeout(timeout);
  const ms = performance.now() - t0;
  for (const w of watchers) w.cancel();
  if (complete !== 1000) throw new Error(`only ${complete} of 1000 watchers got all events`);
  return ms;
}

/** 10,000 puts over 1,000 keys, compacted to the newest revision: bytes the store's files grew by. */
async function diskAfterCompaction(store: Store, prefix: string, sizeOf: () => number): Promise<number> {
  const before = sizeOf();
  // Incompressible values: LevelDB compresses blocks, etcd does not.
  await Promise.all(Array.from({ length: 16 }, async (_, w) => {
    for (let i = w; i < 10_000; i += 16) await store.put(`${prefix}${i % 1000}`, randomBytes(1024));
  }));
  await store.compact(await store.revision());
  await new Promise((r) => setTimeout(r, 2000));
  return sizeOf() - before;
}

/** The disk's own limit for one sequential durable writer: raw LevelDB batches with sync. */
async function rawSyncedBatches(dir: string): Promise<number> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const t0 = performance.now();
  for (let i = 0; i < 2000; i++) await db.batch([{ type: 'put', key: Buffer.from(`k${i}`), value: VALUE }], { sync: true });
  const perS = 2000 / ((performance.now() - t0) / 1000);
  await db.close();
  return perS;
}

/** 100,000 revisions, then compaction of all of them while 16 writers go on: the longest write. */
async function compactionStall(store: Store, prefix: string): Promise<{ compactMs: number; maxWriteMs: number }> {
  await puts(store, prefix, 64, 100_000);
  const target = await store.revision();
  let stop = false;
  let maxWriteMs = 0;
  const writers = Array.from({ length: 16 }, async (_, w) => {
    for (let i = 0; !stop && i < 1_000_000; i++) {
      const s = performance.now();
      await store.put(`${prefix}live/${w}`, VALUE);
      maxWriteMs = Math.max(maxWriteMs, performance.now() - s);
    }
  });
  await new Promise((r) => setTimeout(r, 200));
  const t0 = performance.now();
  await store.compact(target);
  const compactMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 200));
  stop = true;
  await Promise.all(writers);
  return { compactMs, maxWriteMs };
}

async function measure(store: Store, sizeOf: (() => number) | undefined, log: (s: string) => void): Promise<Results> {
  const r: Results = {};
  await puts(store, '/warm/', 16, 2000);
  for (const [c, n] of [[1, 3000], [16, 20_000], [64, 40_000]] as const) {
    const p = await puts(store, `/put/c${c}/`, c, n);
    r[`put.c${c}.per_s`] = p.perS;
    r[`put.c${c}.p50_ms`] = p.p50;
    r[`put.c${c}.p99_ms`] = p.p99;
    log(`put c${c}: ${fmt(p.perS)}/s`);
  }
  r['txn_cas.c16.per_s'] = await cas(store, '/cas/', 20_000);
  const range = await rangeOf10k(store, '/range/');
  r['range10k.p50_ms'] = range.p50;
  r['range10k.p99_ms'] = range.p99;
  r['watch.w1000x100.ms'] = await watchFanOut(store, '/watch/');
  log('watch done');
  if (sizeOf) r['disk.bytes_per_10k_puts'] = await diskAfterCompaction(store, '/disk/', sizeOf);
  const c = await compactionStall(store, '/compact/');
  r['compaction.100k.ms'] = c.compactMs;
  r['compaction.max_write_ms'] = c.maxWriteMs;
  return r;
}

const ROWS: Array<{ key: string; label: string; digits: number; higherIsBetter: boolean }> = [
  { key: 'disk.raw_sync_batches_per_s', label: 'disk limit: raw synced LevelDB batches/s, 1 writer', digits: 0, higherIsBetter: true },
  { key: 'put.c1.per_s', label: 'durable puts/s, 1 writer (1 KiB)', digits: 0, higherIsBetter: true },
  { key: 'put.c1.p50_ms', label: '  p50 latency ms', digits: 2, higherIsBetter: false },
  { key: 'put.c1.p99_ms', label: '  p99 latency ms', digits: 2, higherIsBetter: false },
  { key: 'put.c16.per_s', label: 'durable puts/s, 16 writers', digits: 0, higherIsBetter: true },
  { key: 'put.c16.p50_ms', label: '  p50 latency ms', digits: 2, higherIsBetter: false },
  { key: 'put.c16.p99_ms', label: '  p99 latency ms', digits: 2, higherIsBetter: false },
  { key: 'put.c64.per_s', label: 'durable puts/s, 64 writers', digits: 0, higherIsBetter: true },
  { key: 'put.c64.p50_ms', label: '  p50 latency ms', digits: 2, higherIsBetter: false },
  { key: 'put.c64.p99_ms', label: '  p99 latency ms', digits: 2, higherIsBetter: false },
  { key: 'txn_cas.c16.per_s', label: 'txn CAS/s, 16 workers', digits: 0, higherIsBetter: true },
  { key: 'range10k.p50_ms', label: 'range of 10k keys p50 ms', digits: 1, higherIsBetter: false },
  { key: 'range10k.p99_ms', label: 'range of 10k keys p99 ms', digits: 1, higherIsBetter: false },
  { key: 'watch.w1000x100.ms', label: '100 events to 1,000 watchers ms', digits: 1, higherIsBetter: false },
  { key: 'disk.bytes_per_10k_puts', label: 'disk bytes per 10k puts, compacted', digits: 0, higherIsBetter: false },
  { key: 'compaction.100k.ms', label: 'compaction of 100k revisions ms', digits: 0, higherIsBetter: false },
  { key: 'compaction.max_write_ms', label: '  longest write during it ms', digits: 1, higherIsBetter: false },
];

export async function run(): Promise<{ rows: Row[]; figures: Record<string, number> }> {
  const log = (s: string) => process.stderr.write(`  ${s}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-bench-store-'));
  log('embedded store');
  const rawDir = mkdtempSync(join(tmpdir(), 'k8ts-bench-raw-'));
  const raw = await rawSyncedBatches(rawDir);
  rmSync(rawDir, { recursive: true, force: true });
  log(`raw synced LevelDB batches: ${fmt(raw)}/s`);
  const embedded = await EmbeddedStore.open(dir, { compactionRetentionMs: 0 });
  const emb = await measure(embedded, undefined, log);
  emb['disk.raw_sync_batches_per_s'] = raw;
  await embedded.close();
  rmSync(dir, { recursive: true, force: true });
  // Disk use on a store of its own, so that earlier rows' history does not blur it.
  const diskDir = mkdtempSync(join(tmpdir(), 'k8ts-bench-disk-'));
  const fresh = await EmbeddedStore.open(diskDir, { compactionRetentionMs: 0 });
  emb['disk.bytes_per_10k_puts'] = await diskAfterCompaction(fresh, '/disk/', () => 0);
  await fresh.close();
  emb['disk.bytes_per_10k_puts'] = dirBytes(diskDir);
  rmSync(diskDir, { recursive: true, force: true });

  let etc: Results = {};
  if (etcdAvailable()) {
    log('etcd');
    const server = await startEtcd();
    const client = await EtcdStore.connect({ endpoints: [server.endpoint] });
    try {
      // bbolt keeps its file and reuses freed pages: its growth is what the puts cost.
      etc = await measure(client, () => statSync(join(server.dataDir, 'member/snap/db')).size, log);
    } finally {
      await client.close();
      await server.cleanup();
    }
  } else {
    log('etcd not installed: its column stays empty (apt-get install etcd-server)');
  }

  const figures: Record<string, number> = {};
  for (const [k, v] of Object.entries(emb)) figures[`store.embedded.${k}`] = round(v);
  for (const [k, v] of Object.entries(etc)) figures[`store.etcd.${k}`] = round(v);
  const rows = ROWS.map(({ key, label, digits, higherIsBetter }) => {
    label = `${label} ${higherIsBetter ? '↑' : '↓'}`;
    const a = emb[key];
    const b = etc[key];
    const ratio = a !== undefined && b !== undefined && b > 0 ? a / b : NaN;
    return { metric: label, embedded: fmt(a, digits), etcd: fmt(b, digits), ratio: Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '' };
  });
  return { rows, figures };
}

const round = (v: number): number => Math.round(v * 1000) / 1000;
