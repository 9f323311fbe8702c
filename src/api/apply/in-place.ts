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

/** The stored entries as this server writes them, with their identities and the writer's. */
export interface StoredEntries {
  entries: ManagedFieldsEntry[];
  ids: string[];
  /** The identity of the writer's Update entry. */
  self: string;
}

/**
 * The stored entries, read once for both shortcuts below. Undefined when the general path must
 * decode everything: no entries, a client's own differing managedFields, or an entry not as this
 * server stores them (canonical, so raw lookups are exact).
 */
export function readStored(prev: KubeObject, opts: InPlaceOptions, requested: unknown): StoredEntries | undefined {
  const stored = metaOf(prev).managedFields;
  if (!Array.isArray(stored) || stored.length === 0) return undefined;
  if (!opts.subresource && requested !== undefined && !(Array.isArray(requested) && requested.length === 0) && !deepEqual(requested, stored)) return undefined;
  const ids: string[] = [];
  for (const e of stored as unknown[]) {
    if (!isPlainObject(e) || e.fieldsType !== 'FieldsV1' || !isPlainObject(e.fieldsV1) || Object.keys(e.fieldsV1).length === 0) return undefined;
    if (typeof e.manager !== 'string' || (e.operation !== 'Apply' && e.operation !== 'Update') || typeof e.apiVersion !== 'string' || e.apiVersion === '') return undefined;
    ids.push(identity({ manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, subresource: typeof e.subresource === 'string' && e.subresource !== '' ? e.subresource : undefined }));
  }
  const self = identity({ manager: opts.manager || 'unknown', operation: 'Update', apiVersion: opts.apiVersion, subresource: opts.subresource || undefined });
  return { entries: stored as ManagedFieldsEntry[], ids, self };
}

/**
 * The common update — the writer changes only fields its own entry already owns and nobody else
 * does (a Lease renewal, a status heartbeat) — decided on the stored entries without decoding
 * them: the same entries, the writer's stamped with `now`. Undefined when the general path must
 * decide.
 */
export function updateInPlace(scope: Scope, stored: StoredEntries, opts: InPlaceOptions, c: Comparison): ManagedFieldsEntry[] | undefined {
  if (!scope.filter(c.removed).isEmpty()) return undefined;
  const changed = scope.filter(c.modified.union(c.added));
  const { entries } = stored;
  if (changed.isEmpty()) return entries;
  const mine = stored.ids.indexOf(stored.self);
  // A first write by this writer creates its entry: the general path builds it.
  if (mine < 0) return undefined;
  const mineEntry = entries[mine];
  if (typeof mineEntry.time !== 'string') return undefined;
  const taken = stripMeta(changed);
  for (const p of memberPaths(changed)) {
    const owned = taken.has(p);
    // The writer must own what it changed already; changed fields nobody may own must not be its.
    if (rawHas(mineEntry.fieldsV1, p) !== owned) return undefined;
    for (let i = 0; i < entries.length; i++) if (i !== mine && rawHas(entries[i].fieldsV1, p)) return undefined;
  }
  if (taken.isEmpty()) return entries;
  const out = entries.slice();
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
 * creator's entry alone). Undefined when the cap on Update entries may apply.
 */
export function partitionStored(scope: Scope, stored: StoredEntries, c: Comparison): Partition | undefined {
  // The writer's entry may be one more Update entry: past the cap, old ones are folded together.
  if (stored.entries.filter((e) => e.operation === 'Update').length >= MAX_UPDATE_MANAGERS) return undefined;
  const paths = memberPaths(scope.filter(c.modified.union(c.added)));
  memberPaths(scope.filter(c.removed), [], paths);
  const out: Partition = { keep: [], touched: [] };
  stored.entries.forEach((e, i) => {
    if (stored.ids[i] !== stored.self && !paths.some((p) => rawHas(e.fieldsV1, p))) out.keep.push(e);
    else out.touched.push(e);
  });
  return out;
}

/** Every member path of a set, in no particular order. */
function memberPaths(set: FieldSet, prefix: string[] = [], out: string[][] = []): string[][] {
  for (const m of set.members) out.push([...prefix, m]);
  for (const [pe, child] of set.children) memberPaths(child, [...prefix, pe], out);
  return out;
}
