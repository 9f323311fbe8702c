// The embedded backend: the shared behaviour suite, plus what only a local data directory has
// (automatic compaction, refusing foreign or corrupted directories).
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { CompactedError, DataDirError } from '../errors.ts';
import { describeStoreBehaviour } from '../testing/store-suite.ts';
import { EmbeddedStore } from './index.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'k8ts-embedded-test-'));
}

describeStoreBehaviour('EmbeddedStore', async () => {
  const dir = await tempDir();
  return {
    open: () => EmbeddedStore.open(dir, { progressNotifyIntervalMs: 500, compactionRetentionMs: 0 }),
    restart: async () => undefined,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

/**
 * Name → sha256 of the files in `dir` that hold data. LevelDB's own info log (LOG, LOG.old) and
 * LOCK change on every open attempt, even a refused one; they hold no data.
 */
async function fingerprint(dir: string, only: (name: string) => boolean = () => true): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) {
    if (f === 'LOCK' || f === 'LOG' || f === 'LOG.old' || !only(f)) continue;
    out[f] = createHash('sha256').update(await readFile(join(dir, f))).digest('hex');
  }
  return out;
}

/**
 * Every LevelDB entry of the store in `dir`, hex-encoded. Opening a LevelDB rewrites its files
 * (the log becomes a table), so a refused-but-untouched store is checked by content.
 */
async function dump(dir: string): Promise<Array<[string, string]>> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open({ createIfMissing: false });
  const out: Array<[string, string]> = [];
  try {
    for await (const [k, v] of db.iterator()) out.push([k.toString('hex'), v.toString('hex')]);
  } finally {
    await db.close();
  }
  return out;
}

async function refused(dir: string): Promise<DataDirError> {
  let err: unknown;
  let store: EmbeddedStore | undefined;
  try {
    store = await EmbeddedStore.open(dir, { compactionRetentionMs: 0 });
  } catch (e) {
    err = e;
  }
  if (store) {
    const rev = await store.revision();
    await store.close();
    throw new Error(`the store in ${dir} was opened (revision ${rev}) instead of being refused with DataDirError`);
  }
  expect(err, String(err)).toBeInstanceOf(DataDirError);
  return err as DataDirError;
}

/** Writes `n` compressible records and closes the store. */
async function populate(dir: string, n: number, wal = true): Promise<number> {
  const store = await EmbeddedStore.open(dir, { compactionRetentionMs: 0, wal });
  try {
    for (let i = 0; i < n; i++) await store.put(`/k/${String(i).padStart(3, '0')}`, Buffer.from(`value-${i}-${'x'.repeat(100)}`));
    return await store.revision();
  } finally {
    await store.close();
  }
}

