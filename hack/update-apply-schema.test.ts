import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceDir } from './openapi/reference.ts';

const repoRoot = dirname(import.meta.dirname);
const committed = join(repoRoot, 'openapi', 'apply-schema.json');
const haveReference = existsSync(join(referenceDir(repoRoot), 'schema', 'builtin-types.yaml'));
const node = join(repoRoot, 'node_modules', '.bin', 'node');

(haveReference ? describe : describe.skip)(
  haveReference ? 'openapi/apply-schema.json is up to date' : '../shared/reference not found: skipping apply-schema staleness check',
  () => {
    const out = mkdtempSync(join(tmpdir(), 'k8ts-apply-schema-'));
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('regenerating gives the committed bytes', () => {
      const file = join(out, 'apply-schema.json');
      execFileSync(existsSync(node) ? node : 'node', [join(repoRoot, 'hack', 'update-apply-schema.ts'), '--out', file], { stdio: 'pipe' });
      const same = readFileSync(file).equals(readFileSync(committed));
      expect(same, 'openapi/apply-schema.json is stale: run hack/update-apply-schema.ts').toBe(true);
    });
  },
);

describe('the committed openapi/apply-schema.json', () => {
  const schema = JSON.parse(readFileSync(committed, 'utf8')) as {
    kinds: Record<string, Record<string, { type: string; status?: boolean }>>;
    types: Record<string, { map?: { fields?: Record<string, { type: unknown; default?: unknown }>; atomic?: boolean } }>;
  };

  it('carries facts only, no descriptions', () => {
    // Every key but the field names under `fields` (JSONSchemaProps has a field called description).
    const keys = new Set<string>();
    const walk = (v: unknown, fieldNames: boolean): void => {
      if (v === null || typeof v !== 'object') return;
      for (const [k, c] of Object.entries(v)) {
        if (!fieldNames) keys.add(k);
        walk(c, !fieldNames && k === 'fields');
      }
    };
    walk(schema, false);
    expect(keys.has('description')).toBe(false);
  });

  it('maps every kind to a type it defines, CRDs and Scale included', () => {
    for (const byKind of Object.values(schema.kinds)) for (const k of Object.values(byKind)) expect(schema.types[k.type], k.type).toBeDefined();
    expect(schema.kinds['apps/v1'].Deployment).toEqual({ type: 'io.k8s.api.apps.v1.Deployment', status: true });
    expect(schema.kinds['v1'].ConfigMap).toEqual({ type: 'io.k8s.api.core.v1.ConfigMap' });
    expect(schema.kinds['autoscaling/v1'].Scale.type).toBe('io.k8s.api.autoscaling.v1.Scale');
    expect(schema.kinds['apiextensions.k8s.io/v1'].CustomResourceDefinition.status).toBe(true);
  });

  it('knows list, map and struct relationships', () => {
    const fields = (t: string) => schema.types[t].map?.fields ?? {};
    expect(fields('io.k8s.api.core.v1.Container').ports.type).toEqual({
      list: { elem: 'io.k8s.api.core.v1.ContainerPort', type: 'map', keys: ['containerPort', 'protocol'] },
    });
    expect(fields('io.k8s.api.core.v1.ContainerPort').protocol.default).toBe('TCP');
    expect(fields('io.k8s.api.core.v1.Container').args.type).toEqual({ list: { elem: 'string', type: 'atomic' } });
    expect(fields('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta').finalizers.type).toEqual({ list: { elem: 'string', type: 'set' } });
    expect(fields('io.k8s.api.core.v1.PodSpec').nodeSelector.type).toEqual({ map: { elem: 'string', atomic: true } });
    expect(schema.types['io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector'].map?.atomic).toBe(true);
    // Derived from definitions.json: patch strategy merge with a key makes a keyed list.
    expect(fields('io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatus').conditions.type).toEqual({
      list: { elem: 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionCondition', type: 'map', keys: ['type'] },
    });
  });
});
