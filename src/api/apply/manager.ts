// The public API of server-side apply: managedFields for ordinary writes, and apply itself.
// Pure functions of their inputs (and `now`): no storage, no HTTP. The caller still checks the
// name against the URL, defaults, validates, resets what its strategy resets, and stores.
import { isPlainObject, type KubeObject, cloneJson } from '../object.ts';
import { badRequest, internalError, StatusError } from '../status.ts';
import { FieldSet, fieldElement } from './fieldpath.ts';
import { fieldsFromLastApplied, KUBECTL, syncLastApplied, unexcusedConflicts } from './last-applied.ts';
import {
  capUpdateManagers,
  conflictError,
  decodeManagedFields,
  encodeManagedFields,
  encodeOrder,
  isResetRequest,
  type Managed,
  type ManagedFieldsEntry,
} from './managed.ts';
import { zeroObject } from './merge.ts';
import { loadApplySchema, type ApplySchema, type TypeRef } from './schema.ts';
import { compare, toFieldSet, Walker } from './typed.ts';
import { partitionStored, readStored, updateInPlace } from './in-place.ts';
import { ApplyConflicts, recordApply, recordUpdate, withoutManagedFields, type Scope, type Writer } from './updater.ts';

export type { ManagedFieldsEntry } from './managed.ts';

/** The manager upstream attributes an object's existing fields to when it is first applied. */
export const BEFORE_FIRST_APPLY = 'before-first-apply';

export interface WriteOptions {
  /** The field manager (`fieldManager` query parameter or user-agent prefix); "" becomes "unknown". */
  manager: string;
  /** The request's group/version, e.g. `apps/v1`. */
  apiVersion: string;
  /** The subresource written through (`status`, `scale`...), if any. */
  subresource?: string;
  /** RFC 3339 timestamp (seconds) recorded on entries this write changes. */
  now: string;
  /** Whether the kind has a status subresource; defaults to what the schema knows (false for unknown kinds). */
  hasStatusSubresource?: boolean;
  schema?: ApplySchema;
}

export interface UpdateOptions extends WriteOptions {
  /** The stored object; undefined on create. */
  prev?: KubeObject;
  /** The object about to be stored. Its own managedFields, if valid and non-empty, replace the stored ones. */
  next: KubeObject;
  /** Always take the general path (tests compare it with the in-place one). */
  general?: boolean;
}

export interface ApplyOptions extends WriteOptions {
  /** The stored object; undefined when the apply creates it. */
  live?: KubeObject;
  /** The applied configuration (the decoded request body). */
  applied: KubeObject;
  /** The kind the endpoint serves; defaults to the live object's kind. */
  kind?: string;
  force: boolean;
}

const metaOf = (obj: unknown): Record<string, unknown> => (isPlainObject(obj) && isPlainObject(obj.metadata) ? obj.metadata : {});
const decodeOrEmpty = (raw: unknown): Managed => {
  try {
    return decodeManagedFields(raw);
  } catch {
    return new Map();
  }
};

function scopeFor(opts: WriteOptions, kind: string): Scope {
  const schema = opts.schema ?? loadApplySchema();
  const info = schema.kind(opts.apiVersion, kind);
  const hasStatus = opts.hasStatusSubresource ?? !!info?.status;
  let filter = (s: FieldSet): FieldSet => s;
  if (opts.subresource === 'status') {
    // Writes through /status own status (and metadata); the spec is reset by the strategy.
    filter = (s) => s.recursiveDifference(FieldSet.of([...s.children.keys(), ...s.members].filter((pe) => !KEPT_BY_STATUS.has(pe)).map((pe) => [pe])));
  } else if (!opts.subresource && hasStatus) {
    filter = (s) => s.recursiveDifference(STATUS);
  }
  return { walker: new Walker(schema), root: schema.root(opts.apiVersion, kind), filter };
}

const STATUS = FieldSet.of([[fieldElement('status')]]);
const KEPT_BY_STATUS = new Set(['metadata', 'status', 'apiVersion', 'kind'].map(fieldElement));

const writer = (opts: WriteOptions, operation: Writer['operation']): Writer => ({
  manager: opts.manager || 'unknown',
  operation,
  apiVersion: opts.apiVersion,
  ...(opts.subresource ? { subresource: opts.subresource } : {}),
});

/** Go's zero value of each root type, built once per schema (comparisons only read it). */
const zeroes = new WeakMap<ApplySchema, Map<TypeRef, unknown>>();

/** The live object for a comparison: the stored one, or Go's zero value of the kind on create. */
const baseline = (scope: Scope, prev: KubeObject | undefined): unknown => {
  if (prev) return prev;
  let bySchema = zeroes.get(scope.walker.schema);
  if (!bySchema) zeroes.set(scope.walker.schema, (bySchema = new Map()));
  let zero = bySchema.get(scope.root);
  if (zero === undefined) bySchema.set(scope.root, (zero = zeroObject(scope.walker, scope.root)));
  return zero;
};

/**
 * managedFields for a create, update or non-apply patch: the writer becomes the owner of every
 * field it added or changed, and other managers lose those (no conflicts for such writes).
 */
