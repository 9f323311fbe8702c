// Which Lease writes are heartbeats (may wait to share a durable write): a node's renewal of its
// own Lease in kube-node-lease, and nothing else; and a held renewal never turns another write of
// the same Lease into a conflict.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/object.ts';
import { EmbeddedStore } from '../../store/embedded/index.ts';
import { Catalog } from '../catalog.ts';
import { GenericStore } from '../generic.ts';
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
    // managedFields and resourceVersion are the server's: a renewal sends what it read back.
    const renewed = lease('kube-node-lease', 'node-1', after);
    renewed.metadata = { ...renewed.metadata, resourceVersion: '7', managedFields: [{ manager: 'kubelet', operation: 'Update' }] };
    expect(strategy.isHeartbeat?.(renewed, lease('kube-node-lease', 'node-1', before))).toBe(true);
  });

  it('a new holder, any other change, a Lease without holder, and Leases elsewhere (leader election) are not', () => {
    expect(strategy.isHeartbeat?.(lease('kube-node-lease', 'node-2', after), lease('kube-node-lease', 'node-1', before))).toBe(false);
    const labelled = lease('kube-node-lease', 'node-1', after);
    labelled.metadata!.labels = { team: 'a' };
    expect(strategy.isHeartbeat?.(labelled, lease('kube-node-lease', 'node-1', before))).toBe(false);
    const longer = lease('kube-node-lease', 'node-1', after);
    (longer.spec as { leaseDurationSeconds: number }).leaseDurationSeconds = 60;
    expect(strategy.isHeartbeat?.(longer, lease('kube-node-lease', 'node-1', before))).toBe(false);
    expect(strategy.isHeartbeat?.(lease('kube-node-lease', undefined, after), lease('kube-node-lease', undefined, before))).toBe(false);
    expect(strategy.isHeartbeat?.(lease('kube-system', 'kube-controller-manager', after), lease('kube-system', 'kube-controller-manager', before))).toBe(false);
  });

  it('other kinds have no heartbeats', () => {
    const cm = strategyFor(catalog.byGroupVersionKind('', 'v1', 'ConfigMap')!);
    expect(cm.isHeartbeat).toBeUndefined();
  });
});

describe('Lease renewals in the embedded store', () => {
  it('another write of a Lease whose renewal is held takes the renewal along, with no conflict', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'k8ts-lease-hold-test-'));
    const store = await EmbeddedStore.open(dir, { heartbeatHoldMs: 60_000 });
    try {
      const info = catalog.byGroupVersionKind('coordination.k8s.io', 'v1', 'Lease')!;
      const gs = new GenericStore(store, info, strategyFor(info));
      const first = '2026-11-25T10:00:00.000000Z';
      const renewed = '2026-11-25T10:00:10.000000Z';
      await gs.create('kube-node-lease', lease('kube-node-lease', 'node-1', first), { fieldManager: 'kubelet' });
      let held = true;
      const renewal = gs
        .guaranteedUpdate('kube-node-lease', 'node-1', (cur) => ({ ...cur!, spec: { ...(cur!.spec as object), renewTime: renewed } }), { fieldManager: 'kubelet' })
        .finally(() => (held = false));
      await new Promise((r) => setTimeout(r, 200));
      expect(held).toBe(true);
      const labelled = await gs.guaranteedUpdate('kube-node-lease', 'node-1', (cur) => ({ ...cur!, metadata: { ...cur!.metadata, labels: { team: 'a' } } }), { fieldManager: 'kubectl-label' });
      expect((await renewal).object.spec).toMatchObject({ renewTime: renewed });
      expect(labelled.object.metadata?.labels).toEqual({ team: 'a' });
      expect(labelled.object.spec).toMatchObject({ holderIdentity: 'node-1', renewTime: renewed });
      expect(Number(labelled.object.metadata?.resourceVersion)).toBeGreaterThan(Number((await renewal).object.metadata?.resourceVersion));
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
