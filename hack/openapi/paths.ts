// Reading REST paths: which group-version a path belongs to and which resource it addresses.

export interface PathScope {
  group: string;
  version: string;
  /** Segments after `/api/v1` or `/apis/{group}/{version}`. */
  rest: string[];
}

/** The group-version a resource path belongs to; undefined for discovery and non-resource paths. */
export function pathScope(path: string): PathScope | undefined {
  const segs = path.split('/').filter((s) => s !== '');
  if (segs[0] === 'api' && segs.length >= 2) return { group: '', version: segs[1], rest: segs.slice(2) };
  if (segs[0] === 'apis' && segs.length >= 3) return { group: segs[1], version: segs[2], rest: segs.slice(3) };
  return undefined;
}

/** The group a `/apis/{group}/` discovery path names, if any. */
function discoveryGroup(path: string): string | undefined {
  const segs = path.split('/').filter((s) => s !== '');
  return segs[0] === 'apis' && segs.length === 2 ? segs[1] : undefined;
}

/**
 * Whether a default server serves `path`: paths under a served group-version, the discovery path
 * of a served group, and the non-resource paths (`/api/`, `/apis/`, `/version/`, ...).
 */
export function isServedPath(path: string, servedGroupVersions: ReadonlySet<string>): boolean {
  const scope = pathScope(path);
  if (scope) return servedGroupVersions.has(`${scope.group}/${scope.version}`);
  const group = discoveryGroup(path);
  if (group !== undefined) return [...servedGroupVersions].some((gv) => gv.startsWith(`${group}/`));
  return true;
}

export interface ResourcePath {
  resource: string;
  subresource?: string;
  /** The path carries `{namespace}`. */
  namespaced: boolean;
  /** The deprecated `/watch/...` form. */
  watchPrefix: boolean;
}

/** Reads `[watch/][namespaces/{namespace}/]{resource}[/{name}[/{subresource}[/{path}]]]`. */
export function parseResourcePath(rest: readonly string[]): ResourcePath | undefined {
  let segs = [...rest];
  const watchPrefix = segs[0] === 'watch';
  if (watchPrefix) segs = segs.slice(1);
  const namespaced = segs[0] === 'namespaces' && segs[1] === '{namespace}' && segs.length >= 3;
  if (namespaced) segs = segs.slice(2);
  const [resource, name, subresource, tail, ...extra] = segs;
  if (!resource || resource.startsWith('{')) return undefined;
  if (name !== undefined && name !== '{name}') return undefined;
  if (subresource !== undefined && subresource.startsWith('{')) return undefined;
  if ((tail !== undefined && tail !== '{path}') || extra.length > 0) return undefined;
  return { resource, ...(subresource !== undefined ? { subresource } : {}), namespaced, watchPrefix };
}
