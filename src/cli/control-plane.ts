// The control plane around the API server: the controller manager and the scheduler (each under
// its Lease; run on a worker thread by control-plane-thread.ts) and any simulated nodes, all API
// clients over the in-process transport (any InProcessConnector will do).
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { InProcessConnector } from '../client/transport.ts';
import { KubeClient } from '../client/kube-client.ts';
import { ControllerManager } from '../controllers/manager.ts';
import { allControllers } from '../controllers/index.ts';
import { rootCACertPublisher } from '../controllers/core/index.ts';
import { stderrLogger } from '../controllers/framework/log.ts';
import { LeaderElector } from '../controllers/framework/leader-election.ts';
import { InformerPool } from '../controllers/framework/informer-pool.ts';
import { Scheduler } from '../scheduler/scheduler.ts';

const IN_PROCESS_CONNECTIONS = 128;

/** The controller manager and the scheduler, each under its Lease. */
export async function startControlPlane(server: InProcessConnector, caPem: string): Promise<{ stop(): Promise<void> }> {
  // In-process connections are cheap; a larger pool lets bursts (a ReplicaSet's slow-start
  // batches, the scheduler's bindings) join the store's group commits instead of queueing.
  // One list and watch per resource for both components (each pod event decoded once, each pod
  // held once), as one process; each keeps its own handlers, indexes and leader election.
  const pool = new InformerPool(KubeClient.inProcess(server, { name: 'system:kube-controller-manager', groups: ['system:authenticated'] }, { userAgent: 'k8ts-control-plane-informers/v1.33.0 (linux/amd64) k8ts', maxConnections: IN_PROCESS_CONNECTIONS }), { stripManagedFields: true });
  const controllers = new ControllerManager({ client: KubeClient.inProcess(server, { name: 'system:kube-controller-manager', groups: ['system:authenticated'] }, { userAgent: 'kube-controller-manager/v1.33.0 (linux/amd64) k8ts', maxConnections: IN_PROCESS_CONNECTIONS }), controllers: [...allControllers, rootCACertPublisher(caPem)], informerPool: pool, logger: stderrLogger('controller-manager') });
  await controllers.start();
  const scheduler = await startScheduler(server, pool);
  return {
    stop: async () => {
      await controllers.stop();
      await scheduler.stop();
    },
  };
}

/** The scheduler, run while this server holds the `kube-scheduler` Lease. */
async function startScheduler(server: InProcessConnector, pool: InformerPool): Promise<{ stop(): Promise<void> }> {
  const client = KubeClient.inProcess(server, { name: 'system:kube-scheduler', groups: ['system:authenticated'] }, { userAgent: 'kube-scheduler/v1.33.0 (linux/amd64) k8ts', maxConnections: IN_PROCESS_CONNECTIONS });
  let scheduler: Scheduler | undefined;
  const elector = new LeaderElector({
    client,
    name: 'kube-scheduler',
    namespace: 'kube-system',
    identity: `${hostname()}_${randomUUID()}`,
    logger: stderrLogger('scheduler'),
    callbacks: {
      onStartedLeading: async () => {
        scheduler = new Scheduler(client, { parallelBinds: IN_PROCESS_CONNECTIONS, informerPool: pool });
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
