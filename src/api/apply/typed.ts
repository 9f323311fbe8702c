// Objects seen through the apply schema: the path element of each list item, the field set of an
// object (every leaf, every list item, empty and null maps), the comparison of two objects into
// added / removed / modified fields, and the "named fields are members" widening used by pruning.
import { isPlainObject } from '../object.ts';
import { fieldElement, FieldSet, indexElement, keyElement, parseElement, renderPath, valueElement, type Path, type PathElement } from './fieldpath.ts';
import { shapeOf, UNTYPED_DEDUCED, type ApplySchema, type ListDef, type MapDef, type ScalarKind, type Shape, type TypeRef } from './schema.ts';
import { deepEqual, isEmptyCollection } from './value.ts';

/** A problem with an object's shape, with the path it was found at (`.spec.replicas`). */
export interface ShapeError {
  path: string;
  message: string;
}

export class Walker {
  readonly schema: ApplySchema;
  /** Strict: report unknown fields, wrong types, bad or duplicate keys (applied configurations). */
  readonly strict: boolean;
  readonly errors: ShapeError[] = [];

  constructor(schema: ApplySchema, strict = false) {
    this.schema = schema;
    this.strict = strict;
  }

  fail(path: Path, message: string): void {
    if (this.strict) this.errors.push({ path: renderPath(path), message });
  }

  shape(ref: TypeRef, value: unknown): Shape {
    return shapeOf(this.schema.resolve(ref), value);
  }

  /** The type of `key` in a map; unknown struct fields are an error, then deduced. */
  childType(map: MapDef, key: string, path: Path): TypeRef {
    const t = this.schema.child(map, key);
    if (t !== undefined) return t;
    this.fail([...path, fieldElement(key)], 'field not declared in schema');
    return UNTYPED_DEDUCED;
  }

  /** The path element naming a list item: its key fields, its value (sets) or its index. */
  itemElement(list: ListDef, item: unknown, index: number, path: Path): PathElement {
    if (list.type === 'atomic') return indexElement(index);
    const at = (): Path => [...path, indexElement(index)];
    if (list.type === 'set') {
      if (item === null || typeof item === 'object') {
        this.fail(at(), item === null ? 'associative list without keys has an element that is an explicit null' : 'associative list without keys may only hold scalars');
        return indexElement(index);
      }
      return valueElement(item);
    }
    if (!isPlainObject(item)) {
      this.fail(at(), 'associative list with keys may only hold maps');
      return indexElement(index);
    }
    const key: Record<string, unknown> = {};
    for (const name of list.keys ?? []) {
      if (Object.hasOwn(item, name)) key[name] = item[name];
      else {
        const def = this.keyDefault(list, name);
        if (def === undefined) {
          this.fail(at(), `associative list with keys has an element that omits key field "${name}" (and doesn't have default value)`);
          return indexElement(index);
        }
        key[name] = def;
      }
    }
    return keyElement(key);
  }

  private keyDefault(list: ListDef, name: string): unknown {
    const elem = this.schema.resolve(list.elem).map;
    return elem?.fields && Object.hasOwn(elem.fields, name) ? elem.fields[name].default : undefined;
  }

  /** Each item of a list with its path element; later duplicates are reported and dropped. */
  items(list: ListDef, value: unknown[], path: Path): [PathElement, unknown][] {
    const seen = new Set<PathElement>();
    const out: [PathElement, unknown][] = [];
    value.forEach((item, i) => {
      const pe = this.itemElement(list, item, i, path);
      // An item of a set or keyed list that cannot be named is left out (and reported when strict).
      if (list.type !== 'atomic' && pe.startsWith('i:')) return;
      if (seen.has(pe)) {
        this.fail(path, `duplicate entries for key ${renderPath([pe])}`);
        return;
      }
      seen.add(pe);
      out.push([pe, item]);
    });
    return out;
  }

  checkScalar(scalar: ScalarKind, value: unknown, path: Path): void {
    if (value === null || value === undefined) return;
    const t = Array.isArray(value) ? 'list' : typeof value === 'object' ? 'map' : typeof value;
    const ok = { numeric: t === 'number', string: t === 'string', boolean: t === 'boolean', untyped: t !== 'list' && t !== 'map' }[scalar];
    if (!ok) this.fail(path, `expected ${scalar === 'untyped' ? 'any scalar' : scalar === 'numeric' ? 'numeric (int or float)' : scalar}, got ${t === 'number' ? 'numeric' : t}`);
  }
}

/** The fields an object sets: every leaf, atomic value, list item, and null or empty map. */
export function toFieldSet(w: Walker, value: unknown, ref: TypeRef): FieldSet {
  const set = new FieldSet();
  collect(w, value, ref, [], set);
  return set;
}

