// The server-side apply type schema: which fields a kind has, and how each list, map and struct
// merges (atomic, set, keyed map, granular). Read once from openapi/apply-schema.json, which
// hack/update-apply-schema generates; unknown kinds and unknown fields fall back to "deduced".
import { readFileSync } from 'node:fs';
import { isPlainObject } from '../object.ts';
import { internalError } from '../status.ts';

export type ScalarKind = 'string' | 'numeric' | 'boolean' | 'untyped';

/** A list: `atomic` is replaced whole, `set` holds unique scalars, `map` is keyed by `keys`. */
export interface ListDef {
  elem: TypeRef;
  type: 'atomic' | 'set' | 'map';
  keys?: string[];
}

export interface FieldDef {
  type: TypeRef;
  /** The declared default (`+default`) or the Go zero value of a non-pointer field. */
  default?: unknown;
  /** The swagger marks the field required: Go always encodes it, even when zero. */
  required?: true;
}

/** A struct (`fields`), a map (`elem`) or both; `atomic` makes it one leaf. */
export interface MapDef {
  fields?: Record<string, FieldDef>;
  elem?: TypeRef;
  atomic?: true;
}

/** The shapes a value of the type may take; with several, the value's own shape picks one. */
export interface TypeDef {
  scalar?: ScalarKind;
  list?: ListDef;
  map?: MapDef;
}

/** A field override of a named type's map relationship (e.g. a granular ObjectReference). */
export interface NamedOverride {
  named: string;
  atomic: boolean;
}

/** A scalar kind, a type name, an inline type, or a named type with its relationship overridden. */
export type TypeRef = string | TypeDef | NamedOverride;

export interface KindInfo {
  type: string;
  /** The resource has a `status` subresource. */
  status?: true;
}

export interface ApplySchemaFile {
  /** apiVersion → kind → type. */
  kinds: Record<string, Record<string, KindInfo>>;
  types: Record<string, TypeDef>;
}

const SCALARS: ReadonlySet<string> = new Set(['string', 'numeric', 'boolean', 'untyped']);

export const UNTYPED_ATOMIC = '__untyped_atomic_';
export const UNTYPED_DEDUCED = '__untyped_deduced_';

/** SMD's built-in fallbacks: any value; maps granular (deduced) or atomic, lists always atomic. */
export const BUILTIN_TYPES: Record<string, TypeDef> = {
  [UNTYPED_ATOMIC]: { scalar: 'untyped', list: { elem: UNTYPED_ATOMIC, type: 'atomic' }, map: { elem: UNTYPED_ATOMIC, atomic: true } },
  [UNTYPED_DEDUCED]: { scalar: 'untyped', list: { elem: UNTYPED_ATOMIC, type: 'atomic' }, map: { elem: UNTYPED_DEDUCED } },
};

export class ApplySchema {
  readonly types: Record<string, TypeDef>;
  readonly kinds: Record<string, Record<string, KindInfo>>;

  constructor(file: ApplySchemaFile) {
    this.types = { ...file.types, ...BUILTIN_TYPES };
    this.kinds = file.kinds;
  }

  /** The type of a whole object of this kind; the deduced type for kinds the schema lacks. */
  root(apiVersion: string, kind: string): TypeRef {
    return this.kind(apiVersion, kind)?.type ?? UNTYPED_DEDUCED;
  }

  kind(apiVersion: string, kind: string): KindInfo | undefined {
    const byKind = Object.hasOwn(this.kinds, apiVersion) ? this.kinds[apiVersion] : undefined;
    return byKind && Object.hasOwn(byKind, kind) ? byKind[kind] : undefined;
  }

  /** The shapes a type reference allows; unknown names resolve to the deduced type. */
  resolve(ref: TypeRef): TypeDef {
    if (typeof ref === 'string') {
      if (SCALARS.has(ref)) return { scalar: ref as ScalarKind };
      return Object.hasOwn(this.types, ref) ? this.types[ref] : BUILTIN_TYPES[UNTYPED_DEDUCED];
    }
    if ('named' in ref) {
      const def = this.resolve(ref.named);
      if (!def.map) return def;
      const map: MapDef = { ...def.map };
      if (ref.atomic) map.atomic = true;
      else delete map.atomic;
      return { ...def, map };
    }
    return ref;
  }

  /** The type of `key` inside a map/struct: its declared field, else the element type. */
  child(map: MapDef, key: string): TypeRef | undefined {
    if (map.fields && Object.hasOwn(map.fields, key)) return map.fields[key].type;
    return map.elem;
  }

  /** Whether `key` is a declared struct field (SMD's "named field"). */
  isField(map: MapDef, key: string): boolean {
    return !!map.fields && Object.hasOwn(map.fields, key);
  }
}

/** Which of a type's shapes describes a value. */
export type Shape = { kind: 'scalar'; scalar: ScalarKind } | { kind: 'list'; list: ListDef } | { kind: 'map'; map: MapDef };

/**
 * The shape of `def` that describes `value`. A null (or a value of a shape the type lacks) takes
 * the type's map shape first, then scalar, then list, as structured-merge-diff does.
 */
export function shapeOf(def: TypeDef, value: unknown): Shape {
  if (Array.isArray(value) && def.list) return { kind: 'list', list: def.list };
  if (isPlainObject(value) && def.map) return { kind: 'map', map: def.map };
  if (value !== null && value !== undefined && typeof value !== 'object' && def.scalar) return { kind: 'scalar', scalar: def.scalar };
  if (def.map) return { kind: 'map', map: def.map };
  if (def.scalar) return { kind: 'scalar', scalar: def.scalar };
  if (def.list) return { kind: 'list', list: def.list };
  return { kind: 'scalar', scalar: 'untyped' };
}

const DEFAULT_FILE = new URL('../../../openapi/apply-schema.json', import.meta.url);
let loaded: ApplySchema | undefined;

/** The committed schema, read on first use and kept for the process. */
export function loadApplySchema(): ApplySchema {
  if (loaded) return loaded;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(DEFAULT_FILE, 'utf8'));
  } catch (e) {
    throw internalError(`cannot load the apply schema from ${DEFAULT_FILE.pathname}: ${(e as Error).message}`);
  }
  if (!isPlainObject(parsed) || !isPlainObject(parsed.types) || !isPlainObject(parsed.kinds)) {
    throw internalError(`the apply schema in ${DEFAULT_FILE.pathname} is malformed`);
  }
  loaded = new ApplySchema(parsed as unknown as ApplySchemaFile);
  return loaded;
}
