// Parses an API request path the way kube-apiserver's RequestInfoFactory does:
// /api/v1/namespaces/{ns}/{resource}/{name}/{subresource}, /apis/{group}/{version}/...

export interface RequestInfo {
  /** false for /healthz, /version, discovery roots and other non-resource paths. */
  isResourceRequest: boolean;
  path: string;
  /** get, list, watch, create, update, patch, delete, deletecollection, connect. */
  verb: string;
  apiPrefix: string;
  group: string;
  version: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** Extra path after the subresource (proxy). */
  parts: string[];
}

const METHOD_VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete', GET: 'get', HEAD: 'get' };

export function parseRequestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const info: RequestInfo = { isResourceRequest: false, path, verb: (method || 'GET').toLowerCase(), apiPrefix: '', group: '', version: '', namespace: '', resource: '', subresource: '', name: '', parts: [] };
  const segs = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  if (segs[0] !== 'api' && segs[0] !== 'apis') return info;
  info.apiPrefix = segs[0];
  let rest = segs.slice(1);
  if (info.apiPrefix === 'apis') {
    if (rest.length < 2) return info; // /apis, /apis/{group}
    info.group = rest[0];
    rest = rest.slice(1);
  } else if (rest.length < 1) return info; // /api
  info.version = rest[0];
  rest = rest.slice(1);
  if (rest.length === 0) return info; // /api/v1 discovery
  info.isResourceRequest = true;
  info.verb = METHOD_VERBS[method] ?? method.toLowerCase();
  if (rest[0] === 'watch') {
    // Deprecated /watch/ prefix form.
    info.verb = 'watch';
    rest = rest.slice(1);
  }
  if (rest[0] === 'namespaces' && rest.length > 1) {
    info.namespace = rest[1];
    // /namespaces/{name}[/status|/finalize] is the namespace itself; anything else is a resource in it.
    if (rest.length > 2 && rest[2] !== 'status' && rest[2] !== 'finalize') rest = rest.slice(2);
  }
  info.parts = rest;
  info.resource = rest[0] ?? '';
  if (rest.length >= 2) info.name = rest[1];
  if (rest.length >= 3) info.subresource = rest[2];
  if (rest.length > 3) info.parts = rest.slice(3);
  else info.parts = [];
  if (info.verb === 'get' && !info.name) info.verb = query.get('watch') === 'true' || query.get('watch') === '1' ? 'watch' : 'list';
  if (info.verb === 'delete' && !info.name) info.verb = 'deletecollection';
  return info;
}
