// KubeClient: the Kubernetes REST verbs over an HttpClient. Every failure the server answers is
// thrown as a StatusError carrying the server's Status (branch on `.code` / `.reason`).
import type { KubeObject } from '../api/object.ts';
import { StatusError, type Status } from '../api/status.ts';
import { HttpClient, type HttpClientOptions, type HttpResponse, type HttpStream, type Transport } from './http.ts';
import { resourcePath, type GVR } from './resources.ts';
import { inProcessTransport, loadKubeconfig, tlsTransport, type InProcessConnector, type InProcessUser, type TlsOptions } from './transport.ts';

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: ListMeta;
  items: T[];
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  timeoutSeconds?: number;
  /** Aborts the request (not sent to the server). */
  signal?: AbortSignal;
}

export interface WatchOptions {
  resourceVersion?: string;
  resourceVersionMatch?: 'NotOlderThan' | 'Exact';
  allowWatchBookmarks?: boolean;
  /** Streaming lists: initial ADDED events, then a bookmark annotated k8s.io/initial-events-end. */
  sendInitialEvents?: boolean;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side end of the watch. */
  timeoutSeconds?: number;
  /** Aborts opening the watch, or stops it once open (not sent to the server). */
  signal?: AbortSignal;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

export interface PatchOptions extends WriteOptions {
  /** Server-side apply: take over conflicting fields. */
  force?: boolean;
  /** e.g. 'status', 'scale'. */
  subresource?: string;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export type WatchEvent<T extends KubeObject = KubeObject> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T }
  | { type: 'ERROR'; object: Status };

const CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The StatusError for a failed response: the server's Status when it sent one. */
export function statusErrorOf(res: HttpResponse): StatusError {
  let body: unknown;
  try {
    body = JSON.parse(res.body.toString('utf8'));
  } catch {
    body = undefined;
  }
  if (isStatus(body)) return statusErrorFromStatus(body, res.status);
  const text = res.body.toString('utf8').slice(0, 1024);
  const err = new StatusError(res.status, REASONS[res.status] ?? 'Unknown', text || `the server responded with HTTP ${res.status}`);
  return err;
}

/** A StatusError carrying exactly `status` (its code, or `httpCode` when it has none). */
export function statusErrorFromStatus(status: Status, httpCode = 500): StatusError {
  const err = new StatusError(status.code || httpCode, status.reason ?? REASONS[httpCode] ?? 'Unknown', status.message ?? '', status.details);
  Object.assign(err.status, status, { code: status.code || httpCode });
  return err;
}

function isStatus(v: unknown): v is Status {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';
}

function query(params: Record<string, unknown>): string {
  let q = '';
  for (const k in params) {
    const v = params[k];
    if (v === undefined || v === '' || v === false || typeof v === 'object') continue;
    q += `${q ? '&' : '?'}${k}=${encodeURIComponent(String(v))}`;
  }
  return q;
}

function writeQuery(o: WriteOptions | undefined, extra: Record<string, string | number | boolean | undefined> = {}): string {
  return query({ dryRun: o?.dryRun ? 'All' : undefined, fieldManager: o?.fieldManager, fieldValidation: o?.fieldValidation, ...extra });
}

const JSON_HEADERS = { Accept: 'application/json', 'Content-Type': 'application/json' };
const ACCEPT = { Accept: 'application/json' };

export interface KubeClientOptions extends HttpClientOptions {
  /** Default namespace for callers that want one (from the kubeconfig context). */
  namespace?: string;
}

/**
 * A watch: an async iterable of events (stop() ends it; iteration then finishes). A stream that
 * ends because the server closed it finishes the iteration; a broken connection throws.
 */
export class Watch<T extends KubeObject = KubeObject> implements AsyncIterable<WatchEvent<T>> {
  private readonly queue: WatchEvent<T>[] = [];
  private wake: (() => void) | undefined;
  private finished = false;
  private error: Error | undefined;
  private stream: HttpStream | undefined;
  private partial: Buffer[] = [];
  private stopped = false;
  /** Resolves when the stream has ended (for whatever reason). */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor() {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** @internal */
  attach(stream: HttpStream): void {
    this.stream = stream;
    if (this.stopped) stream.close();
  }

  /** @internal: de-chunked body bytes, split into newline-delimited JSON events. */
  data(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      let line: Buffer = chunk.subarray(start, nl);
      if (this.partial.length > 0) {
        line = Buffer.concat([...this.partial, line]);
        this.partial = [];
      }
      start = nl + 1;
      if (line.length === 0) continue;
      try {
        this.queue.push(JSON.parse(line.toString('utf8')) as WatchEvent<T>);
      } catch (err) {
        this.fail(new Error(`watch: undecodable event: ${(err as Error).message}`));
        this.stream?.close();
        return;
      }
    }
    if (start < chunk.length) this.partial.push(chunk.subarray(start));
    // Back-pressure: a consumer far behind stops the socket until it catches up.
    if (this.queue.length > 10_000) this.stream?.pause();
    this.notify();
  }

