import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceDir } from './openapi/reference.ts';

const repoRoot = dirname(import.meta.dirname);
const refDir = referenceDir(repoRoot);
const kubectl = resolve(process.env.K8TS_KUBECTL ?? join(repoRoot, '.cache/clients/kubectl'));
const missing = [
  ...(['schema/builtin-types.yaml', 'openapi-v2/swagger-v1.33.json'].every((f) => existsSync(join(refDir, f))) ? [] : [`reference data (${refDir})`]),
  ...(existsSync(kubectl) ? [] : [`kubectl (${kubectl}; run hack/setup-clients)`]),
];

(missing.length === 0 ? describe : describe.skip)(
  missing.length === 0 ? 'openapi/protobuf.json is up to date' : `${missing.join(' and ')} not found: skipping the openapi/protobuf.json staleness check`,
  () => {
    const out = mkdtempSync(join(tmpdir(), 'k8ts-protobuf-'));
    afterAll(() => rmSync(out, { recursive: true, force: true }));

    it('regenerating gives the committed bytes', () => {
      execFileSync(join(repoRoot, 'hack', 'update-protobuf'), ['--out', out], { stdio: 'pipe' });
      const same = readFileSync(join(out, 'protobuf.json')).equals(readFileSync(join(repoRoot, 'openapi', 'protobuf.json')));
      expect(same, 'openapi/protobuf.json is stale: run hack/update-protobuf').toBe(true);
    });
  },
);

describe('the committed openapi/protobuf.json', () => {
  const table = JSON.parse(readFileSync(join(repoRoot, 'openapi', 'protobuf.json'), 'utf8')) as {
    kinds: Record<string, string>;
    messages: Record<string, { json?: string; fields: Record<string, unknown[]> }>;
  };

  it('maps served kinds to messages it describes', () => {
    expect(table.kinds['v1/ConfigMap']).toBe('k8s.io.api.core.v1.ConfigMap');
    expect(table.kinds['apps/v1/Deployment']).toBe('k8s.io.api.apps.v1.Deployment');
    expect(table.kinds['rbac.authorization.k8s.io/v1/Role']).toBe('k8s.io.api.rbac.v1.Role');
    expect(table.kinds['autoscaling/v1/Scale']).toBe('k8s.io.api.autoscaling.v1.Scale');
    expect(table.kinds['apps/v1/DeleteOptions']).toBe('k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions');
    for (const m of Object.values(table.kinds)) expect(table.messages[m], m).toBeDefined();
  });

  it('knows JSON names, pointers and embedded structs', () => {
    const fields = (m: string): Record<string, unknown[]> => table.messages[m].fields;
    expect(fields('k8s.io.api.apps.v1.DeploymentSpec')['1']).toEqual(['replicas', 'opt', 'int32']); // *int32
    expect(fields('k8s.io.api.autoscaling.v1.ScaleSpec')['1']).toEqual(['replicas', 'opt', 'int32', 'omitZero']); // int32,omitempty
    expect(fields('k8s.io.api.core.v1.ContainerPort')['3']).toEqual(['containerPort', 'opt', 'int32']); // no omitempty
    expect(fields('k8s.io.api.core.v1.Volume')['2']).toEqual(['volumeSource', 'opt', 'k8s.io.api.core.v1.VolumeSource', 'inline']);
    expect(fields('k8s.io.api.networking.v1.IngressClassParametersReference')['1'][0]).toBe('apiGroup'); // proto name aPIGroup
    expect(fields('k8s.io.api.core.v1.Secret')['2']).toEqual(['data', 'map', 'string:bytes']);
    expect(table.messages['k8s.io.apimachinery.pkg.apis.meta.v1.Time'].json).toBe('time');
    expect(table.messages['k8s.io.apimachinery.pkg.apis.meta.v1.Verbs'].json).toBe('list');
  });
});
