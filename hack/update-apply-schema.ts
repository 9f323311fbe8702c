// hack/update-apply-schema.ts [--out FILE]: regenerates openapi/apply-schema.json, the compact
// server-side apply schema that src/api/apply reads, from the structured-merge-diff schema of the
// 1.33 built-in types in ../shared/reference/schema/builtin-types.yaml ($K8TS_REFERENCE_DIR
// overrides). Kinds and types that file lacks (CRDs, APIService, Scale, the review kinds) are
// derived from openapi/definitions.json with SMD's rules. Facts only: no descriptions.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  BUILTIN_TYPES,
  UNTYPED_ATOMIC,
  UNTYPED_DEDUCED,
  type ApplySchemaFile,
  type FieldDef,
  type KindInfo,
  type ListDef,
  type MapDef,
  type TypeDef,
  type TypeRef,
} from '../src/api/apply/schema.ts';
import { deepEqual } from '../src/api/apply/value.ts';
import { formatJson } from './openapi/format.ts';
import { referenceDir } from './openapi/reference.ts';
import type { SmdField, SmdList, SmdMap, SmdType, SmdTypeRef } from './openapi/reference.ts';

interface SwaggerSchema {
  $ref?: string;
  type?: string;
  format?: string;
  items?: SwaggerSchema;
  additionalProperties?: SwaggerSchema | boolean;
  properties?: Record<string, SwaggerSchema>;
  required?: string[];
  default?: unknown;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
}
interface Resource {
  group: string;
  version: string;
  kind: string;
  definition: string | null;
  subresources: { name: string; group: string; version: string; kind: string; verbs: string[] }[];
}

const REF = '#/definitions/';
const WRITE_VERBS = ['create', 'update', 'patch'];
const apiVersionOf = (group: string, version: string): string => (group ? `${group}/${version}` : version);

/** Replaces an inline type that spells out one of SMD's built-in fallbacks with its name. */
function canonical(def: TypeDef): TypeRef {
  for (const [name, builtin] of Object.entries(BUILTIN_TYPES)) if (deepEqual(def, builtin)) return name;
  return def;
}

// ---- builtin-types.yaml → our shapes ----

function fromSmdRef(r: SmdTypeRef): TypeRef {
  if (r.namedType) return r.elementRelationship ? { named: r.namedType, atomic: r.elementRelationship === 'atomic' } : r.namedType;
  if (r.scalar && !r.list && !r.map) return r.scalar;
  return canonical(fromSmdType(r));
}

function fromSmdList(l: SmdList): ListDef {
  const type = l.elementRelationship === 'associative' ? (l.keys && l.keys.length > 0 ? 'map' : 'set') : 'atomic';
  return { elem: fromSmdRef(l.elementType), type, ...(type === 'map' ? { keys: l.keys } : {}) };
}

function fromSmdMap(m: SmdMap): MapDef {
  const out: MapDef = {};
  if (m.fields) {
    out.fields = {};
    for (const f of [...(m.fields as (SmdField & { default?: unknown })[])].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const field: FieldDef = { type: fromSmdRef(f.type) };
      if (f.default !== undefined) field.default = f.default;
      out.fields[f.name] = field;
    }
  }
  if (m.elementType) out.elem = fromSmdRef(m.elementType);
  if (m.elementRelationship === 'atomic') out.atomic = true;
  return out;
}

function fromSmdType(t: { scalar?: string; list?: SmdList; map?: SmdMap }): TypeDef {
  const def: TypeDef = {};
  if (t.scalar) def.scalar = t.scalar as TypeDef['scalar'];
  if (t.list) def.list = fromSmdList(t.list);
  if (t.map) def.map = fromSmdMap(t.map);
  return def;
}

// ---- definitions.json → our shapes (SMD's OpenAPI rules) ----

