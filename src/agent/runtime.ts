// What a node agent needs from a container runtime, per pod. The simulated runtime implements it
// now; the CRI (containerd) runtime will implement the same interface, so the pod lifecycle in
// node-agent.ts is shared.
import type { KubeObject } from '../api/object.ts';
import type { PodRuntimeView } from './pod-status.ts';

export interface PodRuntime {
  /** Starts (or goes on running) the pod's sandbox and containers as its spec says. Idempotent. */
  sync(pod: KubeObject): void;
  /** What runs for the pod now; undefined when the runtime has nothing for it. */
  view(uid: string): PodRuntimeView | undefined;
  /** Stops the pod's containers within the grace period and removes its sandbox. */
  kill(uid: string, graceSeconds: number): Promise<void>;
  /** Registers the callback for pods whose state changed on its own (a container exited). */
  onChange(cb: (uid: string) => void): void;
  /** Pod UIDs the runtime holds. */
  pods(): string[];
  /** Stops timers; nothing changes afterwards. */
  close(): void;
}
