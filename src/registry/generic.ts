// The generic registry: create, get, update (and guaranteed update for patches) and delete of any
// resource on the storage interface. Per-resource behaviour comes from the strategy.
import { randomUUID } from 'node:crypto';
import type { KeyValue, Store } from '../store/types.ts';
import { alreadyExists, conflict, invalid, notFound, StatusError, type GroupResource } from '../api/status.ts';
import { meta, nowRfc3339, type KubeObject, cloneJson, jsonDeepEqual } from '../api/object.ts';
import { validateObjectMeta } from '../api/validation.ts';
import type { ResourceInfo } from './catalog.ts';
import type { Strategy } from './strategy.ts';
import { canConvert, convert } from './conversion.ts';
import { leaseFor } from './ttl.ts';
import { updateManagedFields } from '../api/apply/manager.ts';

export interface WriteOptions {
  dryRun?: boolean;
  /** Subresource written through ('status', 'scale', 'finalize' or ''). */
  subresource?: string;
  /** Who writes: managedFields record this manager's fields (left alone when undefined). */
  fieldManager?: string;
  /** A server-side apply: the mutation already set managedFields, and it may create the object. */
  apply?: boolean;
  /**
   * Mutating admission of a new object (Priority, DefaultStorageClass, in-use protection): after
   * defaults and managedFields (so that, as upstream, what it sets is owned by no manager), before
   * validation.
   */
  mutateCreate?: (obj: KubeObject) => Promise<void>;
  /** Validating admission of a new object, after defaults and validation (ResourceQuota). */
  admitCreate?: (obj: KubeObject) => Promise<void>;
  /** Validating admission of a change, after defaults and validation, when it changes anything. */
  admitUpdate?: (next: KubeObject, old: KubeObject) => Promise<void>;
}

export interface DeleteOptions extends WriteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  gracePeriodSeconds?: number;
}

export interface DeleteResult {
  object: KubeObject;
  /** false when the object still exists (finalizers or graceful deletion pending). */
  deleted: boolean;
}

/**
 * The `subresource` of a write the server makes itself (pods/binding): the mutation is taken as
 * it is, spec and status alike, without the kind's update rules.
 */
export const SERVER_CHANGE = 'binding';

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const MAX_RETRIES = 16;

export function generateNameSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)];
  return s;
}

export function decodeObject(kv: KeyValue): KubeObject {
  const obj = JSON.parse(Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength).toString('utf8')) as KubeObject;
  meta(obj).resourceVersion = String(kv.modRevision);
  return obj;
}

export function encodeObject(obj: KubeObject): Buffer {
  const m = obj.metadata;
  const rv = m?.resourceVersion;
  if (!m || rv === undefined) return Buffer.from(JSON.stringify(obj));
  // JSON.stringify leaves out undefined values; a delete would turn the metadata object into a
  // slow dictionary for everything that reads it afterwards.
  m.resourceVersion = undefined;
  const out = Buffer.from(JSON.stringify(obj));
  m.resourceVersion = rv;
  return out;
}

/**
 * jsonDeepEqual of two objects, comparing what lies outside metadata first: that is where an update
 * usually differs, and metadata (managedFields above all) is the largest part to walk.
 */
function sameObject(a: KubeObject, b: KubeObject): boolean {
  let keys = 0;
  for (const k in a) {
    if (!Object.hasOwn(a, k)) continue;
    keys++;
    if (k !== 'metadata' && (!Object.hasOwn(b, k) || !jsonDeepEqual(a[k], b[k]))) return false;
  }
  for (const k in b) if (Object.hasOwn(b, k)) keys--;
  return keys === 0 && jsonDeepEqual(a.metadata, b.metadata);
}

