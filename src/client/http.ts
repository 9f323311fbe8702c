// A small HTTP/1.1 client over any Duplex stream (TLS socket, in-memory pair): a keep-alive pool
// with one request in flight per connection, Content-Length, chunked and close-delimited response
// bodies, request timeouts, and long-lived streaming responses (watch) on dedicated connections.
// node:http's client is not used: it needs a net/tls Agent for pooling, and costs ~150 µs of CPU
// per request, which is most of an in-process round trip.
import type { Duplex } from 'node:stream';

/** A connection that will carry one long-lived streaming response (a watch) of the request at `path`. */
export interface StreamOptions {
  stream?: boolean;
  path?: string;
}

/** How to open a connection to the API server. */
export interface Transport {
  /**
   * A new connection; bytes may be written at once (TLS buffers them until the handshake).
   * `stream`: it will carry one long-lived streaming response (a watch) of the request at `path`.
   */
  connect(opts?: StreamOptions): Duplex;
  /** The Host header. */
  readonly host: string;
  /** Headers sent with every request (e.g. Authorization for a bearer token). */
  readonly headers?: Readonly<Record<string, string>>;
  /** For messages: `https://127.0.0.1:6443` or `in-process`. */
  readonly name: string;
}

export interface HttpRequest {
  method: string;
  /** Path and query, e.g. `/api/v1/namespaces/default/pods?limit=500`. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Overrides the client's timeout (ms; 0 = none). For a stream, the time to the response head. */
  timeoutMs?: number;
  /** Aborting drops the connection and fails the request with AbortedError (a stream: closes it). */
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/** The connection failed or closed before the response was complete. */
export class ConnectionError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ConnectionError';
  }
}

/** No complete response within the request's timeout; the connection was dropped. */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/** The request's AbortSignal fired. */
export class AbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AbortedError';
  }
}

export interface HttpClientOptions {
  /** Pooled connections for ordinary requests (streams get their own); default 32. */
  maxConnections?: number;
  /** Default request timeout in ms; default 30 s; 0 disables. */
  timeoutMs?: number;
  /** Idle pooled connections are closed after this long (before the server's 75 s); default 30 s. */
  idleTimeoutMs?: number;
  /** User-Agent header; default `k8ts-client`. */
  userAgent?: string;
}

const CRLF = 0x0d0a;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

interface ResponseHandler {
  head(status: number, headers: Record<string, string>): void;
  data(chunk: Buffer): void;
  end(): void;
  error(err: Error): void;
}

type State = 'head' | 'length' | 'chunkSize' | 'chunkData' | 'chunkEnd' | 'trailers' | 'eof' | 'done';

/** One connection: a response parser fed by the stream's data, one response at a time. */
class Connection {
  readonly socket: Duplex;
  private handler: ResponseHandler | undefined;
  private buf: Buffer = EMPTY;
  private state: State = 'done';
  private remaining = 0;
  private headRequest = false;
  /** The current response said `Connection: close` or is delimited by the end of the stream. */
  private closeAfter = false;
  /** Requests sent on this connection (a reused connection may have been closed by the server). */
  uses = 0;
  /** Bytes of the current response received so far. */
  received = 0;
  dead = false;
  idleTimer: NodeJS.Timeout | undefined;

