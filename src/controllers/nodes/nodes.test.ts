// Integration tests of the Endpoints, EndpointSlice, node lifecycle, taint eviction and
// disruption controllers against one `k8ts server --simulate-nodes 3`, with stock kubectl.
// The node monitor grace period is shortened to 20 s (K8TS_NODE_MONITOR_GRACE_SECONDS) so that a
// Node made here, whose Lease nobody renews, goes silent quickly; the simulated nodes renew
// theirs every 10 s and stay Ready. A stale DisruptionTarget condition is reset after 3 s
// (K8TS_STALE_POD_DISRUPTION_SECONDS) instead of 2 minutes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countAttempts } from '../../apiserver/testing/attempts.ts';
import { startServer, type TestServer } from '../../apiserver/testing/server.ts';
import { KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { StatusError } from '../../api/status.ts';

const NS = 'nodes-test';
const SILENT = 'silent-node';
let server: TestServer;
let client: KubeClient;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// A retry of a test (vitest.config.ts) names its pods, Services and budgets other than the failed
// attempt did, and selects by other labels: they share the namespace with what it left behind.
const attempt = countAttempts();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const microTime = () => new Date().toISOString().replace(/Z$/, '000Z');
const nowStamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Polls until `fn` returns a truthy value (every 200 ms, up to `timeoutMs`). */
async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let lastValue: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
      lastValue = v;
    } catch (err) {
      last = err;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''} (last value ${JSON.stringify(lastValue)})\nserver log tail:\n${server.logs().slice(-3000)}`);
}

function podObj(name: string, labels: Record<string, string>, nodeName: string, extra: Record<string, unknown> = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { nodeName, containers: [{ name: 'app', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }], ...extra },
  };
}

const get = (gvr: (typeof Resources)[keyof typeof Resources], name: string, ns: string | undefined = NS) => client.get<Obj>(gvr, ns, name);
const ready = (p: Obj) => (p.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');
const events = async (name: string, reason: string, ns = NS) => (await client.list<Obj>(Resources.events, ns, { fieldSelector: `involvedObject.name=${name},reason=${reason}` })).items;
const slicesOf = async (svc: string) => (await client.list<Obj>(Resources.endpointslices, NS, { labelSelector: `kubernetes.io/service-name=${svc}` })).items;

async function setGate(name: string, status: 'True' | 'False'): Promise<void> {
  await client.patch(Resources.pods, NS, name, 'strategic', { status: { conditions: [{ type: 'example.com/gate', status }] } }, { subresource: 'status' });
}

beforeAll(async () => {
  process.env.K8TS_NODE_MONITOR_GRACE_SECONDS = '20';
  process.env.K8TS_STALE_POD_DISRUPTION_SECONDS = '3';
  try {
    server = await startServer({ simulateNodes: 3 });
  } finally {
    delete process.env.K8TS_NODE_MONITOR_GRACE_SECONDS;
    delete process.env.K8TS_STALE_POD_DISRUPTION_SECONDS;
  }
  client = KubeClient.fromKubeconfig(server.kubeconfig);
  await client.create(Resources.namespaces, undefined, { metadata: { name: NS } });
  // A node of our own with a Lease nobody will renew; its pods have a "kubelet" (this test) report them Ready.
  await client.create(Resources.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: SILENT, labels: { 'kubernetes.io/hostname': SILENT } } });
  const cond = (type: string, status: string, reason: string) => ({ type, status, reason, message: reason, lastHeartbeatTime: nowStamp(), lastTransitionTime: nowStamp() });
  await client.patch(Resources.nodes, undefined, SILENT, 'merge', { status: { conditions: [cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory'), cond('Ready', 'True', 'KubeletReady')] } }, { subresource: 'status' });
  await client.create(Resources.leases, 'kube-node-lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: SILENT }, spec: { holderIdentity: SILENT, leaseDurationSeconds: 40, renewTime: microTime() } });
  const unreachable = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' };
  await client.create(Resources.pods, NS, podObj('evict-soon', { app: 'silent' }, SILENT, { tolerations: [{ ...unreachable, tolerationSeconds: 3 }] }));
  await client.create(Resources.pods, NS, podObj('stay', { app: 'silent' }, SILENT, { tolerations: [unreachable] }));
  for (const name of ['evict-soon', 'stay']) {
    await client.patch(Resources.pods, NS, name, 'merge', { status: { phase: 'Running', podIP: '10.99.0.1', podIPs: [{ ip: '10.99.0.1' }], conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: nowStamp() }] } }, { subresource: 'status' });
  }
}, 90_000);

afterAll(async () => {
  if (process.env.DUMP_LOGS) console.log(server?.logs());
  client?.close();
  await server?.stop();
});

describe('Endpoints and EndpointSlices', () => {
  let ipA = '';
  let ipB = '';
  // Made by the first test (under a per-attempt name), used by the next two.
  let web = 'web';
  let webAll = 'web-all';

  it('a Service selecting two running pods gets Endpoints and an EndpointSlice with both IPs', async () => {
    web = attempt.name('web');
    const other = attempt.name('other');
    await client.create(Resources.pods, NS, podObj(`${web}-a`, { app: web }, 'sim-node-0'));
    await client.create(Resources.pods, NS, podObj(`${web}-b`, { app: web }, 'sim-node-1', { readinessGates: [{ conditionType: 'example.com/gate' }] }));
    await client.create(Resources.pods, NS, podObj(other, { app: other }, 'sim-node-2'));
    const [a, b] = await waitFor('both web pods Ready with an IP', async () => {
      const pa = await get(Resources.pods, `${web}-a`);
      const pb = await get(Resources.pods, `${web}-b`);
      if (!pb.status?.conditions?.some((c: Obj) => c.type === 'example.com/gate' && c.status === 'True')) await setGate(`${web}-b`, 'True');
      return ready(pa) && ready(pb) && pa.status.podIP && pb.status.podIP ? [pa, pb] : undefined;
    });
    ipA = a.status.podIP;
    ipB = b.status.podIP;
    await client.create(Resources.services, NS, { apiVersion: 'v1', kind: 'Service', metadata: { name: web, labels: { tier: 'front' } }, spec: { selector: { app: web }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } });

    const ep = await waitFor(`Endpoints ${web} with two addresses`, async () => {
      const e = await get(Resources.endpoints, web);
      return e.subsets?.[0]?.addresses?.length === 2 ? e : undefined;
    });
    expect(ep.subsets).toHaveLength(1);
    expect(ep.subsets[0].addresses.map((x: Obj) => x.ip).sort()).toEqual([ipA, ipB].sort());
    const addrA = ep.subsets[0].addresses.find((x: Obj) => x.ip === ipA);
    expect(addrA).toEqual({ ip: ipA, nodeName: 'sim-node-0', targetRef: { kind: 'Pod', namespace: NS, name: `${web}-a`, uid: a.metadata.uid } });
    expect(ep.subsets[0].ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(ep.subsets[0].notReadyAddresses).toBeUndefined();
    expect(ep.metadata.labels).toEqual({ tier: 'front', 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' });
    expect(ep.metadata.annotations['endpoints.kubernetes.io/last-change-trigger-time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const out = (await server.kubectl(['get', 'endpoints', web, '-n', NS])).stdout;
    expect(out).toContain(`:8080`);
    expect(out).toContain(ipA);

    const slices = await waitFor(`one EndpointSlice for ${web} with two endpoints`, async () => {
      const s = await slicesOf(web);
      return s.length === 1 && s[0].endpoints?.length === 2 ? s : undefined;
    });
    const s = slices[0];
    expect(s.metadata.name).toMatch(new RegExp(`^${web}-[a-z0-9]{5}$`));
    expect(s.metadata.generateName).toBe(`${web}-`);
    expect(s.addressType).toBe('IPv4');
    expect(s.metadata.labels).toEqual({ tier: 'front', 'kubernetes.io/service-name': web, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    const svc = await get(Resources.services, web);
    expect(s.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Service', name: web, uid: svc.metadata?.uid, controller: true, blockOwnerDeletion: true }]);
    expect(s.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 8080 }]);
    const epB = s.endpoints.find((e: Obj) => e.targetRef?.name === `${web}-b`);
    expect(epB).toEqual({ addresses: [ipB], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', namespace: NS, name: `${web}-b`, uid: b.metadata.uid }, nodeName: 'sim-node-1' });
  });

  it('a pod turning unready moves to notReadyAddresses and its slice endpoint to ready: false', async () => {
    webAll = attempt.name('web-all');
    await client.create(Resources.services, NS, { apiVersion: 'v1', kind: 'Service', metadata: { name: webAll }, spec: { selector: { app: web }, publishNotReadyAddresses: true, ports: [{ port: 80, targetPort: 8080 }] } });
    await setGate(`${web}-b`, 'False');
    const ep = await waitFor(`${web}-b among notReadyAddresses`, async () => {
      const e = await get(Resources.endpoints, web);
      return e.subsets?.[0]?.notReadyAddresses?.length === 1 ? e : undefined;
    });
    expect(ep.subsets[0].addresses.map((x: Obj) => x.ip)).toEqual([ipA]);
    expect(ep.subsets[0].notReadyAddresses.map((x: Obj) => x.targetRef.name)).toEqual([`${web}-b`]);
    const cond = await waitFor(`${web}-b endpoint not ready in the slice`, async () => {
      const c = (await slicesOf(web))[0]?.endpoints?.find((e: Obj) => e.targetRef?.name === `${web}-b`)?.conditions;
      return c && c.ready === false ? c : undefined;
    });
    expect(cond).toEqual({ ready: false, serving: false, terminating: false });
    // publishNotReadyAddresses: both stay addresses, both endpoints ready.
    const all = await waitFor(`Endpoints ${webAll} with both as addresses`, async () => {
      const e = await get(Resources.endpoints, webAll);
      return e.subsets?.[0]?.addresses?.length === 2 ? e : undefined;
    });
    expect(all.subsets[0].notReadyAddresses).toBeUndefined();
    expect(all.subsets[0].ports).toEqual([{ port: 8080, protocol: 'TCP' }]);
    // The slice may first be made from web-b as it was before its gate turned (serving): wait for the turn.
    const allSlice = await waitFor(`${webAll} slice with ${web}-b not serving`, async () => {
      const sl = (await slicesOf(webAll))[0];
      return sl?.endpoints?.length === 2 && sl.endpoints.find((e: Obj) => e.targetRef?.name === `${web}-b`)?.conditions?.serving === false ? sl : undefined;
    });
    expect(allSlice.endpoints.find((e: Obj) => e.targetRef?.name === `${web}-b`).conditions).toEqual({ ready: true, serving: false, terminating: false });
  });

  it('a Service selecting nothing gets an empty Endpoints and a placeholder slice; deleting Services removes both', async () => {
    const nothing = attempt.name('nothing');
    await client.create(Resources.services, NS, { apiVersion: 'v1', kind: 'Service', metadata: { name: nothing }, spec: { selector: { app: 'none' }, ports: [{ port: 80 }] } });
    const ep = await waitFor(`Endpoints ${nothing}`, () => get(Resources.endpoints, nothing));
    expect(ep.subsets ?? []).toEqual([]);
    const slices = await waitFor('placeholder slice', async () => ((await slicesOf(nothing)).length === 1 ? slicesOf(nothing) : undefined));
    expect(slices[0].endpoints).toBeNull();
    expect(slices[0].ports).toBeNull();
    await client.delete(Resources.services, NS, nothing);
    // A retry may find the Service of the test before already deleted by the failed attempt.
    await client.delete(Resources.services, NS, webAll).catch((err: StatusError) => {
      if (attempt.n === 1 || err.code !== 404) throw err;
    });
    for (const svc of [nothing, webAll]) {
      await waitFor(`Endpoints ${svc} gone`, async () => {
        try {
          await get(Resources.endpoints, svc);
          return false;
        } catch (err) {
          return (err as StatusError).code === 404;
        }
      });
      await waitFor(`slices of ${svc} gone`, async () => (await slicesOf(svc)).length === 0);
    }
  });
});

describe('PodDisruptionBudget', () => {
  // The budget and pods of the first test (under a per-attempt name); kubectl drain meets them.
  let db = 'db';

  it('minAvailable 2 over 3 ready pods allows 1 disruption; a second eviction is refused with 429', async () => {
    db = attempt.name('db');
    for (let i = 0; i < 3; i++) await client.create(Resources.pods, NS, podObj(`${db}-${i}`, { app: db }, `sim-node-${i}`));
    await waitFor(`${db} pods Ready`, async () => (await client.list<Obj>(Resources.pods, NS, { labelSelector: `app=${db}` })).items.filter(ready).length === 3);
    await client.create(Resources.poddisruptionbudgets, NS, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: db }, spec: { minAvailable: 2, selector: { matchLabels: { app: db } } } });
    const pdb = await waitFor('PDB status', async () => {
      const p = await get(Resources.poddisruptionbudgets, db);
      return p.status?.currentHealthy === 3 ? p : undefined;
    });
    expect(pdb.status).toMatchObject({ currentHealthy: 3, desiredHealthy: 2, expectedPods: 3, disruptionsAllowed: 1, observedGeneration: 1 });
    expect(pdb.status.conditions).toEqual([{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '', observedGeneration: 1, lastTransitionTime: expect.any(String) }]);

    const evict = (name: string) => client.createSubresource(Resources.pods, NS, name, 'eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: NS } });
    await evict(`${db}-0`);
    const err = await evict(`${db}-2`).then(() => undefined, (e: StatusError) => e);
    expect(err?.code).toBe(429);
    expect(err?.message).toContain("would violate the pod's disruption budget");

    // Until db-0 is gone it still counts as expected (terminating pods are not healthy).
    const after = await waitFor('PDB down to 2 healthy of 2 expected', async () => {
      const p = await get(Resources.poddisruptionbudgets, db);
      return p.status?.currentHealthy === 2 && p.status?.expectedPods === 2 ? p : undefined;
    });
    expect(after.status).toMatchObject({ currentHealthy: 2, desiredHealthy: 2, expectedPods: 2, disruptionsAllowed: 0 });
    expect(after.status.conditions[0]).toMatchObject({ status: 'False', reason: 'InsufficientPods' });

  }, 120_000);

  it('a pod covered by two budgets gets the MultiplePodDisruptionBudgets warning', async () => {
    const multi = attempt.name('multi');
    const budgets = [`${multi}-a`, `${multi}-b`];
    for (const name of budgets) {
      await client.create(Resources.poddisruptionbudgets, NS, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: multi } } } });
    }
    await waitFor('both budgets seen', async () => (await get(Resources.poddisruptionbudgets, `${multi}-b`)).status?.observedGeneration === 1);
    await client.create(Resources.pods, NS, podObj(multi, { app: multi }, 'sim-node-0'));
    const [e] = await waitFor('warning event', async () => {
      const list = await events(multi, 'MultiplePodDisruptionBudgets');
      return list.length > 0 ? list : undefined;
    });
    expect(e.type).toBe('Warning');
    expect(e.message).toMatch(new RegExp(`^Pod "${NS}"/"${multi}" matches multiple PodDisruptionBudgets\\.  Chose "${multi}-[ab]" arbitrarily\\.$`));
    expect(e.involvedObject).toMatchObject({ kind: 'Pod', name: multi, namespace: NS });
    await client.delete(Resources.pods, NS, multi, { gracePeriodSeconds: 0 });
    for (const name of budgets) await client.delete(Resources.poddisruptionbudgets, NS, name);
  }, 60_000);

  // kubectl drain finds pods/eviction (policy/v1) in discovery and evicts, so the budget holds.
  it('kubectl drain is refused by the budget', async () => {
    try {
      const drain = await server.kubectl(['drain', 'sim-node-1', '--pod-selector', `app=${db}`, '--force', '--ignore-daemonsets', '--timeout=7s'], { timeoutMs: 30_000 });
      expect(drain.code, drain.stdout + drain.stderr).not.toBe(0);
      expect(drain.stdout + drain.stderr).toContain("would violate the pod's disruption budget");
    } finally {
      await server.kubectl(['uncordon', 'sim-node-1']);
    }
  }, 60_000);

  it('a DisruptionTarget=True left on a pod that is not deleted is reset to False once stale', async () => {
    const disrupted = attempt.name('disrupted');
    await client.create(Resources.pods, NS, podObj(disrupted, { app: 'stale' }, 'sim-node-0'));
    await waitFor(`pod ${disrupted} Ready`, async () => ready(await get(Resources.pods, disrupted)));
    const setAt = nowStamp();
    const condition = { type: 'DisruptionTarget', status: 'True', lastProbeTime: null, lastTransitionTime: setAt, reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' };
    const patched = await client.patch<Obj>(Resources.pods, NS, disrupted, 'strategic', { status: { conditions: [condition] } }, { subresource: 'status' });
    const target = (p: Obj) => (p.status?.conditions ?? []).find((c: Obj) => c.type === 'DisruptionTarget');
    // What the patch wrote (a later read could already see the reset on a slow machine).
    expect(target(patched)).toMatchObject({ status: 'True', reason: 'EvictionByEvictionAPI' });
    const reset = await waitFor('DisruptionTarget reset to False', async () => {
      const c = target(await get(Resources.pods, disrupted));
      return c?.status === 'False' ? c : undefined;
    });
    expect(reset.reason).toBeUndefined();
    expect(reset.message).toBeUndefined();
    expect(Date.parse(reset.lastTransitionTime)).toBeGreaterThanOrEqual(Date.parse(setAt));
    const p = await get(Resources.pods, disrupted);
    expect(p.metadata.deletionTimestamp).toBeUndefined();
    expect(ready(p)).toBe(true);
    await client.delete(Resources.pods, NS, disrupted);
  });

  it('cordon adds the node.kubernetes.io/unschedulable taint; uncordon removes it', async () => {
    const hasUnschedulable = async () => ((await get(Resources.nodes, 'sim-node-2', undefined)).spec?.taints ?? []).some((t: Obj) => t.key === 'node.kubernetes.io/unschedulable' && t.effect === 'NoSchedule');
    expect((await server.kubectl(['cordon', 'sim-node-2'])).code).toBe(0);
    await waitFor('unschedulable taint', hasUnschedulable);
    const t = ((await get(Resources.nodes, 'sim-node-2', undefined)).spec?.taints ?? []).find((x: Obj) => x.key === 'node.kubernetes.io/unschedulable');
    expect(t.timeAdded).toMatch(/^\d{4}-/);
    expect((await server.kubectl(['uncordon', 'sim-node-2'])).code).toBe(0);
    await waitFor('unschedulable taint gone', async () => !(await hasUnschedulable()));
  });
});

describe('node lifecycle and taint eviction', () => {
  it('a silent node turns Ready=Unknown with the unreachable taints, its pods turn unready and are deleted after their toleration', async () => {
    const node = await waitFor('silent node Ready=Unknown', async () => {
      const n = await get(Resources.nodes, SILENT, undefined);
      return n.status?.conditions?.find((c: Obj) => c.type === 'Ready')?.status === 'Unknown' ? n : undefined;
    }, 90_000);
    const readyCond = node.status.conditions.find((c: Obj) => c.type === 'Ready');
    expect(readyCond).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    expect(node.status.conditions.find((c: Obj) => c.type === 'MemoryPressure')).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown' });
    expect(node.status.conditions.find((c: Obj) => c.type === 'DiskPressure')).toMatchObject({ status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.' });

    const taints = await waitFor('unreachable NoSchedule and NoExecute taints', async () => {
      const t = (await get(Resources.nodes, SILENT, undefined)).spec?.taints ?? [];
      return t.length === 2 ? t : undefined;
    });
    expect(taints.map((t: Obj) => `${t.key}:${t.effect}`).sort()).toEqual(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    for (const t of taints) expect(t.timeAdded).toMatch(/^\d{4}-\d\d-\d\dT/);

    const stay = await waitFor('pod stay marked not Ready', async () => {
      const p = await get(Resources.pods, 'stay');
      return p.status?.conditions?.find((c: Obj) => c.type === 'Ready')?.status === 'False' ? p : undefined;
    });
    expect(stay.metadata?.deletionTimestamp).toBeUndefined();
    const gone = await waitFor('pod evict-soon deleted', async () => {
      const p = await get(Resources.pods, 'evict-soon').catch(() => undefined);
      return !p ? { gone: true } : p.metadata?.deletionTimestamp ? p : undefined;
    });
    if (!('gone' in gone)) expect((gone as Obj).status.conditions.find((c: Obj) => c.type === 'DisruptionTarget')).toMatchObject({ status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' });
    expect((await get(Resources.pods, 'stay')).metadata?.deletionTimestamp).toBeUndefined();
    expect((await events('evict-soon', 'TaintManagerEviction'))[0]?.message).toBe(`Marking for deletion Pod ${NS}/evict-soon`);
    expect((await events('stay', 'NodeNotReady'))[0]?.message).toBe('Node is not ready');
    const nodeEvents = await waitFor('NodeNotReady event on the node', async () => {
      const e = await events(SILENT, 'NodeNotReady', 'default');
      return e.length > 0 ? e : undefined;
    });
    expect(nodeEvents[0].message).toBe(`Node ${SILENT} status is now: NodeNotReady`);
    expect(nodeEvents[0].source).toEqual({ component: 'node-controller' });
    expect((await events(SILENT, 'RegisteredNode', 'default'))[0]?.message).toBe(`Registered Node ${SILENT} in Controller`);

    // The node comes back: its taints go.
    const lease = await get(Resources.leases, SILENT, 'kube-node-lease');
    await client.update(Resources.leases, 'kube-node-lease', { ...lease, spec: { ...lease.spec, renewTime: microTime() } });
    await client.patch(Resources.nodes, undefined, SILENT, 'merge', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: nowStamp(), lastTransitionTime: nowStamp() }] } }, { subresource: 'status' });
    await waitFor('taints removed', async () => ((await get(Resources.nodes, SILENT, undefined)).spec?.taints ?? []).length === 0);
    const sim = await get(Resources.nodes, 'sim-node-0', undefined);
    expect(sim.status.conditions.find((c: Obj) => c.type === 'Ready').status).toBe('True');
  }, 150_000);
});