function listRelationship(s: SwaggerSchema): Pick<ListDef, 'type' | 'keys'> {
  const listType = s['x-kubernetes-list-type'];
  if (listType === 'map') return { type: 'map', keys: s['x-kubernetes-list-map-keys'] ?? [] };
  if (listType === 'set') return { type: 'set' };
  if (listType !== undefined) return { type: 'atomic' };
  const strategy = s['x-kubernetes-patch-strategy'];
  if (strategy === 'merge' || strategy === 'merge,retainKeys') {
    const key = s['x-kubernetes-patch-merge-key'];
    return key ? { type: 'map', keys: [key] } : { type: 'set' };
  }
  return { type: 'atomic' };
}

class Builder {
  readonly types: Record<string, TypeDef> = {};
  readonly derived: string[] = [];
  private readonly smd: Map<string, SmdType>;
  private readonly definitions: Record<string, SwaggerSchema>;

  constructor(smd: SmdType[], definitions: Record<string, SwaggerSchema>) {
    this.smd = new Map(smd.map((t) => [t.name, t]));
    this.definitions = definitions;
  }

  /** Adds `name` and every type it reaches. */
  add(name: string): void {
    if (Object.hasOwn(this.types, name) || Object.hasOwn(BUILTIN_TYPES, name)) return;
    const smd = this.smd.get(name);
    let def: TypeDef;
    if (smd) def = fromSmdType(smd);
    else {
      def = this.derive(name);
      this.derived.push(name);
    }
    this.markRequired(name, def);
    this.types[name] = def;
    for (const ref of refsOf(def)) this.add(ref);
  }

  /** Records which struct fields Go always encodes (swagger `required`), for zero objects. */
  private markRequired(name: string, def: TypeDef): void {
    const required = this.definitions[name]?.required ?? [];
    for (const f of required) if (def.map?.fields && Object.hasOwn(def.map.fields, f)) def.map.fields[f].required = true;
  }

  private derive(name: string): TypeDef {
    const s = this.definitions[name];
    if (!s) throw new Error(`type ${name} is in neither builtin-types.yaml nor openapi/definitions.json`);
    if (s.properties) {
      const fields: Record<string, FieldDef> = {};
      const required = new Set(s.required ?? []);
      for (const key of Object.keys(s.properties).sort()) {
        const prop = s.properties[key];
        const field: FieldDef = { type: this.propRef(prop) };
        if (prop.default !== undefined) field.default = prop.default;
        // A required field of struct type is a non-pointer struct: Go encodes its zero value.
        else if (required.has(key) && prop.$ref && this.definitions[prop.$ref.slice(REF.length)]?.properties) field.default = {};
        fields[key] = field;
      }
      return { map: { fields, ...(s['x-kubernetes-map-type'] === 'atomic' ? { atomic: true as const } : {}) } };
    }
    const ref = this.propRef(s);
    return typeof ref === 'string' ? (Object.hasOwn(BUILTIN_TYPES, ref) ? structuredClone(BUILTIN_TYPES[ref]) : { scalar: ref as TypeDef['scalar'] }) : (ref as TypeDef);
  }

  private propRef(s: SwaggerSchema): TypeRef {
    if (s.$ref) return s.$ref.slice(REF.length);
    if (s['x-kubernetes-int-or-string'] || s.format === 'int-or-string') return 'untyped';
    switch (s.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'numeric';
      case 'boolean':
        return 'boolean';
      case 'array':
        return { list: { elem: s.items ? this.propRef(s.items) : UNTYPED_ATOMIC, ...listRelationship(s) } };
      case 'object':
        if (typeof s.additionalProperties === 'object') {
          return { map: { elem: this.propRef(s.additionalProperties), ...(s['x-kubernetes-map-type'] === 'atomic' ? { atomic: true as const } : {}) } };
        }
    }
    return s['x-kubernetes-preserve-unknown-fields'] ? UNTYPED_DEDUCED : UNTYPED_ATOMIC;
  }
}

const SCALAR_NAMES = new Set(['string', 'numeric', 'boolean', 'untyped']);

/** The named types a type reference reaches directly. */
function refsOfRef(r: TypeRef, out: string[]): void {
  if (typeof r === 'string') {
    if (!SCALAR_NAMES.has(r)) out.push(r);
  } else if ('named' in r) out.push(r.named);
  else refsOf(r, out);
}

