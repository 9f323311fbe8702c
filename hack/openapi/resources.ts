// openapi/resources.json: the served groups and resources (api-resources.json), each resource
// linked to the swagger definition of its kind and its list kind.
import type { ApiGroup, GroupVersionKind, Reference, Swagger } from './reference.ts';

export interface SubresourceEntry {
  name: string;
  group: string;
  version: string;
  kind: string;
  verbs: string[];
  acceptsPath?: true;
}

export interface ResourceEntry {
  group: string;
  version: string;
  resource: string;
  singularName: string;
  kind: string;
  listKind: string | null;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  categories: string[];
  subresources: SubresourceEntry[];
  storageVersionHash: string | null;
  storageVersion: GroupVersionKind | null;
  etcdKeyPrefix: string | null;
  definition: string | null;
}

export interface ResourcesFile {
  groups: ApiGroup[];
  resources: ResourceEntry[];
}

const gvkKey = (g: GroupVersionKind): string => `${g.group}/${g.version}/${g.kind}`;

/** group/version/kind → the definitions whose x-kubernetes-group-version-kind names it. */
export function definitionsByGvk(swagger: Swagger): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const [name, def] of Object.entries(swagger.definitions)) {
    const gvks = def['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks)) continue;
    for (const gvk of gvks as unknown as GroupVersionKind[]) {
      const key = gvkKey(gvk);
      index.set(key, [...(index.get(key) ?? []), name]);
    }
  }
  return index;
}

export function servedGroupVersions(groups: readonly ApiGroup[]): Set<string> {
  return new Set(groups.flatMap((g) => g.versions.map((v) => `${g.name}/${v}`)));
}

export function buildResources(ref: Reference): { file: ResourcesFile; problems: string[] } {
  const problems: string[] = [];
  const byGvk = definitionsByGvk(ref.swagger);
  const definitionOf = (gvk: GroupVersionKind): string | null => {
    const names = byGvk.get(gvkKey(gvk)) ?? [];
    if (names.length > 1) problems.push(`${gvkKey(gvk)}: several definitions (${names.join(', ')})`);
    return names[0] ?? null;
  };

  const groups = ref.apiResources.groups.map((g) => ({ name: g.name, versions: [...g.versions], preferredVersion: g.preferredVersion }));
  const resources = ref.apiResources.resources.map((r): ResourceEntry => {
    const definition = definitionOf(r);
    if (!definition) problems.push(`${gvkKey(r)} (${r.resource}): no swagger definition`);
    const listKind = `${r.kind}List`;
    return {
      group: r.group,
      version: r.version,
      resource: r.resource,
      singularName: r.singularName,
      kind: r.kind,
      listKind: byGvk.has(gvkKey({ ...r, kind: listKind })) ? listKind : null,
      namespaced: r.namespaced,
      verbs: [...r.verbs],
      shortNames: [...r.shortNames],
      categories: [...r.categories],
      subresources: r.subresources.map((s) => ({
        name: s.name,
        group: s.group,
        version: s.version,
        kind: s.kind,
        verbs: [...s.verbs],
        ...(s.acceptsPath ? { acceptsPath: true as const } : {}),
      })),
      storageVersionHash: r.storageVersionHash ?? null,
      storageVersion: r.storageVersion ? { group: r.storageVersion.group, version: r.storageVersion.version, kind: r.storageVersion.kind } : null,
      etcdKeyPrefix: r.etcdKeyPrefix ?? null,
      definition,
    };
  });
  return { file: { groups, resources }, problems };
}
