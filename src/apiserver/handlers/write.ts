// create, update, patch, delete and deletecollection of any resource.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiVersionOf, isPlainObject, meta, type KubeObject } from '../../api/object.ts';
import { badRequest, notFound, StatusError, successStatus, unsupportedMediaType } from '../../api/status.ts';
import { applyJsonPatch } from '../../api/patch/json-patch.ts';
import { applyMergePatch } from '../../api/patch/merge-patch.ts';
import { applyStrategicMergePatch, loadDefinitions } from '../../api/patch/strategic.ts';
import { duplicateKeysOf, duplicateYamlKeys, pruneUnknownFields } from '../../api/fields.ts';
import type { DeleteOptions, WriteOptions } from '../../registry/generic.ts';
import { decodeBody, decodeDocument, readBody, writeJson, type Negotiated } from '../http.ts';
import { attrsMatcher, parseListOptions } from '../list-options.ts';
import type { Registries, Registry } from '../registries.ts';
import type { RequestInfo } from '../request-info.ts';
import { respondObject, withTypeMeta } from './read.ts';
import { applyScale, scaleOf } from './scale.ts';
import { APPLY_PATCH, handleApply } from './apply.ts';
import { admitResourceQuota } from '../admission/resourcequota.ts';
import { admissionPlugins } from '../admission/plugins.ts';
import { evaluatorFor } from '../../api/quantity/quota-usage.ts';

export function dryRunOf(q: URLSearchParams): boolean {
  const values = q.getAll('dryRun');
  for (const v of values) if (v !== 'All') throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  return values.length > 0;
}

export function checkFieldValidation(q: URLSearchParams): void {
  const v = q.get('fieldValidation');
  if (v !== null && v !== '' && v !== 'Strict' && v !== 'Warn' && v !== 'Ignore') {
    throw badRequest(`fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`);
  }
}

/** The field manager of a write: `fieldManager`, else the User-Agent up to its first '/'. */
export function fieldManagerOf(q: URLSearchParams, req: IncomingMessage): string {
  const given = q.get('fieldManager');
  if (given !== null && given !== '') {
    if (given.length > 128) throw new StatusError(422, 'Invalid', `fieldManager: Invalid value: "${given}": must be no more than 128 characters`);
    if (/[^\x20-\x7e]/.test(given)) throw new StatusError(422, 'Invalid', `fieldManager: Invalid value: "${given}": must only contain printable characters`);
    return given;
  }
  return String(req.headers['user-agent'] ?? '').split('/')[0].replace(/[^\x20-\x7e]/g, '?').slice(0, 128);
}

interface Body {
  obj: KubeObject;
  /** Keys given twice in the JSON body. */
  duplicates: string[];
}

async function bodyObject(req: IncomingMessage, q: URLSearchParams): Promise<Body> {
  const raw = await readBody(req);
  const contentType = String(req.headers['content-type'] ?? 'application/json');
  const doc = decodeDocument(raw, contentType);
  const body = doc.value;
  if (!isPlainObject(body)) throw badRequest('the request body must be a JSON or YAML object');
  const mode = q.get('fieldValidation') || 'Warn';
  const duplicates = mode === 'Ignore' || doc.text === '' ? [] : doc.json ? duplicateKeysOf(doc.text, body) : duplicateYamlKeys(doc.text);
  return { obj: body as KubeObject, duplicates };
}

/**
 * Drops fields the type does not have; reports them (and duplicates) as fieldValidation asks:
 * Strict refuses the request, Warn (the default) answers with Warning headers, Ignore says nothing.
 */
export function checkFields(obj: KubeObject, typeName: string | undefined, duplicates: string[], q: URLSearchParams, res: ServerResponse, kind = String(obj.kind ?? ''), version = String(obj.apiVersion ?? '')): void {
  const unknown = typeName ? pruneUnknownFields(obj, loadDefinitions(), typeName) : [];
  const problems = [...duplicates.map((p) => `duplicate field "${p}"`), ...unknown.map((p) => `unknown field "${p}"`)];
  const mode = q.get('fieldValidation') || 'Warn';
  if (problems.length === 0 || mode === 'Ignore') return;
  if (mode === 'Strict') throw badRequest(`${kind} in version "${version.split('/').pop()}" cannot be handled as a ${kind}: strict decoding error: ${problems.join(', ')}`);
  res.setHeader('Warning', problems.map((p) => `299 - ${JSON.stringify(p)}`));
}

