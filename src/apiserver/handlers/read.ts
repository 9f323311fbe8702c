// get, list and watch of any resource.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiVersionOf, type KubeObject, cloneJson } from '../../api/object.ts';
import { expired, notFound, StatusError } from '../../api/status.ts';
import { CompactedError } from '../../store/errors.ts';
import { decodeObject } from '../../registry/generic.ts';
import { writeBytes, writeJson, type Negotiated } from '../http.ts';
import { attrsMatcher, decodeContinue, encodeContinue, objectMatcher, parseListOptions, type ListOptions } from '../list-options.ts';
import type { Registry } from '../registries.ts';
import type { RequestInfo } from '../request-info.ts';
import { partialMetadata, toTable } from '../table.ts';
import { ownJson, withResourceVersion, type CacheEntry, type CacheWatcher, type EventType, type Filter } from '../watch-cache.ts';
import { WatchWriter } from '../watch-writer.ts';
import { scaleOf } from './scale.ts';

export async function handleGet(reg: Registry, ri: RequestInfo, q: URLSearchParams, neg: Negotiated, res: ServerResponse): Promise<void> {
  let obj: KubeObject;
  if (q.get('resourceVersion') === '0') {
    await reg.cache.start();
    const e = reg.cache.get(ri.namespace, ri.name);
    if (!e) throw notFound(reg.gs.gr, ri.name);
    obj = reg.gs.fromStorage(e.obj); // a fresh parse of the cached bytes
  } else obj = await reg.gs.get(ri.namespace, ri.name);
  if (ri.subresource === 'scale') return writeJson(res, 200, scaleOf(reg, obj), neg.gzip);
  respondObject(reg, obj, neg, res, 200, q);
}

export function respondObject(reg: Registry, obj: KubeObject, neg: Negotiated, res: ServerResponse, code: number, q: URLSearchParams): void {
  if (!neg.table && !neg.metadataOnly) {
    const stored = writtenJson(reg, obj);
    if (stored) return writeBytes(res, code, stored, neg.gzip);
  }
  withTypeMeta(reg, obj);
  if (neg.table) return writeJson(res, code, toTable(reg.info.kind, [obj], { resourceVersion: obj.metadata?.resourceVersion }, q.get('includeObject') ?? 'Metadata'), neg.gzip);
  if (neg.metadataOnly) return writeJson(res, code, partialMetadata(obj), neg.gzip);
  writeJson(res, code, obj, neg.gzip);
}

/**
 * What the store just wrote for `obj`, with its resourceVersion, if it starts with this resource's
 * apiVersion and kind: the watch cache's entry of that version when it has it already (the same
 * bytes), else the stored bytes with the resourceVersion added.
 */
function writtenJson(reg: Registry, obj: KubeObject): Buffer | undefined {
  const bytes = reg.gs.writtenBytes(obj);
  const rv = Number(obj.metadata?.resourceVersion);
  if (!bytes || !(rv > 0)) return undefined;
  const head = `{"apiVersion":"${apiVersionOf(reg.info.group, reg.info.version)}","kind":"${reg.info.kind}","metadata":{`;
  if (bytes.length < head.length || bytes.toString('latin1', 0, head.length) !== head) return undefined;
  const cached = reg.cache.get(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');
  if (cached?.rv === rv) return cached.bytes;
  return withResourceVersion(bytes, rv);
}

export function withTypeMeta(reg: Registry, obj: KubeObject): KubeObject {
  obj.apiVersion = apiVersionOf(reg.info.group, reg.info.version);
  obj.kind = reg.info.kind;
  return obj;
}

function filterFor(reg: Registry, ri: RequestInfo, opts: ListOptions): Filter {
  const strategy = reg.gs.strategy;
  // Without selectors nothing needs the entry's labels or fields (working them out parses it).
  if (opts.labelSelector.length === 0 && opts.fieldSelector.length === 0) return { namespace: ri.namespace, name: opts.nameEquals, matches: () => true };
  const match = attrsMatcher(opts);
  return { namespace: ri.namespace, name: opts.nameEquals, selective: true, matches: (e: CacheEntry) => match(e.attrs(strategy)) };
}

export async function handleList(reg: Registry, ri: RequestInfo, q: URLSearchParams, neg: Negotiated, res: ServerResponse): Promise<void> {
  const opts = parseListOptions(q, reg.gs.strategy, reg.info.namespaced);
  const listKind = reg.info.listKind ?? `${reg.info.kind}List`;
  const apiVersion = apiVersionOf(reg.info.group, reg.info.version);
  const fromStore = opts.continueToken !== '' || opts.resourceVersionMatch === 'Exact' || (opts.limit > 0 && opts.resourceVersion === '');
  let items: KubeObject[] | undefined;
  let bytes: Buffer[] | undefined;
  let rv: number;
  let cont = '';
  let remaining: number | undefined;
  if (fromStore) {
    const page = await listFromStore(reg, ri, opts);
    items = page.items;
    rv = page.rv;
    cont = page.cont;
    remaining = page.remaining;
  } else {
    if (opts.resourceVersion === '') await reg.cache.sync();
    else if (opts.resourceVersion !== '0') await reg.cache.waitFor(Number(opts.resourceVersion));
    else await reg.cache.start();
    rv = reg.cache.revision;
    const entries = reg.cache.list(filterFor(reg, ri, opts));
    const converting = reg.gs.apiVersion !== reg.gs.storageApiVersion;
    if (neg.table || neg.metadataOnly || converting) items = entries.map((e) => reg.gs.fromStorage(e.obj));
    else bytes = entries.map((e) => e.bytes);
  }
  const listMeta: Record<string, unknown> = { resourceVersion: String(rv) };
  if (cont) listMeta.continue = cont;
  if (remaining !== undefined && remaining > 0) listMeta.remainingItemCount = remaining;
  if (neg.table) return writeJson(res, 200, toTable(reg.info.kind, (items ?? []).map((o) => withTypeMeta(reg, o)), listMeta, q.get('includeObject') ?? 'Metadata'), neg.gzip);
  if (neg.metadataOnly) {
    return writeJson(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, items: (items ?? []).map(partialMetadata) }, neg.gzip);
  }
  const head = Buffer.from(`{"kind":${JSON.stringify(listKind)},"apiVersion":${JSON.stringify(apiVersion)},"metadata":${JSON.stringify(listMeta)},"items":[`);
  const parts: Buffer[] = [head];
  const encoded = bytes ?? (items ?? []).map((o) => Buffer.from(JSON.stringify(withTypeMeta(reg, o))));
  for (let i = 0; i < encoded.length; i++) {
    if (i > 0) parts.push(COMMA);
    parts.push(encoded[i]);
  }
  parts.push(TAIL);
  writeBytes(res, 200, Buffer.concat(parts), neg.gzip);
}

