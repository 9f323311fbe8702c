// Defaults of a PodSpec as the API server applies them (pods and every pod template).
import { isPlainObject } from '../../api/object.ts';

type Obj = Record<string, unknown>;

function imagePullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.slice(image.lastIndexOf('/') + 1);
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(c: Obj): void {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.imagePullPolicy ??= imagePullPolicy(c.image);
  c.resources ??= {};
  if (Array.isArray(c.ports)) for (const p of c.ports) if (isPlainObject(p)) p.protocol ??= 'TCP';
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
    const pr = c[probe];
    if (!isPlainObject(pr)) continue;
    pr.timeoutSeconds ??= 1;
    pr.periodSeconds ??= 10;
    pr.successThreshold ??= 1;
    pr.failureThreshold ??= 3;
    if (isPlainObject(pr.httpGet)) pr.httpGet.scheme ??= 'HTTP';
    if (isPlainObject(pr.httpGet)) pr.httpGet.path ??= '/';
  }
  if (Array.isArray(c.env)) {
    for (const e of c.env) {
      const ref = isPlainObject(e) && isPlainObject(e.valueFrom) ? e.valueFrom.fieldRef : undefined;
      if (isPlainObject(ref)) ref.apiVersion ??= 'v1';
    }
  }
}

export function defaultPodSpec(spec: Obj): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
    const cs = spec[list];
    if (Array.isArray(cs)) for (const c of cs) if (isPlainObject(c)) defaultContainer(c);
  }
  if (Array.isArray(spec.volumes)) {
    for (const v of spec.volumes) {
      if (!isPlainObject(v)) continue;
      for (const k of ['configMap', 'secret']) if (isPlainObject(v[k])) (v[k] as Obj).defaultMode ??= 420;
      if (isPlainObject(v.projected)) v.projected.defaultMode ??= 420;
      if (isPlainObject(v.downwardAPI)) v.downwardAPI.defaultMode ??= 420;
      if (isPlainObject(v.hostPath)) v.hostPath.type ??= '';
      if (isPlainObject(v.emptyDir) === false && Object.keys(v).length === 1) v.emptyDir = {};
    }
  }
}

export function defaultPodTemplate(template: unknown): void {
  if (!isPlainObject(template)) return;
  template.metadata ??= {};
  if (isPlainObject(template.metadata)) template.metadata.creationTimestamp ??= null;
  if (isPlainObject(template.spec)) defaultPodSpec(template.spec);
}

/** Field errors of the containers of a pod spec at `path` (e.g. `spec.template.spec`). */
export function validatePodSpec(spec: unknown, path: string): Array<{ type: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueDuplicate' | 'FieldValueNotSupported'; field: string; detail: string }> {
  const errs: Array<{ type: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueDuplicate' | 'FieldValueNotSupported'; field: string; detail: string }> = [];
  if (!isPlainObject(spec)) return [{ type: 'FieldValueRequired', field: path, detail: 'Required value' }];
  const cs = spec.containers;
  if (!Array.isArray(cs) || cs.length === 0) errs.push({ type: 'FieldValueRequired', field: `${path}.containers`, detail: 'Required value' });
  const names = new Set<string>();
  (Array.isArray(cs) ? cs : []).forEach((c, i) => {
    const p = `${path}.containers[${i}]`;
    if (!isPlainObject(c)) return;
    if (typeof c.name !== 'string' || c.name === '') errs.push({ type: 'FieldValueRequired', field: `${p}.name`, detail: 'Required value' });
    else if (names.has(c.name)) errs.push({ type: 'FieldValueDuplicate', field: `${p}.name`, detail: `Duplicate value: "${c.name}"` });
    else names.add(c.name);
    if (typeof c.image !== 'string' || c.image.trim() === '') errs.push({ type: 'FieldValueRequired', field: `${p}.image`, detail: 'Required value' });
  });
  const rp = spec.restartPolicy;
  if (rp !== undefined && rp !== 'Always' && rp !== 'OnFailure' && rp !== 'Never') {
    errs.push({ type: 'FieldValueNotSupported', field: `${path}.restartPolicy`, detail: `Unsupported value: "${String(rp)}": supported values: "Always", "OnFailure", "Never"` });
  }
  return errs;
}
