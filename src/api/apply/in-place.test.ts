// The in-place managedFields path: taken for writes that only touch the writer's own fields,
// refused (undefined) whenever another manager or a removal is involved; equal to the general path.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../object.ts';
import { applyObject, updateManagedFields } from './manager.ts';

const lease = (renewTime: string, holder = 'n1'): KubeObject => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name: 'n1', namespace: 'kube-node-lease', uid: 'u1', labels: { a: '1' } },
  spec: { holderIdentity: holder, leaseDurationSeconds: 40, renewTime },
});

function created(): KubeObject {
  const obj = lease('2026-01-01T00:00:00.000000Z');
  const entries = updateManagedFields({ next: obj, manager: 'kubelet', apiVersion: 'coordination.k8s.io/v1', now: '2026-01-01T00:00:00Z' });
  return { ...obj, metadata: { ...obj.metadata, managedFields: entries } };
}

const both = (prev: KubeObject, next: KubeObject, manager: string) => {
  const o = { prev, next, manager, apiVersion: 'coordination.k8s.io/v1', now: '2026-01-01T00:00:10Z' };
  return { quick: updateManagedFields(o), general: updateManagedFields({ ...o, general: true }) };
};

describe('managedFields in place', () => {
  it('a renewal by the owner only restamps its entry', () => {
    const prev = created();
    const next = { ...lease('2026-01-01T00:00:10.000000Z'), metadata: prev.metadata };
    const { quick, general } = both(prev, next, 'kubelet');
    expect(quick).toEqual(general);
    expect(quick).toHaveLength(1);
    expect(quick[0].time).toBe('2026-01-01T00:00:10Z');
    expect(quick[0].fieldsV1).toEqual((prev.metadata?.managedFields as Array<{ fieldsV1: unknown }>)[0].fieldsV1);
  });

  it('another manager changing an owned field takes it (general path result)', () => {
    const prev = created();
    const next = { ...lease('2026-01-01T00:00:10.000000Z', 'n2'), metadata: prev.metadata };
    const { quick, general } = both(prev, next, 'other');
    expect(quick).toEqual(general);
    expect(quick.map((e) => e.manager).sort()).toEqual(['kubelet', 'other']);
    expect(JSON.stringify(quick.find((e) => e.manager === 'other')?.fieldsV1)).toContain('holderIdentity');
    expect(JSON.stringify(quick.find((e) => e.manager === 'kubelet')?.fieldsV1)).not.toContain('holderIdentity');
  });

  it('a removal and a new field go the general way and agree with it', () => {
    const prev = created();
    const base = lease('2026-01-01T00:00:10.000000Z');
    const next = { ...base, metadata: { ...prev.metadata, labels: { b: '2' } } };
    const { quick, general } = both(prev, next, 'kubelet');
    expect(quick).toEqual(general);
    expect(JSON.stringify(quick[0].fieldsV1)).toContain('f:b');
    expect(JSON.stringify(quick[0].fieldsV1)).not.toContain('"f:a"');
  });

  it('the general path keeps entries that lose nothing exactly as stored, and agrees with decoding them all', () => {
    const av = 'coordination.k8s.io/v1';
    const write = (prev: KubeObject, next: KubeObject, manager: string, now: string): KubeObject => ({
      ...next,
      metadata: { ...next.metadata, managedFields: updateManagedFields({ prev, next, manager, apiVersion: av, now }) },
    });
    let obj = created();
    obj = write(obj, { ...obj, spec: { ...(obj.spec as object), leaseDurationSeconds: 60 } }, 'ctrl', '2026-01-01T00:00:01Z');
    obj = write(obj, { ...obj, spec: { ...(obj.spec as object), acquireTime: '2026-01-01T00:00:02.000000Z' } }, 'reader', '2026-01-01T00:00:02Z');
    obj = applyObject({ live: obj, applied: { apiVersion: av, kind: 'Lease', metadata: { name: 'n1', namespace: 'kube-node-lease', annotations: { x: 'y' } } }, manager: 'applier', apiVersion: av, force: false, now: '2026-01-01T00:00:03Z' });
    expect((obj.metadata?.managedFields as unknown[]).length).toBe(4);
    // 'editor' takes holderIdentity from kubelet and removes kubelet's label; ctrl, reader and applier lose nothing.
    const next: KubeObject = { ...obj, metadata: { ...obj.metadata, labels: {} }, spec: { ...(obj.spec as object), holderIdentity: 'n9', preferredHolder: 'n9' } };
    const { quick, general } = both(obj, next, 'editor');
    expect(quick).toEqual(general);
    const stored = obj.metadata?.managedFields as Array<{ manager: string }>;
    for (const m of ['ctrl', 'reader', 'applier']) expect(quick.find((e) => e.manager === m)).toBe(stored.find((e) => e.manager === m));
    const kubelet = JSON.stringify(quick.find((e) => e.manager === 'kubelet')?.fieldsV1);
    expect(kubelet).not.toContain('holderIdentity');
    expect(kubelet).not.toContain('"f:a"');
    expect(JSON.stringify(quick.find((e) => e.manager === 'editor')?.fieldsV1)).toContain('f:preferredHolder');
    // A status writer's entry (a subresource) is kept the same way.
    const status = updateManagedFields({ prev: obj, next: { ...obj, spec: { ...(obj.spec as object), renewTime: '2026-01-01T00:00:09.000000Z' } }, manager: 'ctrl', apiVersion: av, subresource: 'status', now: '2026-01-01T00:00:09Z' });
    const statusGeneral = updateManagedFields({ prev: obj, next: { ...obj, spec: { ...(obj.spec as object), renewTime: '2026-01-01T00:00:09.000000Z' } }, manager: 'ctrl', apiVersion: av, subresource: 'status', now: '2026-01-01T00:00:09Z', general: true });
    expect(status).toEqual(statusGeneral);
  });

  it('an unchanged write keeps the entries as they were', () => {
    const prev = created();
    const { quick, general } = both(prev, structuredClone(prev), 'kubelet');
    expect(quick).toEqual(general);
    expect(quick[0].time).toBe('2026-01-01T00:00:00Z');
  });
});