const COMMA = Buffer.from(',');
const TAIL = Buffer.from(']}');

/** A page read from storage at one revision, so that every page of a list sees the same snapshot. */
async function listFromStore(reg: Registry, ri: RequestInfo, opts: ListOptions): Promise<{ items: KubeObject[]; rv: number; cont: string; remaining?: number }> {
  const { key, end } = reg.gs.range(ri.namespace);
  let start = key;
  let revision = 0;
  if (opts.continueToken) {
    const t = decodeContinue(opts.continueToken);
    start = reg.gs.prefix + t.start;
    revision = t.rv;
  } else if (opts.resourceVersionMatch === 'Exact') revision = Number(opts.resourceVersion);
  const match = objectMatcher(opts, reg.gs.strategy);
  const items: KubeObject[] = [];
  const limit = opts.limit;
  let rv = revision;
  let lastKey = '';
  let more = false;
  let remaining: number | undefined;
  try {
    for (let round = 0; round < 1000; round++) {
      const want = limit > 0 ? limit - items.length : 0;
      const r = await reg.store.range(start, { end, revision: rv || undefined, limit: want > 0 ? Math.max(want, 64) : undefined });
      if (!rv) rv = r.header.revision;
      more = false;
      for (const kv of r.kvs) {
        if (limit > 0 && items.length >= limit) {
          more = true;
          break;
        }
        lastKey = kv.key;
        const obj = reg.gs.fromStorage(decodeObject(kv));
        if (match(obj)) items.push(obj);
      }
      if (limit > 0 && items.length >= limit) {
        more = more || r.more;
        if (more && opts.labelSelector.length === 0 && opts.fieldSelector.length === 0) {
          const c = await reg.store.range(lastKey + '\0', { end, revision: rv, countOnly: true });
          remaining = c.count;
          more = c.count > 0;
        }
        break;
      }
      if (!r.more) break;
      start = r.kvs[r.kvs.length - 1].key + '\0';
    }
  } catch (err) {
    if (err instanceof CompactedError) {
      if (opts.continueToken) throw expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      throw expired(`too old resource version: ${opts.resourceVersion} (${err.compactRevision})`);
    }
    throw err;
  }
  const cont = more ? encodeContinue(rv, lastKey.slice(reg.gs.prefix.length) + '\0') : '';
  return { items, rv, cont, remaining };
}

const FRAMES: Record<EventType | 'BOOKMARK' | 'ERROR', Buffer> = {
  ADDED: Buffer.from('{"type":"ADDED","object":'),
  MODIFIED: Buffer.from('{"type":"MODIFIED","object":'),
  DELETED: Buffer.from('{"type":"DELETED","object":'),
  BOOKMARK: Buffer.from('{"type":"BOOKMARK","object":'),
  ERROR: Buffer.from('{"type":"ERROR","object":'),
};
const FRAME_END = Buffer.from('}\n');
/**
 * Framed event lines, per encoded object, until the running task ends: the cache hands an event
 * to all its watchers in one synchronous loop, and they all write the same bytes. Kept no longer
 * (a frame per cache entry would double the cache).
 */
const framed = new Map<Buffer, Partial<Record<EventType, Buffer>>>();

function frame(type: EventType, bytes: Buffer): Buffer {
  let m = framed.get(bytes);
  if (!m) {
    if (framed.size === 0) queueMicrotask(() => framed.clear());
    framed.set(bytes, (m = {}));
  }
  return (m[type] ??= Buffer.concat([FRAMES[type], bytes, FRAME_END]));
}

