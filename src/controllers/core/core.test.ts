// The core controllers in a real `k8ts server` with three simulated nodes, driven by stock kubectl
// and the client: namespace deletion, garbage collection with each propagation policy, default
// ServiceAccounts, and ResourceQuota status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject, OwnerReference } from '../../api/object.ts';
import { countAttempts } from '../../apiserver/testing/attempts.ts';
import { startServer, type TestServer } from '../../apiserver/testing/server.ts';
import { isNotFound, KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import { Deleter, discoveryFailureMessage, preferredNamespacedResources } from './namespace-deleter.ts';

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

// A retry of a test (vitest.config.ts) makes its namespaces and objects under other names than
// the failed attempt did, so it does not fail on what that attempt left behind.
const attempt = countAttempts();

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
    const ns = attempt.name('sa-test');
    await kubectlOk(['create', 'namespace', ns]);
    const sa = await until('default SA', () => exists(Resources.serviceaccounts, ns, 'default'));
    await kubectlOk(['delete', 'serviceaccount', 'default', '-n', ns]);
    const again = await until('recreated default SA', async () => {
      const s = await exists(Resources.serviceaccounts, ns, 'default');
      return s && s.metadata?.uid !== sa.metadata?.uid ? s : undefined;
    });
    expect(again.metadata?.name).toBe('default');
    const out = await kubectlOk(['get', 'serviceaccounts', '-n', ns, '-o', 'name']);
    expect(out.trim()).toBe('serviceaccount/default');
  });
});