function refsOf(def: TypeDef, out: string[] = []): string[] {
  if (def.list) refsOfRef(def.list.elem, out);
  if (def.map?.elem !== undefined) refsOfRef(def.map.elem, out);
  for (const f of Object.values(def.map?.fields ?? {})) refsOfRef(f.type, out);
  return out;
}

function generateApplySchema(smd: SmdType[], definitions: Record<string, SwaggerSchema>, resources: Resource[]): { json: string; summary: string[] } {
  const builder = new Builder(smd, definitions);
  const kinds: Record<string, Record<string, KindInfo>> = {};
  const put = (apiVersion: string, kind: string, info: KindInfo): void => {
    (kinds[apiVersion] ??= {})[kind] = { ...kinds[apiVersion]?.[kind], ...info };
    builder.add(info.type);
  };
  const byGvk = new Map<string, string>();
  for (const [name, s] of Object.entries(definitions)) {
    for (const g of s['x-kubernetes-group-version-kind'] ?? []) byGvk.set(`${apiVersionOf(g.group, g.version)} ${g.kind}`, name);
  }
  for (const r of resources) {
    if (r.definition === null) continue;
    const status = r.subresources.some((s) => s.name === 'status');
    put(apiVersionOf(r.group, r.version), r.kind, { type: r.definition, ...(status ? { status: true as const } : {}) });
    for (const sub of r.subresources) {
      if (!sub.verbs.some((v) => WRITE_VERBS.includes(v))) continue;
      const apiVersion = apiVersionOf(sub.group, sub.version);
      const type = byGvk.get(`${apiVersion} ${sub.kind}`);
      // Connect subresources (exec, proxy...) take option kinds that are never stored.
      if (!type) continue;
      if (!kinds[apiVersion]?.[sub.kind]) put(apiVersion, sub.kind, { type });
    }
  }
  const sortedKinds: Record<string, Record<string, KindInfo>> = {};
  for (const av of Object.keys(kinds).sort()) {
    sortedKinds[av] = {};
    for (const k of Object.keys(kinds[av]).sort()) sortedKinds[av][k] = kinds[av][k];
  }
  const types: Record<string, TypeDef> = {};
  for (const name of Object.keys(builder.types).sort()) types[name] = builder.types[name];
  const file: ApplySchemaFile = { kinds: sortedKinds, types };
  const kindCount = Object.values(sortedKinds).reduce((n, k) => n + Object.keys(k).length, 0);
  return {
    json: formatJson(file, 5),
    summary: [
      `kinds: ${kindCount} in ${Object.keys(sortedKinds).length} group-versions`,
      `types: ${Object.keys(types).length} (${Object.keys(types).length - builder.derived.length} from builtin-types.yaml, ${builder.derived.length} derived from openapi/definitions.json)`,
    ],
  };
}

{
  const repoRoot = dirname(import.meta.dirname);
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  if (args.length !== (outAt >= 0 ? 2 : 0) || (outAt >= 0 && !args[outAt + 1])) {
    console.error('usage: hack/update-apply-schema.ts [--out FILE]');
    process.exit(2);
  }
  const out = outAt >= 0 ? resolve(args[outAt + 1]) : join(repoRoot, 'openapi', 'apply-schema.json');
  const refDir = referenceDir(repoRoot);
  let yamlText: string;
  try {
    yamlText = readFileSync(join(refDir, 'schema', 'builtin-types.yaml'), 'utf8');
  } catch {
    console.error(`reference data not found in ${refDir} (set K8TS_REFERENCE_DIR)`);
    process.exit(2);
  }
  const smd = (parseYaml(yamlText) as { types: SmdType[] }).types;
  const definitions = JSON.parse(readFileSync(join(repoRoot, 'openapi', 'definitions.json'), 'utf8')) as Record<string, SwaggerSchema>;
  const resources = (JSON.parse(readFileSync(join(repoRoot, 'openapi', 'resources.json'), 'utf8')) as { resources: Resource[] }).resources;
  const result = generateApplySchema(smd, definitions, resources);
  writeFileSync(out, result.json);
  for (const line of result.summary) console.log(line);
  console.log(`wrote ${out}`);
}
