// Taints and tolerations (v1 Toleration.ToleratesTaint).
import type { Taint, Toleration } from './types.ts';

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

export function toleratedBy(tolerations: Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (tolerates(t, taint)) return true;
  return false;
}

/**
 * The first NoSchedule/NoExecute taint (or, with `preferToo`, also PreferNoSchedule) that no
 * toleration tolerates, or null.
 */
export function firstUntoleratedTaint(taints: Taint[], tolerations: Toleration[], preferToo: boolean): Taint | null {
  for (const taint of taints) {
    const e = taint.effect;
    if (e !== 'NoSchedule' && e !== 'NoExecute' && !(preferToo && e === 'PreferNoSchedule')) continue;
    if (!toleratedBy(tolerations, taint)) return taint;
  }
  return null;
}
