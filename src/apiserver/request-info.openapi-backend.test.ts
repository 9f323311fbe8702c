// Our request-info parser against openapi-backend's router, on every operation we serve: the path
// templates of /openapi/v2 routed by a general OpenAPI matcher must land on the same resource,
// subresource, scope, name and verb as the dispatcher's hand-written parser.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OpenAPIRouter, type Document } from 'openapi-backend';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../registry/catalog.ts';
import operations from '../../openapi/operations.json' with { type: 'json' };
import { OpenApiDocs } from './openapi.ts';
import { parseRequestInfo } from './request-info.ts';

interface CatalogOperation {
  path: string;
  method: string;
  action: string;
  group: string;
  version: string;
  resource?: string;
  subresource?: string;
  operationId?: string;
}

/** The document GET /openapi/v2 answers with. */
function servedV2(): { info: Document['info']; paths: NonNullable<Document['paths']> } {
  let body: Buffer | undefined;
  const req = { headers: { accept: 'application/json' } } as unknown as IncomingMessage;
  const res = { writeHead: () => res, end: (b?: Buffer) => void (body = b) } as unknown as ServerResponse;
  expect(new OpenApiDocs(Catalog.load()).serve('/openapi/v2', new URLSearchParams(), req, res)).toBe(true);
  return JSON.parse(String(body));
}

// The router reads only paths, methods and operationIds, which swagger 2.0 and OpenAPI 3 share.
const v2 = servedV2();
const router = new OpenAPIRouter({ definition: { openapi: '3.0.3', info: v2.info, paths: v2.paths } as Document });
const catalog = new Map((operations as CatalogOperation[]).map((o) => [o.operationId, o]));

/** Path parameter values: distinct, so a name parsed as a namespace shows. */
const VALUES: Record<string, string> = { namespace: 'ns-a', name: 'name-b', path: 'path-c' };

const ACTION_VERBS: Record<string, string> = {
  get: 'get',
  list: 'list',
  watch: 'watch',
  watchlist: 'watch',
  post: 'create',
  put: 'update',
  patch: 'patch',
  delete: 'delete',
  deletecollection: 'deletecollection',
};
/** connect operations (exec, attach, portforward, proxy) take their verb from the method. OPTIONS
 * (proxy only) is left out: kube-apiserver's RequestInfoFactory gives it an empty verb, ours says
 * "options", and openapi-backend has no verb to settle it. */
const METHOD_VERBS: Record<string, string> = { get: 'get', head: 'get', post: 'create', put: 'update', patch: 'patch', delete: 'delete' };

interface Case {
  name: string;
  method: string;
  url: string;
  operationId: string;
}

const cases: Case[] = [];
for (const op of operations as CatalogOperation[]) {
  const url = op.path.replace(/\{(\w+)\}/g, (_, p: string) => VALUES[p]);
  const id = op.operationId ?? `${op.method} ${op.path}`;
  cases.push({ name: `${op.method.toUpperCase()} ${op.path}`, method: op.method, url, operationId: id });
  // The current watch form: a list path with ?watch=true (or 1, as strconv.ParseBool reads it).
  if (op.action === 'list') {
    for (const w of ['true', '1']) cases.push({ name: `${op.method.toUpperCase()} ${op.path}?watch=${w}`, method: op.method, url: `${url}?watch=${w}`, operationId: id });
  }
}

/** What the RequestInfo must say, from the operation openapi-backend matched and the values it parsed. */
function expected(c: Case, matched: CatalogOperation, params: Record<string, string>) {
  const watching = /[?&]watch=(true|1)\b/.test(c.url);
  const verb = matched.action === 'connect' ? (METHOD_VERBS[c.method] ?? expect.any(String)) : watching && matched.action === 'list' ? 'watch' : ACTION_VERBS[matched.action];
  return {
    isResourceRequest: true,
    verb,
    apiPrefix: matched.group ? 'apis' : 'api',
    group: matched.group,
    version: matched.version,
    // As kube-apiserver's RequestInfoFactory: a namespace's own paths carry its name as the namespace.
    namespace: params.namespace ?? (matched.resource === 'namespaces' ? (params.name ?? '') : ''),
    resource: matched.resource,
    subresource: matched.subresource ?? '',
    name: params.name ?? '',
    parts: params.path ? [params.path] : [],
  };
}

describe('parseRequestInfo agrees with openapi-backend on every served operation', () => {
  it('covers every operation in openapi/operations.json, and each is in /openapi/v2', () => {
    expect(cases.length).toBeGreaterThan(operations.length);
    for (const op of operations as CatalogOperation[]) expect(Object.keys(v2.paths[op.path] ?? {})).toContain(op.method);
  });

  it.each(cases)('$name', (c) => {
    const req = { method: c.method, path: c.url, headers: {} };
    const op = router.matchOperation(req);
    // openapi-backend routes the concrete path back to the template it came from: the catalogue
    // has no two templates that claim the same request.
    expect(op?.operationId).toBe(c.operationId);
    const matched = catalog.get(op?.operationId) as CatalogOperation;
    const params = router.parseRequest(req, op).params as Record<string, string>;
    const qi = c.url.indexOf('?');
    const ri = parseRequestInfo(c.method.toUpperCase(), qi >= 0 ? c.url.slice(0, qi) : c.url, new URLSearchParams(qi >= 0 ? c.url.slice(qi + 1) : ''));
    const { path: _path, ...got } = ri;
    expect(got).toEqual(expected(c, matched, params));
  });
});
