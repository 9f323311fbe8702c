#!/usr/bin/env node
// k8ts: one program, several roles. `k8ts server` runs the control plane.
import { Command, Option } from 'commander';
import { hostname } from 'node:os';

const program = new Command();
program.name('k8ts').description('A Kubernetes control plane and node agent in TypeScript').version('0.1.0');

program
  .command('server')
  .description('run the API server on the built-in store (or an external etcd)')
  .option('--data-dir <dir>', 'where the store, certificates and kubeconfig live', './.k8ts')
  .option('--bind-address <ip>', 'address to serve HTTPS on', '127.0.0.1')
  .option('--secure-port <port>', 'HTTPS port (0 picks a free one)', (v) => Number(v), 6443)
  .option('--write-kubeconfig <file>', 'where to write the admin kubeconfig (default <data-dir>/kubeconfig.yaml)')
  .addOption(new Option('--datastore <kind>', 'storage backend').choices(['embedded', 'etcd']).default('embedded'))
  .option('--etcd-servers <urls>', 'comma-separated etcd client URLs (with --datastore etcd)', '')
  .option('--tls-san <name>', 'extra name or IP for the serving certificate (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--simulate-nodes <n>', 'register N simulated nodes whose pods run by rule, not in containers (see src/agent/README.md)', (v) => Number(v), 0)
  .option('--simulated-node-cpu <cpu>', 'CPU capacity of each simulated node', '8')
  .option('--simulated-node-memory <memory>', 'memory capacity of each simulated node', '32Gi')
  .option('--simulated-node-pods <n>', 'pod capacity of each simulated node', '110')
  .option('--simulated-node-label <k=v>', 'label of every simulated node (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .action(async (opts) => {
    const { runServer } = await import('./server.ts');
    await runServer(opts);
  });

program
  .command('agent')
  .description('join a cluster as a node agent (today: simulated nodes, --runtime=simulated)')
  .requiredOption('--kubeconfig <file>', 'kubeconfig of the server to join')
  .addOption(new Option('--runtime <kind>', 'container runtime').choices(['simulated']).default('simulated'))
  .option('--node-name <name>', 'node name (with --nodes N > 1: the prefix of N names)', hostname())
  .option('--nodes <n>', 'how many simulated nodes this agent runs', (v) => Number(v), 1)
  .option('--cpu <cpu>', 'CPU capacity of each node', '8')
  .option('--memory <memory>', 'memory capacity of each node', '32Gi')
  .option('--pods <n>', 'pod capacity of each node', '110')
  .option('--node-label <k=v>', 'node label (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--first-index <n>', 'index of this agent\'s first node: picks its pod CIDRs (10.244.0.0/14 by index) apart from other agents\'', (v) => Number(v), 1024)
  .action(async (opts) => {
    const { runAgent } = await import('./agent.ts');
    await runAgent(opts);
  });

await program.parseAsync(process.argv);
