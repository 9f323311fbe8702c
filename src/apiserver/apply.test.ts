// Server-side apply end to end: stock kubectl 1.33 (`apply --server-side`, conflicts, force,
// client-side ↔ server-side migration, managedFields output), raw apply requests, and
// @kubernetes/client-node's apply of a Deployment, against `k8ts server` as a child process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, type V1Deployment } from '@kubernetes/client-node';
import { credentialsFromKubeconfig, kubectlPath, rawRequest, startServer, type Credentials, type KubectlResult, type TestServer } from './testing/server.ts';

let server: TestServer;
let creds: Credentials;

beforeAll(async () => {
  server = await startServer();
  creds = credentialsFromKubeconfig(server.kubeconfig);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

function describeResult(args: string[], r: KubectlResult): string {
  return `kubectl ${args.join(' ')} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

async function ok(args: string[]): Promise<string> {
  const r = await server.kubectl(args);
  if (r.code !== 0) throw new Error(describeResult(args, r));
  return r.stdout;
}

async function fails(args: string[]): Promise<KubectlResult> {
  const r = await server.kubectl(args);
  if (r.code === 0) throw new Error(`expected failure: ${describeResult(args, r)}`);
  return r;
}

function file(name: string, text: string): string {
  const p = join(server.dataDir, name);
  writeFileSync(p, text);
  return p;
}

interface Entry {
  manager: string;
  operation: string;
  apiVersion: string;
  subresource?: string;
  time?: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
}

/** managedFields of an object, without those of the controllers (kube-controller-manager writes status and annotations). */
async function managed(kind: string, name: string): Promise<Entry[]> {
  const obj = JSON.parse(await ok(['get', kind, name, '-o', 'json', '--show-managed-fields'])) as { metadata: { managedFields?: Entry[] } };
  return (obj.metadata.managedFields ?? []).filter((e) => e.manager !== 'kube-controller-manager');
}

function deployment(name: string, opts: { replicas?: number; image?: string; labels?: Record<string, string>; env?: boolean } = {}): string {
  const labels = opts.labels ?? { app: name };
  const lines = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    '  labels:',
    ...Object.entries(labels).map(([k, v]) => `    ${k}: ${v}`),
    'spec:',
    ...(opts.replicas === undefined ? [] : [`  replicas: ${opts.replicas}`]),
    '  selector:',
    '    matchLabels:',
    `      app: ${name}`,
    '  template:',
    '    metadata:',
    '      labels:',
    `        app: ${name}`,
    '    spec:',
    '      containers:',
    '      - name: nginx',
    `        image: ${opts.image ?? 'nginx:1.25'}`,
    '        ports:',
    '        - containerPort: 80',
    ...(opts.env ? ['        env:', '        - name: MODE', '          value: fast'] : []),
  ];
  return `${lines.join('\n')}\n`;
}

describe.skipIf(!kubectlPath())('kubectl apply --server-side', () => {
  it('creates the object and records an Apply entry for kubectl with the applied fields only', async () => {
    expect(await ok(['apply', '--server-side', '-f', file('ssa1.yaml', deployment('ssa', { replicas: 2, env: true }))])).toBe('deployment.apps/ssa serverside-applied\n');
    const entries = await managed('deployment', 'ssa');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ manager: 'kubectl', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1' });
    expect(entries[0].time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const spec = entries[0].fieldsV1['f:spec'] as Record<string, unknown>;
    expect(Object.keys(spec).sort()).toEqual(['f:replicas', 'f:selector', 'f:template']);
    const container = ((spec['f:template'] as Record<string, Record<string, Record<string, unknown>>>)['f:spec']['f:containers'])['k:{"name":"nginx"}'] as Record<string, unknown>;
    expect(Object.keys(container).sort()).toEqual(['.', 'f:env', 'f:image', 'f:name', 'f:ports']);
    expect(Object.keys(container['f:ports'] as object)).toEqual(['k:{"containerPort":80,"protocol":"TCP"}']);
    // Defaulted fields belong to nobody: strategy, revisionHistoryLimit, imagePullPolicy...
    expect(JSON.stringify(entries[0].fieldsV1)).not.toContain('f:revisionHistoryLimit');
    expect(JSON.stringify(entries[0].fieldsV1)).not.toContain('f:imagePullPolicy');
  });

  it('re-applying changes fields and removes the ones dropped from the manifest', async () => {
    await ok(['apply', '--server-side', '-f', file('ssa2.yaml', deployment('ssa', { replicas: 2, image: 'nginx:1.27', labels: { app: 'ssa', tier: 'web' } }))]);
    const d = JSON.parse(await ok(['get', 'deployment', 'ssa', '-o', 'json'])) as V1Deployment;
    expect(d.metadata?.labels).toEqual({ app: 'ssa', tier: 'web' });
    expect(d.spec?.template.spec?.containers[0].image).toBe('nginx:1.27');
    expect(d.spec?.template.spec?.containers[0].env).toBeUndefined();
    expect(d.metadata?.managedFields).toBeUndefined(); // kubectl hides them without --show-managed-fields
  });

  it('a field taken by another manager is a conflict (exit 1, upstream message) until --force-conflicts', async () => {
    await ok(['scale', 'deployment', 'ssa', '--replicas=5']);
    const r = await fails(['apply', '--server-side', '-f', file('ssa2.yaml', deployment('ssa', { replicas: 2, image: 'nginx:1.27', labels: { app: 'ssa', tier: 'web' } }))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas');
    expect(r.stderr).toContain('--force-conflicts');
    expect(await ok(['get', 'deployment', 'ssa', '-o', 'jsonpath={.spec.replicas}'])).toBe('5');
    await ok(['apply', '--server-side', '--force-conflicts', '-f', file('ssa2.yaml', deployment('ssa', { replicas: 2, image: 'nginx:1.27', labels: { app: 'ssa', tier: 'web' } }))]);
    expect(await ok(['get', 'deployment', 'ssa', '-o', 'jsonpath={.spec.replicas}'])).toBe('2');
    const entries = await managed('deployment', 'ssa');
    expect(entries.map((e) => `${e.manager}/${e.operation}`)).toEqual(['kubectl/Apply']);
  });

  it('two appliers of the same value share it; a different value conflicts and names each field', async () => {
    await ok(['apply', '--server-side', '--field-manager=team-b', '-f', file('ssa-b.yaml', deployment('ssa', { image: 'nginx:1.27', labels: { app: 'ssa' } }))]);
    const entries = await managed('deployment', 'ssa');
    expect(entries.map((e) => `${e.manager}/${e.operation}`).sort()).toEqual(['kubectl/Apply', 'team-b/Apply']);
    const r = await fails(['apply', '--server-side', '--field-manager=team-b', '-f', file('ssa-b2.yaml', deployment('ssa', { image: 'nginx:1.28', labels: { app: 'ssa', tier: 'db' } }))]);
    expect(r.stderr).toContain('Apply failed with 2 conflicts: conflicts with "kubectl":\n');
    expect(r.stderr).toContain('- .metadata.labels.tier');
    expect(r.stderr).toContain('- .spec.template.spec.containers[name="nginx"].image');
  });

  it('kubectl --dry-run=server apply changes nothing', async () => {
    await ok(['apply', '--server-side', '--dry-run=server', '-f', file('ssa-dry.yaml', deployment('ssa', { replicas: 9, image: 'nginx:1.27', labels: { app: 'ssa', tier: 'web' } }))]);
    expect(await ok(['get', 'deployment', 'ssa', '-o', 'jsonpath={.spec.replicas}'])).toBe('2');
    await ok(['apply', '--server-side', '--dry-run=server', '-f', file('ssa-dry-new.yaml', deployment('never', {}))]);
    expect((await fails(['get', 'deployment', 'never'])).stderr).toContain('NotFound');
  });

  it('records Update entries for ordinary writes: kubectl create, label and edit-style patches', async () => {
    await ok(['create', 'configmap', 'upd', '--from-literal=a=1']);
    await ok(['label', 'configmap', 'upd', 'x=y']);
    const entries = await managed('configmap', 'upd');
    expect(entries.map((e) => `${e.manager}/${e.operation}`)).toEqual(['kubectl-create/Update', 'kubectl-label/Update']);
    expect(entries[0].fieldsV1).toEqual({ 'f:data': { '.': {}, 'f:a': {} } });
    expect(entries[1].fieldsV1).toEqual({ 'f:metadata': { 'f:labels': { '.': {}, 'f:x': {} } } });
  });

  it('client-side apply, then server-side apply of the same manifest, then client-side again', async () => {
    const v1 = file('mig1.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mig\ndata:\n  a: "1"\n  b: "2"\n');
    expect(await ok(['apply', '-f', v1])).toBe('configmap/mig created\n');
    expect((await managed('configmap', 'mig')).map((e) => e.manager)).toEqual(['kubectl-client-side-apply']);
    // The last-applied annotation says kubectl owns a and b: no conflict with its own client-side writes.
    const v2 = file('mig2.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mig\ndata:\n  a: "10"\n  b: "2"\n');
    expect(await ok(['apply', '--server-side', '-f', v2])).toBe('configmap/mig serverside-applied\n');
    const cm = JSON.parse(await ok(['get', 'configmap', 'mig', '-o', 'json'])) as { data: Record<string, string>; metadata: { annotations: Record<string, string> } };
    expect(cm.data).toEqual({ a: '10', b: '2' });
    expect(JSON.parse(cm.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).data).toEqual({ a: '10', b: '2' });
    const v3 = file('mig3.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mig\ndata:\n  a: "10"\n');
    expect(await ok(['apply', '-f', v3])).toBe('configmap/mig configured\n');
    expect(JSON.parse(await ok(['get', 'configmap', 'mig', '-o', 'json'])).data).toEqual({ a: '10' });
  });
});

describe('raw apply requests', () => {
  const cmApply = (name: string, data: Record<string, string>) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
  const headers = { 'content-type': 'application/apply-patch+yaml' };

  it('an apply without fieldManager is refused with 422', async () => {
    const r = await rawRequest(creds, '/api/v1/namespaces/default/configmaps/raw-apply', { method: 'PATCH', headers, body: cmApply('raw-apply', { a: '1' }) });
    expect(r.status).toBe(422);
    expect((r.json as { message: string }).message).toContain('fieldManager: Required value: is required for apply patch');
  });

  it('creates with 201, answers 200 after, and a conflict is a 409 Status with FieldManagerConflict causes', async () => {
    const path = '/api/v1/namespaces/default/configmaps/raw-apply';
    const first = await rawRequest(creds, `${path}?fieldManager=one`, { method: 'PATCH', headers, body: cmApply('raw-apply', { a: '1' }) });
    expect(first.status).toBe(201);
    const again = await rawRequest(creds, `${path}?fieldManager=one`, { method: 'PATCH', headers, body: cmApply('raw-apply', { a: '1' }) });
    expect(again.status).toBe(200);
    expect((again.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion).toBe((first.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
    const clash = await rawRequest(creds, `${path}?fieldManager=two`, { method: 'PATCH', headers, body: cmApply('raw-apply', { a: '2' }) });
    expect(clash.status).toBe(409);
    expect(clash.json).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409, details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "one"', field: '.data.a' }] } });
    const forced = await rawRequest(creds, `${path}?fieldManager=two&force=true`, { method: 'PATCH', headers, body: cmApply('raw-apply', { a: '2' }) });
    expect(forced.status).toBe(200);
    expect((forced.json as { data: Record<string, string> }).data).toEqual({ a: '2' });
  });

  it('applying to /status owns status fields only', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments';
    const body = JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'st' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } });
    expect((await rawRequest(creds, `${path}/st?fieldManager=spec-owner`, { method: 'PATCH', headers, body })).status).toBe(201);
    const status = JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'st' }, spec: { replicas: 7 }, status: { observedGeneration: 1, replicas: 3 } });
    const r = await rawRequest(creds, `${path}/st/status?fieldManager=status-owner`, { method: 'PATCH', headers, body: status });
    expect(r.status).toBe(200);
    const d = r.json as { spec: { replicas: number }; status: { replicas: number }; metadata: { managedFields: Entry[] } };
    expect(d.status.replicas).toBe(3);
    expect(d.spec.replicas).toBe(1);
    const st = d.metadata.managedFields.find((e) => e.manager === 'status-owner');
    expect(st).toMatchObject({ operation: 'Apply', subresource: 'status' });
    expect(Object.keys(st?.fieldsV1 ?? {})).toEqual(['f:status']);
  });
});

describe('@kubernetes/client-node server-side apply', () => {
  it('applies a Deployment, then re-applies it with a change, as one field manager', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfig);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const apps = kc.makeApiClient(AppsV1Api);
    const body: V1Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'from-client-node', namespace: 'default' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'cn' } }, template: { metadata: { labels: { app: 'cn' } }, spec: { containers: [{ name: 'app', image: 'busybox:1.36' }] } } },
    };
    const created = await objects.patch(body, undefined, undefined, 'client-node-test', false, PatchStrategy.ServerSideApply);
    expect(created.metadata?.managedFields?.map((e) => `${e.manager}/${e.operation}`)).toEqual(['client-node-test/Apply']);
    body.spec!.replicas = 4;
    await objects.patch(body, undefined, undefined, 'client-node-test', false, PatchStrategy.ServerSideApply);
    const read = await apps.readNamespacedDeployment({ name: 'from-client-node', namespace: 'default' });
    expect(read.spec?.replicas).toBe(4);
    expect(read.spec?.template.spec?.containers[0].imagePullPolicy).toBe('IfNotPresent');
  });
});
