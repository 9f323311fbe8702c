// The worker side of control-plane-thread.ts: opens in-process connections as MessagePorts to
// the main thread and runs startControlPlane over them; stops on the main thread's word.
import { MessageChannel, parentPort, workerData } from 'node:worker_threads';
import { portStream } from '../client/port-stream.ts';
import type { InProcessConnector } from '../client/transport.ts';
import { startControlPlane } from './control-plane.ts';
import type { FromWorker, WorkerData } from './control-plane-thread.ts';

const parent = parentPort!;
const post = (m: FromWorker, transfer?: Parameters<typeof parent.postMessage>[1]) => parent.postMessage(m, transfer);
const { caPem } = workerData as WorkerData;

const connector: InProcessConnector = {
  connectInProcess(user, opts) {
    const { port1, port2 } = new MessageChannel();
    post({ type: 'connect', port: port2, user: { name: user.name, groups: [...user.groups] }, stream: !!opts?.stream, path: opts?.path ?? '' }, [port2]);
    return portStream(port1);
  },
};

try {
  const plane = await startControlPlane(connector, caPem);
  parent.on('message', (m: { type: string }) => {
    if (m.type !== 'stop') return;
    void plane.stop().finally(() => post({ type: 'stopped' }));
  });
  post({ type: 'started' });
} catch (err) {
  post({ type: 'failed', message: (err as Error).stack ?? String(err) });
}
