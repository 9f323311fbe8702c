// What happens to a volume whose claim is gone, by its persistentVolumeReclaimPolicy, as the
// upstream controller does it with the volume plugins k8ts has (none that recycle or delete
// storage): Retain keeps it Released; Delete leaves volumes of an external provisioner (and CSI
// volumes) to that provisioner, removes the object of a hostPath volume under /tmp (the
// directory itself is not touched), and fails the rest; Recycle fails.
import type { EventType } from '../framework/events.ts';
import type { PV } from './match.ts';

export interface ReclaimHooks {
  setPhase(v: PV, phase: string, message?: string): Promise<{ volume: PV; changed: boolean }>;
  event(v: PV, type: EventType, reason: string, message: string): void;
  delete(v: PV): Promise<void>;
}

const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const ANN_MIGRATED_TO = 'pv.kubernetes.io/migrated-to';
/** Upstream's hostPath deleter accepts only paths matching this (not anchored). */
const HOSTPATH_DELETABLE = /\/tmp\/.+/;

/** Failed with the message, and the event only when the volume was not Failed already. */
async function fail(v: PV, hooks: ReclaimHooks, reason: string, message: string): Promise<void> {
  const { changed } = await hooks.setPhase(v, 'Failed', message);
  if (changed) hooks.event(v, 'Warning', reason, message);
}

/** Whether deleting the volume is left to its provisioner ('external'), may go ahead here ('delete'), or fails (and why). */
export function deletion(v: PV): { action: 'external' | 'delete' } | { action: 'fail'; message: string } {
  const provisioner = v.metadata?.annotations?.[ANN_PROVISIONED_BY] ?? '';
  const name = v.metadata?.name ?? '';
  if (provisioner && !provisioner.startsWith('kubernetes.io/')) return { action: 'external' };
  if (v.spec?.csi) return { action: 'external' };
  if (provisioner && provisioner !== 'kubernetes.io/host-path') return { action: 'fail', message: `no volume plugin matched name: ${provisioner}` };
  const path = v.spec?.hostPath?.path;
  if (path !== undefined) {
    return HOSTPATH_DELETABLE.test(path) ? { action: 'delete' } : { action: 'fail', message: `host_path deleter only supports /tmp/.+ but received provided ${path}` };
  }
  return { action: 'fail', message: `error getting deleter volume plugin for volume "${name}": no deletable volume plugin matched` };
}

export async function reclaim(v: PV, hooks: ReclaimHooks): Promise<void> {
  if (v.metadata?.annotations?.[ANN_MIGRATED_TO]) return;
  switch (v.spec?.persistentVolumeReclaimPolicy ?? 'Retain') {
    case 'Retain':
      return;
    case 'Recycle':
      return fail(v, hooks, 'VolumeFailedRecycle', 'No recycler plugin found for the volume!');
    case 'Delete': {
      const d = deletion(v);
      if (d.action === 'fail') return fail(v, hooks, 'VolumeFailedDelete', d.message);
      if (d.action === 'delete') return hooks.delete(v);
      return;
    }
    default:
      return fail(v, hooks, 'VolumeUnknownReclaimPolicy', 'Volume has unrecognized PersistentVolumeReclaimPolicy');
  }
}
