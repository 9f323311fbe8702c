// The core controllers in a real `k8ts server` with three simulated nodes, driven by stock kubectl
// and the client: namespace deletion, garbage collection with each propagation policy, default
// ServiceAccounts, and ResourceQuota status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject, OwnerReference } from '../../api/object.ts';
import { startServer, type TestServer } from '../../apiserver/testing/server.ts';
import { isNotFound, KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';

let server: TestServer;
let client: KubeClient;

beforeAll(async () => {
  server = await startServer({ simulateNodes: 3 });
  client = KubeClient.fromKubeconfig(server.kubeconfig);
});

afterAll(async () => {
  client?.close();
  await server?.stop();
});

/** Polls `fn` every 200 ms until it returns a value (not undefined/false); fails after `timeoutMs`. */
async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; Date.now() < deadline && i < 10_000; i++) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

async function exists(gvr: typeof Resources.pods, ns: string | undefined, name: string): Promise<KubeObject | undefined> {
  try {
    return await client.get(gvr, ns, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function kubectlOk(args: string[], timeoutMs = 30_000): Promise<string> {
  const r = await server.kubectl(args, { timeoutMs });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

const nsObj = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

function podObj(name: string, extra: { nodeName?: string; labels?: Record<string, string>; ownerReferences?: OwnerReference[] } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: extra.labels, ownerReferences: extra.ownerReferences },
    spec: { containers: [{ name: 'app', image: 'nginx', resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } } }], nodeName: extra.nodeName },
  };
}

async function nodeNames(): Promise<string[]> {
  return until('three nodes', async () => {
    const l = await client.list(Resources.nodes, undefined);
    return l.items.length >= 3 ? l.items.map((n) => n.metadata?.name ?? '') : undefined;
  });
}

describe('ServiceAccounts controller', () => {
  it('a new namespace gets a default ServiceAccount, recreated when deleted', async () => {
    await kubectlOk(['create', 'namespace', 'sa-test']);
    const sa = await until('default SA', () => exists(Resources.serviceaccounts, 'sa-test', 'default'));
    await kubectlOk(['delete', 'serviceaccount', 'default', '-n', 'sa-test']);
    const again = await until('recreated default SA', async () => {
      const s = await exists(Resources.serviceaccounts, 'sa-test', 'default');
      return s && s.metadata?.uid !== sa.metadata?.uid ? s : undefined;
    });
    expect(again.metadata?.name).toBe('default');
    const out = await kubectlOk(['get', 'serviceaccounts', '-n', 'sa-test', '-o', 'name']);
    expect(out.trim()).toBe('serviceaccount/default');
  });
});

