// `--simulate-nodes` on `k8ts server`: the nodes as in-process API clients of this server.
import { SimulatedNodes } from '../agent/simulated/cluster.ts';
import { KubeClient } from '../client/kube-client.ts';
import type { InProcessConnector } from '../client/transport.ts';
import type { ServerFlags } from './server.ts';

/**
 * `--simulate-nodes` nodes. They run on the API server's own thread: their Lease renewals and
 * status writes then cost no cross-thread messages (the controllers run on a worker).
 */
export async function startSimulatedNodes(server: InProcessConnector, flags: ServerFlags, log: (msg: string) => void): Promise<{ stop(): Promise<void> }> {
  if (!flags.simulateNodes || flags.simulateNodes <= 0) return { stop: async () => undefined };
  const client = KubeClient.inProcess(server, { name: 'system:node:simulated', groups: ['system:nodes', 'system:authenticated'] }, { userAgent: 'kubelet/v1.33.0 (linux/amd64) k8ts' });
  const labels = Object.fromEntries((flags.simulatedNodeLabel ?? []).map((kv) => [kv.split('=')[0], kv.split('=').slice(1).join('=')]));
  const nodes = new SimulatedNodes(client, { count: flags.simulateNodes, cpu: flags.simulatedNodeCpu, memory: flags.simulatedNodeMemory, pods: flags.simulatedNodePods, labels, log });
  await nodes.start();
  log(`${flags.simulateNodes} simulated nodes registered`);
  return {
    stop: async () => {
      await nodes.stop();
      client.close();
    },
  };
}
