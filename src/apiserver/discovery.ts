// Discovery documents, built once from the catalogue: /api, /apis, /apis/{group},
// /api/v1 and /apis/{group}/{version}, and aggregated discovery (apidiscovery.k8s.io/v2).
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Catalog, ResourceInfo } from '../registry/catalog.ts';

export interface Doc {
  body: Buffer;
  etag: string;
  contentType: string;
}

function doc(obj: unknown, contentType = 'application/json'): Doc {
  const body = Buffer.from(JSON.stringify(obj));
  return { body, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`, contentType };
}

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

function resourceList(gv: string, resources: ResourceInfo[]): unknown {
  const out: unknown[] = [];
  for (const r of resources) {
    const entry: Record<string, unknown> = { name: r.resource, singularName: r.singularName, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs };
    if (r.shortNames.length > 0) entry.shortNames = r.shortNames;
    if (r.categories.length > 0) entry.categories = r.categories;
    if (r.storageVersionHash) entry.storageVersionHash = r.storageVersionHash;
    out.push(entry);
    for (const s of r.subresources) {
      const sub: Record<string, unknown> = { name: `${r.resource}/${s.name}`, singularName: '', namespaced: r.namespaced, kind: s.kind, verbs: s.verbs };
      // Both or neither, as upstream lists pods/eviction (policy/v1) and deployments/scale (autoscaling/v1).
      if (s.group !== r.group || s.version !== r.version) {
        sub.group = s.group;
        sub.version = s.version;
      }
      out.push(sub);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources: out };
}

function aggregatedResource(r: ResourceInfo): unknown {
  const out: Record<string, unknown> = {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singularName,
    verbs: r.verbs,
  };
  if (r.shortNames.length > 0) out.shortNames = r.shortNames;
  if (r.categories.length > 0) out.categories = r.categories;
  if (r.subresources.length > 0) {
    out.subresources = r.subresources.map((s) => ({ subresource: s.name, responseKind: { group: s.group, version: s.version, kind: s.kind }, verbs: s.verbs }));
  }
  return out;
}

export class Discovery {
  private readonly docs = new Map<string, Doc>();

  constructor(catalog: Catalog) {
    const groupVersions = (name: string) => catalog.groups.find((g) => g.name === name);
    const core = groupVersions('');
    this.docs.set('/api', doc({ kind: 'APIVersions', versions: core?.versions ?? ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '' }] }));
    const apiGroups = catalog.groups.filter((g) => g.name !== '');
    const groupDoc = (g: { name: string; versions: string[]; preferredVersion: string }) => ({
      name: g.name,
      versions: g.versions.map((v) => ({ groupVersion: `${g.name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${g.name}/${g.preferredVersion}`, version: g.preferredVersion },
    });
    this.docs.set('/apis', doc({ kind: 'APIGroupList', apiVersion: 'v1', groups: apiGroups.map(groupDoc) }));
    for (const g of apiGroups) this.docs.set(`/apis/${g.name}`, doc({ kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(g) }));
    for (const g of catalog.groups) {
      for (const v of g.versions) {
        const gv = g.name ? `${g.name}/${v}` : v;
        this.docs.set(g.name ? `/apis/${gv}` : `/api/${v}`, doc(resourceList(gv, catalog.resourcesIn(g.name, v))));
      }
    }
    const aggregated = (groups: typeof catalog.groups) => ({
      kind: 'APIGroupDiscoveryList',
      apiVersion: 'apidiscovery.k8s.io/v2',
      metadata: {},
      items: groups.map((g) => ({
        metadata: { name: g.name, creationTimestamp: null },
        versions: [g.preferredVersion, ...g.versions.filter((v) => v !== g.preferredVersion)].map((v) => ({
          version: v,
          resources: catalog.resourcesIn(g.name, v).map(aggregatedResource),
          freshness: 'Current',
        })),
      })),
    });
    this.docs.set('aggregated:/api', doc(aggregated(core ? [core] : []), AGGREGATED));
    this.docs.set('aggregated:/apis', doc(aggregated(apiGroups), AGGREGATED));
  }

  /** Serves a discovery path; false when `path` is not one. */
  serve(path: string, req: IncomingMessage, res: ServerResponse): boolean {
    const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const accept = String(req.headers.accept ?? '');
    const wantsAggregated = (p === '/api' || p === '/apis') && /as=APIGroupDiscoveryList/.test(accept) && /v=v2(?![a-z0-9])/.test(accept);
    const d = this.docs.get(wantsAggregated ? `aggregated:${p}` : p);
    if (!d) return false;
    const headers: Record<string, string | number> = { 'Content-Type': d.contentType, ETag: d.etag, 'Cache-Control': 'public', Vary: 'Accept' };
    if (req.headers['if-none-match'] === d.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    headers['Content-Length'] = d.body.length;
    res.writeHead(200, headers);
    res.end(d.body);
    return true;
  }
}
