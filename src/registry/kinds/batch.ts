// Strategies of batch/v1: Job (generated selector, defaults, immutable template) and CronJob.
import { randomUUID } from 'node:crypto';
import { isPlainObject } from '../../api/object.ts';
import type { FieldError } from '../../api/status.ts';
import { deepEqual } from '../../api/patch/json-patch.ts';
import { specOf, immutableSpecField, type Obj } from './spec.ts';
import { registerStrategy, type Strategy } from '../strategy.ts';
import { defaultPodTemplate, validatePodSpec } from './podspec.ts';


function defaultJobSpec(spec: Obj): void {
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  defaultPodTemplate(spec.template);
}

function validateJobTemplate(spec: Obj, path: string): FieldError[] {
  const errs: FieldError[] = validatePodSpec((spec.template as Obj | undefined)?.spec, `${path}.template.spec`) as FieldError[];
  const rp = ((spec.template as Obj | undefined)?.spec as Obj | undefined)?.restartPolicy;
  if (rp !== 'Never' && rp !== 'OnFailure') {
    errs.push({ type: 'FieldValueNotSupported', field: `${path}.template.spec.restartPolicy`, detail: `Unsupported value: "${String(rp ?? 'Always')}": supported values: "OnFailure", "Never"` });
  }
  return errs;
}

registerStrategy('batch/Job', (base: Strategy): Strategy => ({
  ...base,
  prepareForCreate(obj) {
    base.prepareForCreate(obj);
    const spec = specOf(obj);
    defaultJobSpec(spec);
    if (spec.manualSelector !== true) {
      // The generated selector ties the job to its pods through the job's uid.
      const uid = obj.metadata?.uid ?? randomUUID();
      const name = obj.metadata?.name ?? '';
      const labels = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name };
      spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
      const t = (isPlainObject(spec.template) ? spec.template : (spec.template = {})) as Obj;
      const m = (isPlainObject(t.metadata) ? t.metadata : (t.metadata = {})) as Obj;
      m.labels = { ...((m.labels as object) ?? {}), ...labels };
    }
  },
  prepareForUpdate(obj, old) {
    base.prepareForUpdate(obj, old);
    defaultJobSpec(specOf(obj));
  },
  validate: (obj) => validateJobTemplate(specOf(obj), 'spec'),
  validateUpdate(obj, old) {
    const errs = validateJobTemplate(specOf(obj), 'spec');
    for (const f of ['selector', 'completions', 'completionMode']) errs.push(...immutableSpecField(obj, old, f));
    if (!deepEqual(specOf(obj).template, specOf(old).template) && specOf(old).suspend !== true) {
      errs.push({ type: 'FieldValueInvalid', field: 'spec.template', detail: `Invalid value: ${JSON.stringify(specOf(obj).template)}: field is immutable` });
    }
    return errs;
  },
}));

registerStrategy('batch/CronJob', (base: Strategy): Strategy => ({
  ...base,
  prepareForCreate(obj) {
    base.prepareForCreate(obj);
    const spec = specOf(obj);
    spec.concurrencyPolicy ??= 'Allow';
    spec.suspend ??= false;
    spec.successfulJobsHistoryLimit ??= 3;
    spec.failedJobsHistoryLimit ??= 1;
    const jt = (isPlainObject(spec.jobTemplate) ? spec.jobTemplate : (spec.jobTemplate = {})) as Obj;
    jt.metadata ??= {};
    if (isPlainObject(jt.metadata)) jt.metadata.creationTimestamp ??= null;
    const js = (isPlainObject(jt.spec) ? jt.spec : (jt.spec = {})) as Obj;
    defaultJobSpec(js);
  },
  validate(obj) {
    const spec = specOf(obj);
    const errs: FieldError[] = [];
    if (typeof spec.schedule !== 'string' || spec.schedule.trim() === '') errs.push({ type: 'FieldValueRequired', field: 'spec.schedule', detail: 'Required value' });
    const js = ((spec.jobTemplate as Obj | undefined)?.spec ?? {}) as Obj;
    return [...errs, ...validateJobTemplate(js, 'spec.jobTemplate.spec')];
  },
  validateUpdate(obj) {
    return this.validate(obj);
  },
}));
