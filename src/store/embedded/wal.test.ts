// The write-ahead log on its own (segments, torn and damaged records) and under the store: a
// store whose LevelDB lost writes it took without sync gets them back from the log.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirError } from '../errors.ts';
import { EmbeddedStore } from './index.ts';
import { readLog, Wal, type WalBatch } from './wal.ts';

const dirs: string[] = [];
function newDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'k8ts-wal-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const batch = (from: number, to: number, n = 3, size = 100): WalBatch => ({
  from,
  to,
  writes: [
    ...Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: Buffer.from(`k-${to}-${i}`), value: Buffer.alloc(size, 97 + (i % 26)) })),
    { type: 'del' as const, key: Buffer.from(`gone-${to}`) },
  ],
});

const segments = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('wal-')).sort();

/** A log of five equal records (revisions 1..5) and a way to change its segment's bytes. */
async function fiveRecords(): Promise<{ dir: string; damage(change: (data: Buffer, recLen: number) => void): void }> {
  const dir = newDir();
  const wal = Wal.create(dir, 1, 64 * 1024);
  for (let r = 1; r <= 5; r++) wal.append(batch(r, r, 2, 2000));
  await wal.close();
  const file = join(dir, segments(dir)[0]);
  return {
    dir,
    damage(change) {
      const data = readFileSync(file);
      change(data, (data.readUInt32LE(0) + 8 + 7) & ~7);
      writeFileSync(file, data);
    },
  };
}

describe('write-ahead log', () => {
  it('gives back every batch in order, across segments; freed segments are removed', async () => {
    const dir = newDir();
    const wal = Wal.create(dir, 1, 4096);
    const written: WalBatch[] = [];
    const full: number[] = [];
    for (let r = 1; r <= 40; r++) {
      const b = batch(r, r, 2, 150);
      written.push(b);
      const f = wal.append(b);
      if (f !== undefined) full.push(f);
    }
    await wal.close();
    expect(full.length).toBeGreaterThan(2);
    expect(readLog(dir).batches).toEqual(written);
    const w2 = Wal.create(dir, 100, 4096);
    w2.remove(full[1]);
    expect(segments(dir)).not.toContain('wal-0000000001.k8ts');
    expect(segments(dir)).not.toContain('wal-0000000002.k8ts');
    await w2.close();
  });

  it('a last record cut short by a crash (sectors left as zeros) ends the log; the records before it are kept', async () => {
    // The fifth record starts after four; blank its second half, as a write that reached only some sectors.
    const { dir, damage } = await fiveRecords();
    damage((data, recLen) => data.fill(0, 4 * recLen + 2048, 5 * recLen));
    expect(readLog(dir).batches.map((b) => b.to)).toEqual([1, 2, 3, 4]);
  });

  it('a damaged record with records after it is refused with DataDirError, not read as the end of the log', async () => {
    const { dir, damage } = await fiveRecords();
    damage((data, recLen) => {
      for (let i = recLen + 100; i < recLen + 116; i++) data[i] ^= 0xff; // inside the second record
    });
    expect(() => readLog(dir)).toThrow(DataDirError);
  });

  it('a record header that reads as zeros with records after it is damage, not the end of the log', async () => {
    const { dir, damage } = await fiveRecords();
    damage((data, recLen) => data.fill(0, 2 * recLen, 2 * recLen + 8)); // the third record's header
    expect(() => readLog(dir)).toThrow(/zeroed record/);
  });

  it('a log that skips revisions is refused', async () => {
    const dir = newDir();
    const wal = Wal.create(dir, 1, 64 * 1024);
    wal.append(batch(1, 3));
    wal.append(batch(7, 8));
    await wal.close();
    expect(() => readLog(dir)).toThrow(/skips revisions 4..6/);
  });
});

describe('embedded store with its log', () => {
  it('a new store killed before LevelDB took its first writes opens from its log', async () => {
    const dir = newDir();
    // A child writes into a new store and dies at once: its writes are in the log only.
    const script = `import { EmbeddedStore } from ${JSON.stringify(new URL('./index.ts', import.meta.url).href)};
      const s = await EmbeddedStore.open(${JSON.stringify(dir)});
      await s.put('/a', Buffer.from('first'));
      await s.put('/b', Buffer.from('second'));
      process.exit(0);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    expect(segments(dir).length).toBeGreaterThan(0);
    const s = await EmbeddedStore.open(dir, { compactionRetentionMs: 0 });
    try {
      expect(await s.revision()).toBe(3);
      const r = await s.range('/a', { end: '/c' });
      expect(r.kvs.map((kv) => [kv.key, Buffer.from(kv.value).toString(), kv.modRevision])).toEqual([['/a', 'first', 2], ['/b', 'second', 3]]);
    } finally {
      await s.close();
    }
  });

  it('closing leaves no log to replay; writes and deletes survive reopening, across many small segments', async () => {
    const dir = newDir();
    const s = await EmbeddedStore.open(dir, { compactionRetentionMs: 0, walSegmentBytes: 8192 });
    for (let i = 0; i < 300; i++) await s.put(`/k/${i % 50}`, Buffer.from(`v${i}-${'x'.repeat(200)}`));
    await s.delete('/k/7');
    // A full segment goes once LevelDB holds its writes, which happens after the write that filled
    // it was answered; what stays is the segment in use and the next one, made ahead (a `.tmp`
    // while it is being zero-filled).
    const complete = () => segments(dir).filter((f) => !f.endsWith('.tmp'));
    for (let i = 0; i < 100 && complete().length > 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(complete().length).toBeLessThanOrEqual(2);
    const rev = await s.revision();
    await s.close();
    expect(segments(dir)).toEqual([]);
    const r = await EmbeddedStore.open(dir, { compactionRetentionMs: 0 });
    try {
      expect(await r.revision()).toBe(rev);
      const all = await r.range('/k/', { end: '/k0' });
      expect(all.count).toBe(49);
      expect(Buffer.from(all.kvs.find((kv) => kv.key === '/k/49')!.value).toString()).toMatch(/^v299-/);
    } finally {
      await r.close();
    }
  });
});