describe('namespace controller', () => {
  it('kubectl delete namespace returns once its content and the namespace are gone', async () => {
    const [node] = await nodeNames();
    await client.create(Resources.namespaces, undefined, nsObj('doomed'));
    await client.create(Resources.configmaps, 'doomed', { metadata: { name: 'cm' }, data: { a: 'b' } });
    await client.create(Resources.secrets, 'doomed', { metadata: { name: 's' }, stringData: { a: 'b' } });
    await kubectlOk(['create', 'deployment', 'web', '--image', 'nginx', '-n', 'doomed']);
    await client.create(Resources.pods, 'doomed', podObj('bound', { nodeName: node }));
    await client.create(Resources.pods, 'doomed', podObj('pending'));
    await until('bound pod running', async () => ((await client.get(Resources.pods, 'doomed', 'bound')).status as { phase?: string }).phase === 'Running');
    const out = await kubectlOk(['delete', 'namespace', 'doomed'], 90_000);
    expect(out.trim()).toBe('namespace "doomed" deleted');
    expect(await exists(Resources.namespaces, undefined, 'doomed')).toBeUndefined();
    for (const gvr of [Resources.configmaps, Resources.secrets, Resources.pods, Resources.deployments]) {
      expect((await client.list(gvr, 'doomed')).items.map((o) => o.metadata?.name)).toEqual([]);
    }
  });

  it('content held by a finalizer keeps the namespace, with upstream conditions, until released', async () => {
    await client.create(Resources.namespaces, undefined, nsObj('held'));
    await client.create(Resources.configmaps, 'held', { metadata: { name: 'stuck', finalizers: ['example.com/hold'] } });
    await kubectlOk(['delete', 'namespace', 'held', '--wait=false']);
    type Cond = { type: string; status: string; reason: string; message: string };
    const conds = await until('deletion conditions', async () => {
      const ns = await client.get(Resources.namespaces, undefined, 'held');
      const c = ((ns.status as { conditions?: Cond[] }).conditions ?? []).map(({ type, status, reason, message }) => ({ type, status, reason, message }));
      return c.some((x) => x.type === 'NamespaceFinalizersRemaining' && x.status === 'True') ? c : undefined;
    });
    expect(conds).toEqual([
      { type: 'NamespaceDeletionDiscoveryFailure', status: 'False', reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' },
      { type: 'NamespaceDeletionGroupVersionParsingFailure', status: 'False', reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' },
      { type: 'NamespaceDeletionContentFailure', status: 'False', reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' },
      { type: 'NamespaceContentRemaining', status: 'True', reason: 'SomeResourcesRemain', message: 'Some resources are remaining: configmaps. has 1 resource instances' },
      { type: 'NamespaceFinalizersRemaining', status: 'True', reason: 'SomeFinalizersRemain', message: 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances' },
    ]);
    const ns = await client.get(Resources.namespaces, undefined, 'held');
    expect((ns.status as { phase?: string }).phase).toBe('Terminating');
    await client.patch(Resources.configmaps, 'held', 'stuck', 'merge', { metadata: { finalizers: null } });
    await until('namespace gone', async () => (await exists(Resources.namespaces, undefined, 'held')) === undefined, 90_000);
  });
});

describe('garbage collector', () => {
  /** deployment → replicaset → 2 pods, linked by ownerReferences (made by hand, away from the workload controllers' selectors). */
  async function chain(ns: string, name: string) {
    const labels = { app: name };
    const dep = await client.create(Resources.deployments, ns, {
      metadata: { name },
      spec: { replicas: 0, paused: true, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } },
    });
    const owner = (o: KubeObject, controller: boolean) => ({ apiVersion: o.apiVersion!, kind: o.kind!, name: o.metadata!.name!, uid: o.metadata!.uid!, controller, blockOwnerDeletion: true });
    const rsLabels = { ...labels, 'gc-test': 'rs' };
    const rs = await client.create(Resources.replicasets, ns, {
      metadata: { name: `${name}-rs`, labels: rsLabels, ownerReferences: [owner(dep, true)] },
      spec: { replicas: 0, selector: { matchLabels: rsLabels }, template: { metadata: { labels: rsLabels }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } },
    });
    const [node] = await nodeNames();
    const pods = [
      await client.create(Resources.pods, ns, podObj(`${name}-p1`, { labels: { 'gc-test': 'pod' }, ownerReferences: [owner(rs, false)], nodeName: node })),
      await client.create(Resources.pods, ns, podObj(`${name}-p2`, { labels: { 'gc-test': 'pod' }, ownerReferences: [owner(rs, false)] })),
    ];
    return { dep, rs, pods };
  }

  beforeAll(async () => {
    await client.create(Resources.namespaces, undefined, nsObj('gc'));
  });

  it('--cascade=background: the deployment goes at once, then its replicaset and pods', async () => {
    const { rs, pods } = await chain('gc', 'bg');
    await kubectlOk(['delete', 'deployment', 'bg', '-n', 'gc', '--cascade=background']);
    expect(await exists(Resources.deployments, 'gc', 'bg')).toBeUndefined();
    await until('replicaset collected', async () => (await exists(Resources.replicasets, 'gc', rs.metadata!.name!)) === undefined);
    for (const p of pods) await until(`pod ${p.metadata!.name} collected`, async () => (await exists(Resources.pods, 'gc', p.metadata!.name!)) === undefined);
  });

  it('--cascade=foreground: the dependents are gone before the deployment is', async () => {
    const { rs, pods } = await chain('gc', 'fg');
    await kubectlOk(['delete', 'deployment', 'fg', '-n', 'gc', '--cascade=foreground'], 90_000);
    expect(await exists(Resources.deployments, 'gc', 'fg')).toBeUndefined();
    expect(await exists(Resources.replicasets, 'gc', rs.metadata!.name!)).toBeUndefined();
    for (const p of pods) expect(await exists(Resources.pods, 'gc', p.metadata!.name!)).toBeUndefined();
  });

  it('--cascade=orphan: the replicaset stays without its ownerReference, its pods stay', async () => {
    const { rs, pods } = await chain('gc', 'or');
    await kubectlOk(['delete', 'deployment', 'or', '-n', 'gc', '--cascade=orphan'], 90_000);
    expect(await exists(Resources.deployments, 'gc', 'or')).toBeUndefined();
    const left = await exists(Resources.replicasets, 'gc', rs.metadata!.name!);
    expect(left?.metadata?.uid).toBe(rs.metadata!.uid);
    expect(left?.metadata?.ownerReferences).toBeUndefined();
    for (const p of pods) {
      const pod = await exists(Resources.pods, 'gc', p.metadata!.name!);
      expect(pod?.metadata?.ownerReferences?.map((r) => r.uid)).toEqual([rs.metadata!.uid]);
    }
  });
});

describe('ResourceQuota controller', () => {
  it('status.hard mirrors spec.hard and status.used counts the namespace', async () => {
    await client.create(Resources.namespaces, undefined, nsObj('quota'));
    await client.create(Resources.resourcequotas, 'quota', {
      metadata: { name: 'compute' },
      spec: { hard: { pods: '10', 'requests.cpu': '4', 'requests.memory': '4Gi', 'limits.cpu': '8', services: '5', 'services.nodeports': '4', secrets: '10', 'count/deployments.apps': '3' } },
    });
    await client.create(Resources.pods, 'quota', podObj('a'));
    await client.create(Resources.pods, 'quota', podObj('b'));
    await client.create(Resources.services, 'quota', { metadata: { name: 'np' }, spec: { type: 'NodePort', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] } });
    await client.create(Resources.secrets, 'quota', { metadata: { name: 's' } });
    await kubectlOk(['create', 'deployment', 'web', '--image', 'nginx', '--replicas', '0', '-n', 'quota']);
    const want = { pods: '2', 'requests.cpu': '500m', 'requests.memory': '512Mi', 'limits.cpu': '1', services: '1', 'services.nodeports': '2', secrets: '1', 'count/deployments.apps': '1' };
    const sorted = (m: Record<string, string> = {}) => JSON.stringify(Object.fromEntries(Object.entries(m).sort()));
    let seen = '';
    const status = await until('quota usage', async () => {
      const q = await client.get(Resources.resourcequotas, 'quota', 'compute');
      const s = q.status as { hard?: Record<string, string>; used?: Record<string, string> };
      seen = sorted(s.used);
      return seen === sorted(want) ? s : undefined;
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; last status.used ${seen}`);
    });
    expect(status.hard).toEqual({ 'count/deployments.apps': '3', 'limits.cpu': '8', pods: '10', 'requests.cpu': '4', 'requests.memory': '4Gi', secrets: '10', services: '5', 'services.nodeports': '4' });
    // A deleted pod is given back.
    await client.delete(Resources.pods, 'quota', 'b', { gracePeriodSeconds: 0 });
    await until('usage after delete', async () => {
      const q = await client.get(Resources.resourcequotas, 'quota', 'compute');
      const used = (q.status as { used?: Record<string, string> }).used ?? {};
      return used.pods === '1' && used['requests.cpu'] === '250m' && used['requests.memory'] === '256Mi';
    });
  });

  it('a create beyond the quota is refused with upstream\'s message', async () => {
    await client.create(Resources.namespaces, undefined, nsObj('tight'));
    await client.create(Resources.resourcequotas, 'tight', { metadata: { name: 'compute' }, spec: { hard: { pods: '2' } } });
    await until('quota status', async () => ((await client.get(Resources.resourcequotas, 'tight', 'compute')).status as { used?: object }).used !== undefined);
    for (const name of ['one', 'two']) await kubectlOk(['run', name, '--image', 'nginx', '-n', 'tight']);
    const r = await server.kubectl(['run', 'three', '--image', 'nginx', '-n', 'tight']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe('Error from server (Forbidden): pods "three" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2');
    const used = await until('used pods=2', async () => {
      const u = ((await client.get(Resources.resourcequotas, 'tight', 'compute')).status as { used?: Record<string, string> }).used;
      return u?.pods === '2' ? u : undefined;
    });
    expect(used).toEqual({ pods: '2' });
  });
});