describe('namespace controller', () => {
  it('kubectl delete namespace returns once its content and the namespace are gone', async () => {
    const [node] = await nodeNames();
    const ns = attempt.name('doomed');
    await client.create(Resources.namespaces, undefined, nsObj(ns));
    await client.create(Resources.configmaps, ns, { metadata: { name: 'cm' }, data: { a: 'b' } });
    await client.create(Resources.secrets, ns, { metadata: { name: 's' }, stringData: { a: 'b' } });
    await kubectlOk(['create', 'deployment', 'web', '--image', 'nginx', '-n', ns]);
    await client.create(Resources.pods, ns, podObj('bound', { nodeName: node }));
    await client.create(Resources.pods, ns, podObj('pending'));
    await until('bound pod running', async () => ((await client.get(Resources.pods, ns, 'bound')).status as { phase?: string }).phase === 'Running');
    const out = await kubectlOk(['delete', 'namespace', ns], 90_000);
    expect(out.trim()).toBe(`namespace "${ns}" deleted`);
    expect(await exists(Resources.namespaces, undefined, ns)).toBeUndefined();
    for (const gvr of [Resources.configmaps, Resources.secrets, Resources.pods, Resources.deployments]) {
      expect((await client.list(gvr, ns)).items.map((o) => o.metadata?.name)).toEqual([]);
    }
  });

  it('content held by a finalizer keeps the namespace, with upstream conditions, until released', async () => {
    const held = attempt.name('held');
    await client.create(Resources.namespaces, undefined, nsObj(held));
    await client.create(Resources.configmaps, held, { metadata: { name: 'stuck', finalizers: ['example.com/hold'] } });
    await kubectlOk(['delete', 'namespace', held, '--wait=false']);
    type Cond = { type: string; status: string; reason: string; message: string };
    const conds = await until('deletion conditions', async () => {
      const ns = await client.get(Resources.namespaces, undefined, held);
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
    const ns = await client.get(Resources.namespaces, undefined, held);
    expect((ns.status as { phase?: string }).phase).toBe('Terminating');
    await client.patch(Resources.configmaps, held, 'stuck', 'merge', { metadata: { finalizers: null } });
    await until('namespace gone', async () => (await exists(Resources.namespaces, undefined, held)) === undefined, 90_000);
  });
});

describe('namespace deletion of custom resources', () => {
  const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`;
  const widgets = { group: 'stable.example.com', version: 'v1', resource: 'widgets', namespaced: true, kind: 'Widget' };
  type Cond = { type: string; status: string; reason: string; message: string };
  const condsOf = async (name: string) => {
    const ns = await client.get(Resources.namespaces, undefined, name);
    return ((ns.status as { conditions?: Cond[] }).conditions ?? []).map(({ type, status, reason, message }) => ({ type, status, reason, message }));
  };

  it('kubectl delete ns removes custom objects; a finalizer on one keeps the namespace Terminating until removed', async (ctx) => {
    const r = await server.kubectl(['apply', '-f', '-'], { input: crd, timeoutMs: 30_000 });
    const established =
      r.code === 0 &&
      (await until(
        'the CRD to be Established',
        async () => {
          const c = await client.get(Resources.customresourcedefinitions, undefined, 'widgets.stable.example.com');
          return ((c.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).some((x) => x.type === 'Established' && x.status === 'True');
        },
        15_000,
      ).catch(() => false));
    // Until the API server serves custom resources there is nothing of this kind to delete.
    if (!established) return ctx.skip(`CustomResourceDefinitions are not served yet: ${r.stderr.trim() || 'never Established'}`);

    const crs = attempt.name('crs');
    const crs2 = attempt.name('crs2');
    await kubectlOk(['create', 'namespace', crs]);
    await client.create(widgets, crs, { apiVersion: 'stable.example.com/v1', kind: 'Widget', metadata: { name: 'plain' } });
    await client.create(widgets, crs, { apiVersion: 'stable.example.com/v1', kind: 'Widget', metadata: { name: 'held', finalizers: ['example.com/hold'] } });
    await kubectlOk(['delete', 'namespace', crs, '--wait=false']);
    const conds = await until('NamespaceFinalizersRemaining', async () => {
      const c = await condsOf(crs);
      return c.some((x) => x.type === 'NamespaceFinalizersRemaining' && x.status === 'True') ? c : undefined;
    });
    expect(conds).toContainEqual({ type: 'NamespaceContentRemaining', status: 'True', reason: 'SomeResourcesRemain', message: 'Some resources are remaining: widgets.stable.example.com has 1 resource instances' });
    expect(conds).toContainEqual({ type: 'NamespaceFinalizersRemaining', status: 'True', reason: 'SomeFinalizersRemain', message: 'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances' });
    expect(conds).toContainEqual({ type: 'NamespaceDeletionDiscoveryFailure', status: 'False', reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' });
    expect(await exists(widgets, crs, 'plain')).toBeUndefined();
    expect((await client.get(widgets, crs, 'held')).metadata?.deletionTimestamp).toBeDefined();
    expect(((await client.get(Resources.namespaces, undefined, crs)).status as { phase?: string }).phase).toBe('Terminating');
    await client.patch(widgets, crs, 'held', 'merge', { metadata: { finalizers: null } });
    await until(`namespace ${crs} gone`, async () => (await exists(Resources.namespaces, undefined, crs)) === undefined, 90_000);
    expect(await exists(widgets, crs, 'held')).toBeUndefined();

    await kubectlOk(['create', 'namespace', crs2]);
    await client.create(widgets, crs2, { apiVersion: 'stable.example.com/v1', kind: 'Widget', metadata: { name: 'w' } });
    expect((await kubectlOk(['delete', 'namespace', crs2], 90_000)).trim()).toBe(`namespace "${crs2}" deleted`);
    expect(await exists(widgets, crs2, 'w')).toBeUndefined();
  }, 150_000);
});

describe('namespace deleter (unit)', () => {
  const agg = (groups: Array<[string, Array<[string, string?, Array<[string, string, string[]]>?]>]>) => ({
    kind: 'APIGroupDiscoveryList',
    items: groups.map(([name, versions]) => ({
      metadata: { name },
      versions: versions.map(([version, freshness, resources]) => ({ version, freshness, resources: (resources ?? []).map(([resource, scope, verbs]) => ({ resource, scope, verbs, responseKind: { kind: 'K' } })) })),
    })),
  });
  const all = ['create', 'delete', 'deletecollection', 'get', 'list', 'watch'];

  it('takes each namespaced group/resource once, in the first (preferred) version, and reports stale versions', () => {
    const d = preferredNamespacedResources([
      agg([['', [['v1', 'Current', [['pods', 'Namespaced', all], ['pods/status', 'Namespaced', ['get']], ['nodes', 'Cluster', all]]]]]]),
      agg([
        ['stable.example.com', [['v2', 'Current', [['widgets', 'Namespaced', all]]], ['v1', 'Current', [['widgets', 'Namespaced', all], ['gadgets', 'Namespaced', ['delete']]]]]],
        ['metrics.k8s.io', [['v1beta1', 'Stale']]],
      ]),
    ]);
    expect(d.resources.map((r) => `${r.resource}.${r.group}/${r.version}`)).toEqual(['pods./v1', 'widgets.stable.example.com/v2', 'gadgets.stable.example.com/v1']);
    expect(d.failedGroups).toEqual(new Map([['metrics.k8s.io/v1beta1', 'stale GroupVersion discovery: metrics.k8s.io/v1beta1']]));
    expect(discoveryFailureMessage(d.failedGroups!)).toBe('Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: stale GroupVersion discovery: metrics.k8s.io/v1beta1');
  });

  it('empties discovered custom resources (one by one without deletecollection) and records a discovery failure', async () => {
    const store = new Map<string, KubeObject[]>([['widgets', [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }]], ['gadgets', [{ metadata: { name: 'g', finalizers: ['x/y'] } }]]]);
    let written: KubeObject | undefined;
    const fake = {
      deleteCollection: async (gvr: { resource: string }) => store.set(gvr.resource, (store.get(gvr.resource) ?? []).filter((o) => o.metadata?.finalizers?.length)),
      delete: async (gvr: { resource: string }, _ns: string, name: string) => store.set(gvr.resource, (store.get(gvr.resource) ?? []).filter((o) => o.metadata?.name !== name || o.metadata?.finalizers?.length)),
      listAll: async (gvr: { resource: string }) => ({ items: store.get(gvr.resource) ?? [] }),
      updateStatus: async (_gvr: unknown, _ns: unknown, obj: KubeObject) => (written = obj),
    } as unknown as KubeClient;
    const gvr = (resource: string, verbs: string[]) => ({ group: 'stable.example.com', version: 'v1', resource, namespaced: true, verbs });
    const discover = async () => ({ resources: [gvr('widgets', ['delete', 'list']), gvr('gadgets', all)], failedGroups: new Map([['metrics.k8s.io/v1beta1', 'stale GroupVersion discovery: metrics.k8s.io/v1beta1']]) });
    const deleter = new Deleter(fake, discover, () => new Date('2025-01-01T00:00:00Z'));
    const ns = { metadata: { name: 'n', deletionTimestamp: '2025-01-01T00:00:00Z' }, status: { phase: 'Terminating' } };
    await expect(deleter.deleteAllContent(ns)).rejects.toThrow('unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: stale GroupVersion discovery: metrics.k8s.io/v1beta1');
    expect(store.get('widgets')).toEqual([]);
    expect(store.get('gadgets')?.map((o) => o.metadata?.name)).toEqual(['g']);
    const conds = (written?.status as { conditions: Array<{ type: string; status: string; reason: string; message: string }> }).conditions.map(({ type, status, reason, message }) => ({ type, status, reason, message }));
    expect(conds).toEqual([
      { type: 'NamespaceDeletionDiscoveryFailure', status: 'True', reason: 'DiscoveryFailed', message: 'Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: stale GroupVersion discovery: metrics.k8s.io/v1beta1' },
      { type: 'NamespaceDeletionGroupVersionParsingFailure', status: 'False', reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' },
      { type: 'NamespaceDeletionContentFailure', status: 'False', reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' },
      { type: 'NamespaceContentRemaining', status: 'True', reason: 'SomeResourcesRemain', message: 'Some resources are remaining: gadgets.stable.example.com has 1 resource instances' },
      { type: 'NamespaceFinalizersRemaining', status: 'True', reason: 'SomeFinalizersRemain', message: 'Some content in the namespace has finalizers remaining: x/y in 1 resource instances' },
    ]);
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
    const name = attempt.name('bg');
    const { rs, pods } = await chain('gc', name);
    await kubectlOk(['delete', 'deployment', name, '-n', 'gc', '--cascade=background']);
    expect(await exists(Resources.deployments, 'gc', name)).toBeUndefined();
    await until('replicaset collected', async () => (await exists(Resources.replicasets, 'gc', rs.metadata!.name!)) === undefined);
    for (const p of pods) await until(`pod ${p.metadata!.name} collected`, async () => (await exists(Resources.pods, 'gc', p.metadata!.name!)) === undefined);
  });

  it('--cascade=foreground: the dependents are gone before the deployment is', async () => {
    const name = attempt.name('fg');
    const { rs, pods } = await chain('gc', name);
    await kubectlOk(['delete', 'deployment', name, '-n', 'gc', '--cascade=foreground'], 90_000);
    expect(await exists(Resources.deployments, 'gc', name)).toBeUndefined();
    expect(await exists(Resources.replicasets, 'gc', rs.metadata!.name!)).toBeUndefined();
    for (const p of pods) expect(await exists(Resources.pods, 'gc', p.metadata!.name!)).toBeUndefined();
  });

  it('--cascade=orphan: the replicaset stays without its ownerReference, its pods stay', async () => {
    const name = attempt.name('or');
    const { rs, pods } = await chain('gc', name);
    await kubectlOk(['delete', 'deployment', name, '-n', 'gc', '--cascade=orphan'], 90_000);
    expect(await exists(Resources.deployments, 'gc', name)).toBeUndefined();
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
    const ns = attempt.name('quota');
    await client.create(Resources.namespaces, undefined, nsObj(ns));
    await client.create(Resources.resourcequotas, ns, {
      metadata: { name: 'compute' },
      spec: { hard: { pods: '10', 'requests.cpu': '4', 'requests.memory': '4Gi', 'limits.cpu': '8', services: '5', 'services.nodeports': '4', secrets: '10', 'count/deployments.apps': '3' } },
    });
    await client.create(Resources.pods, ns, podObj('a'));
    await client.create(Resources.pods, ns, podObj('b'));
    await client.create(Resources.services, ns, { metadata: { name: 'np' }, spec: { type: 'NodePort', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] } });
    await client.create(Resources.secrets, ns, { metadata: { name: 's' } });
    await kubectlOk(['create', 'deployment', 'web', '--image', 'nginx', '--replicas', '0', '-n', ns]);
    const want = { pods: '2', 'requests.cpu': '500m', 'requests.memory': '512Mi', 'limits.cpu': '1', services: '1', 'services.nodeports': '2', secrets: '1', 'count/deployments.apps': '1' };
    const sorted = (m: Record<string, string> = {}) => JSON.stringify(Object.fromEntries(Object.entries(m).sort()));
    let seen = '';
    const status = await until('quota usage', async () => {
      const q = await client.get(Resources.resourcequotas, ns, 'compute');
      const s = q.status as { hard?: Record<string, string>; used?: Record<string, string> };
      seen = sorted(s.used);
      return seen === sorted(want) ? s : undefined;
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; last status.used ${seen}`);
    });
    expect(status.hard).toEqual({ 'count/deployments.apps': '3', 'limits.cpu': '8', pods: '10', 'requests.cpu': '4', 'requests.memory': '4Gi', secrets: '10', services: '5', 'services.nodeports': '4' });
    // A deleted pod is given back.
    await client.delete(Resources.pods, ns, 'b', { gracePeriodSeconds: 0 });
    await until('usage after delete', async () => {
      const q = await client.get(Resources.resourcequotas, ns, 'compute');
      const used = (q.status as { used?: Record<string, string> }).used ?? {};
      return used.pods === '1' && used['requests.cpu'] === '250m' && used['requests.memory'] === '256Mi';
    });
  });

  it('a create beyond the quota is refused with upstream\'s message', async () => {
    const ns = attempt.name('tight');
    await client.create(Resources.namespaces, undefined, nsObj(ns));
    await client.create(Resources.resourcequotas, ns, { metadata: { name: 'compute' }, spec: { hard: { pods: '2' } } });
    await until('quota status', async () => ((await client.get(Resources.resourcequotas, ns, 'compute')).status as { used?: object }).used !== undefined);
    for (const name of ['one', 'two']) await kubectlOk(['run', name, '--image', 'nginx', '-n', ns]);
    const r = await server.kubectl(['run', 'three', '--image', 'nginx', '-n', ns]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe('Error from server (Forbidden): pods "three" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2');
    const used = await until('used pods=2', async () => {
      const u = ((await client.get(Resources.resourcequotas, ns, 'compute')).status as { used?: Record<string, string> }).used;
      return u?.pods === '2' ? u : undefined;
    });
    expect(used).toEqual({ pods: '2' });
  });
});
