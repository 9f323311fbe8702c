// Watch streams for the fan-out benchmark, on their own thread: the process that creates the
// events must not wait behind the one reading 1,000 streams, as separate clients would not.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { clientFromKubeconfig } from './api-client.ts';

interface Job {
  kubeconfig: string;
  path: string;
  count: number;
  /** Lines (events) each stream must receive. */
  lines: number;
}

/** Opens `count` watches; `ready` once all are connected, `done` at the wall-clock ms the last got its lines. */
export function startWatchers(job: Job): { ready: Promise<void>; done: Promise<number>; stop(): Promise<void> } {
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  let ready!: () => void;
  let done!: (t: number) => void;
  let fail!: (e: Error) => void;
  const readyP = new Promise<void>((r) => (ready = r));
  const doneP = new Promise<number>((r, j) => ((done = r), (fail = j)));
  worker.on('message', (m: { type: string; at?: number; complete?: number }) => {
    if (m.type === 'ready') ready();
    else if (m.type === 'done') done(m.at as number);
    else if (m.type === 'timeout') fail(new Error(`only ${m.complete}/${job.count} watchers got ${job.lines} events`));
  });
  worker.on('error', (e) => fail(e));
  return { ready: readyP, done: doneP, stop: () => worker.terminate().then(() => undefined) };
}

if (!isMainThread && parentPort) {
  const job = workerData as Job;
  const port = parentPort;
  const c = clientFromKubeconfig(job.kubeconfig, 1);
  let complete = 0;
  let connected = 0;
  for (let i = 0; i < job.count; i++) {
    let lines = 0;
    let counted = false;
    c.stream(job.path, (chunk) => {
      for (let j = chunk.indexOf(10); j >= 0; j = chunk.indexOf(10, j + 1)) lines++;
      // At least: a namespace may hold objects of its own (kube-root-ca.crt) besides the bench's.
      if (!counted && lines >= job.lines) {
        counted = true;
        if (++complete === job.count) port.postMessage({ type: 'done', at: performance.timeOrigin + performance.now() });
      }
    }, () => {
      if (++connected === job.count) port.postMessage({ type: 'ready' });
    });
  }
  setTimeout(() => port.postMessage({ type: 'timeout', complete }), 120_000).unref();
}
