// /openapi/v2 and /openapi/v3 documents, built lazily from openapi/definitions.json and
// openapi/operations.json and cached with their ETags.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Catalog } from '../registry/catalog.ts';
import { describe, loadDescriptions } from './descriptions.ts';

interface Operation {
  path: string;
  method: string;
  action: string;
  group: string;
  version: string;
  kind: string;
  resource?: string;
  namespaced?: boolean;
  operationId?: string;
  parameters?: string[];
  consumes?: string[];
}

type Schema = Record<string, unknown>;

interface Built {
  body: Buffer;
  gz?: Buffer;
  etag: string;
}

function built(obj: unknown): Built {
  const body = Buffer.from(JSON.stringify(obj));
  return { body, etag: `"${createHash('sha512').update(body).digest('hex').slice(0, 64).toUpperCase()}"` };
}

const PATH_PARAMS: Record<string, Schema> = {
  name: { name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } },
  namespace: { name: 'namespace', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } },
  path: { name: 'path', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } },
};

export class OpenApiDocs {
  private readonly dir: URL;
  private definitions: Record<string, Schema> | undefined;
  private operations: Operation[] | undefined;
  private v2: Built | undefined;
  private v3: Map<string, Built> | undefined;
  private v3Index: Built | undefined;

  constructor(_catalog: Catalog, dir = new URL('../../openapi/', import.meta.url)) {
    this.dir = dir;
  }

  private load(): boolean {
    if (this.definitions && this.operations) return true;
    const d = new URL('definitions.json', this.dir);
    const o = new URL('operations.json', this.dir);
    if (!existsSync(d) || !existsSync(o)) return false;
    const raw = JSON.parse(readFileSync(d, 'utf8')) as Record<string, Schema>;
    this.definitions = describe(raw, loadDescriptions(Object.keys(raw)));
    this.operations = JSON.parse(readFileSync(o, 'utf8')) as Operation[];
    return true;
  }

