// The slice of the OpenAPI (swagger v2) definitions that strategic merge patch needs: which
// fields exist, what type each holds, and the x-kubernetes-patch-* extensions on list and map fields.
import { readFileSync } from 'node:fs';
import { isPlainObject } from '../object.ts';
import { internalError } from '../status.ts';

/** One property (or `items` / `additionalProperties`) schema. */
export interface PropertySchema {
  type?: string;
  format?: string;
  $ref?: string;
  items?: PropertySchema;
  additionalProperties?: PropertySchema | boolean;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  [extension: string]: unknown;
}

/** A named definition, e.g. `io.k8s.api.core.v1.PodSpec`. */
export interface Definition extends PropertySchema {
  properties?: Record<string, PropertySchema>;
  required?: string[];
}

export interface SchemaLookup {
  definition(name: string): Definition | undefined;
}

/** How a list or map field is patched, read from its property schema. */
export interface PatchMeta {
  strategies: ReadonlySet<string>;
  mergeKey: string;
}

const REF_PREFIX = '#/definitions/';

/** A lookup over an in-memory `{ name: definition }` object. */
export function definitionsLookup(definitions: Record<string, Definition>): SchemaLookup {
  return { definition: (name) => (Object.prototype.hasOwnProperty.call(definitions, name) ? definitions[name] : undefined) };
}

/** Follows `$ref`s to the schema that describes the value itself; undefined when unknown. */
export function resolve(schema: SchemaLookup, s: PropertySchema | undefined): Definition | undefined {
  for (let depth = 0; s && typeof s.$ref === 'string' && depth < 16; depth++) {
    s = s.$ref.startsWith(REF_PREFIX) ? schema.definition(s.$ref.slice(REF_PREFIX.length)) : undefined;
  }
  return s;
}

/** The property schema of `key` inside an object described by `parent` (struct field or map value). */
export function fieldSchema(schema: SchemaLookup, parent: PropertySchema | undefined, key: string): PropertySchema | undefined {
  const p = resolve(schema, parent);
  if (!p) return undefined;
  if (p.properties && Object.prototype.hasOwnProperty.call(p.properties, key)) return p.properties[key];
  if (isPlainObject(p.additionalProperties)) return p.additionalProperties as PropertySchema;
  return undefined;
}

/** The schema of the elements of a list field. */
export function itemSchema(schema: SchemaLookup, list: PropertySchema | undefined): PropertySchema | undefined {
  return resolve(schema, list)?.items;
}

export function patchMeta(field: PropertySchema | undefined): PatchMeta {
  const raw = field?.['x-kubernetes-patch-strategy'];
  const strategies = new Set(typeof raw === 'string' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : []);
  const key = field?.['x-kubernetes-patch-merge-key'];
  return { strategies, mergeKey: typeof key === 'string' ? key : '' };
}

const loaded = new Map<string, SchemaLookup>();

/**
 * The definitions in `openapi/definitions.json` (either `{ definitions: {...} }` or the bare
 * name → definition object). The file is read on the first lookup and kept for the process.
 */
const DEFAULT_DEFINITIONS = new URL('../../../openapi/definitions.json', import.meta.url);

export function loadDefinitions(file: URL = DEFAULT_DEFINITIONS): SchemaLookup {
  const cached = loaded.get(file.href);
  if (cached) return cached;
  let defs: Record<string, Definition> | undefined;
  const read = (): Record<string, Definition> => {
    if (defs) return defs;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw internalError(`cannot load OpenAPI definitions from ${file.pathname}: ${(e as Error).message}`);
    }
    if (!isPlainObject(parsed)) throw internalError(`OpenAPI definitions in ${file.pathname} are not an object`);
    defs = (isPlainObject(parsed.definitions) ? parsed.definitions : parsed) as Record<string, Definition>;
    return defs;
  };
  let inner: SchemaLookup | undefined;
  const lookup: SchemaLookup = { definition: (name) => (inner ??= definitionsLookup(read())).definition(name) };
  loaded.set(file.href, lookup);
  return lookup;
}
