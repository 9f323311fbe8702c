// Changing objects through the apply schema: merging an applied configuration over the live
// object, removing a field set from an object, and the zero object Go would start a create from.
import { isPlainObject, cloneJson } from '../object.ts';
import { fieldElement, type FieldSet, type Path, type PathElement } from './fieldpath.ts';
import { UNTYPED_DEDUCED, type ListDef, type TypeRef } from './schema.ts';
import type { Walker } from './typed.ts';
import { isEmptyCollection } from './value.ts';

/**
 * `rhs` merged over `lhs`: granular maps and structs merge key by key, keyed lists and sets merge
 * item by item, everything else (scalars, atomic lists/maps/structs) is taken from `rhs` when it
 * has it. Undefined means "absent"; a null in `rhs` is kept (the caller drops it at the end).
 */
export function merge(w: Walker, lhs: unknown, rhs: unknown, ref: TypeRef, path: Path = []): unknown {
  const keep = (): unknown => (rhs !== undefined ? rhs : lhs);
  const ls = lhs === undefined ? undefined : w.shape(ref, lhs);
  const rs = rhs === undefined ? undefined : w.shape(ref, rhs);
  const shape = (rs ?? ls)!;
  if ((ls && rs && ls.kind !== rs.kind) || shape.kind === 'scalar') return keep();
  if (shape.kind === 'list') {
    const ll = Array.isArray(lhs) ? lhs : [];
    const rl = Array.isArray(rhs) ? rhs : [];
    if (shape.list.type === 'atomic' || (ll.length === 0 && rl.length === 0)) return keep();
    const out = mergeItems(w, shape.list, ll, rl, path);
    return out.length > 0 ? out : undefined;
  }
  const lm = isPlainObject(lhs) ? lhs : {};
  const rm = isPlainObject(rhs) ? rhs : {};
  if (shape.map.atomic || (isEmptyCollection(lm) && isEmptyCollection(rm))) return keep();
  const out: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(lm), ...Object.keys(rm)])) {
    const t = w.schema.child(shape.map, key) ?? UNTYPED_DEDUCED;
    const v = merge(w, Object.hasOwn(lm, key) ? lm[key] : undefined, Object.hasOwn(rm, key) ? rm[key] : undefined, t, [...path, fieldElement(key)]);
    if (v !== undefined) out[key] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Merges two keyed lists. Items both sides have follow the applied order; items only the live
 * list has keep their place among them; new items come where the applied list puts them.
 */
function mergeItems(w: Walker, list: ListDef, lhs: unknown[], rhs: unknown[], path: Path): unknown[] {
  const lp = lhs.map((item, i) => w.itemElement(list, item, i, path));
  const rItems = new Map(w.items(list, rhs, path));
  const rp = [...rItems.keys()];
  const lFirst = new Map<PathElement, unknown>();
  lp.forEach((pe, i) => {
    if (!lFirst.has(pe)) lFirst.set(pe, lhs[i]);
  });
  const shared = rp.filter((pe) => lFirst.has(pe));
  let next = 0;
  const done = new Set<PathElement>();
  const out: unknown[] = [];
  const emit = (pe: PathElement, l: unknown, r: unknown): void => {
    const v = merge(w, l, r, list.elem, [...path, pe]);
    if (v !== undefined) out.push(v);
  };
  let li = 0;
  let ri = 0;
  while (li < lhs.length || ri < rp.length) {
    if (li < lhs.length && ri < rp.length) {
      if (lp[li] === rp[ri]) {
        done.add(rp[ri]);
        emit(rp[ri], lFirst.get(rp[ri]), rItems.get(rp[ri]));
        li++;
        ri++;
        next++;
        continue;
      }
      // A shared item whose turn (in the applied order) has not come yet: it is emitted later.
      if (rItems.has(lp[li]) && next < shared.length && shared[next] !== lp[li]) {
        li++;
        continue;
      }
    }
    if (li < lhs.length) {
      const pe = lp[li];
      if (!rItems.has(pe)) {
        emit(pe, lhs[li], undefined);
        li++;
        continue;
      }
      if (done.has(pe)) {
        li++;
        continue;
      }
    }
    if (ri < rp.length) {
      const pe = rp[ri];
      done.add(pe);
      emit(pe, lFirst.get(pe), rItems.get(pe));
      ri++;
      if (shared[next] === pe) next++;
    }
  }
  return out;
}

/** `value` without the fields of `set` (each removed with everything below it). */
export function removeItems(w: Walker, value: unknown, set: FieldSet, ref: TypeRef, path: Path = []): unknown {
  const shape = w.shape(ref, value);
  if (shape.kind === 'scalar') return value;
  if (shape.kind === 'list') {
    if (!Array.isArray(value) || shape.list.type === 'atomic') return value;
    const out: unknown[] = [];
    value.forEach((item, i) => {
      const pe = w.itemElement(shape.list, item, i, path);
      if (set.members.has(pe)) return;
      const below = set.children.get(pe);
      const v = below ? removeItems(w, item, below, shape.list.elem, [...path, pe]) : item;
      if (v !== undefined) out.push(v);
    });
    return out.length > 0 ? out : undefined;
  }
  if (!isPlainObject(value) || shape.map.atomic) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const pe = fieldElement(key);
    if (set.members.has(pe)) continue;
    const below = set.children.get(pe);
    const t = w.schema.child(shape.map, key) ?? UNTYPED_DEDUCED;
    const kept = below ? removeItems(w, v, below, t, [...path, pe]) : v;
    if (kept !== undefined) out[key] = kept;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The object Go's zero value of a type encodes to: non-pointer structs as nested objects, fields
 * it always writes (`required`) as their zero or null. A create compares against this, so nested
 * structs the zero value already has are not reported as added.
 */
export function zeroObject(w: Walker, ref: TypeRef, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = w.schema.resolve(ref).map?.fields;
  if (!fields || depth > 32) return out;
  for (const [name, f] of Object.entries(fields)) {
    const emptyStruct = isPlainObject(f.default) && Object.keys(f.default).length === 0;
    if (emptyStruct && w.schema.resolve(f.type).map?.fields) out[name] = zeroObject(w, f.type, depth + 1);
    else if (f.required) out[name] = f.default === undefined ? null : cloneJson(f.default);
  }
  return out;
}

/** Drops map entries whose value is null (an applied null clears a field), at any depth. */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v);
  return out;
}
