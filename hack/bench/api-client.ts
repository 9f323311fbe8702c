// A minimal HTTPS client for the API benchmarks: keep-alive, client certificate from a kubeconfig.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { parse } from 'yaml';

export interface ApiClient {
  url: URL;
  agent: Agent;
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  stream(path: string, onData: (chunk: Buffer) => void): { close(): void };
}

export function clientFromKubeconfig(file: string, maxSockets = 64): ApiClient {
  const kc = parse(readFileSync(file, 'utf8')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{ user: { 'client-certificate-data': string; 'client-key-data': string } }>;
  };
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const url = new URL(kc.clusters[0].cluster.server);
  const agent = new Agent({
    keepAlive: true,
    maxSockets,
    ca: b64(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b64(kc.users[0].user['client-certificate-data']),
    key: b64(kc.users[0].user['client-key-data']),
  });
  return {
    url,
    agent,
    call(method, path, body) {
      return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = request({ host: url.hostname, port: url.port, path, method, agent, headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {} }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(data);
      });
    },
    stream(path, onData) {
      const req = request({ host: url.hostname, port: url.port, path, method: 'GET', agent: new Agent({ ca: agent.options.ca, cert: agent.options.cert, key: agent.options.key }) }, (res) => res.on('data', onData));
      req.on('error', () => undefined);
      req.end();
      return { close: () => req.destroy() };
    },
  };
}
