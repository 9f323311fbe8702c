// openapi/operations.json: one entry per served resource operation (method + path) of the swagger,
// with its action, the resource it addresses and the query parameters it accepts.
import { METHODS, PARAMETER_REF, type Reference, type SwaggerParameter } from './reference.ts';
import { parseResourcePath, pathScope } from './paths.ts';
import type { ResourceEntry } from './resources.ts';

export interface OperationEntry {
  path: string;
  method: string;
  action: string;
  group: string;
  version: string;
  kind: string;
  resource: string;
  subresource?: string;
  namespaced: boolean;
  operationId: string;
  parameters: string[];
  consumes?: string[];
}

/** The discovery verb an operation implies (connect maps by HTTP method; HEAD/OPTIONS imply none). */
function discoveryVerb(action: string, method: string): string | undefined {
  const byAction: Record<string, string> = { watchlist: 'watch', post: 'create', put: 'update' };
  if (action !== 'connect') return byAction[action] ?? action;
  const byMethod: Record<string, string> = { get: 'get', post: 'create', put: 'update', delete: 'delete', patch: 'patch' };
  return byMethod[method];
}

function queryParameterNames(ref: Reference, params: readonly SwaggerParameter[]): string[] {
  const names = new Set<string>();
  for (const p of params) {
    const resolved = p.$ref?.startsWith(PARAMETER_REF) ? ref.swagger.parameters[p.$ref.slice(PARAMETER_REF.length)] : p;
    if (resolved?.in === 'query' && resolved.name) names.add(resolved.name);
  }
  return [...names].sort();
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function buildOperations(
  ref: Reference,
  resources: readonly ResourceEntry[],
  servedGroupVersions: ReadonlySet<string>,
): { operations: OperationEntry[]; problems: string[] } {
  const problems: string[] = [];
  const served = new Map(resources.map((r) => [`${r.group}/${r.version}/${r.resource}`, r]));
  const seenVerbs = new Map<string, Set<string>>();
  const operations: OperationEntry[] = [];

  for (const path of Object.keys(ref.swagger.paths).sort(compare)) {
    const scope = pathScope(path);
    // Skip other group-versions and the /api/v1/ and /apis/{group}/{version}/ discovery paths.
    if (!scope || !servedGroupVersions.has(`${scope.group}/${scope.version}`) || scope.rest.length === 0) continue;
    const item = ref.swagger.paths[path];
    const parsed = parseResourcePath(scope.rest);
    const resource = parsed && served.get(`${scope.group}/${scope.version}/${parsed.resource}`);
    if (!parsed || !resource) {
      problems.push(`${path}: not a served resource`);
      continue;
    }
    const pathParams = item.parameters ?? [];
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const action = op['x-kubernetes-action'];
      const where = `${method.toUpperCase()} ${path}`;
      if (!action) {
        problems.push(`${where}: no x-kubernetes-action`);
        continue;
      }
      const gvk = op['x-kubernetes-group-version-kind'];
      const sub = parsed.subresource !== undefined ? resource.subresources.find((s) => s.name === parsed.subresource) : undefined;
      if (parsed.subresource !== undefined && !sub) problems.push(`${where}: subresource ${parsed.subresource} not in api-resources.json`);
      const expected = sub ?? resource;
      if (!gvk) problems.push(`${where}: no x-kubernetes-group-version-kind`);
      else if (gvk.group !== expected.group || gvk.version !== expected.version || gvk.kind !== expected.kind) {
        problems.push(`${where}: kind ${gvk.group}/${gvk.version}/${gvk.kind}, api-resources.json says ${expected.group}/${expected.version}/${expected.kind}`);
      }
      if (parsed.namespaced && !resource.namespaced) problems.push(`${where}: {namespace} in the path of a cluster-scoped resource`);
      const verb = discoveryVerb(action, method);
      if (verb) {
        const key = `${resource.group}/${resource.version}/${resource.resource}${parsed.subresource ? `/${parsed.subresource}` : ''}`;
        seenVerbs.set(key, (seenVerbs.get(key) ?? new Set()).add(verb));
      }
      operations.push({
        path,
        method,
        action,
        group: scope.group,
        version: scope.version,
        kind: gvk?.kind ?? expected.kind,
        resource: parsed.resource,
        ...(parsed.subresource !== undefined ? { subresource: parsed.subresource } : {}),
        namespaced: parsed.namespaced,
        operationId: op.operationId ?? '',
        parameters: queryParameterNames(ref, [...pathParams, ...(op.parameters ?? [])]),
        ...(action === 'patch' && op.consumes ? { consumes: [...op.consumes] } : {}),
      });
    }
  }

  // The operations must offer exactly the verbs discovery lists.
  for (const r of resources) {
    const entries: Array<[string, string[]]> = [
      [`${r.group}/${r.version}/${r.resource}`, r.verbs],
      ...r.subresources.map((s): [string, string[]] => [`${r.group}/${r.version}/${r.resource}/${s.name}`, s.verbs]),
    ];
    for (const [key, verbs] of entries) {
      const have = [...(seenVerbs.get(key) ?? [])].sort().join(',');
      const want = [...verbs].sort().join(',');
      if (have !== want) problems.push(`${key}: operations give verbs [${have}], api-resources.json lists [${want}]`);
    }
  }
  return { operations, problems };
}