  private reachable(roots: Iterable<string>): string[] {
    const defs = this.definitions ?? {};
    const seen = new Set<string>();
    const stack = [...roots];
    while (stack.length > 0) {
      const name = stack.pop() as string;
      if (seen.has(name) || !defs[name]) continue;
      seen.add(name);
      JSON.stringify(defs[name], (k, v) => {
        if (k === '$ref' && typeof v === 'string') stack.push(v.replace(/^#\/(definitions|components\/schemas)\//, ''));
        return v;
      });
    }
    return [...seen].sort();
  }

  private kindDefinition(op: Operation): string | undefined {
    for (const [name, def] of Object.entries(this.definitions ?? {})) {
      const gvks = def['x-kubernetes-group-version-kind'] as Array<{ group: string; version: string; kind: string }> | undefined;
      if (gvks?.some((g) => g.group === op.group && g.version === op.version && g.kind === op.kind)) return name;
    }
    return undefined;
  }

  private buildV2(): Built {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const op of this.operations ?? []) {
      const p = (paths[op.path] ??= {});
      p[op.method] = {
        operationId: op.operationId,
        consumes: op.consumes ?? ['*/*'],
        produces: ['application/json', 'application/yaml'],
        schemes: ['https'],
        parameters: (op.parameters ?? []).map((name) => ({ name, in: 'query', type: 'string', uniqueItems: true })),
        responses: { '200': { description: 'OK' }, '401': { description: 'Unauthorized' } },
        'x-kubernetes-action': op.action,
        'x-kubernetes-group-version-kind': { group: op.group, version: op.version, kind: op.kind },
      };
    }
    return built({ swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.33.0' }, paths, definitions: this.definitions });
  }

  private buildV3(): { index: Built; docs: Map<string, Built> } {
    const byGv = new Map<string, Operation[]>();
    for (const op of this.operations ?? []) {
      const gv = op.group ? `apis/${op.group}/${op.version}` : `api/${op.version}`;
      if (!op.path.startsWith(`/${gv}/`)) continue;
      const list = byGv.get(gv) ?? [];
      list.push(op);
      byGv.set(gv, list);
    }
    const docs = new Map<string, Built>();
    const index: Record<string, { serverRelativeURL: string }> = {};
    for (const [gv, ops] of [...byGv.entries()].sort()) {
      const paths: Record<string, Record<string, unknown>> = {};
      const roots = new Set<string>();
      for (const op of ops) {
        const def = this.kindDefinition(op);
        if (def) roots.add(def);
        const p = (paths[op.path] ??= { parameters: (op.path.match(/\{(\w+)\}/g) ?? []).map((m) => PATH_PARAMS[m.slice(1, -1)]).filter(Boolean) });
        const response = def ? { content: { 'application/json': { schema: { $ref: `#/components/schemas/${def}` } } } } : {};
        p[op.method] = {
          operationId: op.operationId,
          parameters: (op.parameters ?? []).map((name) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } })),
          ...(op.method === 'post' || op.method === 'put' || op.method === 'patch'
            ? { requestBody: { content: Object.fromEntries((op.consumes ?? ['*/*']).map((c) => [c, def ? { schema: { $ref: `#/components/schemas/${def}` } } : {}])), required: true } }
            : {}),
          responses: { '200': { description: 'OK', ...response }, '401': { description: 'Unauthorized' } },
          'x-kubernetes-action': op.action,
          'x-kubernetes-group-version-kind': { group: op.group, version: op.version, kind: op.kind },
        };
      }
      for (const name of ['io.k8s.apimachinery.pkg.apis.meta.v1.Status', 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions']) roots.add(name);
      const schemas: Record<string, unknown> = {};
      for (const name of this.reachable(roots)) {
        schemas[name] = JSON.parse(JSON.stringify(this.definitions?.[name]).replace(/"#\/definitions\//g, '"#/components/schemas/'));
      }
      const doc = built({ openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.33.0' }, paths, components: { schemas } });
      docs.set(gv, doc);
      index[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${doc.etag.slice(1, -1)}` };
    }
    return { index: built({ paths: index }), docs };
  }

  /** Serves /openapi/v2 and /openapi/v3[/...]; false for anything else. */
  serve(path: string, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.load()) return false;
    const accept = String(req.headers.accept ?? '');
    let doc: Built | undefined;
    let immutable = false;
    if (path === '/openapi/v2') {
      // Clients that accept only protobuf must fall back to JSON: tell them we cannot serve it.
      if (accept && !/application\/json|\*\/\*/.test(accept)) {
        res.writeHead(406, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'only application/json is served', reason: 'NotAcceptable', code: 406 }));
        return true;
      }
      doc = this.v2 ??= this.buildV2();
    } else if (path === '/openapi/v3' || path === '/openapi/v3/') {
      if (!this.v3) {
        const b = this.buildV3();
        this.v3 = b.docs;
        this.v3Index = b.index;
      }
      doc = this.v3Index;
    } else if (path.startsWith('/openapi/v3/')) {
      if (!this.v3) {
        const b = this.buildV3();
        this.v3 = b.docs;
        this.v3Index = b.index;
      }
      doc = this.v3.get(path.slice('/openapi/v3/'.length));
      if (!doc) return false;
      immutable = q.get('hash') === doc.etag.slice(1, -1);
    } else return false;
    if (!doc) return false;
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json', ETag: doc.etag, Vary: 'Accept', 'Cache-Control': immutable ? 'public, immutable, max-age=31536000' : 'no-cache, private' };
    if (req.headers['if-none-match'] === doc.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    let body = doc.body;
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      body = doc.gz ??= gzipSync(doc.body);
      headers['Content-Encoding'] = 'gzip';
    }
    headers['Content-Length'] = body.length;
    res.writeHead(200, headers);
    res.end(body);
    return true;
  }
}
