// The fast path of managedFields for ordinary updates: most writes (a Lease renewal, a status
// heartbeat, a controller's status refresh) change only fields the writer already owns alone.
// That is decided on the stored FieldsV1 directly, without decoding every entry into a set.
import { isPlainObject, type KubeObject } from '../object.ts';
import type { FieldSet } from './fieldpath.ts';
import { encodeOrder, identity, MAX_UPDATE_MANAGERS, stripMeta, type ManagedFieldsEntry } from './managed.ts';
import type { Comparison } from './typed.ts';
import type { Scope } from './updater.ts';
import { deepEqual } from './value.ts';

export interface InPlaceOptions {
  manager: string;
  apiVersion: string;
  subresource?: string;
  now: string;
  next: KubeObject;
}

const metaOf = (obj: unknown): Record<string, unknown> => (isPlainObject(obj) && isPlainObject(obj.metadata) ? obj.metadata : {});

/** Whether raw FieldsV1 holds `path` as a member (a node that is empty or marked with "."). */
function rawHas(fieldsV1: unknown, path: readonly string[]): boolean {
  let node = fieldsV1;
  for (const pe of path) {
    if (!isPlainObject(node)) return false;
    node = Object.hasOwn(node, pe) ? node[pe] : undefined;
  }
  if (!isPlainObject(node)) return false;
  for (const k in node) return k === '.' || Object.hasOwn(node, '.');
  return true;
}

/**
 * The common update — the writer changes only fields its own entry already owns and nobody else
 * does (a Lease renewal, a status heartbeat) — decided on the stored entries without decoding
 * them: the same entries, the writer's stamped with `now`. Undefined when the general path must
 * decide. Stored entries are canonical (they were encoded here), so raw lookups are exact.
 */
export function updateInPlace(scope: Scope, prev: KubeObject, opts: InPlaceOptions, requested: unknown, c: Comparison): ManagedFieldsEntry[] | undefined {
  const stored = metaOf(prev).managedFields;
  if (!Array.isArray(stored) || stored.length === 0) return undefined;
  if (!opts.subresource && requested !== undefined && !(Array.isArray(requested) && requested.length === 0) && !deepEqual(requested, stored)) return undefined;
  if (!scope.filter(c.removed).isEmpty()) return undefined;
  const changed = scope.filter(c.modified.union(c.added));
  const self = identity({ manager: opts.manager || 'unknown', operation: 'Update', apiVersion: opts.apiVersion, subresource: opts.subresource || undefined });
  let mine = -1;
  for (let i = 0; i < stored.length; i++) {
    const e = stored[i] as Record<string, unknown>;
    if (!isPlainObject(e) || e.fieldsType !== 'FieldsV1' || !isPlainObject(e.fieldsV1) || Object.keys(e.fieldsV1).length === 0) return undefined;
    if (typeof e.manager !== 'string' || (e.operation !== 'Apply' && e.operation !== 'Update') || typeof e.apiVersion !== 'string') return undefined;
    const id = identity({ manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, subresource: typeof e.subresource === 'string' && e.subresource !== '' ? e.subresource : undefined });
    if (id === self) mine = i;
  }
  if (changed.isEmpty()) return stored as ManagedFieldsEntry[];
  // A first write by this writer creates its entry: the general path builds it.
  if (mine < 0) return undefined;
  const mineEntry = stored[mine] as ManagedFieldsEntry;
  if (typeof mineEntry.time !== 'string') return undefined;
  const taken = stripMeta(changed);
  for (const p of memberPaths(changed)) {
    const owned = taken.has(p);
    // The writer must own what it changed already; changed fields nobody may own must not be its.
    if (rawHas(mineEntry.fieldsV1, p) !== owned) return undefined;
    for (let i = 0; i < stored.length; i++) if (i !== mine && rawHas((stored[i] as ManagedFieldsEntry).fieldsV1, p)) return undefined;
  }
  if (taken.isEmpty()) return stored as ManagedFieldsEntry[];
  const out = (stored as ManagedFieldsEntry[]).slice();
  out[mine] = { ...mineEntry, time: opts.now };
  return encodeOrder(out);
}

/** Stored entries split by whether an update can change them; see `partitionStored`. */
export interface Partition {
  /** Entries that own none of the changed or removed fields: they stay exactly as stored. */
  keep: ManagedFieldsEntry[];
  /** The writer's own entry, if any, and the entries that lose fields. */
  touched: ManagedFieldsEntry[];
}

/**
 * For the general path: only the writer's entry and the entries owning a changed or removed
 * field need decoding; the others are kept as stored (a kubelet's first status write leaves the
 * creator's entry alone). Undefined when every entry must be decoded: entries not as this
 * server stores them, a client's own managedFields, or the cap on Update entries may apply.
 */
export function partitionStored(scope: Scope, prev: KubeObject, opts: InPlaceOptions, requested: unknown, c: Comparison): Partition | undefined {
  const stored = metaOf(prev).managedFields;
  if (!Array.isArray(stored) || stored.length === 0) return undefined;
  if (!opts.subresource && requested !== undefined && !(Array.isArray(requested) && requested.length === 0) && !deepEqual(requested, stored)) return undefined;
  const paths = memberPaths(scope.filter(c.modified.union(c.added)));
  memberPaths(scope.filter(c.removed), [], paths);
  const self = identity({ manager: opts.manager || 'unknown', operation: 'Update', apiVersion: opts.apiVersion, subresource: opts.subresource || undefined });
  const out: Partition = { keep: [], touched: [] };
  let updates = 0;
  for (const e of stored as unknown[]) {
    if (!isPlainObject(e) || e.fieldsType !== 'FieldsV1' || !isPlainObject(e.fieldsV1) || Object.keys(e.fieldsV1).length === 0) return undefined;
    if (typeof e.manager !== 'string' || (e.operation !== 'Apply' && e.operation !== 'Update') || typeof e.apiVersion !== 'string' || e.apiVersion === '') return undefined;
    if (e.operation === 'Update') updates++;
    const id = identity({ manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, subresource: typeof e.subresource === 'string' && e.subresource !== '' ? e.subresource : undefined });
    const entry = e as unknown as ManagedFieldsEntry;
    if (id !== self && !paths.some((p) => rawHas(entry.fieldsV1, p))) out.keep.push(entry);
    else out.touched.push(entry);
  }
  // The writer's entry may be one more Update entry: past the cap, old ones are folded together.
  if (updates >= MAX_UPDATE_MANAGERS) return undefined;
  return out;
}

/** Every member path of a set, in no particular order. */
function memberPaths(set: FieldSet, prefix: string[] = [], out: string[][] = []): string[][] {
  for (const m of set.members) out.push([...prefix, m]);
  for (const [pe, child] of set.children) memberPaths(child, [...prefix, pe], out);
  return out;
}
