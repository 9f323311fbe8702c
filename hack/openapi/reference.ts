// Loads the Kubernetes 1.33 reference data (../shared/reference) that hack/update-openapi reads.
// The shapes below cover only what the generator uses; JSON is narrowed here, once.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** A schema as it appears in swagger `definitions` (and in our output). */
export type Schema = JsonObject;

export interface SwaggerParameter {
  $ref?: string;
  name?: string;
  in?: string;
  schema?: Schema;
}

export interface SwaggerOperation {
  operationId?: string;
  consumes?: string[];
  parameters?: SwaggerParameter[];
  'x-kubernetes-action'?: string;
  'x-kubernetes-group-version-kind'?: GroupVersionKind;
}

/** The HTTP methods a swagger path item may hold, in swagger's order. */
export const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;
export type Method = (typeof METHODS)[number];

export type SwaggerPathItem = { parameters?: SwaggerParameter[] } & Partial<Record<Method, SwaggerOperation>>;

export interface Swagger {
  definitions: Record<string, Schema>;
  parameters: Record<string, SwaggerParameter>;
  paths: Record<string, SwaggerPathItem>;
}

export interface ApiGroup {
  name: string;
  versions: string[];
  preferredVersion: string;
}

export interface ApiSubresource {
  name: string;
  group: string;
  version: string;
  kind: string;
  verbs: string[];
  acceptsPath?: boolean;
}

export interface ApiResource {
  group: string;
  version: string;
  resource: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  categories: string[];
  subresources: ApiSubresource[];
  storageVersion: GroupVersionKind | null;
  storageVersionHash?: string;
  etcdKeyPrefix?: string;
}

export interface ApiResources {
  groups: ApiGroup[];
  resources: ApiResource[];
}

/** patch-meta.json: definition → field → facts; `$type` holds type-level markers. */
export interface FieldMeta {
  patchStrategy?: string;
  patchMergeKey?: string;
  listType?: string;
  listMapKeys?: string[];
  mapType?: string;
  structType?: string;
}
export type PatchMeta = Record<string, Record<string, FieldMeta>>;

/** structured-merge-diff schema (schema/builtin-types.yaml). */
export interface SmdTypeRef {
  namedType?: string;
  scalar?: string;
  list?: SmdList;
  map?: SmdMap;
  elementRelationship?: string;
}
export interface SmdList {
  elementType: SmdTypeRef;
  elementRelationship?: string;
  keys?: string[];
}
export interface SmdMap {
  fields?: SmdField[];
  elementType?: SmdTypeRef;
  elementRelationship?: string;
}
export interface SmdField {
  name: string;
  type: SmdTypeRef;
}
export interface SmdType {
  name: string;
  scalar?: string;
  list?: SmdList;
  map?: SmdMap;
}

export interface Reference {
  dir: string;
  swagger: Swagger;
  apiResources: ApiResources;
  patchMeta: PatchMeta;
  smdTypes: SmdType[];
}

/** `$K8TS_REFERENCE_DIR`, else `<repo>/../shared/reference`. */
export function referenceDir(repoRoot: string): string {
  return resolve(process.env.K8TS_REFERENCE_DIR ?? join(repoRoot, '..', 'shared', 'reference'));
}

export const REFERENCE_FILES = ['openapi-v2/swagger-v1.33.json', 'api-resources.json', 'patch-meta.json', 'schema/builtin-types.yaml'];

export function referencePresent(dir: string): boolean {
  return REFERENCE_FILES.every((f) => existsSync(join(dir, f)));
}

function readJson<T>(dir: string, file: string): T {
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as T;
}

export function loadReference(dir: string): Reference {
  const missing = REFERENCE_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) throw new Error(`reference data not found in ${dir}: missing ${missing.join(', ')}`);
  const patchMeta = readJson<PatchMeta>(dir, 'patch-meta.json');
  delete patchMeta._meta;
  const smd = parseYaml(readFileSync(join(dir, 'schema/builtin-types.yaml'), 'utf8')) as { types: SmdType[] };
  return {
    dir,
    swagger: readJson<Swagger>(dir, 'openapi-v2/swagger-v1.33.json'),
    apiResources: readJson<ApiResources>(dir, 'api-resources.json'),
    patchMeta,
    smdTypes: smd.types,
  };
}

/** Every `#/definitions/...` or `#/parameters/...` reference anywhere inside `value`. */
export function collectRefs(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.add(v);
      else collectRefs(v, out);
    }
  }
  return out;
}

export const DEFINITION_REF = '#/definitions/';
export const PARAMETER_REF = '#/parameters/';
