// Transports for the HTTP client: TLS to a server URL (client certificate or bearer token, CA),
// credentials read from a kubeconfig, and in-process connections to an ApiServer in this process.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect } from 'node:tls';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { StreamOptions, Transport } from './http.ts';

export interface TlsOptions {
  /** `https://host:port`. */
  server: string;
  /** PEM: the CA bundle to verify the server with. */
  ca?: string | Buffer;
  /** PEM: client certificate and key (x509 authentication). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Bearer token (sent as `Authorization: Bearer …`). */
  token?: string;
  /** Skip server certificate verification (kubeconfig `insecure-skip-tls-verify`). */
  insecureSkipTlsVerify?: boolean;
  /** SNI and certificate name check; default the URL's host name. */
  tlsServerName?: string;
}

export function tlsTransport(opts: TlsOptions): Transport {
  const url = new URL(opts.server);
  if (url.protocol !== 'https:') throw new Error(`tlsTransport: ${opts.server} is not an https URL`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  const servername = opts.tlsServerName ?? (isIP(host) ? undefined : host);
  return {
    name: url.origin,
    host: url.host,
    headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : undefined,
    connect(): Duplex {
      const socket = connect({ host, port, servername, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: !opts.insecureSkipTlsVerify, ALPNProtocols: ['http/1.1'] });
      socket.setNoDelay(true);
      return socket;
    },
  };
}

/** Anything that can open an authenticated in-process connection (ApiServer.connectInProcess). */
export interface InProcessConnector {
  connectInProcess(user: { name: string; groups: string[] }, opts?: StreamOptions): Duplex;
}

export interface InProcessUser {
  name: string;
  groups: string[];
}

/** Connections to an API server in this process, authenticated as `user`. */
export function inProcessTransport(server: InProcessConnector, user: InProcessUser): Transport {
  return { name: 'in-process', host: 'in-process', connect: (opts) => server.connectInProcess(user, opts) };
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string; namespace?: string } }>;
  clusters?: Array<{ name: string; cluster: { server: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean; 'tls-server-name'?: string } }>;
  users?: Array<{ name: string; user: { 'client-certificate'?: string; 'client-certificate-data'?: string; 'client-key'?: string; 'client-key-data'?: string; token?: string; tokenFile?: string } }>;
}

export interface KubeconfigCredentials extends TlsOptions {
  /** The context's default namespace, if any. */
  namespace?: string;
}

/** TLS options from a kubeconfig file (the current context, or `context`); `-data` and file forms. */
export function loadKubeconfig(path: string, context?: string): KubeconfigCredentials {
  const text = readFileSync(path, 'utf8');
  return kubeconfigFromYaml(text, dirname(path), context);
}

/** TLS options from kubeconfig YAML text; relative file paths resolve against `baseDir`. */
export function kubeconfigFromYaml(text: string, baseDir = process.cwd(), context?: string): KubeconfigCredentials {
  const kc = parseYaml(text) as KubeconfigFile;
  const want = context ?? kc['current-context'];
  const ctx = kc.contexts?.find((c) => c.name === want) ?? (want ? undefined : kc.contexts?.[0]);
  if (!ctx) throw new Error(`kubeconfig: context ${JSON.stringify(want ?? '')} not found`);
  const cluster = kc.clusters?.find((c) => c.name === ctx.context.cluster)?.cluster;
  if (!cluster) throw new Error(`kubeconfig: cluster ${JSON.stringify(ctx.context.cluster)} not found`);
  const user = kc.users?.find((u) => u.name === ctx.context.user)?.user ?? {};
  const file = (p: string) => readFileSync(isAbsolute(p) ? p : join(baseDir, p));
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const pick = (data: string | undefined, path: string | undefined) => (data ? b64(data) : path ? file(path) : undefined);
  return {
    server: cluster.server,
    ca: pick(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: pick(user['client-certificate-data'], user['client-certificate']),
    key: pick(user['client-key-data'], user['client-key']),
    token: user.token ?? (user.tokenFile ? file(user.tokenFile).toString('utf8').trim() : undefined),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: cluster['tls-server-name'],
    namespace: ctx.context.namespace,
  };
}
