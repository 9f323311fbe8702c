import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../object.ts';
import { formatList } from './resource-list.ts';
import { evaluatorFor, matchesScopes, podEvaluator, pvcEvaluator, serviceEvaluator, sumUsage } from './quota-usage.ts';
import { evaluatorsFor } from '../../controllers/core/resourcequota.ts';

const now = new Date('2025-01-01T00:00:00Z');

function pod(containers: Array<{ name: string; requests?: Record<string, string>; limits?: Record<string, string> }>, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns' },
    spec: { containers: containers.map((c) => ({ name: c.name, image: 'x', resources: { requests: c.requests, limits: c.limits } })), ...extra },
  };
}

describe('pod evaluator', () => {
  it('charges requests, limits and their aliases; limits default missing requests', () => {
    const p = pod([
      { name: 'a', requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
      { name: 'b', limits: { cpu: '1', memory: '1Gi' } },
    ]);
    expect(formatList(podEvaluator.usage(p, now))).toEqual({
      'count/pods': '1',
      pods: '1',
      cpu: '1250m',
      'requests.cpu': '1250m',
      'limits.cpu': '1500m',
      memory: '1152Mi',
      'requests.memory': '1152Mi',
      'limits.memory': '1280Mi',
    });
  });

  it('takes the largest init container as a floor, and sidecars add up', () => {
    const p = pod([{ name: 'main', requests: { cpu: '100m' } }], {
      initContainers: [
        { name: 'setup', image: 'x', resources: { requests: { cpu: '2' } } },
        { name: 'sidecar', image: 'x', restartPolicy: 'Always', resources: { requests: { cpu: '50m' } } },
      ],
    });
    expect(formatList(podEvaluator.usage(p, now))['requests.cpu']).toBe('2');
    const q = pod([{ name: 'main', requests: { cpu: '100m' } }], { initContainers: [{ name: 'sidecar', image: 'x', restartPolicy: 'Always', resources: { requests: { cpu: '50m' } } }] });
    expect(formatList(podEvaluator.usage(q, now))['requests.cpu']).toBe('150m');
  });

  it('a finished pod only counts as an object', () => {
    const p = { ...pod([{ name: 'a', requests: { cpu: '1' } }]), status: { phase: 'Succeeded' } };
    expect(formatList(podEvaluator.usage(p, now))).toEqual({ 'count/pods': '1' });
  });

  it('quota constraints name the containers missing a request', () => {
    const p = pod([{ name: 'web', requests: { memory: '1Gi' } }, { name: 'log' }]);
    expect(podEvaluator.constraints(['requests.cpu', 'requests.memory', 'pods'], p)).toBe('must specify requests.cpu for: log,web; requests.memory for: log');
    expect(podEvaluator.constraints(['pods'], p)).toBeUndefined();
  });

  it('scopes: BestEffort, Terminating, PriorityClass', () => {
    const be = pod([{ name: 'a' }]);
    const burst = pod([{ name: 'a', requests: { cpu: '1' } }], { activeDeadlineSeconds: 30, priorityClassName: 'high' });
    const quota = (spec: Record<string, unknown>): KubeObject => ({ spec });
    expect(matchesScopes(podEvaluator, quota({ scopes: ['BestEffort'] }), be)).toBe(true);
    expect(matchesScopes(podEvaluator, quota({ scopes: ['BestEffort'] }), burst)).toBe(false);
    expect(matchesScopes(podEvaluator, quota({ scopes: ['Terminating', 'NotBestEffort'] }), burst)).toBe(true);
    expect(matchesScopes(podEvaluator, quota({ scopes: ['NotTerminating'] }), burst)).toBe(false);
    const pc = quota({ scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } });
    expect(matchesScopes(podEvaluator, pc, burst)).toBe(true);
    expect(matchesScopes(podEvaluator, pc, be)).toBe(false);
    // Non-pod evaluators match no scope.
    expect(matchesScopes(evaluatorFor('', 'configmaps'), quota({ scopes: ['BestEffort'] }), { metadata: {} })).toBe(false);
  });
});

describe('other evaluators', () => {
  it('services count node ports and load balancers', () => {
    const svc: KubeObject = { spec: { type: 'LoadBalancer', ports: [{ port: 80 }, { port: 443 }] } };
    expect(formatList(serviceEvaluator.usage(svc, now))).toEqual({ 'count/services': '1', services: '1', 'services.loadbalancers': '1', 'services.nodeports': '2' });
    expect(formatList(serviceEvaluator.usage({ spec: { type: 'ClusterIP', ports: [{ port: 80 }] } }, now))['services.nodeports']).toBe('0');
    // Without node port allocation, only ports that name a node port count.
    const noAlloc: KubeObject = { spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ port: 80 }, { port: 443, nodePort: 30443 }] } };
    expect(formatList(serviceEvaluator.usage(noAlloc, now))['services.nodeports']).toBe('1');
  });

  it('claims charge storage, also per storage class', () => {
    const pvc: KubeObject = { spec: { storageClassName: 'fast', resources: { requests: { storage: '10Gi' } } } };
    expect(formatList(pvcEvaluator.usage(pvc, now))).toEqual({
      persistentvolumeclaims: '1',
      'count/persistentvolumeclaims': '1',
      'requests.storage': '10Gi',
      'fast.storageclass.storage.k8s.io/persistentvolumeclaims': '1',
      'fast.storageclass.storage.k8s.io/requests.storage': '10Gi',
    });
  });

  it('object counts under count/<resource>.<group> and legacy names', () => {
    expect(formatList(evaluatorFor('', 'configmaps').usage({}, now))).toEqual({ 'count/configmaps': '1', configmaps: '1' });
    expect(formatList(evaluatorFor('apps', 'deployments').usage({}, now))).toEqual({ 'count/deployments.apps': '1' });
  });

  it('a quota picks the evaluators of its hard names', () => {
    const evs = evaluatorsFor(['pods', 'requests.cpu', 'secrets', 'count/deployments.apps', 'count/widgets.example.com', 'services.nodeports', 'bogus']);
    expect(evs.map((e) => `${e.group}/${e.resource}`).sort()).toEqual(['/pods', '/secrets', '/services', 'apps/deployments']);
  });

  it('sums start every matched name at zero', () => {
    const pods = [pod([{ name: 'a', requests: { cpu: '500m', memory: '1Gi' } }]), pod([{ name: 'a', requests: { cpu: '500m', memory: '1Gi' } }])];
    const used = sumUsage(podEvaluator, ['pods', 'requests.cpu', 'requests.memory', 'limits.cpu'], pods, { spec: {} }, now);
    expect(formatList(used)).toEqual({ pods: '2', 'requests.cpu': '1', 'requests.memory': '2Gi', 'limits.cpu': '0' });
  });
});
