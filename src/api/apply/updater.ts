// The two operations on (object, managedFields): an Update records who changed what, an Apply
// merges a configuration, prunes what its manager stopped applying, and fails on conflicts.
// Everything here is pure: objects are never mutated, results are new values.
import { FieldSet } from './fieldpath.ts';
import { identity, stripMeta, type Conflict, type Managed, type ManagerSet } from './managed.ts';
import { dropNulls, merge, removeItems } from './merge.ts';
import type { TypeRef } from './schema.ts';
import { compare, toFieldSet, withNamedFieldMembers, type Comparison, type Walker } from './typed.ts';
import { deepEqual } from './value.ts';
import { isPlainObject } from '../object.ts';

/** How to see objects of one kind, and which fields a write through this endpoint may own. */
export interface Scope {
  walker: Walker;
  root: TypeRef;
  /** Removes the fields this endpoint resets (status on the main resource, spec on /status). */
  filter: (set: FieldSet) => FieldSet;
}

/** Who is writing: the entry an operation creates or extends (its set is ignored). */
export type Writer = Omit<ManagerSet, 'set' | 'time'>;

export class ApplyConflicts extends Error {
  readonly conflicts: Conflict[];
  constructor(conflicts: Conflict[]) {
    super(`${conflicts.length} apply conflicts`);
    this.conflicts = conflicts;
  }
}

export const withoutManagedFields = (obj: unknown): unknown => {
  if (!isPlainObject(obj) || !isPlainObject(obj.metadata) || !('managedFields' in obj.metadata)) return obj;
  const { managedFields: _m, ...metadata } = obj.metadata;
  return { ...obj, metadata };
};

/**
 * Takes the changed fields away from every manager but `self`: the ones whose owned fields were
 * modified or added (conflicts; an error unless `force`) and the ones whose fields were removed.
 */
function settle(scope: Scope, live: unknown, next: unknown, managed: Managed, self: string, force: boolean, known?: Comparison) {
  const c = known ?? compare(scope.walker, withoutManagedFields(live), withoutManagedFields(next), scope.root);
  const changed = scope.filter(c.modified.union(c.added));
  const removed = scope.filter(c.removed);
  const conflicts: Conflict[] = [];
  const out: Managed = new Map();
  for (const [id, m] of [...managed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (id === self) {
      out.set(id, m);
      continue;
    }
    const lost = m.set.intersection(changed);
    if (!lost.isEmpty()) for (const path of lost.paths()) conflicts.push({ manager: m, path });
    const set = m.set.difference(lost).difference(removed);
    if (!set.isEmpty()) out.set(id, { ...m, set });
  }
  if (!force && conflicts.length > 0) throw new ApplyConflicts(conflicts);
  return { managed: out, comparison: c };
}

/**
 * Records a non-apply write of `next` over `live`: the writer's entry gains every field that was
 * added or modified, and every other entry loses them (and anything removed), without conflicts.
 */
export function recordUpdate(scope: Scope, live: unknown, next: unknown, managed: Managed, writer: Writer, now: string, known?: Comparison): Managed {
  const self = identity(writer);
  const { managed: out, comparison } = settle(scope, live, next, managed, '', true, known);
  const taken = stripMeta(scope.filter(comparison.modified.union(comparison.added)));
  if (taken.isEmpty()) return out;
  const previous = out.get(self);
  const set = previous ? taken.union(previous.set) : taken;
  out.set(self, { ...writer, set, time: now });
  return out;
}

export interface Applied {
  /** The merged object; undefined when it equals the live object. */
  object: unknown;
  managed: Managed;
}

/** Merges `config` into `live` as `writer`; throws ApplyConflicts unless `force`. */
export function recordApply(scope: Scope, live: unknown, config: unknown, managed: Managed, writer: Writer, force: boolean, now: string): Applied {
  const self = identity(writer);
  const last = managed.get(self);
  const mine = scope.filter(toFieldSet(scope.walker, config, scope.root));
  let merged: unknown = merge(scope.walker, live, config, scope.root) ?? {};
  const withMine: Managed = new Map(managed).set(self, { ...writer, set: mine });
  if (last && !last.set.isEmpty()) merged = prune(scope, merged, withMine, last.set);
  const { managed: settled } = settle(scope, live, merged, withMine, self, force);
  const own = stripMeta(mine);
  if (own.isEmpty()) settled.delete(self);
  else settled.set(self, { ...writer, set: own, ...(last?.time ? { time: last.time } : {}) });
  merged = dropNulls(merged);
  if (deepEqual(withoutManagedFields(live), withoutManagedFields(merged))) return { object: undefined, managed: settled };
  const entry = settled.get(self);
  if (entry) settled.set(self, { ...entry, time: now });
  return { object: merged, managed: settled };
}

/**
 * Removes from `merged` what the applier owned before (`last`) and owns no more, unless another
 * manager (or the applier's new configuration) still owns it. Struct fields that hold owned
 * fields count as owned themselves, so a struct is only dropped when nothing in it is owned.
 */
function prune(scope: Scope, merged: unknown, managed: Managed, last: FieldSet): unknown {
  let owned = new FieldSet();
  for (const m of managed.values()) owned = owned.union(m.set);
  const w = scope.walker;
  const toRemove = withNamedFieldMembers(w, last, scope.root).difference(withNamedFieldMembers(w, owned, scope.root));
  return removeItems(w, merged, toRemove, scope.root) ?? {};
}
