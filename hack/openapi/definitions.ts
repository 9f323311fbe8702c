// openapi/definitions.json: the swagger definitions a default server's paths reach, reduced to
// facts (types, formats, references, required fields, list/map/patch extensions, kinds). No prose.
import { collectRefs, DEFINITION_REF, PARAMETER_REF, type Json, type JsonObject, type Reference, type Schema } from './reference.ts';
import { isServedPath } from './paths.ts';

/** Kept on definitions and on property/items/additionalProperties schemas; everything else is dropped. */
const SCHEMA_KEYS = new Set([
  '$ref',
  'type',
  'format',
  'items',
  'additionalProperties',
  'enum',
  'default',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-patch-strategy',
  'x-kubernetes-patch-merge-key',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-unions',
]);
const DEFINITION_KEYS = new Set([...SCHEMA_KEYS, 'properties', 'required', 'x-kubernetes-group-version-kind']);
/** Dropped on purpose: upstream prose. */
const PROSE_KEYS = new Set(['description']);

/** Meta types the server answers with even where no served path names them. */
export const META_DEFINITIONS = [
  'APIGroup',
  'APIGroupList',
  'APIResourceList',
  'APIVersions',
  'DeleteOptions',
  'PartialObjectMetadata',
  'PartialObjectMetadataList',
  'Status',
  'Table',
  'WatchEvent',
].map((kind) => `io.k8s.apimachinery.pkg.apis.meta.v1.${kind}`);

export interface DefinitionsResult {
  definitions: Record<string, Schema>;
  /** Keys other than prose found in the swagger and not carried over, with a count each. */
  droppedKeys: Map<string, number>;
  /** Type-level markers patch-meta.json added where the swagger had none. */
  addedTypeMarkers: string[];
  problems: string[];
}

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
  return out;
}

function compactSchema(schema: Schema, allowed: ReadonlySet<string>, dropped: Map<string, number>): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!allowed.has(key)) {
      if (!PROSE_KEYS.has(key)) dropped.set(key, (dropped.get(key) ?? 0) + 1);
      continue;
    }
    if ((key === 'items' || key === 'additionalProperties') && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      out[key] = compactSchema(value, SCHEMA_KEYS, dropped);
    } else if (key === 'properties' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const props: JsonObject = {};
      for (const [name, prop] of Object.entries(value)) props[name] = compactSchema(prop as Schema, SCHEMA_KEYS, dropped);
      out[key] = props;
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** Definition names reachable from the served paths plus the meta types. */
function reachableDefinitions(ref: Reference, servedGroupVersions: ReadonlySet<string>, extraRoots: Iterable<string>): Set<string> {
  const { swagger } = ref;
  const pending: string[] = [];
  const enqueueRefs = (value: unknown): void => {
    for (const r of collectRefs(value)) {
      if (r.startsWith(DEFINITION_REF)) pending.push(r.slice(DEFINITION_REF.length));
      else if (r.startsWith(PARAMETER_REF)) enqueueRefs(swagger.parameters[r.slice(PARAMETER_REF.length)]);
    }
  };
  for (const [path, item] of Object.entries(swagger.paths)) if (isServedPath(path, servedGroupVersions)) enqueueRefs(item);
  pending.push(...META_DEFINITIONS.filter((name) => swagger.definitions[name]), ...extraRoots);

  const seen = new Set<string>();
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (seen.has(name) || !swagger.definitions[name]) continue;
    seen.add(name);
    enqueueRefs(swagger.definitions[name]);
  }
  return seen;
}

export function buildDefinitions(ref: Reference, servedGroupVersions: ReadonlySet<string>, extraRoots: Iterable<string>): DefinitionsResult {
  const problems: string[] = [];
  const droppedKeys = new Map<string, number>();
  const addedTypeMarkers: string[] = [];
  const definitions: Record<string, Schema> = {};
  for (const name of [...reachableDefinitions(ref, servedGroupVersions, extraRoots)].sort()) {
    const def = compactSchema(ref.swagger.definitions[name], DEFINITION_KEYS, droppedKeys);
    // +structType / +mapType on the type itself, as OpenAPI writes it.
    const typeMeta = ref.patchMeta[name]?.$type;
    const marker = typeMeta?.structType ?? typeMeta?.mapType;
    if (marker !== undefined) {
      const have = def['x-kubernetes-map-type'];
      if (have === undefined) {
        def['x-kubernetes-map-type'] = marker;
        addedTypeMarkers.push(name);
      } else if (have !== marker) {
        problems.push(`${name}: swagger x-kubernetes-map-type ${JSON.stringify(have)}, patch-meta.json $type ${JSON.stringify(marker)}`);
      }
    }
    definitions[name] = sortKeys(def) as Schema;
  }
  for (const name of Object.keys(definitions)) {
    for (const r of collectRefs(definitions[name])) {
      if (!r.startsWith(DEFINITION_REF) || !definitions[r.slice(DEFINITION_REF.length)]) problems.push(`${name}: unresolved $ref ${r}`);
    }
  }
  return { definitions, droppedKeys, addedTypeMarkers, problems };
}