  constructor(socket: Duplex) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.onEnd());
    socket.on('error', (e: Error) => this.fail(new ConnectionError(`connection error: ${e.message}`, e)));
    socket.on('close', () => this.fail(new ConnectionError('connection closed before the response was complete')));
  }

  get busy(): boolean {
    return this.handler !== undefined;
  }

  get reusable(): boolean {
    return !this.dead && !this.closeAfter && this.state === 'done';
  }

  send(data: Buffer, handler: ResponseHandler, head: boolean): void {
    this.handler = handler;
    this.state = 'head';
    this.headRequest = head;
    this.closeAfter = false;
    this.received = 0;
    this.uses++;
    this.socket.write(data);
  }

  /** Drops the connection; an in-flight response fails with `err`. */
  destroy(err?: Error): void {
    if (err) this.fail(err);
    this.dead = true;
    this.socket.destroy();
  }

  private fail(err: Error): void {
    this.dead = true;
    const h = this.handler;
    this.handler = undefined;
    if (this.state !== 'done') this.state = 'done';
    h?.error(err);
  }

  private onEnd(): void {
    if (this.state === 'eof') {
      this.state = 'done';
      this.closeAfter = true;
      const h = this.handler;
      this.handler = undefined;
      h?.end();
    }
    this.dead = true;
    this.fail(new ConnectionError('connection closed by the server before the response was complete'));
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.received += d.length;
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    try {
      this.parse();
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  private parse(): void {
    while (this.buf.length > 0 && this.handler) {
      switch (this.state) {
        case 'head': {
          const end = this.buf.indexOf(CRLFCRLF);
          if (end < 0) {
            if (this.buf.length > 64 * 1024) throw new ConnectionError('response head larger than 64 KiB');
            return;
          }
          const text = this.buf.toString('latin1', 0, end);
          this.buf = this.buf.subarray(end + 4);
          const { status, headers } = parseHead(text);
          if (status >= 100 && status < 200) continue; // 100 Continue and friends: the real head follows
          if (headers.connection?.toLowerCase().includes('close')) this.closeAfter = true;
          this.handler.head(status, headers);
          if (!this.handler) return;
          if (this.headRequest || status === 204 || status === 304) this.state = 'done';
          else if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) this.state = 'chunkSize';
          else if (headers['content-length'] !== undefined) {
            this.remaining = Number(headers['content-length']);
            if (!Number.isSafeInteger(this.remaining) || this.remaining < 0) throw new ConnectionError(`bad Content-Length: ${headers['content-length']}`);
            this.state = this.remaining === 0 ? 'done' : 'length';
          } else {
            this.state = 'eof';
            this.closeAfter = true;
          }
          if (this.state === 'done') this.complete();
          break;
        }
        case 'length': {
          const take = Math.min(this.remaining, this.buf.length);
          const part = this.buf.subarray(0, take);
          this.buf = this.buf.subarray(take);
          this.remaining -= take;
          this.handler.data(part);
          if (this.remaining === 0) {
            this.state = 'done';
            this.complete();
          }
          break;
        }
        case 'chunkSize': {
          const eol = this.buf.indexOf('\r\n');
          if (eol < 0) {
            if (this.buf.length > 4096) throw new ConnectionError('bad chunk size line');
            return;
          }
          const line = this.buf.toString('latin1', 0, eol);
          const semi = line.indexOf(';');
          const size = parseInt(semi >= 0 ? line.slice(0, semi) : line, 16);
          if (!Number.isSafeInteger(size) || size < 0) throw new ConnectionError(`bad chunk size: ${JSON.stringify(line)}`);
          this.buf = this.buf.subarray(eol + 2);
          if (size === 0) this.state = 'trailers';
          else {
            this.remaining = size;
            this.state = 'chunkData';
          }
          break;
        }
        case 'chunkData': {
          const take = Math.min(this.remaining, this.buf.length);
          const part = this.buf.subarray(0, take);
          this.buf = this.buf.subarray(take);
          this.remaining -= take;
          if (this.remaining === 0) this.state = 'chunkEnd';
          this.handler.data(part);
          break;
        }
        case 'chunkEnd': {
          if (this.buf.length < 2) return;
          if (this.buf.readUInt16BE(0) !== CRLF) throw new ConnectionError('missing CRLF after chunk');
          this.buf = this.buf.subarray(2);
          this.state = 'chunkSize';
          break;
        }
        case 'trailers': {
          // Trailer lines (rare) up to an empty line.
          const eol = this.buf.indexOf('\r\n');
          if (eol < 0) return;
          this.buf = this.buf.subarray(eol + 2);
          if (eol === 0) {
            this.state = 'done';
            this.complete();
          }
          break;
        }
        case 'eof': {
          const part = this.buf;
          this.buf = EMPTY;
          this.handler.data(part);
          break;
        }
        case 'done':
          // Bytes nobody asked for: the connection is out of step.
          throw new ConnectionError('unexpected data from the server');
      }
    }
  }

  private complete(): void {
    const h = this.handler;
    this.handler = undefined;
    h?.end();
  }
}

