// The control plane (controller manager and scheduler) on a worker thread, so that
// it runs on a core of its own beside the API server's event loop, as kube-controller-manager and
// kube-scheduler run beside kube-apiserver. It reaches the API through in-process connections:
// each one a MessagePort to this thread, bridged here to ApiServer.connectInProcess (the same
// dispatcher, admission and errors as HTTPS; the user named by the worker as in-process users are).
import { Worker, type MessagePort } from 'node:worker_threads';
import type { ApiServer } from '../apiserver/server.ts';
import { portStream } from '../client/port-stream.ts';

export type FromWorker =
  | { type: 'connect'; port: MessagePort; user: { name: string; groups: string[] }; stream: boolean; path: string }
  | { type: 'started' }
  | { type: 'stopped' }
  | { type: 'failed'; message: string };

export interface WorkerData {
  caPem: string;
}

const workerFile = new URL(`./control-plane-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

/**
 * How long watch bytes bound for the worker may wait to join the next message. Each message
 * wakes the worker (tens of µs of CPU on both sides on a VM), so under a steady flow of events
 * (a pod storm) they cross in batches; a quiet watch's first event goes at once. Requests and
 * their responses are never held.
 */
const WATCH_HOLD_MS = 50;

/**
 * Leases flow without pause (1,000 nodes renew 100 a second) and their readers are slow by
 * design: the node lifecycle controller looks at them every 5 s against a 40 s grace period,
 * the garbage collector only at their owners. Held for up to 1 s they cost the worker one
 * wake-up a second instead of twenty. (Leader election reads its Lease with GETs, not held.)
 */
const LEASE_WATCH_HOLD_MS = 1000;
const LEASE_WATCH = /^\/apis\/coordination\.k8s\.io\/v1\/(namespaces\/[^/]+\/)?leases\?/;

/** The hold for a connection to the worker: none for requests, longer for Lease watches. */
export function holdMsFor(stream: boolean, path: string): number {
  if (!stream) return 0;
  return LEASE_WATCH.test(path) ? LEASE_WATCH_HOLD_MS : WATCH_HOLD_MS;
}

function bridge(server: ApiServer, port: MessagePort, user: { name: string; groups: string[] }, stream: boolean, path: string): void {
  const remote = portStream(port, { holdMs: holdMsFor(stream, path) });
  let local;
  try {
    local = server.connectInProcess(user);
  } catch {
    remote.destroy();
    return;
  }
  remote.on('error', () => local.destroy());
  local.on('error', () => remote.destroy());
  remote.pipe(local);
  local.pipe(remote);
  remote.once('close', () => local.destroy());
  local.once('close', () => remote.destroy());
}

export async function startControlPlaneThread(server: ApiServer, caPem: string, log: (msg: string) => void): Promise<{ stop(): Promise<void> }> {
  const worker = new Worker(workerFile, { workerData: { caPem } satisfies WorkerData });
  let stopping = false;
  let onStopped: (() => void) | undefined;
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'connect') bridge(server, m.port, m.user, m.stream, m.path);
      else if (m.type === 'started') resolve();
      else if (m.type === 'stopped') onStopped?.();
      else if (m.type === 'failed') reject(new Error(m.message));
    });
    worker.on('error', (err) => {
      // An uncaught error in a controller ends the control plane; the server goes with it, as a
      // crashed kube-controller-manager would be restarted by whatever supervises the node.
      log(`control plane failed: ${err.stack ?? err.message}`);
      process.exit(1);
    });
    worker.on('exit', (code) => {
      if (stopping) return;
      reject(new Error(`control plane thread exited (${code})`));
      log(`control plane thread exited (${code})`);
      process.exit(1);
    });
  });
  return {
    stop: async () => {
      stopping = true;
      const stopped = new Promise<void>((resolve) => {
        onStopped = resolve;
        setTimeout(resolve, 5000).unref();
      });
      worker.postMessage({ type: 'stop' });
      await stopped;
      await worker.terminate();
    },
  };
}
