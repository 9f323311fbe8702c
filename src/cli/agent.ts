// `k8ts agent`: a process that joins a running server as one or more nodes. With the simulated
// runtime its pods run by rule (src/agent/README.md); the containerd runtime comes later.
import { KubeClient } from '../client/kube-client.ts';
import { SimulatedNodes } from '../agent/simulated/cluster.ts';

export interface AgentFlags {
  kubeconfig: string;
  runtime: 'simulated';
  nodeName: string;
  nodes: number;
  cpu: string;
  memory: string;
  pods: string;
  nodeLabel: string[];
  firstIndex: number;
}

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
}

export async function runAgent(flags: AgentFlags): Promise<void> {
  const client = KubeClient.fromKubeconfig(flags.kubeconfig, { userAgent: 'kubelet/v1.33.0 (linux/amd64) k8ts' });
  const labels = Object.fromEntries(flags.nodeLabel.map((kv) => [kv.split('=')[0], kv.split('=').slice(1).join('=')]));
  const single = flags.nodes <= 1;
  const nodes = new SimulatedNodes(client, { count: Math.max(1, flags.nodes), prefix: single ? flags.nodeName : `${flags.nodeName}-`, exactName: single, firstIndex: flags.firstIndex, cpu: flags.cpu, memory: flags.memory, pods: flags.pods, labels, log });
  await nodes.start();
  log(`k8ts agent: ${[...nodes.agents.keys()].join(', ')} registered (simulated runtime)`);
  const shutdown = async () => {
    await nodes.stop();
    client.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}
