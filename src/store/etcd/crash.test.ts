// Crash safety of the etcd backend: the etcd server is killed with SIGKILL while writers are
// running; after a restart every acknowledged write is there and no txn is torn.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdStore } from './index.ts';
import { etcdAvailable, startEtcd, type EtcdServer } from '../testing/etcd-server.ts';
import { CRASH_PREFIX, checkAfterCrash, txnForWrite } from '../testing/crash-check.ts';
import { prefixEnd } from '../types.ts';

const ROUNDS = Number(process.env.K8TS_CRASH_ROUNDS ?? 20);

describe.skipIf(!etcdAvailable())('etcd backend crash safety (etcd killed with SIGKILL during writes)', () => {
  let server: EtcdServer;
  beforeAll(async () => {
    server = await startEtcd();
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it(`keeps every acknowledged write and no torn txn across ${ROUNDS} kills`, async () => {
    let previous = 0;
    let totalAcked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const store = await EtcdStore.connect({ endpoints: [server.endpoint], requestTimeoutMs: 5000 });
      const acked = new Map<string, number>();
      let stop = false;
      const writers = Array.from({ length: 16 }, async (_, w) => {
        for (let seq = 0; !stop && seq < 100_000; seq++) {
          const id = `${round}-${w}-${seq}`;
          try {
            const r = await store.txn(txnForWrite(id, seq));
            acked.set(id, r.header.revision);
          } catch {
            return;
          }
        }
      });
      await new Promise((r) => setTimeout(r, 20 + ((round * 37) % 200)));
      await server.kill();
      stop = true;
      await Promise.all(writers);
      await store.close();
      await server.restart();
      const reopened = await EtcdStore.connect({ endpoints: [server.endpoint] });
      try {
        const check = await checkAfterCrash(reopened, acked, previous);
        expect(check.problems, `round ${round} (${acked.size} acked)`).toEqual([]);
        previous = check.revision;
        await reopened.delete(CRASH_PREFIX, { end: prefixEnd(CRASH_PREFIX) });
      } finally {
        await reopened.close();
      }
      totalAcked += acked.size;
    }
    expect(totalAcked).toBeGreaterThan(ROUNDS * 10);
  }, 300_000);
});