function parseHead(text: string): { status: number; headers: Record<string, string> } {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new ConnectionError(`not an HTTP/1.1 response: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const name = line.slice(0, c).trim().toLowerCase();
    const value = line.slice(c + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(m[1]), headers };
}

interface Waiter {
  resolve(c: Connection): void;
  reject(e: Error): void;
}

/** A streaming response: the head, then body chunks as they arrive. */
export interface HttpStream {
  status: number;
  headers: Record<string, string>;
  /** Stops reading from the connection until resume() (back-pressure). */
  pause(): void;
  resume(): void;
  /** Drops the connection (the only way to end a watch early). */
  close(): void;
}

export interface StreamHandlers {
  data(chunk: Buffer): void;
  /** The response ended (`err` undefined) or the connection failed. Called once. */
  end(err?: Error): void;
}

export class HttpClient {
  readonly transport: Transport;
  private readonly maxConnections: number;
  private readonly timeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly fixedHeaders: string;
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly streams = new Set<Connection>();
  private readonly waiting: Waiter[] = [];
  private closed = false;

  constructor(transport: Transport, opts: HttpClientOptions = {}) {
    this.transport = transport;
    this.maxConnections = opts.maxConnections ?? 32;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
    let fixed = `Host: ${transport.host}\r\nUser-Agent: ${opts.userAgent ?? 'k8ts-client'}\r\n`;
    for (const [k, v] of Object.entries(transport.headers ?? {})) fixed += `${k}: ${v}\r\n`;
    this.fixedHeaders = fixed;
  }

  /** Connections open now (pooled and streaming). */
  get connections(): number {
    return this.all.size + this.streams.size;
  }

  private encode(req: HttpRequest): Buffer {
    const body = req.body === undefined ? undefined : typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
    let head = `${req.method} ${req.path} HTTP/1.1\r\n${this.fixedHeaders}`;
    if (req.headers) for (const k in req.headers) head += `${k}: ${req.headers[k]}\r\n`;
    if (body) head += `Content-Length: ${body.length}\r\n`;
    head += '\r\n';
    if (!body) return Buffer.from(head, 'latin1');
    const h = Buffer.from(head, 'latin1');
    return Buffer.concat([h, body], h.length + body.length);
  }

  private open(stream?: StreamOptions): Connection {
    let socket: Duplex;
    try {
      socket = this.transport.connect(stream);
    } catch (err) {
      throw new ConnectionError(`cannot connect to ${this.transport.name}: ${(err as Error).message}`, err);
    }
    return new Connection(socket);
  }

  private acquire(): Promise<Connection> {
    if (this.closed) return Promise.reject(new ConnectionError('the client is closed'));
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      clearTimeout(c.idleTimer);
      if (!c.dead) return Promise.resolve(c);
      this.all.delete(c);
    }
    if (this.all.size < this.maxConnections) {
      const c = this.open();
      this.all.add(c);
      c.socket.once('close', () => this.all.delete(c));
      return Promise.resolve(c);
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(c: Connection): void {
    if (!c.reusable || this.closed) {
      this.all.delete(c);
      c.destroy();
      // A slot is free: a waiter gets a new connection.
      const w = this.waiting.shift();
      if (w) this.acquire().then(w.resolve, w.reject);
      return;
    }
    const w = this.waiting.shift();
    if (w) return w.resolve(c);
    this.idle.push(c);
    if (this.idleTimeoutMs > 0) {
      c.idleTimer = setTimeout(() => {
        const i = this.idle.indexOf(c);
        if (i >= 0) this.idle.splice(i, 1);
        this.all.delete(c);
        c.destroy();
      }, this.idleTimeoutMs);
      c.idleTimer.unref();
    }
  }

  /** One request; resolves with the complete response whatever its status. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    if (req.signal?.aborted) throw new AbortedError(`${req.method} ${req.path}: aborted`);
    const data = this.encode(req);
    const idempotent = req.method === 'GET' || req.method === 'HEAD';
    for (let attempt = 0; ; attempt++) {
      const c = await this.acquire();
      const reused = c.uses > 0;
      try {
        return await this.exchange(c, data, req);
      } catch (err) {
        // A reused keep-alive connection the server closed meanwhile: retry a safe request once.
        if (err instanceof ConnectionError && reused && idempotent && c.received === 0 && attempt === 0) continue;
        throw err;
      }
    }
  }

  private exchange(c: Connection, data: Buffer, req: HttpRequest): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      let status = 0;
      let headers: Record<string, string> = {};
      const chunks: Buffer[] = [];
      let size = 0;
      const timeoutMs = req.timeoutMs ?? this.timeoutMs;
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              c.destroy(new TimeoutError(`${req.method} ${req.path}: no response within ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      const onAbort = () => c.destroy(new AbortedError(`${req.method} ${req.path}: aborted`));
      req.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
      };
      c.send(
        data,
        {
          head: (s, h) => {
            status = s;
            headers = h;
          },
          data: (chunk) => {
            chunks.push(chunk);
            size += chunk.length;
          },
          end: () => {
            cleanup();
            this.release(c);
            resolve({ status, headers, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) });
          },
          error: (err) => {
            cleanup();
            this.release(c);
            reject(err);
          },
        },
        req.method === 'HEAD',
      );
    });
  }

  /**
   * A streaming request on a connection of its own. Resolves at the response head; a response
   * that is not 2xx is read whole and resolved as an HttpResponse instead.
   */
  stream(req: HttpRequest, handlers: StreamHandlers): Promise<HttpStream | HttpResponse> {
    if (this.closed) return Promise.reject(new ConnectionError('the client is closed'));
    if (req.signal?.aborted) return Promise.reject(new AbortedError(`${req.method} ${req.path}: aborted`));
    const c = this.open({ stream: true, path: req.path });
    this.streams.add(c);
    c.socket.once('close', () => this.streams.delete(c));
    const data = this.encode(req);
    return new Promise((resolve, reject) => {
      const timeoutMs = req.timeoutMs ?? this.timeoutMs;
      const timer =
        timeoutMs > 0 ? setTimeout(() => c.destroy(new TimeoutError(`${req.method} ${req.path}: no response within ${timeoutMs} ms`)), timeoutMs) : undefined;
      let streaming: HttpStream | undefined;
      let status = 0;
      let headers: Record<string, string> = {};
      const errorBody: Buffer[] = [];
      let ended = false;
      const onAbort = () => finish(streaming ? undefined : new AbortedError(`${req.method} ${req.path}: aborted`));
      req.signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (err?: Error) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        c.destroy();
        if (streaming) handlers.end(err);
        else if (err) reject(err);
        else resolve({ status, headers, body: Buffer.concat(errorBody) });
      };
      c.send(
        data,
        {
          head: (s, h) => {
            status = s;
            headers = h;
            if (s < 200 || s >= 300) return;
            clearTimeout(timer);
            streaming = {
              status: s,
              headers: h,
              pause: () => c.socket.pause(),
              resume: () => c.socket.resume(),
              close: () => finish(),
            };
            resolve(streaming);
          },
          data: (chunk) => {
            if (streaming) handlers.data(chunk);
            else errorBody.push(chunk);
          },
          end: () => finish(),
          error: (err) => finish(err),
        },
        false,
      );
    });
  }

  /** Closes every connection, streams included; pending requests fail. */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new ConnectionError('the client is closed'));
    for (const c of [...this.all, ...this.streams]) {
      clearTimeout(c.idleTimer);
      c.destroy(new ConnectionError('the client is closed'));
    }
    this.all.clear();
    this.streams.clear();
    this.idle.length = 0;
  }
}