  /** @internal */
  end(err?: Error): void {
    if (this.finished) return;
    if (err && !this.stopped) this.error = err;
    this.finished = true;
    this.notify();
    this.resolveDone();
  }

  private fail(err: Error): void {
    this.error = err;
    this.finished = true;
    this.notify();
    this.resolveDone();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Ends the watch: closes its connection; iteration finishes after the events already received. */
  stop(): void {
    this.stopped = true;
    this.stream?.close();
    this.end();
  }

  get stoppedByClient(): boolean {
    return this.stopped;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    for (;;) {
      if (this.queue.length > 0) {
        const ev = this.queue.shift()!;
        if (this.queue.length === 1000) this.stream?.resume();
        yield ev;
        continue;
      }
      if (this.finished) {
        if (this.error) throw this.error;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

export class KubeClient {
  readonly http: HttpClient;
  readonly namespace: string | undefined;

  constructor(transportOrHttp: Transport | HttpClient, opts: KubeClientOptions = {}) {
    this.http = transportOrHttp instanceof HttpClient ? transportOrHttp : new HttpClient(transportOrHttp, opts);
    this.namespace = opts.namespace;
  }

  /** A client over TLS with PEM credentials. */
  static tls(tls: TlsOptions, opts: KubeClientOptions = {}): KubeClient {
    return new KubeClient(tlsTransport(tls), opts);
  }

  /** A client from a kubeconfig file (its current context, or `context`). */
  static fromKubeconfig(path: string, opts: KubeClientOptions & { context?: string } = {}): KubeClient {
    const creds = loadKubeconfig(path, opts.context);
    return new KubeClient(tlsTransport(creds), { namespace: creds.namespace, ...opts });
  }

  /** A client of an ApiServer in this process, authenticated as `user`. */
  static inProcess(server: InProcessConnector, user: InProcessUser, opts: KubeClientOptions = {}): KubeClient {
    return new KubeClient(inProcessTransport(server, user), opts);
  }

  /** Any request; a non-2xx answer throws StatusError; the body decoded as JSON. */
  async request<R = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = body === undefined ? ACCEPT : JSON_HEADERS, timeoutMs?: number, signal?: AbortSignal): Promise<R> {
    const res = await this.http.request({ method, path, headers, body: body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body), timeoutMs, signal });
    if (res.status < 200 || res.status >= 300) throw statusErrorOf(res);
    if (res.body.length === 0) return undefined as R;
    return JSON.parse(res.body.toString('utf8')) as R;
  }

  get<T extends KubeObject = KubeObject>(gvr: GVR, namespace: string | undefined, name: string, opts: { resourceVersion?: string; signal?: AbortSignal } = {}): Promise<T> {
    return this.request<T>('GET', resourcePath(gvr, namespace, name) + query({ resourceVersion: opts.resourceVersion }), undefined, ACCEPT, undefined, opts.signal);
  }

  list<T extends KubeObject = KubeObject>(gvr: GVR, namespace: string | undefined, opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>('GET', resourcePath(gvr, namespace) + query({ ...opts }), undefined, ACCEPT, undefined, opts.signal);
  }

  /** Every page of a list (`limit` per page, default 500), at one resourceVersion. */
  async listAll<T extends KubeObject = KubeObject>(gvr: GVR, namespace: string | undefined, opts: Omit<ListOptions, 'continue'> = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let first: ObjectList<T> | undefined;
    for (let page = 0; page < 1_000_000; page++) {
      const l = await this.list<T>(gvr, namespace, { limit: 500, ...opts, continue: cont });
      first ??= l;
      for (const it of l.items) items.push(it);
      cont = l.metadata?.continue;
      if (!cont) break;
    }
    return { ...first!, metadata: { resourceVersion: first!.metadata?.resourceVersion }, items };
  }

  /** Opens a watch; resolves once the server accepted it (a refused watch throws StatusError). */
  async watch<T extends KubeObject = KubeObject>(gvr: GVR, namespace: string | undefined, opts: WatchOptions = {}): Promise<Watch<T>> {
    const w = new Watch<T>();
    const path = resourcePath(gvr, namespace) + query({ watch: 'true', ...opts });
    const res = await this.http.stream({ method: 'GET', path, headers: ACCEPT, signal: opts.signal }, { data: (c) => w.data(c), end: (e) => w.end(e) });
    if (!('pause' in res)) throw statusErrorOf(res);
    w.attach(res);
    if (opts.signal) {
      const stop = () => w.stop();
      opts.signal.addEventListener('abort', stop, { once: true });
      void w.done.then(() => opts.signal!.removeEventListener('abort', stop));
    }
    return w;
  }

  create<T extends KubeObject = KubeObject>(gvr: GVR, namespace: string | undefined, obj: NoInfer<T>, opts?: WriteOptions): Promise<T> {
    return this.request<T>('POST', resourcePath(gvr, namespace) + writeQuery(opts), obj);
  }

  update<T extends KubeObject = KubeObject>(gvr: GVR, namespace: string | undefined, obj: NoInfer<T>, opts?: WriteOptions): Promise<T> {
    return this.request<T>('PUT', resourcePath(gvr, namespace, nameOf(obj)) + writeQuery(opts), obj);
  }

  updateStatus<T extends KubeObject = KubeObject>(gvr: GVR, namespace: string | undefined, obj: NoInfer<T>, opts?: WriteOptions): Promise<T> {
    return this.request<T>('PUT', resourcePath(gvr, namespace, nameOf(obj), 'status') + writeQuery(opts), obj);
  }

  /**
   * A patch of one of the four kinds. `json` takes an array of operations; `apply` an object
   * (sent as JSON, which is YAML) and needs opts.fieldManager.
   */
  patch<T extends KubeObject = KubeObject>(gvr: GVR, namespace: string | undefined, name: string, type: PatchType, patch: unknown, opts: PatchOptions = {}): Promise<T> {
    if (type === 'apply' && !opts.fieldManager) throw new Error('patch: server-side apply needs opts.fieldManager');
    const q = writeQuery(opts, { force: type === 'apply' && opts.force ? true : undefined });
    return this.request<T>('PATCH', resourcePath(gvr, namespace, name, opts.subresource) + q, patch, { Accept: 'application/json', 'Content-Type': CONTENT_TYPES[type] });
  }

  /** Deletes one object: the object (graceful deletion, finalizers) or a Success Status. */
  delete<T extends KubeObject = KubeObject>(gvr: GVR, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<T | Status> {
    return this.request<T | Status>('DELETE', resourcePath(gvr, namespace, name) + query({ dryRun: opts.dryRun ? 'All' : undefined }), deleteBody(opts));
  }

  deleteCollection(gvr: GVR, namespace: string | undefined, opts: DeleteOptions & Pick<ListOptions, 'labelSelector' | 'fieldSelector'> = {}): Promise<unknown> {
    const q = query({ labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, dryRun: opts.dryRun ? 'All' : undefined });
    return this.request('DELETE', resourcePath(gvr, namespace) + q, deleteBody(opts));
  }

  /** POST to a subresource: `pods/binding` (the scheduler), `pods/eviction` (drain), … */
  createSubresource<R = unknown>(gvr: GVR, namespace: string | undefined, name: string, subresource: 'binding' | 'eviction' | (string & {}), body: unknown, opts?: WriteOptions): Promise<R> {
    return this.request<R>('POST', resourcePath(gvr, namespace, name, subresource) + writeQuery(opts), body);
  }

  getSubresource<R = unknown>(gvr: GVR, namespace: string | undefined, name: string, subresource: string): Promise<R> {
    return this.request<R>('GET', resourcePath(gvr, namespace, name, subresource));
  }

  /** Closes every connection; open watches end. */
  close(): void {
    this.http.close();
  }
}

function nameOf(obj: KubeObject): string {
  const n = obj.metadata?.name;
  if (!n) throw new Error('the object has no metadata.name');
  return n;
}

function deleteBody(o: DeleteOptions): Record<string, unknown> {
  const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
  if (o.propagationPolicy) body.propagationPolicy = o.propagationPolicy;
  if (o.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = o.gracePeriodSeconds;
  if (o.preconditions) body.preconditions = o.preconditions;
  return body;
}

/** Error helpers for callers branching on the reason. */
export const isNotFound = (e: unknown): boolean => e instanceof StatusError && e.code === 404;
export const isAlreadyExists = (e: unknown): boolean => e instanceof StatusError && e.code === 409 && e.reason === 'AlreadyExists';
export const isConflict = (e: unknown): boolean => e instanceof StatusError && e.code === 409 && e.reason === 'Conflict';
export const isGone = (e: unknown): boolean => e instanceof StatusError && e.code === 410;
export const isInvalid = (e: unknown): boolean => e instanceof StatusError && e.code === 422;
