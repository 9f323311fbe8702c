import { describe, expect, it } from 'vitest';
import { findBestMatch, mismatch, type ClaimRef, type PV, type PVC } from './match.ts';
import { deletion } from './reclaim.ts';

const pv = (name: string, size: string, o: { modes?: string[]; cls?: string; labels?: Record<string, string>; phase?: string; claimRef?: ClaimRef; mode?: string } = {}): PV => ({
  metadata: { name, labels: o.labels },
  spec: { capacity: { storage: size }, accessModes: o.modes ?? ['ReadWriteOnce'], storageClassName: o.cls ?? '', claimRef: o.claimRef, volumeMode: o.mode },
  status: { phase: o.phase ?? 'Available' },
});
const claim = (size: string, o: { modes?: string[]; cls?: string | null; selector?: Record<string, string>; mode?: string } = {}): PVC => ({
  metadata: { name: 'c', namespace: 'ns', uid: 'u1' },
  spec: { resources: { requests: { storage: size } }, accessModes: o.modes ?? ['ReadWriteOnce'], storageClassName: o.cls === null ? undefined : (o.cls ?? ''), selector: o.selector ? { matchLabels: o.selector } : undefined, volumeMode: o.mode },
});
const names = (v: PV | undefined) => v?.metadata?.name;

describe('findBestMatch', () => {
  it('prefers fewer extra access modes over a smaller size, then the smallest that fits', () => {
    const vols = [pv('rwx-small', '1Gi', { modes: ['ReadWriteOnce', 'ReadWriteMany'] }), pv('rwo-big', '10Gi'), pv('rwo-mid', '5Gi'), pv('rwo-tiny', '100Mi')];
    expect(names(findBestMatch(vols, claim('1Gi'), false))).toBe('rwo-mid');
    expect(names(findBestMatch(vols, claim('1Gi', { modes: ['ReadWriteMany'] }), false))).toBe('rwx-small');
    expect(findBestMatch(vols, claim('20Gi'), false)).toBeUndefined();
  });

  it('matches class, selector, volume mode and phase; a volume taken by another claim is skipped', () => {
    const vols = [
      pv('fast', '1Gi', { cls: 'fast' }),
      pv('labelled', '2Gi', { labels: { tier: 'gold' } }),
      pv('block', '1Gi', { mode: 'Block' }),
      pv('pending', '1Gi', { phase: 'Pending' }),
      pv('taken', '1Gi', { claimRef: { namespace: 'ns', name: 'other', uid: 'u2' } }),
    ];
    expect(names(findBestMatch(vols, claim('1Gi', { cls: 'fast' }), false))).toBe('fast');
    expect(names(findBestMatch(vols, claim('1Gi'), false))).toBe('labelled');
    expect(findBestMatch(vols, claim('1Gi', { selector: { tier: 'silver' } }), false)).toBeUndefined();
    expect(names(findBestMatch(vols, claim('1Gi', { mode: 'Block' }), false))).toBe('block');
    // An unset class means "" to matching (the default class is admission's business).
    expect(names(findBestMatch(vols, claim('1Gi', { cls: null }), false))).toBe('labelled');
  });

  it('a volume pre-bound to the claim wins at once, even Pending or with WaitForFirstConsumer; free ones wait for the scheduler', () => {
    const vols = [pv('free', '1Gi'), pv('mine', '1Gi', { phase: 'Pending', claimRef: { namespace: 'ns', name: 'c' } })];
    expect(names(findBestMatch(vols, claim('1Gi'), false))).toBe('mine');
    expect(names(findBestMatch(vols, claim('1Gi'), true))).toBe('mine');
    expect(findBestMatch([pv('free', '1Gi')], claim('1Gi'), true)).toBeUndefined();
    // A stale uid (the claim was deleted and made again) is not this claim's.
    expect(findBestMatch([pv('stale', '1Gi', { claimRef: { namespace: 'ns', name: 'c', uid: 'old' } })], claim('1Gi'), false)).toBeUndefined();
  });
});

describe('mismatch (claims naming their volume)', () => {
  it('gives upstream\'s reasons in upstream\'s order', () => {
    expect(mismatch(pv('v', '1Gi'), claim('2Gi'))).toBe('requested PV is too small');
    expect(mismatch(pv('v', '1Gi', { cls: 'x' }), claim('1Gi'))).toBe('storageClassName does not match');
    expect(mismatch(pv('v', '1Gi', { mode: 'Block' }), claim('1Gi'))).toBe('incompatible volumeMode');
    expect(mismatch(pv('v', '1Gi'), claim('1Gi', { modes: ['ReadWriteMany'] }))).toBe('incompatible accessMode');
    expect(mismatch(pv('v', '1Gi'), claim('1Gi'))).toBeUndefined();
  });
});

describe('deletion of a released Delete volume', () => {
  it('leaves external and CSI volumes to their provisioner and fails where no deleter exists', () => {
    const v = (spec: Record<string, unknown>, provisioner?: string): PV => ({ metadata: { name: 'v', annotations: provisioner ? { 'pv.kubernetes.io/provisioned-by': provisioner } : undefined }, spec });
    expect(deletion(v({ csi: { driver: 'x', volumeHandle: 'h' } }))).toEqual({ action: 'external' });
    expect(deletion(v({ nfs: {} }, 'example.com/nfs'))).toEqual({ action: 'external' });
    expect(deletion(v({ hostPath: { path: '/tmp/data' } }))).toEqual({ action: 'delete' });
    expect(deletion(v({ hostPath: { path: '/srv/data' } }))).toEqual({ action: 'fail', message: 'host_path deleter only supports /tmp/.+ but received provided /srv/data' });
    expect(deletion(v({ nfs: {} }))).toEqual({ action: 'fail', message: 'error getting deleter volume plugin for volume "v": no deletable volume plugin matched' });
    expect(deletion(v({ gcePersistentDisk: {} }, 'kubernetes.io/gce-pd'))).toEqual({ action: 'fail', message: 'no volume plugin matched name: kubernetes.io/gce-pd' });
  });
});
