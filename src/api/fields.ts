// Unknown and duplicate fields: what `fieldValidation=Strict|Warn|Ignore` reports. Unknown fields
// are always dropped before an object is stored, as decoding into the typed object does upstream.
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { isPlainObject } from './object.ts';
import { resolve, type PropertySchema, type SchemaLookup } from './patch/schema.ts';

/** Removes fields the schema does not know from `value` (in place); returns their paths. */
export function pruneUnknownFields(value: unknown, schema: SchemaLookup, typeName: string): string[] {
  const unknown: string[] = [];
  walk(value, { $ref: `#/definitions/${typeName}` }, schema, [], unknown);
  return unknown;
}

/** A path's spelling, `spec.containers[0].name`; only made for an unknown field. */
function spell(path: string[], field: string): string {
  const head = path.join('');
  if (head === '') return field;
  return `${head.startsWith('.') ? head.slice(1) : head}.${field}`;
}

// The path is a stack of steps (`.field`, `[i]` or `[key]`), pushed and popped as the walk
// goes: no string is built for the fields that are known, which are nearly all of them.
function walk(value: unknown, s: PropertySchema | undefined, schema: SchemaLookup, path: string[], unknown: string[]): void {
  const def = resolve(schema, s);
  if (!def || def['x-kubernetes-preserve-unknown-fields']) return;
  if (Array.isArray(value)) {
    if (!def.items) return;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v === null || typeof v !== 'object') continue;
      path.push(`[${i}]`);
      walk(v, def.items, schema, path, unknown);
      path.pop();
    }
    return;
  }
  if (!isPlainObject(value)) return;
  if (def.properties) {
    for (const key in value) {
      const prop = Object.hasOwn(def.properties, key) ? def.properties[key] : undefined;
      if (prop === undefined) {
        unknown.push(spell(path, key));
        delete value[key];
        continue;
      }
      const v = value[key];
      if (v === null || typeof v !== 'object') continue;
      path.push(`.${key}`);
      walk(v, prop, schema, path, unknown);
      path.pop();
    }
    return;
  }
  if (isPlainObject(def.additionalProperties)) {
    for (const key in value) {
      const v = value[key];
      if (v === null || typeof v !== 'object') continue;
      path.push(`[${key}]`);
      walk(v, def.additionalProperties as PropertySchema, schema, path, unknown);
      path.pop();
    }
  }
}

/** How many object keys a parsed JSON value holds, nested ones included. */
function keyCount(v: unknown, depth = 0): number {
  if (depth > 1000) return Infinity;
  if (Array.isArray(v)) {
    let n = 0;
    for (const x of v) if (x !== null && typeof x === 'object') n += keyCount(x, depth + 1);
    return n;
  }
  if (v === null || typeof v !== 'object') return 0;
  let n = 0;
  for (const k in v) {
    n++;
    const x = (v as Record<string, unknown>)[k];
    if (x !== null && typeof x === 'object') n += keyCount(x, depth + 1);
  }
  return n;
}

/** How many keys the JSON text spells out: strings followed by a colon. */
function keyTokens(text: string): number {
  let n = 0;
  const len = text.length;
  for (let i = 0; i < len; i++) {
    if (text.charCodeAt(i) !== 34) continue; // "
    for (i++; i < len; i++) {
      const c = text.charCodeAt(i);
      if (c === 92) i++; // backslash
      else if (c === 34) break;
    }
    let j = i + 1;
    while (j < len) {
      const c = text.charCodeAt(j);
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
      j++;
    }
    if (text.charCodeAt(j) === 58) n++; // :
  }
  return n;
}

/**
 * Duplicate keys in valid JSON text, given its parsed value: JSON.parse keeps one property per
 * key, so when the text spells out no more keys than the value holds there is none and the
 * (slower) scanner that names them is not run.
 */
export function duplicateKeysOf(text: string, parsed: unknown): string[] {
  return keyTokens(text) === keyCount(parsed) ? [] : duplicateJsonKeys(text);
}

/**
 * Paths of keys that appear twice in the same JSON object (JSON.parse silently keeps the last).
 * A small scanner over the text; it assumes the text is valid JSON (parse it first).
 */
export function duplicateJsonKeys(text: string): string[] {
  const dups: string[] = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string, depth: number): void => {
    if (depth > 1000) throw new Error('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        const key = str();
        const p = path ? `${path}.${key}` : key;
        if (seen.has(key)) dups.push(p);
        seen.add(key);
        ws();
        i++; // :
        value(p, depth + 1);
        ws();
        if (text[i++] === '}') return;
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`, depth + 1);
        ws();
        if (text[i++] === ']') return;
      }
    } else if (c === '"') str();
    else while (i < text.length && !',]} \n\r\t'.includes(text[i])) i++;
  };
  value('', 0);
  return dups;
}

/** Paths of keys that appear twice in the same mapping of a YAML document (the parsed value keeps the last). */
export function duplicateYamlKeys(text: string): string[] {
  const dups: string[] = [];
  const walk = (n: unknown, path: string, depth: number): void => {
    if (depth > 1000) return;
    if (isMap(n)) {
      const seen = new Set<string>();
      for (const item of n.items) {
        const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
        const p = path ? `${path}.${key}` : key;
        if (seen.has(key)) dups.push(p);
        seen.add(key);
        walk(item.value, p, depth + 1);
      }
    } else if (isSeq(n)) n.items.forEach((x, i) => walk(x, `${path}[${i}]`, depth + 1));
  };
  walk(parseDocument(text, { uniqueKeys: false }).contents, '', 0);
  return dups;
}
