// The nodes-and-services controllers the manager runs (each in its own file in this folder):
// Endpoints, EndpointSlices, node lifecycle, taint eviction, disruption (PodDisruptionBudgets).
import type { ControllerFactory } from '../manager.ts';
import { disruptionController } from './disruption.ts';
import { endpointsController } from './endpoints.ts';
import { endpointSliceController } from './endpointslice.ts';
import { nodeLifecycleController, type NodeLifecycleOptions } from './node-lifecycle.ts';
import { taintEvictionController } from './taint-eviction.ts';

/** A positive number from the environment, or undefined. */
function envNumber(name: string, env: NodeJS.ProcessEnv): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * Node lifecycle settings from the environment (upstream's kube-controller-manager flags):
 * K8TS_NODE_MONITOR_GRACE_SECONDS (--node-monitor-grace-period, 50),
 * K8TS_NODE_STARTUP_GRACE_SECONDS (--node-startup-grace-period, 60),
 * K8TS_NODE_MONITOR_PERIOD_SECONDS (--node-monitor-period, 5),
 * K8TS_NODE_EVICTION_RATE (--node-eviction-rate, 0.1 nodes/s per zone).
 */
export function nodeLifecycleOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): NodeLifecycleOptions {
  const s = (name: string) => {
    const v = envNumber(name, env);
    return v === undefined ? undefined : v * 1000;
  };
  return {
    gracePeriodMs: s('K8TS_NODE_MONITOR_GRACE_SECONDS'),
    startupGracePeriodMs: s('K8TS_NODE_STARTUP_GRACE_SECONDS'),
    monitorPeriodMs: s('K8TS_NODE_MONITOR_PERIOD_SECONDS'),
    qps: envNumber('K8TS_NODE_EVICTION_RATE', env),
  };
}

export const controllers: ControllerFactory[] = [
  () => endpointsController(),
  () => endpointSliceController(),
  () => nodeLifecycleController(nodeLifecycleOptionsFromEnv()),
  () => taintEvictionController(),
  () => disruptionController(),
];