/** The body's apiVersion/kind must be the URL's (or absent). */
export function checkTypeMeta(reg: Registry, obj: KubeObject, expectKind = reg.info.kind, expectVersion = apiVersionOf(reg.info.group, reg.info.version)): void {
  if (obj.apiVersion !== undefined && obj.apiVersion !== expectVersion) {
    throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${expectVersion})`);
  }
  if (obj.kind !== undefined && obj.kind !== expectKind) {
    throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${expectKind})`);
  }
}

export function checkNamespace(reg: Registry, ri: RequestInfo, obj: KubeObject): void {
  const ns = obj.metadata?.namespace;
  if (reg.info.namespaced && ns && ns !== ri.namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
}

/** Cached namespace versions known to be neither deleted nor terminating (a new version is a new entry). */
const activeNamespaces = new WeakSet<object>();

/** NamespaceLifecycle admission: new objects need an existing namespace that is not terminating. */
export async function admitNamespace(regs: Registries, reg: Registry, ns: string, name = ''): Promise<void> {
  if (!reg.info.namespaced) return;
  const nsReg = regs.get('', 'v1', 'namespaces');
  if (!nsReg) return;
  // The namespace cache answers almost always; a namespace created a moment ago may not be in it yet.
  const entry = nsReg.cache.get('', ns);
  if (entry && activeNamespaces.has(entry)) return;
  let obj: KubeObject | undefined = entry?.obj;
  if (!obj) {
    try {
      obj = await nsReg.gs.get('', ns);
    } catch (err) {
      if (err instanceof StatusError && err.code === 404) throw notFound({ group: '', resource: 'namespaces' }, ns);
      throw err;
    }
  }
  if (obj.metadata?.deletionTimestamp || (obj.status as { phase?: string } | undefined)?.phase === 'Terminating') {
    throw new StatusError(403, 'Forbidden', `${reg.info.resource} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`, {
      causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }],
    });
  }
  if (entry) activeNamespaces.add(entry);
}

export async function handleCreate(regs: Registries, reg: Registry, ri: RequestInfo, q: URLSearchParams, neg: Negotiated, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (ri.subresource || ri.name) throw new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
  const dryRun = dryRunOf(q);
  checkFieldValidation(q);
  const { obj, duplicates } = await bodyObject(req, q);
  checkTypeMeta(reg, obj);
  checkNamespace(reg, ri, obj);
  checkFields(obj, reg.info.definition, duplicates, q, res);
  await admitNamespace(regs, reg, ri.namespace, obj.metadata?.name ?? obj.metadata?.generateName ?? '');
  withTypeMeta(reg, obj);
  const created = await reg.gs.create(ri.namespace, obj, { dryRun, fieldManager: fieldManagerOf(q, req), ...admission(regs, reg, ri, dryRun) });
  respondObject(reg, created, neg, res, 201, q);
}

export async function handleUpdate(regs: Registries, reg: Registry, ri: RequestInfo, q: URLSearchParams, neg: Negotiated, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const dryRun = dryRunOf(q);
  checkFieldValidation(q);
  const { obj, duplicates } = await bodyObject(req, q);
  if (ri.subresource === 'scale') {
    checkTypeMeta(reg, obj, 'Scale', 'autoscaling/v1');
    checkFields(obj, 'io.k8s.api.autoscaling.v1.Scale', duplicates, q, res);
    const { object } = await reg.gs.guaranteedUpdate(ri.namespace, ri.name, (cur) => applyScale(requireCurrent(reg, ri, cur), obj), { dryRun, subresource: 'scale', fieldManager: fieldManagerOf(q, req) });
    return writeJson(res, 200, scaleOf(reg, object), neg.gzip);
  }
  checkTypeMeta(reg, obj);
  checkNamespace(reg, ri, obj);
  checkFields(obj, reg.info.definition, duplicates, q, res);
  const name = obj.metadata?.name;
  if (name !== undefined && name !== ri.name) throw badRequest(`the name of the object (${name}) does not match the name on the URL (${ri.name})`);
  meta(obj).name = ri.name;
  withTypeMeta(reg, obj);
  // Only an update that may create the object needs the namespace check (and its read).
  if (reg.gs.strategy.allowCreateOnUpdate && !reg.cache.get(ri.namespace, ri.name)) await admitNamespace(regs, reg, ri.namespace, ri.name);
  const { object, created } = await reg.gs.update(ri.namespace, ri.name, obj, { dryRun, subresource: ri.subresource, fieldManager: fieldManagerOf(q, req), ...admission(regs, reg, ri, dryRun) });
  respondObject(reg, object, neg, res, created ? 201 : 200, q);
}

