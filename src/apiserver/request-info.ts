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

/** The path's non-empty segments, percent-decoded (a segment without `%` is taken as it is). */
function segments(path: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i < path.length && path.charCodeAt(i) !== 47) continue; // '/'
    if (i > from) {
      const s = path.slice(from, i);
      out.push(s.includes('%') ? decodeURIComponent(s) : s);
    }
    from = i + 1;
  }
  return out;
}

export function parseRequestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const info: RequestInfo = { isResourceRequest: false, path, verb: (method || 'GET').toLowerCase(), apiPrefix: '', group: '', version: '', namespace: '', resource: '', subresource: '', name: '', parts: [] };
  const segs = segments(path);
  if (segs[0] !== 'api' && segs[0] !== 'apis') return info;
  info.apiPrefix = segs[0];
  // `at` is where the rest of the path starts.
  let at = 1;
  if (info.apiPrefix === 'apis') {
    if (segs.length - at < 2) return info; // /apis, /apis/{group}
    info.group = segs[at++];
  } else if (segs.length - at < 1) return info; // /api
  info.version = segs[at++];
  if (segs.length === at) return info; // /api/v1 discovery
  info.isResourceRequest = true;
  info.verb = METHOD_VERBS[method] ?? method.toLowerCase();
  if (segs[at] === 'watch') {
    // Deprecated /watch/ prefix form.
    info.verb = 'watch';
    at++;
  }
  const left = segs.length - at;
  if (segs[at] === 'namespaces' && left > 1) {
    info.namespace = segs[at + 1];
    // /namespaces/{name}[/status|/finalize] is the namespace itself; anything else is a resource in it.
    if (left > 2 && segs[at + 2] !== 'status' && segs[at + 2] !== 'finalize') at += 2;
  }
  const n = segs.length - at;
  info.resource = segs[at] ?? '';
  if (n >= 2) info.name = segs[at + 1];
  if (n >= 3) info.subresource = segs[at + 2];
  if (n > 3) info.parts = segs.slice(at + 3);
  if (info.verb === 'get' && !info.name) info.verb = query.get('watch') === 'true' || query.get('watch') === '1' ? 'watch' : 'list';
  if (info.verb === 'delete' && !info.name) info.verb = 'deletecollection';
  return info;
}
