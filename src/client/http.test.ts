// The HTTP/1.1 client against scripted servers on in-memory stream pairs: body framings split at
// every byte, keep-alive reuse, the pool limit, timeouts and connection failures.
import { duplexPair, type Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, ConnectionError, HttpClient, TimeoutError, type HttpStream, type Transport } from './http.ts';

/** A transport whose server ends are handed to `serve`; every socket is destroyed after each test. */
const open: Duplex[] = [];
function scripted(serve: (server: Duplex, index: number) => void): Transport & { count: () => number } {
  let n = 0;
  return {
    name: 'scripted',
    host: 'test',
    count: () => n,
    connect() {
      const [client, server] = duplexPair();
      client.once('close', () => server.destroy());
      server.once('close', () => client.destroy());
      open.push(client, server);
      serve(server, n++);
      return client;
    },
  };
}

/** Calls `onRequest` with each complete request head (the tests send no bodies but one). */
function onRequests(server: Duplex, onRequest: (head: string, body: string) => void): void {
  let buf = '';
  server.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      const m = /content-length: (\d+)/i.exec(head);
      const len = m ? Number(m[1]) : 0;
      if (buf.length < end + 4 + len) return;
      const body = buf.slice(end + 4, end + 4 + len);
      buf = buf.slice(end + 4 + len);
      onRequest(head, body);
    }
  });
}

/** Writes `bytes` one byte per event-loop turn: the parser must cope with any split. */
async function dribble(server: Duplex, bytes: string): Promise<void> {
  for (const ch of Buffer.from(bytes)) {
    server.write(Buffer.from([ch]));
    await new Promise((r) => setImmediate(r));
  }
}

afterEach(() => {
  for (const s of open.splice(0)) s.destroy();
});

