// The `endpoints.kubernetes.io/last-change-trigger-time` value, as upstream's TriggerTimeTracker
// computes it: for a Service seen the first time, its creationTimestamp; after that, the earliest
// of the changes not yet published (a pod's Ready condition lastTransitionTime that moved, or
// the Service's own trigger time); none (the annotation is cleared) when nothing changed.
import { podCondition } from './pod-util.ts';
import { parseTime } from './types.ts';
import type { Pod, Service } from './types.ts';

export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

interface ServiceState {
  pods: Map<string, number>;
  service: number;
}

export class TriggerTimeTracker {
  private readonly states = new Map<string, ServiceState>();

  /** The trigger time in ms, or undefined for none; updates the state in any case. */
  compute(svc: Service, pods: Pod[]): number | undefined {
    const key = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
    const prev = this.states.get(key);
    let min: number | undefined;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = parseTime(podCondition(pod, 'Ready')?.lastTransitionTime);
      if (t === undefined) continue;
      const name = pod.metadata?.name ?? '';
      podTimes.set(name, t);
      if (t > (prev?.pods.get(name) ?? -Infinity)) min = min === undefined ? t : Math.min(min, t);
    }
    const created = parseTime(svc.metadata?.creationTimestamp) ?? 0;
    if (created > (prev?.service ?? -Infinity)) min = min === undefined ? created : Math.min(min, created);
    this.states.set(key, { pods: podTimes, service: created });
    if (!prev) return created || undefined;
    return min;
  }

  deleteService(namespace: string, name: string): void {
    this.states.delete(`${namespace}/${name}`);
  }
}
