// Cross-checks the list/map/patch facts of the generated definitions against patch-meta.json
// (Go markers and struct tags) and schema/builtin-types.yaml (the server-side apply schema).
import type { FieldMeta, PatchMeta, Schema, SmdType, SmdTypeRef } from './reference.ts';

export interface CheckResult {
  compared: number;
  mismatches: string[];
}

type Props = Record<string, Schema>;
const propsOf = (def: Schema): Props => (def.properties ?? {}) as Props;

const SWAGGER_FOR: Record<keyof FieldMeta, string> = {
  patchStrategy: 'x-kubernetes-patch-strategy',
  patchMergeKey: 'x-kubernetes-patch-merge-key',
  listType: 'x-kubernetes-list-type',
  listMapKeys: 'x-kubernetes-list-map-keys',
  mapType: 'x-kubernetes-map-type',
  structType: 'x-kubernetes-map-type',
};

/** The patch-meta view of a swagger property. */
function swaggerFieldMeta(prop: Schema): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['patchStrategy', 'patchMergeKey', 'listType', 'listMapKeys', 'mapType'] as const) {
    const v = prop[SWAGGER_FOR[key]];
    if (v !== undefined) out[key] = JSON.stringify(v);
  }
  return out;
}

function patchFieldMeta(meta: FieldMeta): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(meta)) out[key === 'structType' ? 'mapType' : key] = JSON.stringify(v);
  return out;
}

export function checkPatchMeta(definitions: Record<string, Schema>, patchMeta: PatchMeta): CheckResult {
  const mismatches: string[] = [];
  let compared = 0;
  for (const [name, def] of Object.entries(definitions)) {
    const props = propsOf(def);
    const meta = patchMeta[name] ?? {};
    const fields = new Set([...Object.keys(meta).filter((f) => f !== '$type'), ...Object.keys(props).filter((f) => Object.keys(swaggerFieldMeta(props[f])).length > 0)]);
    for (const field of [...fields].sort()) {
      if (!props[field]) {
        mismatches.push(`${name}.${field}: in patch-meta.json, not a swagger property`);
        continue;
      }
      const want = patchFieldMeta(meta[field] ?? {});
      const have = swaggerFieldMeta(props[field]);
      for (const key of new Set([...Object.keys(want), ...Object.keys(have)])) {
        compared++;
        if (want[key] !== have[key]) mismatches.push(`${name}.${field} ${key}: patch-meta.json ${want[key] ?? 'unset'}, swagger ${have[key] ?? 'unset'}`);
      }
    }
  }
  return { compared, mismatches };
}

interface Semantics {
  list?: string;
  map?: string;
}

const mapSemantics = (atomic: boolean): string => (atomic ? 'atomic' : 'granular');

/**
 * List and map semantics as server-side apply sees them. Inline maps default to granular; a
 * reference to a named type says nothing unless the field overrides the type's own marker.
 */
function smdSemantics(t: SmdTypeRef): Semantics {
  if (t.list) {
    const rel = t.list.elementRelationship ?? 'atomic';
    if (rel !== 'associative') return { list: rel };
    return { list: t.list.keys && t.list.keys.length > 0 ? `map${JSON.stringify(t.list.keys)}` : 'set' };
  }
  if (t.map) return { map: mapSemantics(t.map.elementRelationship === 'atomic') };
  if (t.namedType && t.elementRelationship !== undefined) return { map: mapSemantics(t.elementRelationship === 'atomic') };
  return {};
}

function swaggerSemantics(prop: Schema): Semantics {
  const out: Semantics = {};
  const mapType = prop['x-kubernetes-map-type'];
  if (prop.type === 'array') {
    const listType = (prop['x-kubernetes-list-type'] as string | undefined) ?? 'atomic';
    out.list = listType === 'map' ? `map${JSON.stringify(prop['x-kubernetes-list-map-keys'] ?? [])}` : listType;
  } else if (prop.type === 'object') {
    out.map = mapSemantics(mapType === 'atomic');
  } else if (prop.$ref !== undefined && mapType !== undefined) {
    out.map = mapSemantics(mapType === 'atomic');
  }
  return out;
}

export function checkBuiltinTypes(definitions: Record<string, Schema>, types: readonly SmdType[]): CheckResult & { fieldSetDiffs: string[]; typesCompared: number } {
  const mismatches: string[] = [];
  const fieldSetDiffs: string[] = [];
  let compared = 0;
  let typesCompared = 0;
  for (const t of types) {
    const def = definitions[t.name];
    if (!def || !t.map?.fields) continue;
    typesCompared++;
    compared++;
    const typeAtomic = t.map.elementRelationship === 'atomic';
    if (typeAtomic !== (def['x-kubernetes-map-type'] === 'atomic')) {
      mismatches.push(`${t.name}: builtin-types ${typeAtomic ? 'atomic' : 'granular'}, swagger x-kubernetes-map-type ${JSON.stringify(def['x-kubernetes-map-type'] ?? 'unset')}`);
    }
    const props = propsOf(def);
    const smdFields = new Set(t.map.fields.map((f) => f.name));
    for (const p of Object.keys(props)) if (!smdFields.has(p)) fieldSetDiffs.push(`${t.name}.${p}: swagger only`);
    for (const f of t.map.fields) {
      const prop = props[f.name];
      if (!prop) {
        fieldSetDiffs.push(`${t.name}.${f.name}: builtin-types only`);
        continue;
      }
      const want = smdSemantics(f.type);
      const have = swaggerSemantics(prop);
      for (const key of ['list', 'map'] as const) {
        if (want[key] === undefined && have[key] === undefined) continue;
        compared++;
        if (want[key] !== have[key]) mismatches.push(`${t.name}.${f.name} ${key}: builtin-types ${want[key] ?? 'n/a'}, swagger ${have[key] ?? 'n/a'}`);
      }
    }
  }
  return { compared, mismatches, fieldSetDiffs, typesCompared };
}
