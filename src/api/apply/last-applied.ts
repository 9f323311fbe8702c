// Interplay with kubectl's client-side apply, which records what it applied in the
// kubectl.kubernetes.io/last-applied-configuration annotation and owns fields through an Update
// entry named kubectl-client-side-apply. When kubectl switches to server-side apply (manager
// "kubectl"), conflicts on fields that annotation shows it set (with the value still live) are
// forgiven; afterwards each server-side apply by kubectl rewrites the annotation, so a later
// client-side apply diffs against what was really applied.
import { isPlainObject, type KubeObject, cloneJson } from '../object.ts';
import type { Conflict } from './managed.ts';
import type { FieldSet } from './fieldpath.ts';
import type { TypeRef } from './schema.ts';
import { compare, toFieldSet, Walker } from './typed.ts';
import { goJson } from './value.ts';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** The manager name kubectl uses for server-side apply; only it takes part in the migration. */
export const KUBECTL = 'kubectl';
const ANNOTATIONS_LIMIT = 256 * 1024;

function annotationsOf(obj: unknown): Record<string, unknown> | undefined {
  if (!isPlainObject(obj) || !isPlainObject(obj.metadata)) return undefined;
  return isPlainObject(obj.metadata.annotations) ? obj.metadata.annotations : undefined;
}

function lastApplied(obj: unknown): string | undefined {
  const v = annotationsOf(obj)?.[LAST_APPLIED];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The fields the live object's last-applied annotation sets to their live values; undefined when
 * there is no usable annotation (absent, not JSON, another apiVersion, or not of the schema).
 */
export function fieldsFromLastApplied(w: Walker, live: unknown, ref: TypeRef, apiVersion: string): FieldSet | undefined {
  const text = lastApplied(live);
  if (text === undefined) return undefined;
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isPlainObject(config) || config.apiVersion !== apiVersion) return undefined;
  const strict = new Walker(w.schema, true);
  const set = toFieldSet(strict, config, ref);
  toFieldSet(strict, live, ref);
  if (strict.errors.length > 0) return undefined;
  const c = compare(w, config, live, ref);
  return set.difference(c.modified).difference(c.added).difference(c.removed);
}

/** The conflicts the annotation does not excuse. */
export function unexcusedConflicts(conflicts: Conflict[], allowed: FieldSet): Conflict[] {
  return conflicts.filter((c) => !allowed.has(c.path));
}

/**
 * After a server-side apply by kubectl, the annotation (if the object has one) is rewritten to
 * the configuration just applied, encoded as kubectl does. An annotation that would push the
 * object's annotations past 256 KiB is dropped instead.
 */
export function syncLastApplied(merged: KubeObject, config: KubeObject): void {
  const annotations = annotationsOf(merged);
  if (!annotations || lastApplied(merged) === undefined) return;
  const copy = cloneJson(config);
  const own = annotationsOf(copy);
  if (own) delete own[LAST_APPLIED];
  annotations[LAST_APPLIED] = `${goJson(copy)}\n`;
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) size += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  if (size > ANNOTATIONS_LIMIT) {
    delete annotations[LAST_APPLIED];
    if (Object.keys(annotations).length === 0 && isPlainObject(merged.metadata)) delete merged.metadata.annotations;
  }
}
