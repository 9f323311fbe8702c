// Which Lease writes are heartbeats (may wait to share a durable write): a node's renewal of its
// own Lease in kube-node-lease, and nothing else.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/object.ts';
import { Catalog } from '../catalog.ts';
import { strategyFor } from '../strategy.ts';
import './index.ts';

const catalog = Catalog.load();
const lease = (namespace: string, holderIdentity: string | undefined, renewTime: string): KubeObject => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name: 'node-1', namespace },
  spec: { ...(holderIdentity === undefined ? {} : { holderIdentity }), leaseDurationSeconds: 40, renewTime },
});

describe('Lease strategy', () => {
  const strategy = strategyFor(catalog.byGroupVersionKind('coordination.k8s.io', 'v1', 'Lease')!);
  const before = '2026-11-25T10:00:00.000000Z';
  const after = '2026-11-25T10:00:10.000000Z';

  it('a renewal by the same holder in kube-node-lease is a heartbeat', () => {
    expect(strategy.isHeartbeat?.(lease('kube-node-lease', 'node-1', after), lease('kube-node-lease', 'node-1', before))).toBe(true);
  });

  it('a new holder, a Lease without one, and Leases elsewhere (leader election) are not', () => {
    expect(strategy.isHeartbeat?.(lease('kube-node-lease', 'node-2', after), lease('kube-node-lease', 'node-1', before))).toBe(false);
    expect(strategy.isHeartbeat?.(lease('kube-node-lease', undefined, after), lease('kube-node-lease', undefined, before))).toBe(false);
    expect(strategy.isHeartbeat?.(lease('kube-system', 'kube-controller-manager', after), lease('kube-system', 'kube-controller-manager', before))).toBe(false);
  });

  it('other kinds have no heartbeats', () => {
    const cm = strategyFor(catalog.byGroupVersionKind('', 'v1', 'ConfigMap')!);
    expect(cm.isHeartbeat).toBeUndefined();
  });
});
