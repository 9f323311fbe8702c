// A lean HTTPS/1.1 client for the API benchmarks: keep-alive TLS sockets with the client
// certificate from a kubeconfig, one request in flight per socket, minimal response parsing.
// node:https costs ~150 µs of client CPU per request, which on a 2-core machine would take the
// server's second core; this client measures the server, not node:https.
import { readFileSync } from 'node:fs';
import { connect, type TLSSocket } from 'node:tls';
import { parse } from 'yaml';

export interface ApiClient {
  url: URL;
  call(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: string }>;
  /** A watch-style stream: onData gets the de-chunked bytes. */
  stream(path: string, onData: (chunk: Buffer) => void, onHeaders?: () => void): { close(): void };
  close(): void;
}

interface Tls {
  host: string;
  port: number;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

interface Pending {
  head: Buffer;
  resolve: (r: { status: number; body: string }) => void;
  reject: (e: Error) => void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Parses one HTTP/1.1 response at a time from a socket; content-length or chunked bodies. */
class Conn {
  readonly socket: TLSSocket;
  private buf: Buffer = Buffer.alloc(0);
  private current: Pending | undefined;
  private status = 0;
  private bodyStart = -1;
  private length = -1;
  private chunks: Buffer[] = [];
  private chunked = false;
  dead = false;
  onIdle: (c: Conn) => void = () => undefined;
  onRaw: ((b: Buffer) => void) | undefined;

  constructor(tls: Tls) {
    this.socket = connect({ host: tls.host, port: tls.port, ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.host === '127.0.0.1' ? undefined : tls.host });
    this.socket.setNoDelay(true);
    this.socket.on('data', (d: Buffer) => this.data(d));
    const fail = (e?: Error) => {
      this.dead = true;
      this.current?.reject(e ?? new Error('connection closed'));
      this.current = undefined;
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail());
  }

  send(p: Pending): void {
    this.current = p;
    this.status = 0;
    this.bodyStart = -1;
    this.socket.write(p.head);
  }

  /** Bytes of a content-length body received so far, kept as chunks until it is complete. */
  private parts: Buffer[] = [];
  private partBytes = 0;

  private data(d: Buffer): void {
    if (this.onRaw) return this.onRaw(d);
    if (this.bodyStart >= 0 && !this.chunked && this.partBytes + d.length < this.length) {
      this.parts.push(d);
      this.partBytes += d.length;
      return;
    }
    if (this.parts.length > 0) {
      d = Buffer.concat([...this.parts, d]);
      this.parts = [];
      this.partBytes = 0;
    }
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (this.bodyStart < 0) {
      const end = this.buf.indexOf(CRLFCRLF);
      if (end < 0) return;
      this.status = Number(this.buf.toString('latin1', 9, 12));
      const head = this.buf.toString('latin1', 0, end).toLowerCase();
      const m = /\r\ncontent-length: *(\d+)/.exec(head);
      this.length = m ? Number(m[1]) : -1;
      this.chunked = this.length < 0 && head.includes('transfer-encoding: chunked');
      this.bodyStart = end + 4;
      this.buf = this.buf.subarray(this.bodyStart);
      this.chunks = [];
    }
    if (!this.chunked) {
      if (this.buf.length < this.length) {
        this.parts.push(this.buf);
        this.partBytes = this.buf.length;
        this.buf = Buffer.alloc(0);
        return;
      }
      this.finish(this.buf.toString('utf8', 0, this.length));
      this.buf = this.buf.subarray(this.length);
      return;
    }
    for (;;) {
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return;
      const size = parseInt(this.buf.toString('latin1', 0, eol), 16);
      if (this.buf.length < eol + 2 + size + 2) return;
      if (size === 0) {
        this.buf = this.buf.subarray(eol + 4);
        return this.finish(Buffer.concat(this.chunks).toString('utf8'));
      }
      this.chunks.push(this.buf.subarray(eol + 2, eol + 2 + size));
      this.buf = this.buf.subarray(eol + 2 + size + 2);
    }
  }

  private finish(body: string): void {
    const p = this.current;
    this.current = undefined;
    this.bodyStart = -1;
    p?.resolve({ status: this.status, body });
    this.onIdle(this);
  }
}

export function clientFromKubeconfig(file: string, maxSockets = 64): ApiClient {
  const kc = parse(readFileSync(file, 'utf8')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{ user: { 'client-certificate-data': string; 'client-key-data': string } }>;
  };
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const url = new URL(kc.clusters[0].cluster.server);
  const tls: Tls = {
    host: url.hostname,
    port: Number(url.port),
    ca: b64(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b64(kc.users[0].user['client-certificate-data']),
    key: b64(kc.users[0].user['client-key-data']),
  };
  const hostHeader = `Host: ${url.host}\r\n`;
  const idle: Conn[] = [];
  const all = new Set<Conn>();
  const waiting: Pending[] = [];
  const release = (c: Conn) => {
    if (c.dead) {
      all.delete(c);
      return;
    }
    const next = waiting.shift();
    if (next) c.send(next);
    else idle.push(c);
  };
  const dispatch = (p: Pending) => {
    let c = idle.pop();
    while (c?.dead) {
      all.delete(c);
      c = idle.pop();
    }
    if (!c && all.size < maxSockets) {
      c = new Conn(tls);
      c.onIdle = release;
      all.add(c);
    }
    if (c) c.send(p);
    else waiting.push(p);
  };
  return {
    url,
    call(method, path, body, contentType = 'application/json') {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const head = `${method} ${path} HTTP/1.1\r\n${hostHeader}Accept: application/json\r\n${data ? `Content-Type: ${contentType}\r\nContent-Length: ${data.length}\r\n` : ''}\r\n`;
      return new Promise((resolve, reject) => dispatch({ head: data ? Buffer.concat([Buffer.from(head), data]) : Buffer.from(head), resolve, reject }));
    },
    stream(path, onData, onHeaders) {
      const c = new Conn(tls);
      // A watch never ends: hand the raw bytes over once the headers are past, de-chunked.
      let headerDone = false;
      let pending: Buffer = Buffer.alloc(0);
      let left = 0; // bytes of the current chunk still to pass on
      c.onRaw = (d) => {
        let b: Buffer = pending.length ? Buffer.concat([pending, d]) : d;
        pending = Buffer.alloc(0);
        if (!headerDone) {
          const end = b.indexOf(CRLFCRLF);
          if (end < 0) return void (pending = b);
          headerDone = true;
          b = b.subarray(end + 4);
          onHeaders?.();
        }
        while (b.length > 0) {
          if (left > 0) {
            const take = Math.min(left, b.length);
            onData(b.subarray(0, take));
            left -= take;
            b = b.subarray(take);
            if (left === 0) left = -2; // the CRLF after the chunk
            continue;
          }
          if (left < 0) {
            const skip = Math.min(-left, b.length);
            b = b.subarray(skip);
            left += skip;
            continue;
          }
          const eol = b.indexOf('\r\n');
          if (eol < 0) return void (pending = b);
          left = parseInt(b.toString('latin1', 0, eol), 16);
          b = b.subarray(eol + 2);
          if (left === 0) return;
        }
      };
      c.socket.write(`GET ${path} HTTP/1.1\r\n${hostHeader}Accept: application/json\r\n\r\n`);
      return { close: () => c.socket.destroy() };
    },
    close() {
      for (const c of all) c.socket.destroy();
      all.clear();
      idle.length = 0;
    },
  };
}