function collect(w: Walker, value: unknown, ref: TypeRef, path: Path, set: FieldSet): void {
  const shape = w.shape(ref, value);
  if (shape.kind === 'scalar') {
    w.checkScalar(shape.scalar, value, path);
    set.insert(path);
    return;
  }
  if (shape.kind === 'list') {
    if (!Array.isArray(value)) {
      if (value !== null) w.fail(path, `expected list, got ${typeof value === 'object' ? 'map' : typeof value}`);
      if (shape.list.type === 'atomic') set.insert(path);
      return;
    }
    if (shape.list.type === 'atomic') return void set.insert(path);
    for (const [pe, item] of w.items(shape.list, value, path)) {
      collect(w, item, shape.list.elem, [...path, pe], set);
      set.insert([...path, pe]);
    }
    return;
  }
  if (!isPlainObject(value)) {
    if (value !== null) w.fail(path, `expected map, got ${Array.isArray(value) ? 'list' : typeof value}`);
    if (shape.map.atomic) set.insert(path);
    return;
  }
  if (shape.map.atomic) return void set.insert(path);
  for (const [key, v] of Object.entries(value)) {
    const child = [...path, fieldElement(key)];
    collect(w, v, w.childType(shape.map, key, path), child, set);
    if (v === null || (isPlainObject(v) && Object.keys(v).length === 0) || !w.schema.isField(shape.map, key)) set.insert(child);
  }
}

export interface Comparison {
  added: FieldSet;
  removed: FieldSet;
  modified: FieldSet;
}

/** What changed from `lhs` to `rhs`: fields added, removed, and leaves whose value differs. */
export function compare(w: Walker, lhs: unknown, rhs: unknown, ref: TypeRef): Comparison {
  const c: Comparison = { added: new FieldSet(), removed: new FieldSet(), modified: new FieldSet() };
  diff(w, c, lhs, rhs, ref, []);
  return c;
}

function diff(w: Walker, c: Comparison, l: unknown, r: unknown, ref: TypeRef, path: PathElement[]): void {
  const ls = l === undefined ? undefined : w.shape(ref, l);
  const rs = r === undefined ? undefined : w.shape(ref, r);
  const shape = (rs ?? ls)!;
  if ((ls && rs && ls.kind !== rs.kind) || shape.kind === 'scalar') return leaf(c, l, r, path);
  if (shape.kind === 'list') {
    const ll = Array.isArray(l) ? l : [];
    const rl = Array.isArray(r) ? r : [];
    if (shape.list.type === 'atomic' || (ll.length === 0 && rl.length === 0)) return leaf(c, l, r, path);
    const lItems = ll.length === 0 ? EMPTY : new Map(w.items(shape.list, ll, path));
    const rItems = rl.length === 0 ? EMPTY : new Map(w.items(shape.list, rl, path));
    for (const [pe, li] of lItems) {
      const ri = rItems.get(pe);
      // An unchanged item holds no change: skip the walk (most of a typical update).
      if (ri !== undefined && deepEqual(li, ri)) continue;
      path.push(pe);
      diff(w, c, li, ri, shape.list.elem, path);
      path.pop();
    }
    for (const [pe, ri] of rItems) {
      if (lItems.has(pe)) continue;
      path.push(pe);
      diff(w, c, undefined, ri, shape.list.elem, path);
      path.pop();
    }
  } else {
    const lm = isPlainObject(l) ? l : {};
    const rm = isPlainObject(r) ? r : {};
    if (shape.map.atomic || (isEmptyCollection(lm) && isEmptyCollection(rm))) return leaf(c, l, r, path);
    for (const key in lm) {
      const lv = lm[key];
      const rv = Object.hasOwn(rm, key) ? rm[key] : undefined;
      if (rv !== undefined && deepEqual(lv, rv)) continue;
      path.push(fieldElement(key));
      diff(w, c, lv, rv, w.schema.child(shape.map, key) ?? UNTYPED_DEDUCED, path);
      path.pop();
    }
    for (const key in rm) {
      if (Object.hasOwn(lm, key)) continue;
      path.push(fieldElement(key));
      diff(w, c, undefined, rm[key], w.schema.child(shape.map, key) ?? UNTYPED_DEDUCED, path);
      path.pop();
    }
  }
  if (path.length === 0) return;
  if (l === undefined) c.added.insert(path);
  else if (r === undefined) c.removed.insert(path);
}

const EMPTY: ReadonlyMap<PathElement, unknown> = new Map();

function leaf(c: Comparison, l: unknown, r: unknown, path: Path): void {
  if (l === undefined) c.added.insert(path);
  else if (r === undefined) c.removed.insert(path);
  else if (!deepEqual(l, r)) c.modified.insert(path);
}

/** The set widened so that each struct field with owned children is itself a member. */
export function withNamedFieldMembers(w: Walker, set: FieldSet, ref: TypeRef): FieldSet {
  const def = w.schema.resolve(ref);
  const out = new FieldSet();
  for (const m of set.members) out.members.add(m);
  for (const [pe, child] of set.children) {
    const p = parseElement(pe);
    let childRef: TypeRef = UNTYPED_DEDUCED;
    if (p.kind === 'field' && def.map) {
      childRef = w.schema.child(def.map, p.name) ?? UNTYPED_DEDUCED;
      if (w.schema.isField(def.map, p.name)) out.members.add(pe);
    } else if (p.kind !== 'field' && def.list) childRef = def.list.elem;
    out.children.set(pe, withNamedFieldMembers(w, child, childRef));
  }
  return out;
}
