// N simulated nodes in one process: one NodeAgent each over a SimulatedRuntime, all fed by one
// shared informer on bound pods (so 1,000 nodes cost one watch, not 1,000).
import type { KubeObject } from '../../api/object.ts';
import type { KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import { deletedObject, Informer } from '../../controllers/framework/informer.ts';
import { silentLogger } from '../../controllers/framework/log.ts';
import { NodeAgent } from '../node-agent.ts';
import { SimulatedRuntime } from './runtime.ts';

/** Annotating a simulated node with this ("true") stops it: no more Lease renewals or status. */
export const STOP_ANNOTATION = 'simulated.k8ts.io/stop';

export interface SimulatedNodesOptions {
  count: number;
  /** Node names are `${prefix}${i}`; default "sim-node-". */
  prefix?: string;
  /** One node named exactly `prefix`. */
  exactName?: boolean;
  /** Index of the first node: its pod CIDR and address (processes running nodes of one cluster use distinct ranges). */
  firstIndex?: number;
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  renewIntervalMs?: number;
  leaseDurationSeconds?: number;
  log?: (msg: string) => void;
}

/** The i-th node's pod CIDR (a /24 in 10.244.0.0/14) and host address (in 172.20.0.0/14). */
export function nodeAddresses(i: number): { podCIDR: string; hostIP: string } {
  const n = i + 1;
  return { podCIDR: `10.${244 + (i >> 8)}.${i & 255}.0/24`, hostIP: `172.${20 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}` };
}

export class SimulatedNodes {
  private readonly client: KubeClient;
  private readonly opts: SimulatedNodesOptions;
  readonly agents = new Map<string, NodeAgent>();
  private informer: Informer | undefined;
  private nodeInformer: Informer | undefined;

  constructor(client: KubeClient, opts: SimulatedNodesOptions) {
    this.client = client;
    this.opts = opts;
  }

  async start(): Promise<void> {
    const o = this.opts;
    const prefix = o.prefix ?? 'sim-node-';
    for (let i = 0; i < o.count; i++) {
      const name = o.exactName ? prefix : `${prefix}${i}`;
      const { podCIDR, hostIP } = nodeAddresses((o.firstIndex ?? 0) + i);
      this.agents.set(name, new NodeAgent(this.client, {
        name,
        runtime: new SimulatedRuntime({ hostIP, podCIDR }),
        hostIP,
        podCIDR,
        capacity: { cpu: o.cpu ?? '8', memory: o.memory ?? '32Gi', pods: o.pods ?? '110', 'ephemeral-storage': '100Gi' },
        labels: o.labels,
        renewIntervalMs: o.renewIntervalMs,
        leaseDurationSeconds: o.leaseDurationSeconds,
        log: o.log,
      }));
    }
    const agents = [...this.agents.values()];
    for (let i = 0; i < agents.length; i += 50) await Promise.all(agents.slice(i, i + 50).map((a) => a.start()));
    const informer = new Informer<KubeObject>(this.client, Resources.pods, { fieldSelector: 'spec.nodeName!=', stripManagedFields: true, logger: silentLogger });
    const route = (pod: KubeObject) => this.agents.get(String((pod.spec as { nodeName?: string } | undefined)?.nodeName ?? ''));
    informer.addEventHandler({
      onAdd: (pod) => route(pod)?.podChanged(pod),
      onUpdate: (_old, pod) => route(pod)?.podChanged(pod),
      onDelete: (x) => {
        const pod = deletedObject(x);
        route(pod)?.podDeleted(pod);
      },
    });
    informer.start();
    this.informer = informer;
    // A node annotated simulated.k8ts.io/stop=true goes silent, as a crashed kubelet would.
    const nodes = new Informer<KubeObject>(this.client, Resources.nodes, { stripManagedFields: true, logger: silentLogger });
    const check = (n: KubeObject) => {
      if (n.metadata?.annotations?.[STOP_ANNOTATION] === 'true') this.stopNode(n.metadata.name ?? '');
      else this.agents.get(n.metadata?.name ?? '')?.nodeObserved(n);
    };
    nodes.addEventHandler({ onAdd: check, onUpdate: (_o, n) => check(n) });
    nodes.start();
    this.nodeInformer = nodes;
    await Promise.all([informer.waitForSync(60_000), nodes.waitForSync(60_000)]);
  }

  /** The node goes silent: no more Lease renewals, status or pod work. */
  stopNode(name: string): boolean {
    const a = this.agents.get(name);
    if (!a) return false;
    a.stop();
    return true;
  }

  async stop(): Promise<void> {
    for (const a of this.agents.values()) a.stop();
    await this.informer?.stop();
    await this.nodeInformer?.stop();
  }
}
