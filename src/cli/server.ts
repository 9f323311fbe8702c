// `k8ts server`: certificates, store, API server, bootstrap objects, kubeconfig.
import { mkdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { ensurePki } from '../apiserver/pki/index.ts';
import { kubeconfigYaml, writeKubeconfig } from '../apiserver/pki/kubeconfig.ts';
import { ApiServer } from '../apiserver/server.ts';
import { EmbeddedStore } from '../store/embedded/index.ts';
import { EtcdStore } from '../store/etcd/index.ts';
import type { Store } from '../store/types.ts';
import { bootstrap } from './bootstrap.ts';

export interface ServerFlags {
  dataDir: string;
  bindAddress: string;
  securePort: number;
  writeKubeconfig?: string;
  datastore: 'embedded' | 'etcd';
  etcdServers: string;
  tlsSan: string[];
  simulateNodes?: number;
  simulatedNodeCpu?: string;
  simulatedNodeMemory?: string;
  simulatedNodePods?: string;
  simulatedNodeLabel?: string[];
}

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
}

export async function runServer(flags: ServerFlags): Promise<ApiServer> {
  const started = performance.now();
  const dataDir = resolve(flags.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const pki = await ensurePki({ dir: join(dataDir, 'pki'), hostnames: flags.tlsSan, bindAddress: flags.bindAddress });
  let store: Store;
  if (flags.datastore === 'etcd') {
    const endpoints = flags.etcdServers.split(',').map((s) => s.trim()).filter(Boolean);
    if (endpoints.length === 0) throw new Error('--datastore etcd needs --etcd-servers');
    store = await EtcdStore.connect({ endpoints });
  } else {
    store = await EmbeddedStore.open(join(dataDir, 'db'));
  }
  const server = new ApiServer({ store, tls: { cert: pki.servingCertPem, key: pki.servingKeyPem, ca: pki.caCertPem }, bindAddress: flags.bindAddress, port: flags.securePort });
  const { port } = await server.start();
  await bootstrap(server.registries);
  const host = flags.bindAddress === '0.0.0.0' || flags.bindAddress === '::' ? '127.0.0.1' : flags.bindAddress;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const kubeconfig = resolve(flags.writeKubeconfig ?? join(dataDir, 'kubeconfig.yaml'));
  await writeKubeconfig(kubeconfig, kubeconfigYaml({ server: url, caPem: pki.caCertPem, clientCertPem: pki.adminCertPem, clientKeyPem: pki.adminKeyPem }));
  log(`k8ts server ready on ${url} (${flags.datastore} store, ${Math.round(performance.now() - started)} ms); point kubectl at it: export KUBECONFIG=${kubeconfig}`);
  // The control plane (controllers and scheduler, on a worker thread; simulated nodes, on this
  // one) starts once the API serves; its modules load only now, adding nothing to the start-up.
  // K8TS_CONTROL_PLANE_THREAD=0 runs the controllers and scheduler on this thread too.
  const plane = process.env.K8TS_CONTROL_PLANE_THREAD === '0'
    ? await (await import('./control-plane.ts')).startControlPlane(server, pki.caCertPem)
    : await (await import('./control-plane-thread.ts')).startControlPlaneThread(server, pki.caCertPem, log);
  const nodes = await (await import('./simulated-nodes.ts')).startSimulatedNodes(server, flags, log);
  const shutdown = async () => {
    await nodes.stop();
    await plane.stop();
    await server.stop();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  return server;
}
