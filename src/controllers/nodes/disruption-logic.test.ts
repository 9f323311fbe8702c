// The disruption controller's stale DisruptionTarget decision (pure).
import { describe, expect, it } from 'vitest';
import { disruptionOptionsFromEnv } from './disruption.ts';
import { resetDisruptionTarget, STALE_POD_DISRUPTION_TIMEOUT_MS, staleDisruptionWaitMs } from './disruption-logic.ts';
import type { Pod, PodCondition } from './types.ts';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const ready: PodCondition = { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2024-12-31T23:00:00Z' };
const target = (extra: Partial<PodCondition> = {}): PodCondition => ({ type: 'DisruptionTarget', status: 'True', lastProbeTime: null, lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting', ...extra });
const pod = (conditions: PodCondition[], phase = 'Running', deletionTimestamp?: string): Pod => ({ metadata: { name: 'p', namespace: 'ns', deletionTimestamp }, status: { phase, conditions } });

describe('stale DisruptionTarget condition', () => {
  it('is stale 2 minutes after it turned True on a pod not being deleted', () => {
    expect(STALE_POD_DISRUPTION_TIMEOUT_MS).toBe(120_000);
    expect(staleDisruptionWaitMs(pod([ready, target()]), T0 + 30_000, STALE_POD_DISRUPTION_TIMEOUT_MS)).toBe(90_000);
    expect(staleDisruptionWaitMs(pod([ready, target()]), T0 + 300_000, STALE_POD_DISRUPTION_TIMEOUT_MS)).toBe(0);
    expect(staleDisruptionWaitMs(pod([target({ lastTransitionTime: undefined })]), T0, STALE_POD_DISRUPTION_TIMEOUT_MS)).toBe(0);
  });

  it('is never stale while the pod is deleted, finished, set by the kubelet, False or absent', () => {
    const late = T0 + 600_000;
    expect(staleDisruptionWaitMs(pod([target()], 'Running', '2025-01-01T00:00:01Z'), late, 1000)).toBeUndefined();
    expect(staleDisruptionWaitMs(pod([target()], 'Failed'), late, 1000)).toBeUndefined();
    expect(staleDisruptionWaitMs(pod([target()], 'Succeeded'), late, 1000)).toBeUndefined();
    expect(staleDisruptionWaitMs(pod([target({ reason: 'TerminationByKubelet' })]), late, 1000)).toBeUndefined();
    expect(staleDisruptionWaitMs(pod([target({ status: 'False' })]), late, 1000)).toBeUndefined();
    expect(staleDisruptionWaitMs(pod([ready]), late, 1000)).toBeUndefined();
  });

  it('is reset to False with a new transition time, without reason or message, other conditions kept', () => {
    expect(resetDisruptionTarget(pod([ready, target()]), '2025-01-01T00:05:00Z')).toEqual([ready, { type: 'DisruptionTarget', status: 'False', lastProbeTime: null, lastTransitionTime: '2025-01-01T00:05:00Z' }]);
  });

  it('takes its timeout from K8TS_STALE_POD_DISRUPTION_SECONDS', () => {
    expect(disruptionOptionsFromEnv({ K8TS_STALE_POD_DISRUPTION_SECONDS: '3' })).toEqual({ stalePodDisruptionTimeoutMs: 3000 });
    expect(disruptionOptionsFromEnv({ K8TS_STALE_POD_DISRUPTION_SECONDS: 'x' })).toEqual({});
    expect(disruptionOptionsFromEnv({})).toEqual({});
  });
});