/**
 * Admission of a write to a resource (not a subresource): the plugins of src/apiserver/admission/plugins.ts,
 * and ResourceQuota of creates and of the updates its evaluator charges.
 */
export function admission(regs: Registries, reg: Registry, ri: RequestInfo, dryRun: boolean): Pick<WriteOptions, 'mutateCreate' | 'admitCreate' | 'admitUpdate'> {
  if (ri.subresource) return {};
  const plugins = admissionPlugins(regs, reg.info);
  const quota = quotaAdmission(regs, reg, ri, dryRun);
  const a = plugins.admitUpdate;
  const b = quota.admitUpdate;
  const admitUpdate = a && b ? async (next: KubeObject, old: KubeObject) => (await a(next, old), b(next, old)) : (a ?? b);
  return { mutateCreate: plugins.mutateCreate, admitCreate: quota.admitCreate, admitUpdate };
}

function quotaAdmission(regs: Registries, reg: Registry, ri: RequestInfo, dryRun: boolean): Pick<WriteOptions, 'admitCreate' | 'admitUpdate'> {
  const admitCreate = (o: KubeObject) => admitResourceQuota(regs, reg.info, ri.namespace, o, { dryRun });
  // Most kinds are counted on create only: their updates skip the call altogether.
  if (!evaluatorFor(reg.info.group, reg.info.resource).chargesUpdates) return { admitCreate };
  return { admitCreate, admitUpdate: (o, old) => admitResourceQuota(regs, reg.info, ri.namespace, o, { dryRun, old }) };
}

export function requireCurrent(reg: Registry, ri: RequestInfo, cur: KubeObject | undefined): KubeObject {
  if (!cur) throw notFound(reg.gs.gr, ri.name);
  return cur;
}

const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', APPLY_PATCH];

function patchFunction(reg: Registry, contentType: string, patch: unknown, typeName: string | undefined): (cur: KubeObject) => KubeObject {
  switch (contentType) {
    case 'application/json-patch+json':
      return (cur) => applyJsonPatch(cur, patch) as KubeObject;
    case 'application/merge-patch+json':
      return (cur) => applyMergePatch(cur, patch) as KubeObject;
    case 'application/strategic-merge-patch+json':
      return (cur) => applyStrategicMergePatch(cur, patch, loadDefinitions(), typeName ?? '') as KubeObject;
    default:
      throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`);
  }

}

export async function handlePatch(regs: Registries, reg: Registry, ri: RequestInfo, q: URLSearchParams, neg: Negotiated, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const dryRun = dryRunOf(q);
  checkFieldValidation(q);
  const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim();
  if (!PATCH_TYPES.includes(contentType)) throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`);
  const body = await readBody(req);
  if (contentType === APPLY_PATCH) return handleApply(regs, reg, ri, q, neg, req, res, body);
  if (q.get('force') !== null) throw new StatusError(422, 'Invalid', `PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch`);
  const fieldManager = fieldManagerOf(q, req);
  const patch = decodeBody(body, contentType);
  if (ri.subresource === 'scale') {
    const fn = patchFunction(reg, contentType, patch, 'io.k8s.api.autoscaling.v1.Scale');
    const { object } = await reg.gs.guaranteedUpdate(ri.namespace, ri.name, (cur) => {
      const c = requireCurrent(reg, ri, cur);
      return applyScale(c, fn(scaleOf(reg, c)));
    }, { dryRun, subresource: 'scale', fieldManager });
    return writeJson(res, 200, scaleOf(reg, object), neg.gzip);
  }
  const fn = patchFunction(reg, contentType, patch, reg.info.definition);
  const { object } = await reg.gs.guaranteedUpdate(ri.namespace, ri.name, (cur) => {
    const c = requireCurrent(reg, ri, cur);
    const rv = c.metadata?.resourceVersion;
    const next = fn(c);
    if (!isPlainObject(next)) throw badRequest('the patch result is not an object');
    const nm = meta(next);
    // A patch only carries a resourceVersion precondition when it sets one itself.
    if (nm.resourceVersion === undefined) nm.resourceVersion = rv;
    checkTypeMeta(reg, next);
    checkFields(next, reg.info.definition, [], q, res);
    return withTypeMeta(reg, next);
  }, { dryRun, subresource: ri.subresource, fieldManager, ...admission(regs, reg, ri, dryRun) });
  respondObject(reg, object, neg, res, 200, q);
}