/** Objects of another storage version, converted once per version of the object and served version. */
const converted = new WeakMap<Buffer, Map<string, Buffer>>();

function convertedBytes(reg: Registry, e: CacheEntry): Buffer {
  // e.obj may be shared (an entry made from an object): conversion works on a copy.
  let m = converted.get(e.bytes);
  if (!m) converted.set(e.bytes, (m = new Map()));
  let b = m.get(reg.gs.apiVersion);
  if (!b) m.set(reg.gs.apiVersion, (b = ownJson(withTypeMeta(reg, reg.gs.fromStorage(cloneJson(e.obj))))));
  return b;
}

/** PartialObjectMetadata of an object (metadata-only watchers), encoded once per object. */
const metadataOnly = new WeakMap<Buffer, Buffer>();

function metadataBytes(e: CacheEntry): Buffer {
  let b = metadataOnly.get(e.bytes);
  if (!b) metadataOnly.set(e.bytes, (b = ownJson(partialMetadata(e.obj))));
  return b;
}

export async function handleWatch(reg: Registry, ri: RequestInfo, q: URLSearchParams, neg: Negotiated, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const opts = parseListOptions(q, reg.gs.strategy, reg.info.namespaced);
  if (ri.name) opts.nameEquals = ri.name;
  const filter = filterFor(reg, ri, opts);
  const apiVersion = apiVersionOf(reg.info.group, reg.info.version);
  const initialEvents = opts.sendInitialEvents ?? (opts.resourceVersion === '' || opts.resourceVersion === '0');
  if (opts.sendInitialEvents && (opts.resourceVersionMatch !== 'NotOlderThan' || !opts.allowWatchBookmarks)) {
    throw new StatusError(422, 'Invalid', 'sendInitialEvents is forbidden unless resourceVersionMatch is "NotOlderThan" and allowWatchBookmarks is true');
  }
  if (opts.resourceVersion === '') await reg.cache.sync();
  else if (opts.resourceVersion !== '0') await reg.cache.waitFor(Number(opts.resourceVersion));
  else await reg.cache.start();

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  const writer = new WatchWriter(req.socket, () => end());
  let lastRv = reg.cache.revision;
  let closed = false;
  const bookmark = (annotations?: Record<string, string>) => {
    const metadata: Record<string, unknown> = { resourceVersion: String(Math.max(lastRv, reg.cache.revision)) };
    if (annotations) metadata.annotations = annotations;
    writer.push(Buffer.concat([FRAMES.BOOKMARK, Buffer.from(JSON.stringify({ kind: reg.info.kind, apiVersion, metadata })), FRAME_END]));
  };
  const converting = reg.gs.apiVersion !== reg.gs.storageApiVersion;
  let tableColumnsSent = false;
  const tableEvent = (type: EventType, obj: KubeObject, rv: number): Buffer => {
    // kubectl get -w: every event carries a one-row Table; the columns come with the first one.
    const t = toTable(reg.info.kind, [withTypeMeta(reg, reg.gs.fromStorage(cloneJson(obj)))], { resourceVersion: String(rv) }, q.get('includeObject') ?? 'Metadata');
    if (tableColumnsSent) t.columnDefinitions = [];
    tableColumnsSent = true;
    return Buffer.concat([FRAMES[type], Buffer.from(JSON.stringify(t)), FRAME_END]);
  };
  const watcher: CacheWatcher = {
    send(type, e, rv) {
      if (closed) return;
      lastRv = rv;
      if (neg.table) writer.push(tableEvent(type, e.obj, rv));
      else if (neg.metadataOnly) writer.push(frame(type, metadataBytes(e)));
      else writer.push(frame(type, converting ? convertedBytes(reg, e) : e.bytes));
    },
    expire(message) {
      if (closed) return;
      writer.push(Buffer.concat([FRAMES.ERROR, Buffer.from(JSON.stringify(expired(message).status)), FRAME_END]));
      end();
    },
  };
  const timeoutMs = (opts.timeoutSeconds > 0 ? opts.timeoutSeconds : 1800 * (1 + Math.random())) * 1000;
  const timer = setTimeout(() => end(), timeoutMs);
  const bookmarkTimer = opts.allowWatchBookmarks ? setInterval(() => bookmark(), 10_000) : undefined;
  function end(): void {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    if (bookmarkTimer) clearInterval(bookmarkTimer);
    reg.cache.unwatch(watcher);
    writer.close();
    res.end();
  }
  req.on('close', end);
  res.on('close', end);
  try {
    reg.cache.watch(watcher, filter, opts.resourceVersion === '' ? reg.cache.revision : Number(opts.resourceVersion), initialEvents);
  } catch (err) {
    if (err instanceof StatusError) {
      writer.push(Buffer.concat([FRAMES.ERROR, Buffer.from(JSON.stringify(err.status)), FRAME_END]));
      end();
      return;
    }
    throw err;
  }
  if (opts.sendInitialEvents) bookmark({ 'k8s.io/initial-events-end': 'true' });
}
