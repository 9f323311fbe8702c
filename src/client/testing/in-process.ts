// Test harness: an ApiServer in this process (embedded store in a temp dir, fresh PKI, HTTPS on
// a free loopback port), with clients over both transports. Used by the client and controller
// framework tests and by src/client/bench.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePki } from '../../apiserver/pki/index.ts';
import { ApiServer } from '../../apiserver/server.ts';
import { EmbeddedStore } from '../../store/embedded/index.ts';
import { StatusError } from '../../api/status.ts';
import { KubeClient, type KubeClientOptions } from '../kube-client.ts';
import { Resources } from '../resources.ts';

export const ADMIN = { name: 'kubernetes-admin', groups: ['system:masters'] };

export interface InProcessServer {
  server: ApiServer;
  store: EmbeddedStore;
  url: string;
  /** PEM credentials of the admin user (for TLS clients). */
  tls: { server: string; ca: string; cert: string; key: string };
  /**
   * Stops the ApiServer and starts a new one on the same store (fresh watch caches, so older
   * resourceVersions are gone: watches from them get 410). In-process clients follow; the HTTPS
   * port changes.
   */
  restart(): Promise<void>;
  /** A new in-process client (admin unless `user`); follows restarts. Closed by stop(). */
  client(opts?: KubeClientOptions & { user?: { name: string; groups: string[] } }): KubeClient;
  /** A new TLS client to the same server. Closed by stop(). */
  tlsClient(opts?: KubeClientOptions): KubeClient;
  stop(): Promise<void>;
}

export async function startInProcess(opts: { namespaces?: string[] } = {}): Promise<InProcessServer> {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-inproc-'));
  const pki = await ensurePki({ dir: join(dir, 'pki'), bindAddress: '127.0.0.1' });
  const store = await EmbeddedStore.open(join(dir, 'db'));
  const newServer = () => new ApiServer({ store, tls: { cert: pki.servingCertPem, key: pki.servingKeyPem, ca: pki.caCertPem }, bindAddress: '127.0.0.1', port: 0 });
  let server = newServer();
  const { port } = await server.start();
  const url = `https://127.0.0.1:${port}`;
  const tls = { server: url, ca: pki.caCertPem, cert: pki.adminCertPem, key: pki.adminKeyPem };
  const clients: KubeClient[] = [];
  // Connections go to whichever server is current (restart()).
  const connector = { connectInProcess: (u: { name: string; groups: string[] }) => server.connectInProcess(u) };
  const admin = KubeClient.inProcess(connector, ADMIN);
  clients.push(admin);
  for (const name of ['default', 'kube-system', ...(opts.namespaces ?? [])]) {
    try {
      await admin.create(Resources.namespaces, undefined, { metadata: { name } });
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 409)) throw err;
    }
  }
  let stopped = false;
  return {
    get server() {
      return server;
    },
    store,
    get url() {
      return tls.server;
    },
    tls,
    async restart() {
      await server.stop();
      server = newServer();
      const r = await server.start();
      tls.server = `https://127.0.0.1:${r.port}`;
    },
    client(o = {}) {
      const c = KubeClient.inProcess(connector, o.user ?? ADMIN, o);
      clients.push(c);
      return c;
    },
    tlsClient(o = {}) {
      const c = KubeClient.tls(tls, o);
      clients.push(c);
      return c;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const c of clients) c.close();
      await server.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}