async function deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
  const opts: DeleteOptions = { dryRun: dryRunOf(q) };
  let body: Record<string, unknown> = {};
  const raw = await readBody(req);
  if (raw.length > 0 && raw.toString().trim() !== '') {
    const b = decodeBody(raw, String(req.headers['content-type'] ?? 'application/json'));
    if (!isPlainObject(b)) throw badRequest('DeleteOptions must be an object');
    body = b;
  }
  const gp = body.gracePeriodSeconds ?? q.get('gracePeriodSeconds') ?? undefined;
  if (gp !== undefined && gp !== null) {
    const n = Number(gp);
    if (!Number.isInteger(n)) throw badRequest(`gracePeriodSeconds: Invalid value: "${String(gp)}"`);
    opts.gracePeriodSeconds = n;
  }
  const pp = body.propagationPolicy ?? q.get('propagationPolicy') ?? (body.orphanDependents === true || q.get('orphanDependents') === 'true' ? 'Orphan' : undefined);
  if (pp !== undefined && pp !== null) {
    if (pp !== 'Orphan' && pp !== 'Background' && pp !== 'Foreground') {
      throw new StatusError(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${String(pp)}": supported values: "Foreground", "Background", "Orphan", "nil"`);
    }
    opts.propagationPolicy = pp;
  }
  if (isPlainObject(body.preconditions)) opts.preconditions = body.preconditions as DeleteOptions['preconditions'];
  if (Array.isArray(body.dryRun) && body.dryRun.length > 0) opts.dryRun = true;
  return opts;
}

export async function handleDelete(reg: Registry, ri: RequestInfo, q: URLSearchParams, neg: Negotiated, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (ri.subresource) throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  const opts = await deleteOptions(req, q);
  const { object, deleted } = await reg.gs.delete(ri.namespace, ri.name, opts);
  withTypeMeta(reg, object);
  if (!deleted) return respondObject(reg, object, neg, res, 202, q);
  if (reg.gs.strategy.returnDeletedObject) return respondObject(reg, object, neg, res, 200, q);
  writeJson(res, 200, successStatus({ name: ri.name, group: reg.info.group, kind: reg.info.resource, uid: object.metadata?.uid }), neg.gzip);
}

export async function handleDeleteCollection(reg: Registry, ri: RequestInfo, q: URLSearchParams, neg: Negotiated, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const opts = await deleteOptions(req, q);
  const list = parseListOptions(q, reg.gs.strategy, reg.info.namespaced);
  const match = attrsMatcher(list);
  const strategy = reg.gs.strategy;
  await reg.cache.sync();
  const entries = reg.cache.list({ namespace: ri.namespace, name: list.nameEquals, matches: (e) => match(e.attrs(strategy)) });
  const items: KubeObject[] = [];
  for (const e of entries) {
    try {
      const r = await reg.gs.delete(e.namespace, e.name, opts);
      items.push(withTypeMeta(reg, r.object));
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    }
  }
  writeJson(res, 200, { kind: reg.info.listKind ?? `${reg.info.kind}List`, apiVersion: apiVersionOf(reg.info.group, reg.info.version), metadata: {}, items }, neg.gzip);
}

