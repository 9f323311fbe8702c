// Core controllers and the ResourceQuota admission plugin against an ApiServer in this process:
// the root CA publisher (which needs the CA handed in), the pod GC with short periods, and the
// admission function called directly.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/object.ts';
import { StatusError } from '../../api/status.ts';
import { admitResourceQuota } from '../../apiserver/admission/resourcequota.ts';
import { startInProcess, type InProcessServer } from '../../client/testing/in-process.ts';
import { isNotFound, type KubeClient, type WatchEvent } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import { silentLogger } from '../framework/log.ts';
import { ControllerManager } from '../manager.ts';
import type { ControllerFactory } from '../manager.ts';
import { podGarbageCollector } from './podgc.ts';
import { DESCRIPTION_ANNOTATION, ROOT_CA_DESCRIPTION, rootCACertPublisher } from './serviceaccounts.ts';

let srv: InProcessServer;
let client: KubeClient;
let manager: ControllerManager | undefined;

beforeAll(async () => {
  srv = await startInProcess({ namespaces: ['quota', 'gc', 'ca'] });
  client = srv.client();
});

afterEach(async () => {
  await manager?.stop();
  manager = undefined;
});

afterAll(async () => {
  await srv?.stop();
});

async function run(...factories: ControllerFactory[]): Promise<void> {
  manager = new ControllerManager({ client: srv.client(), controllers: factories, leaderElection: false, logger: silentLogger });
  await manager.start();
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; Date.now() < deadline && i < 10_000; i++) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function get(gvr: typeof Resources.pods, ns: string, name: string): Promise<KubeObject | undefined> {
  try {
    return await client.get(gvr, ns, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const pod = (name: string, extra: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...metadata },
  spec: { containers: [{ name: 'app', image: 'nginx' }], ...extra },
});

describe('root CA publisher', () => {
  it('publishes kube-root-ca.crt in every namespace and keeps it as published', async () => {
    await run(rootCACertPublisher(srv.tls.ca));
    const cm = await until('configmap', () => get(Resources.configmaps, 'ca', 'kube-root-ca.crt'));
    expect(cm.data).toEqual({ 'ca.crt': srv.tls.ca });
    expect(cm.metadata?.annotations).toEqual({ [DESCRIPTION_ANNOTATION]: ROOT_CA_DESCRIPTION });
    expect(ROOT_CA_DESCRIPTION).toBe(
      'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
    );
    await client.patch(Resources.configmaps, 'ca', 'kube-root-ca.crt', 'merge', { data: { 'ca.crt': 'tampered' } });
    await until('restored', async () => (await get(Resources.configmaps, 'ca', 'kube-root-ca.crt'))?.data?.['ca.crt' as never] === srv.tls.ca);
    await client.delete(Resources.configmaps, 'ca', 'kube-root-ca.crt');
    await until('recreated', async () => (await get(Resources.configmaps, 'ca', 'kube-root-ca.crt')) !== undefined);
    await client.create(Resources.namespaces, undefined, { metadata: { name: 'ca-new' } });
    await until('in a new namespace', () => get(Resources.configmaps, 'ca-new', 'kube-root-ca.crt'));
  });
});

describe('pod garbage collector', () => {
  it('keeps at most the threshold of terminated pods, deleting the oldest', async () => {
    const ns = 'gc';
    for (const n of ['t1', 't2', 't3', 'live']) await client.create(Resources.pods, ns, pod(n));
    for (const n of ['t1', 't2', 't3']) await client.patch(Resources.pods, ns, n, 'merge', { status: { phase: 'Succeeded' } }, { subresource: 'status' });
    await run(podGarbageCollector({ terminatedPodThreshold: 2, periodMs: 200 }));
    await until('t1 deleted', async () => (await get(Resources.pods, ns, 't1')) === undefined);
    await new Promise((r) => setTimeout(r, 600));
    for (const n of ['t2', 't3', 'live']) expect(await get(Resources.pods, ns, n)).toBeDefined();
    for (const n of ['t2', 't3', 'live']) await client.delete(Resources.pods, ns, n, { gracePeriodSeconds: 0 });
  });

  it('force deletes pods of a node that no longer exists, marked Failed with DisruptionTarget first', async () => {
    const ns = 'gc';
    await client.create(Resources.pods, ns, pod('orphan', { nodeName: 'ghost-node' }));
    const w = await client.watch(Resources.pods, ns, { fieldSelector: 'metadata.name=orphan' });
    const events: WatchEvent[] = [];
    const done = (async () => {
      for await (const ev of w) {
        events.push(ev);
        if (ev.type === 'DELETED') break;
      }
    })();
    await run(podGarbageCollector({ periodMs: 200, quarantineMs: 500 }));
    await until('orphan deleted', async () => events.some((e) => e.type === 'DELETED'));
    w.stop();
    await done;
    const failed = events.find((e) => e.type === 'MODIFIED' && (e.object.status as { phase?: string } | undefined)?.phase === 'Failed');
    const conds = ((failed?.object.status as { conditions?: Array<Record<string, unknown>> } | undefined)?.conditions ?? []).map(({ type, status, reason, message }) => ({ type, status, reason, message }));
    expect(conds).toContainEqual({ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' });
  });

  it('marks unscheduled terminating pods Failed and force deletes them', async () => {
    const ns = 'gc';
    await client.create(Resources.pods, ns, pod('held', {}, { finalizers: ['example.com/hold'] }));
    await client.delete(Resources.pods, ns, 'held');
    await run(podGarbageCollector({ periodMs: 200 }));
    await until('held pod Failed', async () => ((await get(Resources.pods, ns, 'held'))?.status as { phase?: string } | undefined)?.phase === 'Failed');
    await client.patch(Resources.pods, ns, 'held', 'merge', { metadata: { finalizers: null } });
    await until('held pod gone', async () => (await get(Resources.pods, ns, 'held')) === undefined);
  });
});

describe('ResourceQuota admission', () => {
  const ns = 'quota';
  const pods = { group: '', resource: 'pods' };
  let n = 0;

  async function quota(hard: Record<string, string>, used?: Record<string, string>): Promise<string> {
    const name = `q${++n}`;
    const q = await client.create(Resources.resourcequotas, ns, { metadata: { name }, spec: { hard } });
    if (used) await client.updateStatus(Resources.resourcequotas, ns, { ...q, status: { hard, used } });
    return name;
  }

  async function refusal(p: Promise<void>): Promise<string> {
    try {
      await p;
    } catch (err) {
      expect(err).toBeInstanceOf(StatusError);
      expect((err as StatusError).code).toBe(403);
      expect((err as StatusError).reason).toBe('Forbidden');
      return (err as StatusError).message;
    }
    throw new Error('admitted');
  }

  afterEach(async () => {
    await client.deleteCollection(Resources.resourcequotas, ns);
    await until('quotas gone', async () => srv.server.registries.get('', 'v1', 'resourcequotas')!.cache.list({ namespace: ns, matches: () => true }).length === 0);
  });

  it('charges used on admit and refuses beyond hard with upstream\'s message', async () => {
    const name = await quota({ pods: '2' }, { pods: '0' });
    const regs = srv.server.registries;
    await admitResourceQuota(regs, pods, ns, pod('p1'));
    await admitResourceQuota(regs, pods, ns, pod('p2'));
    expect(((await client.get(Resources.resourcequotas, ns, name)).status as { used: object }).used).toEqual({ pods: '2' });
    expect(await refusal(admitResourceQuota(regs, pods, ns, pod('p3')))).toBe(`pods "p3" is forbidden: exceeded quota: ${name}, requested: pods=1, used: pods=2, limited: pods=2`);
    expect(await refusal(admitResourceQuota(regs, pods, ns, pod('', {}, { generateName: 'web-' })))).toMatch(/^pods "web-" is forbidden: exceeded quota/);
  });

  it('concurrent creates cannot both take the last unit', async () => {
    const name = await quota({ pods: '2' }, { pods: '1' });
    const regs = srv.server.registries;
    const results = await Promise.allSettled([admitResourceQuota(regs, pods, ns, pod('a')), admitResourceQuota(regs, pods, ns, pod('b')), admitResourceQuota(regs, pods, ns, pod('c'))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(((await client.get(Resources.resourcequotas, ns, name)).status as { used: object }).used).toEqual({ pods: '2' });
  });

  it('status unknown, missing requests, dry run, and a quota without status', async () => {
    const regs = srv.server.registries;
    const unknown = await quota({ pods: '5', 'requests.cpu': '1' }, { 'requests.cpu': '0' });
    expect(await refusal(admitResourceQuota(regs, pods, ns, pod('x', { containers: [{ name: 'app', image: 'nginx', resources: { requests: { cpu: '100m' } } }] }))))
      .toBe(`pods "x" is forbidden: status unknown for quota: ${unknown}, resources: pods,requests.cpu`);
    await client.delete(Resources.resourcequotas, ns, unknown);
    const cpu = await quota({ 'requests.cpu': '1' }, { 'requests.cpu': '0' });
    await until('one quota', async () => regs.get('', 'v1', 'resourcequotas')!.cache.list({ namespace: ns, matches: () => true }).length === 1);
    expect(await refusal(admitResourceQuota(regs, pods, ns, pod('y')))).toBe(`pods "y" is forbidden: failed quota: ${cpu}: must specify requests.cpu for: app`);
    const withCpu = pod('z', { containers: [{ name: 'app', image: 'nginx', resources: { limits: { cpu: '400m' } } }] });
    await admitResourceQuota(regs, pods, ns, withCpu, { dryRun: true });
    expect(((await client.get(Resources.resourcequotas, ns, cpu)).status as { used: object }).used).toEqual({ 'requests.cpu': '0' });
    await admitResourceQuota(regs, pods, ns, withCpu);
    expect(((await client.get(Resources.resourcequotas, ns, cpu)).status as { used: object }).used).toEqual({ 'requests.cpu': '400m' });
    // A quota the controller has not filled in yet constrains nothing (upstream matches on status.hard).
    await quota({ configmaps: '0' });
    await admitResourceQuota(regs, { group: '', resource: 'configmaps' }, ns, { metadata: { name: 'c' } });
  });

  it('a Service update is charged for what it adds: NodePorts beyond the quota are refused', async () => {
    const name = await quota({ 'services.nodeports': '2' }, { 'services.nodeports': '0' });
    await until('quota cached', async () => srv.server.registries.get('', 'v1', 'resourcequotas')!.cache.get(ns, name)?.obj.status !== undefined);
    const ports = [80, 81, 82].map((port) => ({ name: `p${port}`, port }));
    await client.create(Resources.services, ns, { metadata: { name: 's' }, spec: { ports } });
    const err = await client.patch(Resources.services, ns, 's', 'merge', { spec: { type: 'NodePort' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).code).toBe(403);
    expect((err as StatusError).message).toBe(`services "s" is forbidden: exceeded quota: ${name}, requested: services.nodeports=3, used: services.nodeports=0, limited: services.nodeports=2`);
    expect((await client.get(Resources.services, ns, 's')).spec).toMatchObject({ type: 'ClusterIP' });
    // Two ports fit; a later change that adds no usage is not charged again.
    await client.patch(Resources.services, ns, 's', 'merge', { spec: { type: 'NodePort', ports: ports.slice(0, 2) } });
    await client.patch(Resources.services, ns, 's', 'merge', { metadata: { labels: { a: 'b' } } });
    expect(((await client.get(Resources.resourcequotas, ns, name)).status as { used: object }).used).toEqual({ 'services.nodeports': '2' });
    await client.delete(Resources.services, ns, 's');
  });

  it('object counts refuse through the API with upstream\'s message', async () => {
    const name = await quota({ configmaps: '1', 'count/deployments.apps': '0' }, { configmaps: '1', 'count/deployments.apps': '0' });
    await until('quota cached', async () => srv.server.registries.get('', 'v1', 'resourcequotas')!.cache.get(ns, name)?.obj.status !== undefined);
    const err = await client.create(Resources.configmaps, ns, { metadata: { name: 'c' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).message).toBe(`configmaps "c" is forbidden: exceeded quota: ${name}, requested: configmaps=1, used: configmaps=1, limited: configmaps=1`);
    const dep = { metadata: { name: 'd' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } };
    const err2 = await client.create(Resources.deployments, ns, dep).catch((e: unknown) => e);
    expect((err2 as StatusError).message).toBe(`deployments.apps "d" is forbidden: exceeded quota: ${name}, requested: count/deployments.apps=1, used: count/deployments.apps=0, limited: count/deployments.apps=0`);
  });
});
