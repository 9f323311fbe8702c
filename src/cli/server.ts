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
import { KubeClient } from '../client/kube-client.ts';
import { SimulatedNodes } from '../agent/simulated/cluster.ts';
import { ControllerManager } from '../controllers/manager.ts';
import { allControllers } from '../controllers/index.ts';
import { rootCACertPublisher } from '../controllers/core/index.ts';
import { stderrLogger } from '../controllers/framework/log.ts';
import { LeaderElector } from '../controllers/framework/leader-election.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';

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
  const controllers = new ControllerManager({ client: KubeClient.inProcess(server, { name: 'system:kube-controller-manager', groups: ['system:authenticated'] }, { userAgent: 'kube-controller-manager/v1.33.0 (linux/amd64) k8ts' }), controllers: [...allControllers, rootCACertPublisher(pki.caCertPem)], logger: stderrLogger('controller-manager') });
  await controllers.start();
  const scheduler = await startScheduler(server);
  let nodes: SimulatedNodes | undefined;
  if (flags.simulateNodes && flags.simulateNodes > 0) {
    const client = KubeClient.inProcess(server, { name: 'system:node:simulated', groups: ['system:nodes', 'system:authenticated'] }, { userAgent: 'kubelet/v1.33.0 (linux/amd64) k8ts' });
    const labels = Object.fromEntries((flags.simulatedNodeLabel ?? []).map((kv) => [kv.split('=')[0], kv.split('=').slice(1).join('=')]));
    nodes = new SimulatedNodes(client, { count: flags.simulateNodes, cpu: flags.simulatedNodeCpu, memory: flags.simulatedNodeMemory, pods: flags.simulatedNodePods, labels, log });
    await nodes.start();
    log(`${flags.simulateNodes} simulated nodes registered`);
  }
  log(`k8ts server ready on ${url} (${flags.datastore} store, ${Math.round(performance.now() - started)} ms); point kubectl at it: export KUBECONFIG=${kubeconfig}`);
  const shutdown = async () => {
    await nodes?.stop();
    await controllers.stop();
    await scheduler.stop();
    await server.stop();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  return server;
}

/** The scheduler, run while this server holds the `kube-scheduler` Lease. */
async function startScheduler(server: ApiServer): Promise<{ stop(): Promise<void> }> {
  const client = KubeClient.inProcess(server, { name: 'system:kube-scheduler', groups: ['system:authenticated'] }, { userAgent: 'kube-scheduler/v1.33.0 (linux/amd64) k8ts' });
  let scheduler: Scheduler | undefined;
  const elector = new LeaderElector({
    client,
    name: 'kube-scheduler',
    namespace: 'kube-system',
    identity: `${hostname()}_${randomUUID()}`,
    logger: stderrLogger('scheduler'),
    callbacks: {
      onStartedLeading: async () => {
        scheduler = new Scheduler(client);
        await scheduler.start();
      },
      onStoppedLeading: () => {
        void scheduler?.stop();
        scheduler = undefined;
      },
    },
  });
  void elector.run();
  return {
    stop: async () => {
      await elector.stop();
      await scheduler?.stop();
    },
  };
}
