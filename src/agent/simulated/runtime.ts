// A runtime that runs nothing and reports containers as a kubelet would, by rule:
// - every container starts at once (init containers complete at once, in order);
// - pods with restartPolicy Always run until deleted;
// - in pods with restartPolicy Never or OnFailure, every main container exits after
//   `simulated.k8ts.io/run-seconds` (annotation; default 3) with exit code
//   `simulated.k8ts.io/exit-code` (default 0); OnFailure restarts a failed container, which
//   then runs and exits the same way again.
// Pod IPs come from the node's pod CIDR.
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../api/object.ts';
import type { ContainerInfo, PodRuntimeView } from '../pod-status.ts';
import type { PodRuntime } from '../runtime.ts';

export const RUN_SECONDS_ANNOTATION = 'simulated.k8ts.io/run-seconds';
export const EXIT_CODE_ANNOTATION = 'simulated.k8ts.io/exit-code';
const DEFAULT_RUN_SECONDS = 3;

interface Container {
  name: string;
  image?: string;
}

interface SimPod {
  view: PodRuntimeView;
  timers: NodeJS.Timeout[];
  ipIndex: number;
}

const rfc3339 = (ms = Date.now()) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Addresses 2..254 of a /24 given as its first three octets' base (e.g. "10.244.3"). */
class IpPool {
  private readonly base: string;
  private readonly used = new Set<number>();
  private next = 2;

  constructor(cidr: string) {
    this.base = cidr.split('/')[0].split('.').slice(0, 3).join('.');
  }

  take(): number {
    for (let i = 0; i < 253; i++) {
      const n = ((this.next - 2 + i) % 253) + 2;
      if (!this.used.has(n)) {
        this.used.add(n);
        this.next = n + 1;
        return n;
      }
    }
    throw new Error('pod CIDR exhausted');
  }

  release(n: number): void {
    this.used.delete(n);
  }

  address(n: number): string {
    return `${this.base}.${n}`;
  }
}

export class SimulatedRuntime implements PodRuntime {
  private readonly podsByUid = new Map<string, SimPod>();
  private readonly ips: IpPool;
  private readonly hostIP: string;
  private listener: (uid: string) => void = () => undefined;
  private closed = false;

  constructor(opts: { hostIP: string; podCIDR: string }) {
    this.hostIP = opts.hostIP;
    this.ips = new IpPool(opts.podCIDR);
  }

  onChange(cb: (uid: string) => void): void {
    this.listener = cb;
  }

  pods(): string[] {
    return [...this.podsByUid.keys()];
  }

  view(uid: string): PodRuntimeView | undefined {
    return this.podsByUid.get(uid)?.view;
  }

  sync(pod: KubeObject): void {
    const uid = pod.metadata?.uid;
    if (!uid || this.closed || this.podsByUid.has(uid)) return;
    const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[]; restartPolicy?: string; hostNetwork?: boolean };
    const now = rfc3339();
    const containers = new Map<string, ContainerInfo>();
    // 32 hex digits (a v4 UUID's); randomUUID draws from a pooled buffer, randomBytes fills a new one each call.
    const id = () => `simulated://${randomUUID().replaceAll('-', '')}`;
    for (const c of spec.initContainers ?? []) {
      containers.set(c.name, { state: { kind: 'terminated', exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now }, restartCount: 0, containerID: id(), imageID: imageID(c.image) });
    }
    for (const c of spec.containers ?? []) {
      containers.set(c.name, { state: { kind: 'running', startedAt: now }, restartCount: 0, containerID: id(), imageID: imageID(c.image) });
    }
    const ipIndex = spec.hostNetwork ? -1 : this.ips.take();
    const sim: SimPod = {
      view: { hostIP: this.hostIP, podIP: ipIndex < 0 ? this.hostIP : this.ips.address(ipIndex), startTime: now, containers, sandboxReady: true },
      timers: [],
      ipIndex,
    };
    this.podsByUid.set(uid, sim);
    const policy = spec.restartPolicy ?? 'Always';
    if (policy !== 'Always') {
      const ann = pod.metadata?.annotations ?? {};
      const seconds = Number(ann[RUN_SECONDS_ANNOTATION] ?? DEFAULT_RUN_SECONDS);
      const exitCode = Number(ann[EXIT_CODE_ANNOTATION] ?? 0);
      for (const c of spec.containers ?? []) this.scheduleExit(uid, sim, c.name, Number.isFinite(seconds) ? seconds : DEFAULT_RUN_SECONDS, Number.isInteger(exitCode) ? exitCode : 1, policy);
    }
  }

  private scheduleExit(uid: string, sim: SimPod, name: string, seconds: number, exitCode: number, policy: string): void {
    const t = setTimeout(() => {
      const info = sim.view.containers.get(name);
      if (!info || info.state.kind !== 'running' || this.closed) return;
      const finished = rfc3339();
      const terminated = { kind: 'terminated' as const, exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: info.state.startedAt, finishedAt: finished };
      if (exitCode !== 0 && policy === 'OnFailure') {
        sim.view.containers.set(name, { ...info, lastState: terminated, state: { kind: 'running', startedAt: finished }, restartCount: info.restartCount + 1 });
        this.scheduleExit(uid, sim, name, seconds, exitCode, policy);
      } else sim.view.containers.set(name, { ...info, state: terminated });
      this.listener(uid);
    }, Math.max(0, seconds * 1000));
    t.unref();
    sim.timers.push(t);
  }

  async kill(uid: string, _graceSeconds: number): Promise<void> {
    const sim = this.podsByUid.get(uid);
    if (!sim) return;
    for (const t of sim.timers) clearTimeout(t);
    if (sim.ipIndex >= 0) this.ips.release(sim.ipIndex);
    this.podsByUid.delete(uid);
  }

  close(): void {
    this.closed = true;
    for (const sim of this.podsByUid.values()) for (const t of sim.timers) clearTimeout(t);
  }
}

function imageID(image: string | undefined): string {
  const name = image ?? '';
  return `${name.includes(':') || name.includes('@') ? name.split(/[:@]/)[0] : name}@sha256:${'0'.repeat(64)}`;
}
