// Strategies of the workload kinds: defaults, selector rules and immutable fields.
import { isPlainObject } from '../../api/object.ts';
import type { FieldError } from '../../api/status.ts';
import { specOf, immutableSpecField, type Obj } from './spec.ts';
import { registerStrategy, type Strategy } from '../strategy.ts';
import { defaultPodTemplate, validatePodSpec } from './podspec.ts';
import { deepEqual } from '../../api/patch/json-patch.ts';



function labelsMatch(selector: unknown, labels: unknown): boolean {
  if (!isPlainObject(selector)) return false;
  const l = isPlainObject(labels) ? (labels as Record<string, string>) : {};
  for (const [k, v] of Object.entries((selector.matchLabels as Record<string, string> | undefined) ?? {})) if (l[k] !== v) return false;
  for (const e of (selector.matchExpressions as Array<{ key: string; operator: string; values?: string[] }> | undefined) ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(l[e.key]))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(l[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function selectorErrors(spec: Obj, templatePath: string): FieldError[] {
  const errs: FieldError[] = [];
  const sel = spec.selector;
  if (!isPlainObject(sel)) return [{ type: 'FieldValueRequired', field: 'spec.selector', detail: 'Required value' }];
  if (Object.keys((sel.matchLabels as object) ?? {}).length === 0 && ((sel.matchExpressions as unknown[]) ?? []).length === 0) {
    errs.push({ type: 'FieldValueInvalid', field: 'spec.selector', detail: 'Invalid value: "null": empty selector is invalid for deployment' });
  }
  const t = spec.template;
  const labels = isPlainObject(t) && isPlainObject(t.metadata) ? t.metadata.labels : undefined;
  if (!labelsMatch(sel, labels)) {
    errs.push({ type: 'FieldValueInvalid', field: `${templatePath}.metadata.labels`, detail: `Invalid value: ${JSON.stringify(labels ?? {})}: \`selector\` does not match template \`labels\`` });
  }
  return errs;
}


/** DaemonSets count template changes in this annotation (upstream's templateGeneration). */
const TEMPLATE_GENERATION = 'deprecated.daemonset.template.generation';

function workload(kind: string, defaults: (spec: Obj) => void, templatePath = 'spec.template'): void {
  registerStrategy(`apps/${kind}`, (base: Strategy): Strategy => ({
    ...base,
    prepareForCreate(obj) {
      base.prepareForCreate(obj);
      const spec = specOf(obj);
      defaults(spec);
      defaultPodTemplate(spec.template);
      if (kind === 'DaemonSet') obj.metadata = { ...obj.metadata, annotations: { ...(obj.metadata?.annotations ?? {}), [TEMPLATE_GENERATION]: '1' } };
    },
    prepareForUpdate(obj, old) {
      base.prepareForUpdate(obj, old);
      const spec = specOf(obj);
      defaults(spec);
      defaultPodTemplate(spec.template);
      if (kind === 'DaemonSet') {
        const prev = Number(old.metadata?.annotations?.[TEMPLATE_GENERATION] ?? '1') || 1;
        const next = deepEqual(spec.template, specOf(old).template) ? prev : prev + 1;
        obj.metadata = { ...obj.metadata, annotations: { ...(obj.metadata?.annotations ?? {}), [TEMPLATE_GENERATION]: String(next) } };
      }
    },
    validate(obj) {
      const spec = specOf(obj);
      return [...selectorErrors(spec, templatePath), ...validatePodSpec((spec.template as Obj | undefined)?.spec, `${templatePath}.spec`), ...replicasErrors(spec)];
    },
    validateUpdate(obj, old) {
      const spec = specOf(obj);
      return [...this.validate(obj), ...immutableSpecField(obj, old, 'selector'), ...replicasErrors(spec)];
    },
  }));
}

function replicasErrors(spec: Obj): FieldError[] {
  const r = spec.replicas;
  if (r === undefined) return [];
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 0) return [{ type: 'FieldValueInvalid', field: 'spec.replicas', detail: `Invalid value: ${JSON.stringify(r)}: must be greater than or equal to 0` }];
  return [];
}

/** Defaults an update strategy (`field`) to RollingUpdate with `defaults` for its parameters. */
function rollingUpdate(spec: Obj, field: string, defaults: Obj): void {
  if (!isPlainObject(spec[field])) spec[field] = { type: 'RollingUpdate' };
  const st = spec[field] as Obj;
  st.type ??= 'RollingUpdate';
  if (st.type !== 'RollingUpdate') return;
  const ru = (isPlainObject(st.rollingUpdate) ? st.rollingUpdate : (st.rollingUpdate = {})) as Obj;
  for (const [k, v] of Object.entries(defaults)) ru[k] ??= v;
}

workload('Deployment', (s) => {
  s.replicas ??= 1;
  s.revisionHistoryLimit ??= 10;
  s.progressDeadlineSeconds ??= 600;
  rollingUpdate(s, 'strategy', { maxUnavailable: '25%', maxSurge: '25%' });
});
workload('ReplicaSet', (s) => {
  s.replicas ??= 1;
});
workload('StatefulSet', (s) => {
  s.replicas ??= 1;
  s.podManagementPolicy ??= 'OrderedReady';
  s.revisionHistoryLimit ??= 10;
  rollingUpdate(s, 'updateStrategy', { partition: 0 });
  s.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
  if (Array.isArray(s.volumeClaimTemplates)) {
    for (const t of s.volumeClaimTemplates) {
      if (!isPlainObject(t)) continue;
      t.apiVersion ??= 'v1';
      t.kind ??= 'PersistentVolumeClaim';
      if (isPlainObject(t.spec)) t.spec.volumeMode ??= 'Filesystem';
      t.status ??= { phase: 'Pending' };
    }
  }
});
workload('DaemonSet', (s) => {
  s.revisionHistoryLimit ??= 10;
  rollingUpdate(s, 'updateStrategy', { maxUnavailable: 1, maxSurge: 0 });
});
