// Stock helm 4 against `k8ts server`: a chart made by `helm create`, installed, upgraded with
// changed values, rolled back, listed and uninstalled (no --wait: nothing runs pods yet).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startServer, type TestServer } from './testing/server.ts';

const HELM = resolve(import.meta.dirname, '../../.cache/clients/helm');
const haveHelm = existsSync(HELM);

let server: TestServer;
let dir: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function helm(args: string[], timeoutMs = 60_000): Promise<Result> {
  return new Promise((res) => {
    const env = { ...process.env, KUBECONFIG: server.kubeconfig, HELM_CACHE_HOME: join(dir, 'cache'), HELM_CONFIG_HOME: join(dir, 'config'), HELM_DATA_HOME: join(dir, 'data') };
    const child = spawn(HELM, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code: code ?? -1, stdout, stderr });
    });
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await helm(args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\nserver log:\n${server.logs().slice(-3000)}`);
  return r.stdout;
}

async function kubectlJson<T>(args: string[]): Promise<T> {
  const r = await server.kubectl([...args, '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface Deploy {
  spec: { replicas: number; template: { spec: { containers: Array<{ image: string }> } } };
  metadata: { labels: Record<string, string>; annotations: Record<string, string>; managedFields?: Array<{ manager: string; operation: string }> };
}

describe.skipIf(!haveHelm)('helm 4', () => {
  beforeAll(async () => {
    server = await startServer();
    dir = mkdtempSync(join(tmpdir(), 'k8ts-helm-'));
    await ok(['create', 'web']);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('helm install creates the chart objects and records release 1', async () => {
    const out = await ok(['install', 'site', './web']);
    expect(out).toContain('STATUS: deployed');
    expect(out).toContain('REVISION: 1');
    const d = await kubectlJson<Deploy>(['get', 'deployment', 'site-web']);
    expect(d.spec.replicas).toBe(1);
    expect(d.metadata.labels['app.kubernetes.io/managed-by']).toBe('Helm');
    expect(d.metadata.annotations['meta.helm.sh/release-name']).toBe('site');
    await kubectlJson(['get', 'service', 'site-web']);
    await kubectlJson(['get', 'serviceaccount', 'site-web']);
    const secrets = await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(['get', 'secrets', '-l', 'owner=helm,name=site']);
    expect(secrets.items.map((s) => s.metadata.name)).toEqual(['sh.helm.release.v1.site.v1']);
  });

  it('helm list shows the release deployed', async () => {
    const out = await ok(['list']);
    expect(out).toMatch(/^site\s+default\s+1\s+.*deployed\s+web-0\.1\.0\s+/m);
  });

  it('helm upgrade with changed values changes the objects (revision 2)', async () => {
    const out = await ok(['upgrade', 'site', './web', '--set', 'replicaCount=3', '--set', 'image.tag=1.27']);
    expect(out).toContain('REVISION: 2');
    const d = await kubectlJson<Deploy>(['get', 'deployment', 'site-web']);
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.template.spec.containers[0].image).toBe('nginx:1.27');
  });

  it('helm rollback returns to revision 1 (as revision 3)', async () => {
    expect(await ok(['rollback', 'site', '1'])).toContain('Rollback was a success');
    const d = await kubectlJson<Deploy>(['get', 'deployment', 'site-web']);
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.template.spec.containers[0].image).not.toBe('nginx:1.27');
    const hist = await ok(['history', 'site']);
    expect(hist).toMatch(/^3\s+.*deployed\s+web-0\.1\.0\s+.*Rollback to 1/m);
  });

  it('helm uninstall removes the objects and the release', async () => {
    expect(await ok(['uninstall', 'site'])).toContain('release "site" uninstalled');
    for (const kind of ['deployment', 'service', 'serviceaccount']) {
      const r = await server.kubectl(['get', kind, 'site-web']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('NotFound');
    }
    expect((await ok(['list'])).trim().split('\n')).toHaveLength(1);
  });
});