export function updateManagedFields(opts: UpdateOptions): ManagedFieldsEntry[] {
  const scope = scopeFor(opts, String(opts.next.kind ?? opts.prev?.kind ?? ''));
  const requested = metaOf(opts.next).managedFields;
  // One comparison serves both paths: the in-place one, and the general one if that declines.
  const prev = opts.prev;
  const comparison = prev && Array.isArray(metaOf(prev).managedFields) ? compare(scope.walker, withoutManagedFields(prev), withoutManagedFields(opts.next), scope.root) : undefined;
  const stored = prev && comparison && !opts.general ? readStored(prev, opts, requested) : undefined;
  if (stored && comparison) {
    const quick = updateInPlace(scope, stored, opts, comparison);
    if (quick) return quick;
    const parts = partitionStored(scope, stored, comparison);
    if (parts) {
      // Entries that cannot change stay as stored; the rest go through the general update.
      const touched = recordUpdate(scope, prev, opts.next, decodeOrEmpty(parts.touched), writer(opts, 'Update'), opts.now, comparison);
      return encodeOrder([...parts.keep, ...encodeManagedFields(touched)]);
    }
  }
  let managed: Managed;
  if (opts.subresource) managed = decodeOrEmpty(metaOf(opts.prev).managedFields);
  else if (isResetRequest(requested)) managed = new Map();
  else {
    managed = decodeOrEmpty(requested);
    if (managed.size === 0) managed = decodeOrEmpty(metaOf(opts.prev).managedFields);
  }
  // An existing object that has no managedFields stays untracked until it is first applied.
  if (managed.size === 0 && opts.prev && typeof metaOf(opts.prev).uid === 'string' && metaOf(opts.prev).uid !== '') return [];
  managed = recordUpdate(scope, baseline(scope, opts.prev), opts.next, managed, writer(opts, 'Update'), opts.now, comparison);
  return encodeManagedFields(capUpdateManagers(managed));
}

const gvkString = (apiVersion: unknown, kind: unknown): string => {
  const av = typeof apiVersion === 'string' ? apiVersion : '';
  const slash = av.lastIndexOf('/');
  return `${slash >= 0 ? av.slice(0, slash) : ''}/${slash >= 0 ? av.slice(slash + 1) : av}, Kind=${typeof kind === 'string' ? kind : ''}`;
};

/**
 * Applies `applied` over `live` as `manager`. Returns the merged object with its managedFields
 * (and, for kubectl, a refreshed last-applied annotation); throws a StatusError: 409 Conflict
 * listing conflicting fields, 400 for a configuration of the wrong type or carrying
 * managedFields, 500 for a configuration the schema rejects (as upstream does).
 */
export function applyObject(opts: ApplyOptions): KubeObject {
  const { applied, live } = opts;
  const kind = opts.kind ?? live?.kind ?? applied.kind;
  if (applied.apiVersion !== opts.apiVersion || applied.kind !== kind || typeof kind !== 'string' || kind === '') {
    throw badRequest(`invalid object type: ${gvkString(applied.apiVersion, applied.kind)}`);
  }
  const appliedMeta = metaOf(applied);
  if (appliedMeta.managedFields !== undefined && appliedMeta.managedFields !== null) throw badRequest('metadata.managedFields must be nil');
  const scope = scopeFor(opts, kind);
  const strict = new Walker(scope.walker.schema, true);
  toFieldSet(strict, applied, scope.root);
  if (strict.errors.length > 0) throw typedPatchError(applied, strict);
  let managed: Managed;
  try {
    managed = decodeManagedFields(metaOf(live).managedFields);
  } catch (e) {
    throw internalError(`failed to decode managed fields: ${(e as Error).message}`);
  }
  const run = (force: boolean) => {
    let current = managed;
    if (current.size === 0 && live) {
      current = capUpdateManagers(recordUpdate(scope, baseline(scope, undefined), live, current, { ...writer(opts, 'Update'), manager: BEFORE_FIRST_APPLY }, opts.now));
    }
    const result = recordApply(scope, live, applied, current, writer(opts, 'Apply'), force, opts.now);
    return { ...result, managed: capUpdateManagers(result.managed) };
  };
  let result: ReturnType<typeof run>;
  try {
    result = run(opts.force);
  } catch (e) {
    if (!(e instanceof ApplyConflicts)) throw e;
    const allowed = opts.manager === KUBECTL ? fieldsFromLastApplied(scope.walker, live, scope.root, opts.apiVersion) : undefined;
    const remaining = allowed ? unexcusedConflicts(e.conflicts, allowed) : e.conflicts;
    if (remaining.length > 0) throw conflictError(remaining);
    result = run(true);
  }
  const out = cloneJson((result.object ?? live ?? {}) as KubeObject);
  if (opts.manager === KUBECTL) syncLastApplied(out, applied);
  const entries = encodeManagedFields(result.managed);
  const meta = isPlainObject(out.metadata) ? out.metadata : (out.metadata = {});
  if (entries.length > 0) meta.managedFields = entries;
  else delete meta.managedFields;
  return out;
}

function typedPatchError(applied: KubeObject, strict: Walker): StatusError {
  const meta = metaOf(applied);
  const where = `${typeof meta.namespace === 'string' ? meta.namespace : ''}/${typeof meta.name === 'string' ? meta.name : ''}; ${gvkString(applied.apiVersion, applied.kind)}`;
  const errs = strict.errors.map((e) => `${e.path}: ${e.message}`);
  const detail = errs.length === 1 ? errs[0] : ['errors:', ...errs.map((e) => `  ${e}`)].join('\n');
  const err = new StatusError(500, '', `failed to create typed patch object (${where}): ${detail}`);
  delete err.status.reason;
  return err;
}
