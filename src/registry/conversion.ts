// Conversion between the version a client speaks and the version a resource is stored in, for
// the resources served in more than one shape: core/v1 and events.k8s.io/v1 Events share storage,
// and autoscaling/v1 HorizontalPodAutoscalers are stored as autoscaling/v2.
import { isPlainObject, type KubeObject, cloneJson } from '../api/object.ts';

type Obj = Record<string, unknown>;
type Converter = (obj: KubeObject) => KubeObject;

/** Field pairs [events.k8s.io/v1 name, core/v1 name]. */
const EVENT_FIELDS: Array<[string, string]> = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];

function renameFields(obj: KubeObject, pairs: Array<[string, string]>, apiVersion: string): KubeObject {
  const out: KubeObject = { ...obj, apiVersion };
  for (const [from, to] of pairs) {
    if (from in out) {
      out[to] = out[from];
      delete out[from];
    }
  }
  return out;
}

const eventsToCore: Converter = (o) => {
  const out = renameFields(o, EVENT_FIELDS, 'v1');
  // The core shape requires these; events.k8s.io clients may leave them out.
  out.involvedObject ??= {};
  out.source ??= {};
  return out;
};
const coreToEvents: Converter = (o) => {
  const out = renameFields(o, EVENT_FIELDS.map(([a, b]) => [b, a]), 'events.k8s.io/v1');
  if (isPlainObject(out.deprecatedSource) && Object.keys(out.deprecatedSource).length === 0) delete out.deprecatedSource;
  return out;
};

const CPU_ANNOTATION = 'autoscaling.alpha.kubernetes.io/metrics';

const hpaV1ToV2: Converter = (o) => {
  const spec = { ...((o.spec as Obj | undefined) ?? {}) };
  const cpu = spec.targetCPUUtilizationPercentage;
  delete spec.targetCPUUtilizationPercentage;
  if (typeof cpu === 'number') spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: cpu } } }];
  const status = { ...((o.status as Obj | undefined) ?? {}) };
  const cur = status.currentCPUUtilizationPercentage;
  delete status.currentCPUUtilizationPercentage;
  if (typeof cur === 'number') status.currentMetrics = [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: cur } } }];
  const out: KubeObject = { ...o, apiVersion: 'autoscaling/v2', spec };
  if (o.status !== undefined) out.status = status;
  return out;
};

const hpaV2ToV1: Converter = (o) => {
  const spec = { ...((o.spec as Obj | undefined) ?? {}) };
  const metrics = (spec.metrics as Obj[] | undefined) ?? [];
  delete spec.metrics;
  delete spec.behavior;
  const cpu = metrics.find((m) => m.type === 'Resource' && (m.resource as Obj | undefined)?.name === 'cpu');
  const util = ((cpu?.resource as Obj | undefined)?.target as Obj | undefined)?.averageUtilization;
  if (typeof util === 'number') spec.targetCPUUtilizationPercentage = util;
  const others = metrics.filter((m) => m !== cpu);
  const meta = cloneJson(o.metadata ?? {});
  if (others.length > 0) meta.annotations = { ...(meta.annotations ?? {}), [CPU_ANNOTATION]: JSON.stringify(others) };
  const status = { ...((o.status as Obj | undefined) ?? {}) };
  const current = ((status.currentMetrics as Obj[] | undefined) ?? []).find((m) => m.type === 'Resource' && (m.resource as Obj | undefined)?.name === 'cpu');
  delete status.currentMetrics;
  delete status.conditions;
  const cu = ((current?.resource as Obj | undefined)?.current as Obj | undefined)?.averageUtilization;
  if (typeof cu === 'number') status.currentCPUUtilizationPercentage = cu;
  const out: KubeObject = { ...o, apiVersion: 'autoscaling/v1', metadata: meta, spec };
  if (o.status !== undefined) out.status = status;
  return out;
};

const converters: Record<string, Converter> = {
  'events.k8s.io/v1>v1': eventsToCore,
  'v1>events.k8s.io/v1': coreToEvents,
  'autoscaling/v1>autoscaling/v2': hpaV1ToV2,
  'autoscaling/v2>autoscaling/v1': hpaV2ToV1,
};

/** Converts `obj` from apiVersion `from` to `to`; identity when they are equal. */
/** Whether objects can be converted between the two versions (both ways). */
export function canConvert(a: string, b: string): boolean {
  return a === b || (`${a}>${b}` in converters && `${b}>${a}` in converters);
}

export function convert(obj: KubeObject, from: string, to: string): KubeObject {
  if (from === to) return obj;
  const c = converters[`${from}>${to}`];
  if (!c) throw new Error(`no conversion from ${from} to ${to}`);
  return c(obj);
}
