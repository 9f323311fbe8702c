// The API server: HTTPS on node:http(s) with a lean dispatcher. Authentication by client
// certificate; routing from the catalogue; one generic handler per verb.
import { createServer, type Server } from 'node:https';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { duplexPair, type Duplex } from 'node:stream';
import type { Store } from '../store/types.ts';
import { Catalog } from '../registry/catalog.ts';
import { methodNotAllowed, notFound, StatusError, unauthorized } from '../api/status.ts';
import { identityFromSocket, setInProcessIdentity } from './pki/client-identity.ts';
import { Discovery } from './discovery.ts';
import { isHealthPath, serveHealth, VERSION_INFO, type Check } from './health.ts';
import { negotiate, writeError, writeJson } from './http.ts';
import { parseRequestInfo } from './request-info.ts';
import { Registries } from './registries.ts';
import { handleGet, handleList, handleWatch } from './handlers/read.ts';
import { handleCreate, handleDelete, handleDeleteCollection, handlePatch, handleUpdate } from './handlers/write.ts';
import { OpenApiDocs } from './openapi.ts';
import { handleReview, isReview } from './handlers/reviews.ts';
import { handleLog } from './handlers/log.ts';
import { handleBinding, handleEviction } from './handlers/pod-subresources.ts';

/** Subresources served today; the rest (exec, attach, portforward, proxy, binding, eviction, token...) come with later work. */
const IMPLEMENTED_SUBRESOURCES = new Set(['status', 'scale', 'log', 'finalize', 'binding', 'eviction']);

export interface ApiServerOptions {
  store: Store;
  tls: { cert: string; key: string; ca: string };
  bindAddress: string;
  port: number;
  catalog?: Catalog;
}

export class ApiServer {
  readonly registries: Registries;
  private readonly discovery: Discovery;
  private readonly openapi: OpenApiDocs;
  private readonly server: Server;
  private readonly opts: ApiServerOptions;
  private readonly checks: Record<string, Check[]>;
  private ready = false;
  /** Plain node:http server that only ever receives in-process connections (never listens). */
  private inProcess: HttpServer | undefined;
  private readonly inProcessSockets = new Set<Duplex>();
  private stopped = false;
  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.handle(req, res).catch((err) => writeError(res, err));
  };

  constructor(opts: ApiServerOptions) {
    this.opts = opts;
    const catalog = opts.catalog ?? Catalog.load();
    this.registries = new Registries(opts.store, catalog);
    this.discovery = new Discovery(catalog);
    this.openapi = new OpenApiDocs(catalog);
    const storage: Check = { name: 'etcd', run: async () => void (await opts.store.revision()) };
    const ping: Check = { name: 'ping', run: () => undefined };
    const caches: Check = { name: 'informer-sync', run: () => { if (!this.ready) throw new Error('caches not synced'); } };
    this.checks = { healthz: [ping, storage], livez: [ping, storage], readyz: [ping, storage, caches] };
    this.server = createServer({ cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, requestCert: true, rejectUnauthorized: false }, this.onRequest);
    this.server.keepAliveTimeout = 75_000;
  }

  async start(): Promise<{ port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.bindAddress, () => resolve());
    });
    await this.registries.startCaches();
    this.ready = true;
    const addr = this.server.address();
    return { port: typeof addr === 'object' && addr ? addr.port : this.opts.port };
  }

  /**
   * An in-process connection authenticated as `user`: the client end of a connected in-memory
   * stream pair whose server end is served by a plain node:http server with the same request
   * handler as HTTPS (same dispatcher, admission and Status errors). Speak HTTP/1.1 on it.
   */
  connectInProcess(user: { name: string; groups: string[] }): Duplex {
    if (this.stopped) throw new Error('the API server is stopped');
    this.inProcess ??= createHttpServer(this.onRequest);
    const [client, server] = duplexPair();
    // node:http calls these on net.Socket connections; an in-memory stream has nothing to tune.
    Object.assign(server, { setTimeout: () => server, setNoDelay: () => server, setKeepAlive: () => server, remoteAddress: '127.0.0.1', remotePort: 0 });
    setInProcessIdentity(server, { user: user.name, groups: [...user.groups] });
    // Either end closing closes the other (a watch stopped by the client ends on the server).
    client.once('close', () => server.destroy());
    server.once('close', () => {
      client.destroy();
      this.inProcessSockets.delete(server);
    });
    this.inProcessSockets.add(server);
    this.inProcess.emit('connection', server);
    return client;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.inProcessSockets) s.destroy();
    this.registries.stop();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const path = qi >= 0 ? url.slice(0, qi) : url;
    const q = new URLSearchParams(qi >= 0 ? url.slice(qi + 1) : '');
    if (path === '/version' || path === '/version/') return writeJson(res, 200, VERSION_INFO);
    if (isHealthPath(path) && (await serveHealth(path, q, this.checks, res))) return;
    const user = identityFromSocket(req.socket);
    if (!user) throw unauthorized();
    if (this.discovery.serve(path, req, res)) return;
    if (path.startsWith('/openapi/')) {
      if (this.openapi.serve(path, q, req, res)) return;
      throw notFound({ group: '', resource: '' }, path);
    }
    const ri = parseRequestInfo(req.method ?? 'GET', path, q);
    if (!ri.isResourceRequest) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    if (isReview(ri)) return handleReview(ri, user, negotiate(req), req, res);
    const reg = this.registries.get(ri.group, ri.version, ri.resource);
    if (!reg) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    if (!reg.info.namespaced && ri.namespace && ri.resource !== 'namespaces') throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    if (reg.info.namespaced && ri.namespace === '' && ri.verb !== 'list' && ri.verb !== 'watch') {
      throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (ri.resource === 'namespaces') ri.namespace = '';
    const sub = ri.subresource ? reg.info.subresources.find((s) => s.name === ri.subresource) : undefined;
    if (ri.subresource && !sub) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    if (sub && !IMPLEMENTED_SUBRESOURCES.has(sub.name)) {
      throw methodNotAllowed(`the ${reg.info.resource}/${sub.name} subresource is not supported by this server yet`);
    }
    const verbs = sub ? sub.verbs : reg.info.verbs;
    if (!verbs.includes(ri.verb) && !(ri.verb === 'watch' && verbs.includes('watch'))) {
      throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
    const neg = negotiate(req);
    if (ri.subresource === 'log') return handleLog(reg, ri, q, res);
    if (ri.subresource === 'binding' || (ri.resource === 'bindings' && ri.verb === 'create')) {
      const pods = this.registries.get('', 'v1', 'pods');
      if (!pods) throw notFound({ group: '', resource: 'pods' }, ri.name);
      return handleBinding(pods, ri, q, req, res);
    }
    if (ri.subresource === 'eviction') return handleEviction(this.registries, reg, ri, q, req, res);
    switch (ri.verb) {
      case 'get':
        return handleGet(reg, ri, q, neg, res);
      case 'list':
        return handleList(reg, ri, q, neg, res);
      case 'watch':
        return handleWatch(reg, ri, q, neg, req, res);
      case 'create':
        return handleCreate(this.registries, reg, ri, q, neg, req, res);
      case 'update':
        return handleUpdate(this.registries, reg, ri, q, neg, req, res);
      case 'patch':
        return handlePatch(this.registries, reg, ri, q, neg, req, res);
      case 'delete':
        return handleDelete(reg, ri, q, neg, req, res);
      case 'deletecollection':
        return handleDeleteCollection(reg, ri, q, neg, req, res);
      default:
        throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
  }
}