describe('HttpClient', () => {
  it('reads Content-Length bodies and reuses the connection (keep-alive)', async () => {
    const t = scripted((s) => onRequests(s, (head) => {
      const path = head.split(' ')[1];
      s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${path.length}\r\n\r\n${path}`);
    }));
    const c = new HttpClient(t);
    for (let i = 0; i < 5; i++) {
      const r = await c.request({ method: 'GET', path: `/p${i}` });
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.body.toString()).toBe(`/p${i}`);
    }
    expect(t.count()).toBe(1);
    c.close();
  });

  it('sends the body with Content-Length and the fixed headers', async () => {
    let seen = { head: '', body: '' };
    const t = scripted((s) => onRequests(s, (head, body) => {
      seen = { head, body };
      s.write('HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok');
    }));
    const c = new HttpClient(t, { userAgent: 'ua/1' });
    const r = await c.request({ method: 'POST', path: '/x', body: '{"a":1}', headers: { 'Content-Type': 'application/json' } });
    expect(r.status).toBe(201);
    expect(seen.head).toMatch(/^POST \/x HTTP\/1\.1\r\n/);
    expect(seen.head).toMatch(/\r\nHost: test\r\n/);
    expect(seen.head).toMatch(/\r\nUser-Agent: ua\/1\r\n/);
    expect(seen.head).toMatch(/\r\nContent-Length: 7(\r\n|$)/);
    expect(seen.body).toBe('{"a":1}');
    c.close();
  });

  it('parses chunked and Content-Length responses split at every byte', async () => {
    const responses = [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n\r\n',
      'HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nWarning: a\r\nWarning: b\r\n\r\nnot found',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n',
    ];
    const t = scripted((s) => {
      let i = 0;
      onRequests(s, () => void dribble(s, responses[i++]));
    });
    const c = new HttpClient(t);
    const a = await c.request({ method: 'GET', path: '/a' });
    expect([a.status, a.body.toString()]).toEqual([200, 'hello world']);
    const b = await c.request({ method: 'GET', path: '/b' });
    expect([b.status, b.body.toString(), b.headers.warning]).toEqual([404, 'not found', 'a, b']);
    const d = await c.request({ method: 'DELETE', path: '/d' });
    expect([d.status, d.body.length]).toEqual([204, 0]);
    expect(t.count()).toBe(1);
    c.close();
  });

  it('reads a close-delimited body and does not reuse that connection', async () => {
    const t = scripted((s) => onRequests(s, () => {
      s.write('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end');
      s.end();
    }));
    const c = new HttpClient(t);
    const r1 = await c.request({ method: 'GET', path: '/' });
    expect(r1.body.toString()).toBe('until the end');
    const r2 = await c.request({ method: 'GET', path: '/' });
    expect(r2.body.toString()).toBe('until the end');
    expect(t.count()).toBe(2);
    c.close();
  });

  it('keeps one request in flight per connection and queues beyond maxConnections', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const perConn: number[] = [];
    const t = scripted((s, idx) => {
      perConn[idx] = 0;
      let busy = false;
      onRequests(s, () => {
        if (busy) throw new Error('two requests in flight on one connection');
        busy = true;
        inFlight++;
        perConn[idx]++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          busy = false;
          s.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
        }, 5);
      });
    });
    const c = new HttpClient(t, { maxConnections: 3 });
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => c.request({ method: 'GET', path: `/${i}` })));
    expect(rs.every((r) => r.status === 200)).toBe(true);
    expect(t.count()).toBe(3);
    expect(maxInFlight).toBe(3);
    expect(perConn.reduce((a, b) => a + b, 0)).toBe(12);
    c.close();
  });

  it('times out a request and drops its connection', async () => {
    const t = scripted(() => undefined); // never answers
    const c = new HttpClient(t, { timeoutMs: 50 });
    await expect(c.request({ method: 'GET', path: '/slow' })).rejects.toBeInstanceOf(TimeoutError);
    expect(c.connections).toBe(0);
    c.close();
  });

  it('surfaces a connection that closes mid-response as ConnectionError', async () => {
    const t = scripted((s) => onRequests(s, () => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
      setImmediate(() => s.destroy());
    }));
    const c = new HttpClient(t);
    await expect(c.request({ method: 'GET', path: '/' })).rejects.toBeInstanceOf(ConnectionError);
    c.close();
  });

  it('surfaces a transport that cannot connect as ConnectionError', async () => {
    const c = new HttpClient({ name: 'nowhere', host: 'x', connect: () => { throw new Error('ECONNREFUSED'); } });
    await expect(c.request({ method: 'GET', path: '/' })).rejects.toThrow(/cannot connect to nowhere: ECONNREFUSED/);
    c.close();
  });

  it('retries a GET once when a reused keep-alive connection was closed by the server', async () => {
    const t = scripted((s, idx) => {
      let n = 0;
      onRequests(s, () => {
        // The first connection dies on its second request without answering.
        if (idx === 0 && ++n === 2) return void s.destroy();
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
    });
    const c = new HttpClient(t);
    expect((await c.request({ method: 'GET', path: '/1' })).body.toString()).toBe('ok');
    expect((await c.request({ method: 'GET', path: '/2' })).body.toString()).toBe('ok');
    expect(t.count()).toBe(2);
    c.close();
  });

  it('streams a chunked response and can be closed by the client', async () => {
    let serverEnd: Duplex | undefined;
    const t = scripted((s) => onRequests(s, () => {
      serverEnd = s;
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      void dribble(s, '6\r\nline1\n\r\n');
    }));
    const c = new HttpClient(t);
    const chunks: string[] = [];
    let ended: Error | undefined | null = null;
    const st = (await c.stream({ method: 'GET', path: '/watch' }, { data: (b) => chunks.push(b.toString()), end: (e) => (ended = e) })) as HttpStream;
    expect(st.status).toBe(200);
    for (let i = 0; i < 200 && chunks.join('') !== 'line1\n'; i++) await new Promise((r) => setTimeout(r, 5));
    expect(chunks.join('')).toBe('line1\n');
    st.close();
    expect(ended).toBeUndefined();
    for (let i = 0; i < 100 && !serverEnd!.destroyed; i++) await new Promise((r) => setTimeout(r, 5));
    expect(serverEnd!.destroyed).toBe(true);
    c.close();
  });

  it('tells the transport which connections carry a stream, and of which path', async () => {
    const seen: unknown[] = [];
    const inner = scripted((s) => onRequests(s, () => s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')));
    const t: Transport = { ...inner, connect: (opts) => (seen.push(opts), inner.connect()) };
    const c = new HttpClient(t);
    const st = (await c.stream({ method: 'GET', path: '/apis/coordination.k8s.io/v1/leases?watch=true' }, { data: () => undefined, end: () => undefined })) as HttpStream;
    st.close();
    expect(seen).toEqual([{ stream: true, path: '/apis/coordination.k8s.io/v1/leases?watch=true' }]);
    c.close();
  });

  it('reads a refused stream whole and hands back the response', async () => {
    const t = scripted((s) => onRequests(s, () => s.write('HTTP/1.1 410 Gone\r\nContent-Length: 4\r\n\r\ngone')));
    const c = new HttpClient(t);
    const r = await c.stream({ method: 'GET', path: '/watch' }, { data: () => undefined, end: () => undefined });
    expect('body' in r && r.status === 410 && r.body.toString()).toBe('gone');
    c.close();
  });

  it('aborts a request and a stream that is still waiting for its head', async () => {
    const t = scripted(() => undefined); // never answers
    const c = new HttpClient(t, { timeoutMs: 0 });
    const ac = new AbortController();
    const req = c.request({ method: 'GET', path: '/', signal: ac.signal });
    const st = c.stream({ method: 'GET', path: '/watch', signal: ac.signal }, { data: () => undefined, end: () => undefined });
    setTimeout(() => ac.abort(), 20);
    await expect(req).rejects.toBeInstanceOf(AbortedError);
    await expect(st).rejects.toBeInstanceOf(AbortedError);
    await expect(c.request({ method: 'GET', path: '/', signal: ac.signal })).rejects.toBeInstanceOf(AbortedError);
    c.close();
  });
});
