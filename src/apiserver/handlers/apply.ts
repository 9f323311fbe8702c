// PATCH with application/apply-patch+yaml: server-side apply. The merge, ownership and conflicts
// are src/api/apply's; this handler checks the request, then runs the apply inside the store's
// guaranteed update so a concurrent write retries it against the newer object.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { applyObject } from '../../api/apply/manager.ts';
import { duplicateKeysOf, duplicateYamlKeys } from '../../api/fields.ts';
import { apiVersionOf, isPlainObject, meta, nowRfc3339, type KubeObject, cloneJson } from '../../api/object.ts';
import { badRequest, notFound, StatusError } from '../../api/status.ts';
import { decodeDocument, type Negotiated } from '../http.ts';
import type { Registries, Registry } from '../registries.ts';
import type { RequestInfo } from '../request-info.ts';
import { respondObject, withTypeMeta } from './read.ts';
import { admitNamespace, checkFields, checkFieldValidation, checkNamespace, dryRunOf, admission } from './write.ts';

export const APPLY_PATCH = 'application/apply-patch+yaml';

function forceOf(q: URLSearchParams): boolean {
  const v = q.get('force');
  if (v === null || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw badRequest(`force: Invalid value: "${v}": must be a boolean`);
}

export async function handleApply(regs: Registries, reg: Registry, ri: RequestInfo, q: URLSearchParams, neg: Negotiated, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  const dryRun = dryRunOf(q);
  checkFieldValidation(q);
  const manager = q.get('fieldManager') ?? '';
  if (manager === '') throw new StatusError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', { causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }] });
  if (manager.length > 128) throw new StatusError(422, 'Invalid', `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "${manager}": must be no more than 128 characters`);
  const force = forceOf(q);
  if (ri.subresource && ri.subresource !== 'status') throw new StatusError(415, 'UnsupportedMediaType', `apply patches are not supported on the ${ri.subresource} subresource`);
  const doc = decodeDocument(body, APPLY_PATCH);
  const config = doc.value;
  if (!isPlainObject(config)) throw badRequest('the apply configuration must be a YAML or JSON object');
  const duplicates = () => (doc.json ? duplicateKeysOf(doc.text, config) : duplicateYamlKeys(doc.text));
  const applied = config as KubeObject;
  const apiVersion = apiVersionOf(reg.info.group, reg.info.version);
  checkNamespace(reg, ri, applied);
  const m = meta(applied);
  if (m.name === undefined || m.name === '') m.name = ri.name;
  else if (m.name !== ri.name) throw badRequest(`the name of the object (${m.name}) does not match the name on the URL (${ri.name})`);
  if (reg.info.namespaced && m.namespace === undefined) m.namespace = ri.namespace;
  // Unknown fields are an apply error under Strict (as the typed conversion upstream reports
  // them); Warn and Ignore drop them first, Warn saying so.
  const mode = q.get('fieldValidation') || 'Warn';
  if (mode !== 'Strict') {
    const kind = String(applied.kind ?? '');
    const version = String(applied.apiVersion ?? '');
    if (kind === reg.info.kind && version === apiVersion) checkFields(applied, reg.info.definition, mode === 'Warn' ? duplicates() : [], q, res, kind, version);
  } else {
    const dups = duplicates();
    if (dups.length > 0) throw badRequest(`error decoding the apply configuration: ${dups.map((d) => `duplicate field "${d}"`).join(', ')}`);
  }
  if (!reg.cache.get(ri.namespace, ri.name)) await admitNamespace(regs, reg, ri.namespace, ri.name);
  const subresource = ri.subresource || undefined;
  const { object, created } = await reg.gs.guaranteedUpdate(
    ri.namespace,
    ri.name,
    (cur) => {
      if (!cur && subresource) throw notFound(reg.gs.gr, ri.name);
      const merged = applyObject({ live: cur ? withTypeMeta(reg, cur) : undefined, applied: cloneJson(applied), kind: reg.info.kind, apiVersion, manager, force, subresource, now: nowRfc3339() });
      return withTypeMeta(reg, merged);
    },
    { dryRun, subresource, apply: true, fieldManager: manager, ...admission(regs, reg, ri, dryRun) },
  );
  respondObject(reg, object, neg, res, created ? 201 : 200, q);
}
