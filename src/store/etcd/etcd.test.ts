// The behaviour suite against a real etcd: one server for the whole file; every test starts with
// an empty keyspace (cleanup deletes every key; revisions keep growing across tests).
import { afterAll, beforeAll, describe, it } from 'vitest';
import { etcdAvailable, startEtcd, type EtcdServer } from '../testing/etcd-server.ts';
import { describeStoreBehaviour } from '../testing/store-suite.ts';
import { EtcdStore } from './index.ts';

const available = etcdAvailable();

if (!available) {
  describe('EtcdStore behaviour', () => {
    it.skip('skipped: no etcd binary on PATH (install etcd, e.g. `apt-get install etcd-server`, or set K8TS_ETCD_BIN)', () => undefined);
  });
}

describe.skipIf(!available)('EtcdStore against a real etcd', () => {
  let server: EtcdServer | undefined;

  beforeAll(async () => {
    server = await startEtcd({ progressNotifyIntervalMs: 500 });
  });

  afterAll(async () => {
    await server?.cleanup();
  });

  const endpoint = (): string => {
    if (!server) throw new Error('etcd did not start');
    return server.endpoint;
  };

  describeStoreBehaviour('EtcdStore', async () => ({
    open: () => EtcdStore.connect({ endpoints: [endpoint()] }),
    restart: async () => {
      await server?.restart();
    },
    cleanup: async () => {
      // Leave an empty keyspace for the next test.
      const store = await EtcdStore.connect({ endpoints: [endpoint()] });
      try {
        await store.delete('\0', { end: '\0' });
      } finally {
        await store.close();
      }
    },
  }));
});