describe('EmbeddedStore only', () => {
  const dirs: string[] = [];
  const stores: EmbeddedStore[] = [];
  const newDir = async (): Promise<string> => {
    const d = await tempDir();
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('automatic compaction with a short retention really compacts old revisions', async () => {
    const dir = await newDir();
    const store = await EmbeddedStore.open(dir, { compactionRetentionMs: 300, progressNotifyIntervalMs: 500 });
    stores.push(store);
    const r1 = (await store.put('/a', Buffer.from('1'))).header.revision;
    const r2 = (await store.put('/a', Buffer.from('2'))).header.revision;
    const deadline = Date.now() + 5000;
    while ((await store.compactRevision()) < r2) {
      if (Date.now() > deadline) throw new Error(`no automatic compaction within 5 s (compact revision ${await store.compactRevision()}, revision ${r2})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const compactRev = await store.compactRevision();
    expect(compactRev).toBeLessThanOrEqual(await store.revision());
    let err: unknown;
    try {
      await store.range('/a', { revision: r1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CompactedError);
    expect((err as CompactedError).compactRevision).toBe(compactRev);
    await expect(store.watch('/a', { fromRevision: r1 }, { onEvents: () => undefined })).rejects.toBeInstanceOf(CompactedError);
    expect(Buffer.from((await store.range('/a')).kvs[0].value).toString()).toBe('2');
    // Writes keep working, and keep being compacted.
    const r3 = (await store.put('/a', Buffer.from('3'))).header.revision;
    expect(r3).toBe(r2 + 1);
  });

  it('a data directory holding foreign files is refused, and the files are untouched', async () => {
    const dir = await newDir();
    await writeFile(join(dir, 'notes.txt'), 'my precious notes\n');
    const before = await fingerprint(dir);
    const err = await refused(dir);
    expect(err.code).toBe('data-dir');
    expect(await fingerprint(dir)).toEqual(before);
    expect(await readdir(dir)).toEqual(['notes.txt']);
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('my precious notes\n');
  });

  it('a data directory path that is a regular file is refused', async () => {
    const dir = await newDir();
    const file = join(dir, 'file');
    await writeFile(file, 'x');
    await refused(file);
    expect(await readFile(file, 'utf8')).toBe('x');
  });

  it('a LevelDB that is not ours is refused and left unchanged', async () => {
    const dir = await newDir();
    const foreign = new ClassicLevel(dir);
    await foreign.open();
    await foreign.put('hello', 'world');
    await foreign.close();
    await refused(dir);
    const again = new ClassicLevel(dir);
    await again.open();
    const entries: Array<[string, string]> = [];
    for await (const e of again.iterator()) entries.push(e);
    await again.close();
    expect(entries, 'no marker or anything else was written into the foreign database').toEqual([['hello', 'world']]);
  });

  it('an empty LevelDB (no marker, no keys) is adopted as a new store', async () => {
    // Not foreign: an interrupted first open leaves exactly this.
    const dir = await newDir();
    const db = new ClassicLevel(dir);
    await db.open();
    await db.close();
    const store = await EmbeddedStore.open(dir, { compactionRetentionMs: 0 });
    stores.push(store);
    expect((await store.put('/a', Buffer.from('1'))).header.revision).toBe(2);
  });

  it('a store whose format marker is from another version is refused', async () => {
    const dir = await newDir();
    await populate(dir, 3);
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    await db.put(Buffer.from('mformat'), Buffer.from('k8ts-mvcc/999'));
    await db.close();
    const before = await dump(dir);
    await refused(dir);
    expect(await dump(dir)).toEqual(before);
  });

  it('a store with a garbage record is refused with DataDirError, not reset', async () => {
    const dir = await newDir();
    await populate(dir, 5);
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    // Overwrite the record of revision 3 (key 'r' + 8-byte pointer = revision * 2^16) with garbage.
    const key = Buffer.alloc(9);
    key[0] = 0x72;
    key.writeUInt32BE(0, 1);
    key.writeUInt32BE(3 * 65536, 5);
    expect(await db.get(key), 'the record exists before it is corrupted').toBeDefined();
    await db.put(key, Buffer.from([7, 7, 7]));
    await db.close();
    const before = await dump(dir);
    expect(before.length).toBeGreaterThan(5);
    await refused(dir);
    expect(await dump(dir), 'nothing was repaired, reset or deleted').toEqual(before);
    // Still refused the second time: nothing was repaired or reset.
    await refused(dir);
  });

  it('a store with a malformed record key is refused with DataDirError', async () => {
    const dir = await newDir();
    await populate(dir, 3);
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    await db.put(Buffer.from([0x72, 1, 2, 3]), Buffer.from('junk'));
    await db.close();
    await refused(dir);
  });

  it('a store whose table (.ldb) file is overwritten with garbage bytes is refused with DataDirError', async () => {
    const dir = await newDir();
    await populate(dir, 50);
    // Reopening moves the write-ahead log into a table file.
    const s = await EmbeddedStore.open(dir, { compactionRetentionMs: 0 });
    await s.close();
    const tables = (await readdir(dir)).filter((f) => f.endsWith('.ldb'));
    expect(tables.length, 'a table file exists').toBeGreaterThan(0);
    for (const f of tables) {
      const b = await readFile(join(dir, f));
      const at = Math.floor(b.length * 0.3);
      for (let i = at; i < at + 16; i++) b[i] ^= 0xff;
      await writeFile(join(dir, f), b);
    }
    const isTable = (f: string): boolean => f.endsWith('.ldb');
    const before = await fingerprint(dir, isTable);
    await refused(dir);
    expect(await fingerprint(dir, isTable), 'the damaged table file is left as it was').toEqual(before);
  });

  it('a store whose LevelDB log (.log) is corrupted in the middle is refused, not opened with the writes after the damage missing', async () => {
    const dir = await newDir();
    // Without our log, LevelDB's own holds the writes (with it, closing moves them into tables).
    const rev = await populate(dir, 50, false);
    const logs = (await readdir(dir)).filter((f) => f.endsWith('.log'));
    expect(logs.length, 'a log file exists').toBeGreaterThan(0);
    for (const f of logs) {
      const b = await readFile(join(dir, f));
      expect(b.length).toBeGreaterThan(1000);
      // Damage a third of the way in: intact, acknowledged records follow the damage.
      const at = Math.floor(b.length / 3);
      for (let i = at; i < at + 64; i++) b[i] ^= 0xff;
      await writeFile(join(dir, f), b);
    }
    let store: EmbeddedStore | undefined;
    let err: unknown;
    try {
      store = await EmbeddedStore.open(dir, { compactionRetentionMs: 0 });
    } catch (e) {
      err = e;
    }
    if (store) {
      stores.push(store);
      const got = await store.revision();
      const keys = (await store.range('/k/', { end: '/k0', countOnly: true })).count;
      throw new Error(`opened a store with a corrupted log: revision ${got} (was ${rev}), ${keys} of 50 keys; expected DataDirError`);
    }
    expect(err).toBeInstanceOf(DataDirError);
  });

  it('a store whose CURRENT file is garbage is refused with DataDirError', async () => {
    const dir = await newDir();
    await populate(dir, 3);
    await writeFile(join(dir, 'CURRENT'), 'garbage\n');
    const before = await fingerprint(dir);
    await refused(dir);
    expect(await fingerprint(dir)).toEqual(before);
  });

  it('a store missing its CURRENT file is refused with DataDirError', async () => {
    const dir = await newDir();
    await populate(dir, 3);
    await rm(join(dir, 'CURRENT'));
    const before = await fingerprint(dir);
    await refused(dir);
    expect(await fingerprint(dir)).toEqual(before);
  });
});
