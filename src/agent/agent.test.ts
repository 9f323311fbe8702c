// `k8ts agent --runtime=simulated` joining a running server from another process: its node
// registers Ready, renews its Lease, and runs the pods bound to it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { kubectlPath, startServer, type TestServer } from '../apiserver/testing/server.ts';

const MAIN = resolve(import.meta.dirname, '../cli/main.ts');
let server: TestServer;
let agent: ChildProcess | undefined;

beforeAll(async () => {
  server = await startServer();
  agent = spawn(process.execPath, [MAIN, 'agent', '--kubeconfig', server.kubeconfig, '--node-name', 'edge-a'], { stdio: ['ignore', 'ignore', 'pipe'] });
}, 60_000);

afterAll(async () => {
  if (agent && agent.exitCode === null) {
    agent.kill('SIGTERM');
    await new Promise((r) => agent?.once('exit', r));
  }
  await server?.stop();
});

async function json<T>(args: string[]): Promise<T | undefined> {
  const r = await server.kubectl([...args, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
}

async function eventually<T>(seconds: number, f: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < seconds * 4; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not within ${seconds} s`);
}

describe.skipIf(!kubectlPath())('k8ts agent --runtime=simulated', () => {
  it('registers a Ready node with its Lease and runs a pod bound to it', async () => {
    // The agent creates the Node, then reports its status, then creates its Lease.
    const node = await eventually(60, async () => {
      const n = await json<{ status?: { conditions?: Array<{ type: string; status: string }>; nodeInfo: { containerRuntimeVersion: string } } }>(['get', 'node', 'edge-a']);
      return n?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? n : undefined;
    });
    expect(node.status?.nodeInfo.containerRuntimeVersion).toBe('simulated://1.0.0');
    const lease = await eventually(30, () => json<{ spec: { holderIdentity: string; leaseDurationSeconds: number } }>(['get', 'lease', 'edge-a', '-n', 'kube-node-lease']));
    expect(lease.spec).toMatchObject({ holderIdentity: 'edge-a', leaseDurationSeconds: 40 });
    // Pods are admitted once the namespace's default ServiceAccount exists (as upstream).
    await eventually(60, () => json(['get', 'serviceaccount', 'default']));
    const r = await server.kubectl(['run', 'on-edge', '--image=busybox', '--overrides={"spec":{"nodeName":"edge-a"}}']);
    expect(r.code, r.stderr).toBe(0);
    const pod = await eventually(30, async () => {
      const p = await json<{ status: { phase: string; podIP?: string } }>(['get', 'pod', 'on-edge']);
      return p?.status.phase === 'Running' ? p : undefined;
    });
    expect(pod.status.podIP).toMatch(/^10\.248\.0\.\d+$/);
  });

  it('puts a Ready condition set to Unknown back to True at once (as a kubelet comparing with the API)', async () => {
    const patch = JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' }] } });
    const r = await server.kubectl(['patch', 'node', 'edge-a', '--subresource=status', '--type=strategic', '-p', patch]);
    expect(r.code, r.stderr).toBe(0);
    const node = await eventually(20, async () => {
      const n = await json<{ status: { conditions: Array<{ type: string; status: string; reason: string }> } }>(['get', 'node', 'edge-a']);
      return n?.status.conditions.find((c) => c.type === 'Ready')?.status === 'True' ? n : undefined;
    });
    expect(node.status.conditions.find((c) => c.type === 'Ready')?.reason).toBe('KubeletReady');
  });
});
