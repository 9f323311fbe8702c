// Strategic merge patch (application/strategic-merge-patch+json): JSON merge patch, except that
// the OpenAPI schema says per field how lists merge (x-kubernetes-patch-strategy / -merge-key),
// and the patch may carry directives:
//   $patch: replace | delete | merge        on a map, or as an element of a list of maps
//   $retainKeys: [keys]                     drop every key of the map not listed
//   $setElementOrder/<field>: [...]         the order of a merged list (merge keys or values)
//   $deleteFromPrimitiveList/<field>: [...] values to remove from a merged list of primitives
// Fields the schema does not know behave like RFC 7386: maps merge, null deletes, lists replace.
import { isPlainObject, cloneJson } from '../object.ts';
import { StatusError } from '../status.ts';
import { deepEqual } from './json-patch.ts';
import { fieldSchema, itemSchema, patchMeta, type PropertySchema, type SchemaLookup } from './schema.ts';

export { loadDefinitions, type Definition, type SchemaLookup } from './schema.ts';

type Obj = Record<string, unknown>;

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

const badRequest = (message: string): StatusError => new StatusError(400, 'BadRequest', message);
const invalid = (message: string): StatusError => new StatusError(422, 'Invalid', message);

/** Go's `%v`, so messages read like the upstream ones: `map[image:nginx ports:[80]]`. */
function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (isPlainObject(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${goFormat(v[k])}`).join(' ')}]`;
  return String(v);
}

const noMergeKey = (item: unknown, key: string): StatusError => invalid(`map: ${goFormat(item)} does not contain declared merge key: ${key}`);
const unknownDirective = (d: unknown, m: Obj): StatusError => badRequest(`unknown patch type: ${goFormat(d)} in map: ${goFormat(m)}`);
const has = (o: Obj, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/**
 * Applies a strategic merge patch to `original`, an object of the OpenAPI type `typeName`
 * (e.g. `io.k8s.api.apps.v1.Deployment`). Neither input is modified.
 */
export function applyStrategicMergePatch(original: unknown, patch: unknown, schema: SchemaLookup, typeName: string): unknown {
  if (!isPlainObject(patch)) throw badRequest('invalid JSON document: a strategic merge patch must be a JSON object');
  const root: PropertySchema = { $ref: `#/definitions/${typeName}` };
  const base = isPlainObject(original) ? cloneJson(original) : undefined;
  return new Merger(schema).map(base, cloneJson(patch), root) ?? {};
}

/** A merged list element and where it sat in the original list (-1: it came from the patch). */
interface Entry {
  value: unknown;
  origIndex: number;
}

/** What identifies a list element: its merge key value for maps, the value itself otherwise. */
function identity(v: unknown, mergeKey: string): unknown {
  if (mergeKey && isPlainObject(v)) return has(v, mergeKey) ? v[mergeKey] : undefined;
  return v;
}

function sameElement(a: unknown, b: unknown, mergeKey: string): boolean {
  const ia = identity(a, mergeKey);
  const ib = identity(b, mergeKey);
  return ia !== undefined && ib !== undefined && deepEqual(ia, ib);
}

/** 'map' or 'scalar' for a list's elements (undefined when empty); lists of lists are refused. */
function elementKind(list: unknown[]): 'map' | 'scalar' | undefined {
  let kind: 'map' | 'scalar' | undefined;
  for (const v of list) {
    if (Array.isArray(v)) throw invalid('lists of lists are not supported');
    const k = isPlainObject(v) ? 'map' : 'scalar';
    if (kind && kind !== k) throw invalid(`list element types are not identical: ${goFormat(list)}`);
    kind = k;
  }
  return kind;
}

/**
 * Puts merged entries in order, as upstream does: the elements named in `order` (the patch list,
 * or a $setElementOrder list) follow that order; the others keep their original relative order
 * and are interleaved by their position in the original list — a server-only element goes before
 * a patch element only when it came before it in the original list. So an element new to the list
 * lands ahead of the server-only elements still waiting (`kubectl patch` adding a container to a
 * one-container pod puts the new one first, as the kubectl patch task page shows).
 */
function arrange(entries: Entry[], order: unknown[], mergeKey: string): Entry[] {
  const rank = (e: Entry): number => order.findIndex((o) => sameElement(o, e.value, mergeKey));
  const named = entries.map((e) => ({ e, r: rank(e) })).filter((x) => x.r >= 0).sort((a, b) => a.r - b.r).map((x) => x.e);
  const others = entries.filter((e) => rank(e) < 0);
  const out: Entry[] = [];
  let i = 0;
  let j = 0;
  while (i < others.length || j < named.length) {
    const serverFirst = j >= named.length || (i < others.length && others[i].origIndex >= 0 && named[j].origIndex >= 0 && others[i].origIndex < named[j].origIndex);
    out.push(serverFirst ? others[i++] : named[j++]);
  }
  return out;
}

/** Checks that the patch list (directive elements aside) is a subsequence of the $setElementOrder list. */
function checkOrder(patchList: unknown[], order: unknown[], mergeKey: string): void {
  if (order.length === 0) return;
  let j = 0;
  for (const item of patchList) {
    if (isPlainObject(item) && has(item, DIRECTIVE)) continue;
    if (mergeKey && !(isPlainObject(item) && has(item, mergeKey))) throw noMergeKey(item, mergeKey);
    while (j < order.length && !sameElement(order[j], item, mergeKey)) j++;
    if (j === order.length) throw badRequest(`the order in patch list: ${goFormat(patchList)} doesn't match $setElementOrder list: ${goFormat(order)}`);
    j++;
  }
}

class Merger {
  readonly schema: SchemaLookup;
  constructor(schema: SchemaLookup) {
    this.schema = schema;
  }

  /**
   * Merges `patch` into `original` (which is ours to modify; undefined when there is none) and
   * returns the result, or undefined when the patch says `$patch: delete`.
   */
  map(original: Obj | undefined, patch: Obj, shape: PropertySchema | undefined): Obj | undefined {
    if (has(patch, DIRECTIVE)) {
      const { [DIRECTIVE]: directive, ...rest } = patch;
      if (directive === 'delete') return undefined;
      if (directive === 'replace') return this.map(undefined, rest, shape);
      if (directive !== 'merge') throw unknownDirective(directive, patch);
      patch = rest;
    }
    const out = original ?? {};
    this.retainKeys(out, patch);
    const ordered = this.setElementOrder(out, patch, shape);
    const deletions: [string, unknown][] = [];
    for (const [key, value] of Object.entries(patch)) {
      if (key === RETAIN_KEYS || key.startsWith(SET_ORDER) || ordered.has(key)) continue;
      if (key.startsWith(DELETE_FROM)) {
        deletions.push([key.slice(DELETE_FROM.length), value]);
        continue;
      }
      const merged = value === null ? undefined : this.value(out[key], value, fieldSchema(this.schema, shape, key));
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    }
    for (const [key, values] of deletions) {
      if (!Array.isArray(values)) throw badRequest('invalid patch format of primitive list');
      const list = out[key];
      if (Array.isArray(list)) out[key] = list.filter((v) => !values.some((d) => deepEqual(d, v)));
    }
    return out;
  }

  /** The new value of a field: `current` (undefined when absent) patched with `patch`. */
  private value(current: unknown, patch: unknown, field: PropertySchema | undefined): unknown {
    if (isPlainObject(patch)) {
      const replace = patchMeta(field).strategies.has('replace');
      return this.map(isPlainObject(current) && !replace ? current : undefined, patch, field);
    }
    if (Array.isArray(patch)) return this.list(Array.isArray(current) ? current : [], patch, field).map((e) => e.value);
    return patch;
  }

  /** Merges a list field according to its patch strategy; entries come back in upstream order. */
  private list(original: unknown[], patch: unknown[], field: PropertySchema | undefined): Entry[] {
    const { strategies, mergeKey } = patchMeta(field);
    if (!strategies.has('merge')) {
      // Replaced wholesale; remember where each element sat before for $setElementOrder.
      return patch.map((value) => ({ value, origIndex: original.findIndex((o) => sameElement(o, value, mergeKey)) }));
    }
    const kind = elementKind([...original, ...patch]);
    if (kind === undefined) return [];
    if (kind === 'scalar') {
      // A set: union without duplicates.
      const entries: Entry[] = [];
      const add = (value: unknown, origIndex: number): void => {
        if (!entries.some((e) => deepEqual(e.value, value))) entries.push({ value, origIndex });
      };
      original.forEach((v, i) => add(v, i));
      patch.forEach((v) => add(v, -1));
      return arrange(entries, patch, '');
    }
    if (!mergeKey) throw invalid('cannot merge lists of maps without a merge key');
    return this.mapList(original as Obj[], patch as Obj[], mergeKey, itemSchema(this.schema, field));
  }

  /** A list of maps merged by `mergeKey`. */
  private mapList(original: Obj[], patch: Obj[], mergeKey: string, items: PropertySchema | undefined): Entry[] {
    let entries: Entry[] = original.map((value, origIndex) => ({ value, origIndex }));
    const regular: Obj[] = [];
    let replace = false;
    for (const item of patch) {
      if (!has(item, DIRECTIVE)) {
        regular.push(item);
        continue;
      }
      const directive = item[DIRECTIVE];
      if (directive === 'delete') {
        if (!has(item, mergeKey)) throw noMergeKey(item, mergeKey);
        entries = entries.filter((e) => !sameElement(e.value, item, mergeKey));
      } else if (directive === 'replace') {
        replace = true;
      } else if (directive === 'merge') {
        if (Object.keys(item).length > 1) regular.push(item);
      } else {
        throw unknownDirective(directive, item);
      }
    }
    if (replace) entries = [];
    for (const item of regular) {
      if (!has(item, mergeKey)) throw noMergeKey(item, mergeKey);
      const hit = entries.find((e) => sameElement(e.value, item, mergeKey));
      if (hit) hit.value = this.map(hit.value as Obj, item, items) ?? {};
      else entries.push({ value: this.map(undefined, item, items) ?? {}, origIndex: -1 });
    }
    return arrange(entries, replace ? [] : regular, mergeKey);
  }

  /** `$retainKeys`: every key of the map not listed goes (upstream applies it whatever the field's strategy). */
  private retainKeys(out: Obj, patch: Obj): void {
    if (!has(patch, RETAIN_KEYS)) return;
    const keep = patch[RETAIN_KEYS];
    if (!Array.isArray(keep)) throw badRequest('invalid patch format of retainKeys');
    for (const [key, value] of Object.entries(patch)) {
      if (value === null || key === RETAIN_KEYS || key.startsWith(SET_ORDER) || key.startsWith(DELETE_FROM)) continue;
      if (!keep.includes(key)) throw invalid("patch content doesn't match retainKeys list");
    }
    for (const key of Object.keys(out)) if (!keep.includes(key)) delete out[key];
  }

  /**
   * `$setElementOrder/<field>`: merges the field's patch list (if any) and puts the result in the
   * directive's order. Returns the fields it handled so the main loop skips them.
   */
  private setElementOrder(out: Obj, patch: Obj, shape: PropertySchema | undefined): Set<string> {
    const handled = new Set<string>();
    for (const [key, order] of Object.entries(patch)) {
      if (!key.startsWith(SET_ORDER)) continue;
      if (!Array.isArray(order)) throw badRequest('invalid patch format of setElementOrder list');
      const name = key.slice(SET_ORDER.length);
      const patchList = patch[name];
      if (patchList === null) continue; // the field itself is being deleted
      if (patchList !== undefined && !Array.isArray(patchList)) throw badRequest('invalid patch format of setElementOrder list');
      const current = Array.isArray(out[name]) ? (out[name] as unknown[]) : undefined;
      if (!current && !patchList) continue;
      const field = fieldSchema(this.schema, shape, name);
      const { mergeKey } = patchMeta(field);
      if (mergeKey) for (const o of order) if (!isPlainObject(o) || !has(o, mergeKey)) throw noMergeKey(o, mergeKey);
      if (patchList) checkOrder(patchList, order, mergeKey);
      const entries = patchList ? this.list(current ?? [], patchList, field) : (current ?? []).map((value, origIndex) => ({ value, origIndex }));
      out[name] = arrange(entries, order, mergeKey).map((e) => e.value);
      handled.add(name);
    }
    return handled;
  }
}
