import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OUTPUT_FILES } from './openapi/generate.ts';
import { referenceDir, referencePresent } from './openapi/reference.ts';

const repoRoot = dirname(import.meta.dirname);
const openapiDir = join(repoRoot, 'openapi');
const refDir = referenceDir(repoRoot);
const haveReference = referencePresent(refDir);

type Obj = Record<string, unknown>;
const read = (name: string): unknown => JSON.parse(readFileSync(join(openapiDir, name), 'utf8'));
type Resource = Obj & { subresources: Obj[] };
const resources = read('resources.json') as { groups: Obj[]; resources: Resource[] };
const definitions = read('definitions.json') as Record<string, Obj & { properties?: Record<string, Obj> }>;
const operations = read('operations.json') as Obj[];

const resource = (group: string, version: string, name: string): Resource => {
  const r = resources.resources.find((x) => x.group === group && x.version === version && x.resource === name);
  if (!r) throw new Error(`${group}/${version}/${name} not in resources.json`);
  return r;
};

/** Every object key, except the field names that key a schema's `properties`. */
function keysEverywhere(value: unknown, out: Set<string> = new Set(), fieldNames = false): Set<string> {
  if (Array.isArray(value)) for (const v of value) keysEverywhere(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!fieldNames) out.add(k);
      keysEverywhere(v, out, !fieldNames && k === 'properties');
    }
  }
  return out;
}

function refsEverywhere(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsEverywhere(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsEverywhere(v, out);
    }
  }
  return out;
}

(haveReference ? describe : describe.skip)(
  haveReference ? 'openapi/ is up to date with the reference data' : '../shared/reference not found: skipping openapi staleness check',
  () => {
    const out = mkdtempSync(join(tmpdir(), 'k8ts-openapi-'));
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('regenerating gives the committed bytes', () => {
      execFileSync(join(repoRoot, 'hack', 'update-openapi'), ['--out', out], { stdio: 'pipe' });
      for (const name of OUTPUT_FILES) {
        const same = readFileSync(join(out, name)).equals(readFileSync(join(openapiDir, name)));
        expect(same, `openapi/${name} is stale: run hack/update-openapi`).toBe(true);
      }
    });
  },
);

describe('the committed openapi/ catalogue', () => {
  it('lists every resource a default 1.33 server serves', () => {
    const expected = haveReference
      ? (JSON.parse(readFileSync(join(refDir, 'api-resources.json'), 'utf8')) as { resources: unknown[] }).resources.length
      : 61;
    expect(resources.resources).toHaveLength(expected);
    expect(resources.groups[0]).toEqual({ name: '', versions: ['v1'], preferredVersion: 'v1' });
  });

  it('has namespaced pods with their subresources', () => {
    const pods = resource('', 'v1', 'pods');
    expect(pods).toMatchObject({ kind: 'Pod', listKind: 'PodList', namespaced: true, definition: 'io.k8s.api.core.v1.Pod', etcdKeyPrefix: '/registry/pods' });
    const subs = pods.subresources.map((s) => s.name);
    for (const name of ['status', 'log', 'exec', 'attach', 'portforward', 'proxy', 'binding', 'eviction', 'ephemeralcontainers', 'resize']) {
      expect(subs).toContain(name);
    }
    expect(pods.subresources.find((s) => s.name === 'proxy')).toMatchObject({ acceptsPath: true });
  });

  it('gives deployments a scale subresource of kind autoscaling/v1 Scale', () => {
    const scale = resource('apps', 'v1', 'deployments').subresources.find((s) => s.name === 'scale');
    expect(scale).toMatchObject({ group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
  });

  it('carries no upstream description text', () => {
    for (const name of OUTPUT_FILES) expect(keysEverywhere(read(name)).has('description'), name).toBe(false);
  });

  it('knows PodSpec.containers is a list map keyed by name and merged by name', () => {
    expect(definitions['io.k8s.api.core.v1.PodSpec'].properties?.containers).toMatchObject({
      type: 'array',
      items: { $ref: '#/definitions/io.k8s.api.core.v1.Container' },
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-patch-merge-key': 'name',
    });
    expect(definitions['io.k8s.api.core.v1.ObjectReference']['x-kubernetes-map-type']).toBe('atomic');
  });

  it('resolves every $ref and every resource definition', () => {
    const unresolved = refsEverywhere(definitions).filter((r) => !r.startsWith('#/definitions/') || !definitions[r.slice('#/definitions/'.length)]);
    expect(unresolved).toEqual([]);
    for (const r of resources.resources) {
      if (r.definition !== null) expect(definitions[r.definition as string], String(r.definition)).toBeDefined();
      if (r.listKind !== null) expect(Object.values(definitions).some((d) => JSON.stringify(d['x-kubernetes-group-version-kind'] ?? []).includes(`"kind":"${r.listKind}"`))).toBe(true);
    }
    for (const meta of ['Status', 'APIGroup', 'APIGroupList', 'APIResourceList', 'APIVersions', 'DeleteOptions', 'WatchEvent']) {
      expect(definitions[`io.k8s.apimachinery.pkg.apis.meta.v1.${meta}`], meta).toBeDefined();
    }
  });

  it('routes every operation to a served resource and subresource', () => {
    const actions = new Set(['get', 'list', 'watch', 'watchlist', 'post', 'put', 'patch', 'delete', 'deletecollection', 'connect']);
    for (const op of operations) {
      expect(actions.has(op.action as string), `${op.method} ${op.path}`).toBe(true);
      const r = resource(op.group as string, op.version as string, op.resource as string);
      if (op.subresource !== undefined) expect(r.subresources.some((s) => s.name === op.subresource), `${op.method} ${op.path}`).toBe(true);
      if (op.namespaced) expect(r.namespaced).toBe(true);
      if (op.action === 'patch') expect(op.consumes).toContain('application/apply-patch+yaml');
    }
    const createPod = operations.find((op) => op.path === '/api/v1/namespaces/{namespace}/pods' && op.method === 'post');
    expect(createPod).toMatchObject({ action: 'post', kind: 'Pod', resource: 'pods', namespaced: true });
    expect(createPod?.parameters).toEqual(expect.arrayContaining(['dryRun', 'fieldManager', 'fieldValidation']));
  });
});