/** Everything except metadata and status: what a generation bump tracks. */
function specOf(obj: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

export class GenericStore {
  readonly info: ResourceInfo;
  readonly strategy: Strategy;
  readonly prefix: string;
  private readonly store: Store;
  readonly gr: GroupResource;
  /** The version clients of this store speak, and the version objects are stored in. */
  readonly apiVersion: string;
  readonly storageApiVersion: string;

  constructor(store: Store, info: ResourceInfo, strategy: Strategy) {
    this.store = store;
    this.info = info;
    this.strategy = strategy;
    this.prefix = `${info.etcdKeyPrefix ?? `/registry/${info.group ? `${info.group}/` : ''}${info.resource}`}/`;
    this.gr = { group: info.group, resource: info.resource };
    this.apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    const sv = info.storageVersion;
    const storage = sv ? (sv.group ? `${sv.group}/${sv.version}` : sv.version) : this.apiVersion;
    // A storage version we cannot convert to (CRDs: upstream stores v1beta1, which is not served)
    // is replaced by the served one: the stored shape is ours to choose.
    this.storageApiVersion = canConvert(this.apiVersion, storage) ? storage : this.apiVersion;
  }

  /**
   * Where the current version of an object may be found without a storage read (the API
   * server's watch cache). Updates try it first: the write's compare on modRevision catches a
   * stale copy, and the retry reads storage.
   */
  cachedLookup: ((namespace: string, name: string) => { obj: KubeObject; modRevision: number } | undefined) | undefined;

  /** A stored object in this store's version. */
  fromStorage(obj: KubeObject): KubeObject {
    return this.storageApiVersion === this.apiVersion ? obj : convert(obj, this.storageApiVersion, this.apiVersion);
  }

  private async lease(): Promise<number | undefined> {
    return this.strategy.ttlSeconds ? leaseFor(this.store, this.strategy.ttlSeconds) : undefined;
  }

  /**
   * Told of every object about to be written (its key, the stored bytes and the object they
   * encode), before the write: the watch cache keeps what it needs so that the write's event
   * costs no parse.
   */
  onEncode: ((key: string, bytes: Buffer, stored: KubeObject) => void) | undefined;

  private encode(obj: KubeObject, key: string): Buffer {
    const stored = this.storageApiVersion === this.apiVersion ? obj : convert({ ...obj, apiVersion: this.apiVersion }, this.apiVersion, this.storageApiVersion);
    const bytes = encodeObject(stored);
    this.onEncode?.(key, bytes, stored);
    return bytes;
  }

  private readonly written = new WeakMap<KubeObject, Buffer>();

  /**
   * The stored JSON (without resourceVersion) of an object this store just wrote and returned,
   * when it is stored in the served version: a response can be those bytes (as upstream answers
   * with what it stored) instead of a new encoding.
   */
  writtenBytes(obj: KubeObject): Buffer | undefined {
    return this.storageApiVersion === this.apiVersion ? this.written.get(obj) : undefined;
  }

  key(namespace: string, name: string): string {
    return this.info.namespaced ? `${this.prefix}${namespace}/${name}` : `${this.prefix}${name}`;
  }

  /** Key range of a namespace (or of everything when namespace is ''). */
  range(namespace: string): { key: string; end: string } {
    const key = this.info.namespaced && namespace ? `${this.prefix}${namespace}/` : this.prefix;
    return { key, end: key.slice(0, -1) + String.fromCharCode(key.charCodeAt(key.length - 1) + 1) };
  }

  private async read(namespace: string, name: string): Promise<{ obj: KubeObject; kv: KeyValue } | undefined> {
    const r = await this.store.range(this.key(namespace, name));
    const kv = r.kvs[0];
    return kv ? { obj: this.fromStorage(decodeObject(kv)), kv } : undefined;
  }

  /** The current object: from the cache on a first attempt when it has it, else from storage. */
  private async current(namespace: string, name: string, tryCache: boolean): Promise<{ obj: KubeObject; kv: { modRevision: number }; cached: boolean } | undefined> {
    const hit = tryCache ? this.cachedLookup?.(namespace, name) : undefined;
    // The cached object is only read here (updateOnce clones before mutating).
    if (hit) return { obj: this.storageApiVersion === this.apiVersion ? hit.obj : this.fromStorage(cloneJson(hit.obj)), kv: { modRevision: hit.modRevision }, cached: true };
    const cur = await this.read(namespace, name);
    return cur ? { ...cur, cached: false } : undefined;
  }

  async get(namespace: string, name: string): Promise<KubeObject> {
    const cur = await this.read(namespace, name);
    if (!cur) throw notFound(this.gr, name);
    return cur.obj;
  }

  /** Empty maps and lists in metadata are left out, as Go's encoding omits them. */
  private normalizeMeta(obj: KubeObject): void {
    const m = meta(obj);
    for (const k of ['labels', 'annotations'] as const) if (m[k] && Object.keys(m[k] as object).length === 0) delete m[k];
    for (const k of ['finalizers', 'ownerReferences', 'managedFields'] as const) if (Array.isArray(m[k]) && (m[k] as unknown[]).length === 0) delete m[k];
  }

  private validateAll(obj: KubeObject, old?: KubeObject, subresource = ''): void {
    this.normalizeMeta(obj);
    const m = meta(obj);
    // A binding is the server's own change (spec.nodeName, PodScheduled): no update rules apply.
    const kindErrs = subresource === SERVER_CHANGE ? [] : old ? this.strategy.validateUpdate(obj, old) : this.strategy.validate(obj);
    const errs = [...validateObjectMeta(m, { namespaced: this.info.namespaced, nameRule: this.strategy.nameRule }), ...kindErrs];
    if (errs.length > 0) throw invalid(this.info.kind, this.info.group, m.name ?? m.generateName ?? '', errs);
  }

  async create(namespace: string, obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const m = meta(obj);
    if (this.info.namespaced) m.namespace = namespace;
    if (!m.name && m.generateName) m.name = `${m.generateName}${generateNameSuffix()}`;
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    m.uid = randomUUID();
    m.creationTimestamp = nowRfc3339();
    if (this.strategy.tracksGeneration) m.generation = 1;
    else delete m.generation;
    this.strategy.prepareForCreate(obj);
    this.recordManagers(obj, undefined, opts);
    await opts.mutateCreate?.(obj);
    this.validateAll(obj);
    await opts.admitCreate?.(obj);
    const name = m.name as string;
    if (opts.dryRun) {
      const existing = await this.read(namespace, name);
      if (existing) throw alreadyExists(this.gr, name);
      await this.strategy.allocate?.(obj, this.store, true);
      return obj;
    }
    const key = this.key(namespace, name);
    await this.strategy.allocate?.(obj, this.store, false);
    let r;
    const value = this.encode(obj, key);
    try {
      r = await this.store.txn({
        compare: [{ key, target: 'version', result: '=', value: 0 }],
        success: [{ type: 'put', key, value, lease: await this.lease() }],
      });
    } catch (err) {
      await this.strategy.release?.(obj, this.store);
      throw err;
    }
    if (!r.succeeded) {
      await this.strategy.release?.(obj, this.store);
      if (m.generateName) throw new StatusError(409, 'AlreadyExists', `${this.gr.resource} "${name}" already exists, the server was not able to generate a unique name for the object`);
      throw alreadyExists(this.gr, name);
    }
    m.resourceVersion = String(r.header.revision);
    this.written.set(obj, value);
    return obj;
  }

  /**
   * Reads the object, lets `mutate` produce the new version, and writes it if nothing changed in
   * between (retrying otherwise). `mutate` may throw to refuse. A resourceVersion in the new object
   * is a precondition: a mismatch is a 409 Conflict, never retried. `readsCurrent: false` says
   * that `mutate` ignores its argument (a full replacement), which then costs no copy.
   */
  async guaranteedUpdate(namespace: string, name: string, mutate: (current: KubeObject | undefined) => KubeObject, opts: WriteOptions = {}, readsCurrent = true): Promise<{ object: KubeObject; created: boolean }> {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const cur = await this.current(namespace, name, attempt === 0);
      let r: { object: KubeObject; created: boolean } | 'retry';
      try {
        r = await this.updateOnce(namespace, name, cur, mutate, opts, readsCurrent);
      } catch (err) {
        // Whatever was decided from a cached copy (a refusal included) is re-decided from storage.
        if (cur?.cached) continue;
        throw err;
      }
      if (r !== 'retry') return r;
    }
    throw conflict(this.gr, name, 'the object is being modified too often; please try again');
  }

  private async updateOnce(namespace: string, name: string, cur: { obj: KubeObject; kv: { modRevision: number }; cached: boolean } | undefined, mutate: (current: KubeObject | undefined) => KubeObject, opts: WriteOptions, readsCurrent: boolean): Promise<{ object: KubeObject; created: boolean } | 'retry'> {
    const next = mutate(cur && readsCurrent ? cloneJson(cur.obj) : undefined);
    if (!cur) {
      if (!this.strategy.allowCreateOnUpdate && !opts.apply) throw notFound(this.gr, name);
      const nm = meta(next);
      if (nm.resourceVersion) throw notFound(this.gr, name);
      nm.name = name;
      return { object: await this.create(namespace, next, opts), created: true };
    }
    const nm = meta(next);
    const om = meta(cur.obj);
    if (nm.resourceVersion && nm.resourceVersion !== om.resourceVersion) {
      if (cur.cached) return 'retry';
      throw conflict(this.gr, name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    if (nm.uid && nm.uid !== om.uid) throw conflict(this.gr, name, `Precondition failed: UID in precondition: ${nm.uid}, UID in object meta: ${om.uid}`);
    if (nm.name && nm.name !== name) throw new StatusError(400, 'BadRequest', `the name of the object (${nm.name}) does not match the name on the URL (${name})`);
    const applied = opts.apply ? nm.managedFields : undefined;
    this.prepareUpdate(next, cur.obj, opts.subresource ?? '');
    // prepareUpdate may replace the metadata (status and finalize writes keep the stored one).
    const fm = meta(next);
    if (opts.apply) {
      if (applied) fm.managedFields = applied;
      else delete fm.managedFields;
    } else this.recordManagers(next, cur.obj, opts);
    this.validateAll(next, cur.obj, opts.subresource);
    fm.resourceVersion = om.resourceVersion;
    if (sameObject(next, cur.obj)) {
      // Nothing to write, unless the cached copy was behind: only storage can say.
      if (cur.cached) return 'retry';
      return { object: cur.obj, created: false };
    }
    await opts.admitUpdate?.(next, cur.obj);
    if (opts.dryRun) return { object: next, created: false };
    const key = this.key(namespace, name);
    const specFinalizers = this.info.kind === 'Namespace' ? ((next.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []) : [];
    // The last finalizer gone from an object being deleted (and not waiting out a grace period) deletes it.
    const finalize = fm.deletionTimestamp !== undefined && !fm.deletionGracePeriodSeconds && (fm.finalizers ?? []).length === 0 && specFinalizers.length === 0;
    const value = finalize ? undefined : this.encode(next, key);
    const r = await this.store.txn({
      compare: [{ key, target: 'modRevision', result: '=', value: cur.kv.modRevision }],
      success: [value ? { type: 'put', key, value, lease: await this.lease() } : { type: 'delete', key }],
      coalesce: value !== undefined && this.strategy.isHeartbeat?.(next, cur.obj) === true,
    });
    if (!r.succeeded) return 'retry';
    fm.resourceVersion = String(r.header.revision);
    if (value) this.written.set(next, value);
    if (finalize) await this.strategy.release?.(next, this.store);
    return { object: next, created: false };
  }

  /** managedFields of a create or update (not of an apply, which computed its own). */
  private recordManagers(next: KubeObject, prev: KubeObject | undefined, opts: WriteOptions): void {
    if (opts.fieldManager === undefined || opts.apply) return;
    const entries = updateManagedFields({ prev, next, manager: opts.fieldManager, apiVersion: this.apiVersion, subresource: opts.subresource || undefined, now: nowRfc3339() });
    if (entries.length > 0) meta(next).managedFields = entries;
    else delete meta(next).managedFields;
  }

  private prepareUpdate(next: KubeObject, old: KubeObject, subresource: string): void {
    const nm = meta(next);
    const om = meta(old);
    // Fields the client may not change.
    nm.name = om.name;
    if (this.info.namespaced) nm.namespace = om.namespace;
    nm.uid = om.uid;
    nm.creationTimestamp = om.creationTimestamp;
    if (om.deletionTimestamp) nm.deletionTimestamp = om.deletionTimestamp;
    else delete nm.deletionTimestamp;
    if (om.deletionGracePeriodSeconds !== undefined) nm.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
    else delete nm.deletionGracePeriodSeconds;
    if (subresource === SERVER_CHANGE) return;
    if (subresource === 'finalize') {
      // Through finalize only spec.finalizers changes.
      const finalizers = (next.spec as { finalizers?: unknown } | undefined)?.finalizers;
      const keep = cloneJson(old);
      keep.spec = { ...((keep.spec as object) ?? {}), finalizers };
      if (finalizers === undefined) delete (keep.spec as { finalizers?: unknown }).finalizers;
      for (const k of Object.keys(next)) delete next[k];
      Object.assign(next, keep);
      meta(next).resourceVersion = nm.resourceVersion;
      return;
    }
    if (subresource === 'status') {
      // Through status only status changes (and metadata stays as stored).
      for (const k of Object.keys(next)) if (k !== 'status' && k !== 'metadata' && k !== 'apiVersion' && k !== 'kind') delete next[k];
      for (const [k, v] of Object.entries(old)) if (k !== 'status' && k !== 'metadata') next[k] = cloneJson(v);
      const keepMeta = cloneJson(om);
      keepMeta.resourceVersion = nm.resourceVersion;
      // As upstream's status strategies: annotations (and, but for the apps kinds, labels) may
      // change with the status; the rest of the metadata stays as stored.
      if (nm.annotations !== undefined) keepMeta.annotations = nm.annotations;
      else delete keepMeta.annotations;
      if (this.info.group !== 'apps') {
        if (nm.labels !== undefined) keepMeta.labels = nm.labels;
        else delete keepMeta.labels;
      }
      next.metadata = keepMeta;
      this.strategy.prepareForStatusUpdate?.(next, old);
      return;
    }
    if (this.strategy.hasStatus && subresource === '') {
      if (old.status === undefined) delete next.status;
      else next.status = cloneJson(old.status);
    }
    if (this.strategy.tracksGeneration) {
      nm.generation = (om.generation ?? 1) + (jsonDeepEqual(specOf(next), specOf(old)) ? 0 : 1);
    } else if (om.generation !== undefined) nm.generation = om.generation;
    else delete nm.generation;
    this.strategy.prepareForUpdate(next, old);
  }

  async update(namespace: string, name: string, obj: KubeObject, opts: WriteOptions = {}): Promise<{ object: KubeObject; created: boolean }> {
    return this.guaranteedUpdate(namespace, name, () => cloneJson(obj), opts, false);
  }

  async delete(namespace: string, name: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const cur = await this.read(namespace, name);
      if (!cur) throw notFound(this.gr, name);
      this.strategy.refuseDelete?.(cur.obj);
      const m = meta(cur.obj);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== m.uid) throw conflict(this.gr, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${m.uid}`);
      if (pre?.resourceVersion && pre.resourceVersion !== m.resourceVersion) {
        throw conflict(this.gr, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${m.resourceVersion}`);
      }
      const finalizers = new Set(m.finalizers ?? []);
      // A namespace is emptied by the namespace controller before it goes: its spec finalizers hold it.
      const nsFinalizers = this.info.kind === 'Namespace' ? ((cur.obj.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []) : [];
      if (!m.deletionTimestamp) {
        if (opts.propagationPolicy === 'Orphan') finalizers.add('orphan');
        if (opts.propagationPolicy === 'Foreground') finalizers.add('foregroundDeletion');
      }
      const key = this.key(namespace, name);
      const grace = this.strategy.gracePeriod?.(cur.obj, opts.gracePeriodSeconds) ?? 0;
      if (grace > 0) {
        // Graceful: mark and keep; only a shorter grace period than the pending one changes it.
        if (m.deletionTimestamp && (m.deletionGracePeriodSeconds ?? 0) <= grace) return { object: cur.obj, deleted: false };
        const next = cloneJson(cur.obj);
        const nm = meta(next);
        nm.deletionTimestamp = new Date(Math.floor(Date.now() / 1000) * 1000 + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        nm.deletionGracePeriodSeconds = grace;
        if (finalizers.size > 0) nm.finalizers = [...finalizers];
        if (opts.dryRun) return { object: next, deleted: false };
        const r = await this.store.txn({
          compare: [{ key, target: 'modRevision', result: '=', value: cur.kv.modRevision }],
          success: [{ type: 'put', key, value: this.encode(next, key), lease: await this.lease() }],
        });
        if (!r.succeeded) continue;
        nm.resourceVersion = String(r.header.revision);
        return { object: next, deleted: false };
      }
      if (finalizers.size > 0 || nsFinalizers.length > 0) {
        if (m.deletionTimestamp && finalizers.size === (m.finalizers ?? []).length) return { object: cur.obj, deleted: false };
        const next = cloneJson(cur.obj);
        const nm = meta(next);
        nm.deletionTimestamp ??= nowRfc3339();
        nm.deletionGracePeriodSeconds ??= 0;
        if (finalizers.size > 0) nm.finalizers = [...finalizers];
        if (this.info.kind === 'Namespace') next.status = { ...(next.status as object), phase: 'Terminating' };
        if (opts.dryRun) return { object: next, deleted: false };
        const r = await this.store.txn({
          compare: [{ key, target: 'modRevision', result: '=', value: cur.kv.modRevision }],
          success: [{ type: 'put', key, value: this.encode(next, key) }],
        });
        if (!r.succeeded) continue;
        nm.resourceVersion = String(r.header.revision);
        return { object: next, deleted: false };
      }
      if (opts.dryRun) return { object: cur.obj, deleted: true };
      const r = await this.store.txn({
        compare: [{ key, target: 'modRevision', result: '=', value: cur.kv.modRevision }],
        success: [{ type: 'delete', key }],
      });
      if (r.succeeded) {
        m.resourceVersion = String(r.header.revision);
        await this.strategy.release?.(cur.obj, this.store);
        return { object: cur.obj, deleted: true };
      }
    }
    throw conflict(this.gr, name, 'the object is being modified too often; please try again');
  }
}
