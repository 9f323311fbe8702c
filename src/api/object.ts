// The shape of Kubernetes objects as the API machinery sees them: JSON narrowed once at decode.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
  selfLink?: string;
  [extra: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function meta(obj: KubeObject): ObjectMeta {
  if (!isPlainObject(obj.metadata)) obj.metadata = {};
  return obj.metadata as ObjectMeta;
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

let cachedSecond = -1;
let cachedStamp = '';

/** The current time at second precision, as Kubernetes timestamps are (formatted once per second). */
export function nowRfc3339(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedStamp = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return cachedStamp;
}

/**
 * A deep copy of a JSON value (objects, arrays, strings, numbers, booleans, null). About ten
 * times faster than structuredClone on API objects, which matters on every write path.
 */
export function cloneJson<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const a = new Array(v.length);
    for (let i = 0; i < v.length; i++) a[i] = cloneJson(v[i]);
    return a as T;
  }
  const o: Record<string, unknown> = {};
  // for-in, not Object.keys: no key array per object. Own keys only; a "__proto__" key (JSON
  // allows it) is copied as a key, never made the copy's prototype.
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    const c = cloneJson((v as Record<string, unknown>)[k]);
    if (k === '__proto__') Object.defineProperty(o, k, { value: c, enumerable: true, writable: true, configurable: true });
    else o[k] = c;
  }
  return o as T;
}

/** Deep equality of JSON values (=== on scalars), allocating nothing: it runs on every write. */
export function jsonDeepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonDeepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k)) continue;
    if (!Object.hasOwn(y, k) || !jsonDeepEqual(x[k], y[k])) return false;
    n++;
  }
  for (const k in y) if (Object.hasOwn(y, k)) n--;
  return n === 0;
}
