// The scale subresource: an autoscaling/v1 Scale view of spec.replicas and status.
import type { KubeObject } from '../../api/object.ts';
import { badRequest } from '../../api/status.ts';
import type { Registry } from '../registries.ts';

type Sel = { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> } | Record<string, string>;

function selectorString(sel: Sel | undefined): string {
  if (!sel) return '';
  if ('matchLabels' in sel || 'matchExpressions' in sel) {
    const s = sel as { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };
    const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
    for (const e of s.matchExpressions ?? []) {
      const op = e.operator;
      if (op === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
      else if (op === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
      else if (op === 'Exists') parts.push(e.key);
      else if (op === 'DoesNotExist') parts.push(`!${e.key}`);
    }
    return parts.sort().join(',');
  }
  return Object.entries(sel as Record<string, string>)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');
}

export function scaleOf(reg: Registry, obj: KubeObject): KubeObject {
  const spec = (obj.spec ?? {}) as { replicas?: number; selector?: Sel };
  const status = (obj.status ?? {}) as { replicas?: number };
  const m = obj.metadata ?? {};
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: spec.replicas ?? 1 },
    status: { replicas: status.replicas ?? 0, selector: selectorString(spec.selector) },
  };
}

/** Applies a written Scale to the object it scales. */
export function applyScale(obj: KubeObject, scale: KubeObject): KubeObject {
  const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas;
  if (replicas !== undefined && (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)) {
    throw badRequest(`spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
  }
  const rv = scale.metadata?.resourceVersion;
  obj.spec = { ...((obj.spec as object) ?? {}), replicas: replicas ?? 0 };
  if (rv && obj.metadata) obj.metadata.resourceVersion = rv;
  return obj;
}
