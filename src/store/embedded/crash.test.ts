// Crash safety of the embedded store: a child process writing concurrently is killed with SIGKILL
// at random moments; after reopening, every acknowledged write is there, no txn is torn, and the
// revision never goes backwards. Every other round uses small write-ahead log segments, so that
// kills also land while segments fill, change and are freed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedStore } from './index.ts';
import { CRASH_PREFIX, checkAfterCrash } from '../testing/crash-check.ts';
import { prefixEnd } from '../types.ts';

const ROUNDS = Number(process.env.K8TS_CRASH_ROUNDS ?? 20);
const writerScript = fileURLToPath(new URL('../testing/crash-writer.ts', import.meta.url));

/** Deterministic kill delays (ms after the writer is ready): a fixed seed makes rounds repeatable. */
function delays(n: number, seed = 42): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return 5 + (s % 250);
  });
}

interface Round {
  acked: Map<string, number>;
  ready: number;
}

function runWriterUntilKilled(dir: string, killAfterMs: number, walSegmentBytes?: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writerScript, dir, '16', ...(walSegmentBytes ? [String(walSegmentBytes)] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Map<string, number>();
    let ready = -1;
    let buf = '';
    let stderr = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [kind, a, b] = buf.slice(0, nl).split(' ');
        buf = buf.slice(nl + 1);
        if (kind === 'ready') {
          ready = Number(a);
          setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        } else if (kind === 'ack') acked.set(a, Number(b));
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code ?? signal} before it was killed: ${stderr}`));
      else if (ready < 0) reject(new Error(`writer never became ready: ${stderr}`));
      else resolve({ acked, ready });
    });
  });
}

describe('embedded store crash safety (SIGKILL during concurrent writes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`keeps every acknowledged write and no torn txn across ${ROUNDS} kills`, async () => {
    let previous = 0;
    let totalAcked = 0;
    for (const [i, delay] of delays(ROUNDS).entries()) {
      // Every other round with small log segments: kills land around segment changes and checkpoints too.
      const round = await runWriterUntilKilled(dir, delay, i % 2 === 1 ? 64 * 1024 : undefined);
      expect(round.ready, `round ${i}: the reopened revision went backwards`).toBeGreaterThanOrEqual(previous);
      const store = await EmbeddedStore.open(dir, { compactionRetentionMs: 0 });
      try {
        const check = await checkAfterCrash(store, round.acked, previous);
        expect(check.problems, `round ${i} (killed ${delay} ms after start, ${round.acked.size} acked)`).toEqual([]);
        previous = check.revision;
        // Start the next round from a small store: delete what was checked and compact it away.
        const del = await store.delete(CRASH_PREFIX, { end: prefixEnd(CRASH_PREFIX) });
        if (del.deleted > 0) await store.compact(del.header.revision);
      } finally {
        await store.close();
      }
      totalAcked += round.acked.size;
    }
    // The kills must have landed while writes were in flight, or the test proves nothing.
    expect(totalAcked).toBeGreaterThan(ROUNDS * 10);
  }, 300_000);
});
