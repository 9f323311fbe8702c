// The DaemonSet controller against a real `k8ts server` with three simulated nodes, through
// stock kubectl: one pod per node, rolling updates (maxUnavailable, maxSurge), OnDelete, taints
// and tolerations, nodeSelector against node labels.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { countAttempts } from '../../apiserver/testing/attempts.ts';
import { startServer, type TestServer } from '../../apiserver/testing/server.ts';
import { KubeClient, type Watch } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import { targetNodeName } from './daemonset-nodes.ts';
import { eventsAbout, kubectlOk, startBinder, until } from './test-helpers.ts';
import type { ControllerRevision, DaemonSet, Pod } from './types.ts';

const NS = 'default';
const NODES = ['sim-node-0', 'sim-node-1', 'sim-node-2'];
let server: TestServer;
let client: KubeClient;
let binder: { stop(): Promise<void> };
// A retry of a test (vitest.config.ts) names its DaemonSets (and their app labels) and nodes other
// than the failed attempt did, and a failed attempt takes back the taints and labels it put on nodes.
const attempt = countAttempts();

beforeAll(async () => {
  server = await startServer({ simulateNodes: 3 });
  client = KubeClient.fromKubeconfig(server.kubeconfig);
  binder = startBinder(client, NS);
});

afterAll(async () => {
  await binder?.stop();
  client?.close();
  await server?.stop();
});

function dsYaml(name: string, opts: { image?: string; extraSpec?: string; podSpec?: string } = {}): string {
  return `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ${name}
spec:
  selector:
    matchLabels:
      app: ${name}
${opts.extraSpec ?? ''}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
${opts.podSpec ?? ''}
      containers:
      - name: main
        image: ${opts.image ?? 'busybox:1'}
`;
}

const getDs = (name: string) => client.get<DaemonSet>(Resources.daemonsets, NS, name);
const live = (pods: Pod[]) => pods.filter((p) => !p.metadata.deletionTimestamp);
const podsOf = async (app: string) => live((await client.list<Pod>(Resources.pods, NS, { labelSelector: `app=${app}` })).items);
const isReady = (p: Pod) => p.status?.phase === 'Running' && !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
const nodesOf = (pods: Pod[]) => pods.map((p) => p.spec.nodeName ?? '').sort();

/** Waits until the DaemonSet has observed its spec and has `n` ready, updated pods on `nodes`. */
async function waitRolledOut(name: string, nodes: string[]): Promise<{ ds: DaemonSet; pods: Pod[] }> {
  return until(`${name} on ${nodes.join(',')}`, 60_000, async () => {
    const ds = await getDs(name);
    const pods = await podsOf(name);
    const s = ds.status;
    const n = nodes.length;
    const ok = s?.observedGeneration === ds.metadata.generation && s?.desiredNumberScheduled === n && s.currentNumberScheduled === n && s.numberReady === n && (s.updatedNumberScheduled ?? 0) === n && (s.numberAvailable ?? 0) === n;
    return ok && pods.length === n && pods.every(isReady) && JSON.stringify(nodesOf(pods)) === JSON.stringify([...nodes].sort()) ? { ds, pods } : undefined;
  });
}

/** Tracks, per watch event, how many nodes lack a ready, undeleted pod of `app`. */
async function trackUnavailable(app: string): Promise<{ worst(): number; best(): number; most(): number; stop(): void }> {
  const w: Watch<Pod> = await client.watch<Pod>(Resources.pods, NS, { labelSelector: `app=${app}` });
  const pods = new Map<string, Pod>();
  let worst = 0;
  let best = Infinity;
  let most = 0;
  let synced = false;
  void (async () => {
    try {
      for await (const ev of w) {
        if (ev.type === 'ERROR' || ev.type === 'BOOKMARK') continue;
        const p = ev.object as Pod;
        if (ev.type === 'DELETED') pods.delete(p.metadata.uid!);
        else pods.set(p.metadata.uid!, p);
        if (!synced && pods.size < NODES.length) continue;
        synced = true;
        const readyPerNode = NODES.map((n) => [...pods.values()].filter((x) => x.spec.nodeName === n && !x.metadata.deletionTimestamp && isReady(x)).length);
        worst = Math.max(worst, readyPerNode.filter((c) => c === 0).length);
        const total = readyPerNode.reduce((a, b) => a + b, 0);
        best = Math.min(best, total);
        most = Math.max(most, total);
      }
    } catch {
      // stopped
    }
  })();
  return { worst: () => worst, best: () => best, most: () => most, stop: () => w.stop() };
}

describe('DaemonSet controller', () => {
  // Made by their first tests (under per-attempt names), used by later ones.
  let agent = 'agent';
  let surge = 'surge';

  it('runs one pod per node, pinned with node affinity, labelled with the revision hash', async () => {
    agent = attempt.name('agent');
    await kubectlOk(server, ['apply', '-f', '-'], dsYaml(agent));
    const { ds, pods } = await waitRolledOut(agent, NODES);
    expect(ds.status).toMatchObject({ desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 3, numberAvailable: 3, updatedNumberScheduled: 3, numberMisscheduled: 0 });
    expect(ds.status?.numberUnavailable ?? 0).toBe(0);
    const revs = (await client.list<ControllerRevision>(Resources.controllerrevisions, NS)).items.filter((r) => r.metadata.ownerReferences?.[0]?.uid === ds.metadata.uid);
    expect(revs).toHaveLength(1);
    const hash = revs[0].metadata.labels?.['controller-revision-hash'];
    expect(revs[0].metadata.name).toBe(`${agent}-${hash}`);
    expect(revs[0].revision).toBe(1);
    expect(revs[0].metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: agent, uid: ds.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    for (const p of pods) {
      expect(p.metadata.name).toMatch(new RegExp(`^${agent}-[a-z0-9]{5}$`));
      expect(p.metadata.labels).toMatchObject({ app: agent, 'controller-revision-hash': hash, 'pod-template-generation': '1' });
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: agent, uid: ds.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      expect(p.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual({ nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [p.spec.nodeName] }] }] });
      const tol = (p.spec.tolerations ?? []).map((t) => `${t.key}:${t.operator}:${t.effect}`);
      expect(tol).toEqual(expect.arrayContaining(['node.kubernetes.io/not-ready:Exists:NoExecute', 'node.kubernetes.io/unreachable:Exists:NoExecute', 'node.kubernetes.io/disk-pressure:Exists:NoSchedule', 'node.kubernetes.io/memory-pressure:Exists:NoSchedule', 'node.kubernetes.io/pid-pressure:Exists:NoSchedule', 'node.kubernetes.io/unschedulable:Exists:NoSchedule']));
      expect(tol.some((t) => t.startsWith('node.kubernetes.io/network-unavailable'))).toBe(false);
    }
    const evs = (await eventsAbout(client, NS, 'DaemonSet', agent)).filter((e) => e.reason === 'SuccessfulCreate').map((e) => e.message).sort();
    expect(evs).toEqual(pods.map((p) => `Created pod: ${p.metadata.name}`).sort());
    const out = await kubectlOk(server, ['rollout', 'status', `daemonset/${agent}`, '--timeout=60s']);
    expect(out).toContain(`daemon set "${agent}" successfully rolled out`);
    expect(await kubectlOk(server, ['get', 'ds', agent])).toMatch(new RegExp(`${agent}\\s+3\\s+3\\s+3\\s+3\\s+3\\s+<none>`));
  });

  it('rolls out a new template within maxUnavailable 1, and keeps the revision history', async () => {
    const before = await getDs(agent);
    const oldUids = new Set((await podsOf(agent)).map((p) => p.metadata.uid));
    const track = await trackUnavailable(agent);
    await kubectlOk(server, ['set', 'image', `daemonset/${agent}`, 'main=busybox:2']);
    const out = await kubectlOk(server, ['rollout', 'status', `daemonset/${agent}`, '--timeout=60s']);
    expect(out).toContain(`daemon set "${agent}" successfully rolled out`);
    const { ds, pods } = await waitRolledOut(agent, NODES);
    track.stop();
    expect(ds.metadata.generation).toBeGreaterThan(before.metadata.generation!);
    expect(pods.every((p) => !oldUids.has(p.metadata.uid))).toBe(true);
    expect(pods.every((p) => (p.spec.containers as Array<{ image: string }>)[0].image === 'busybox:2')).toBe(true);
    expect(track.worst()).toBeLessThanOrEqual(1);
    expect(track.worst()).toBe(1); // pods really were replaced one node at a time
    const revs = (await client.list<ControllerRevision>(Resources.controllerrevisions, NS)).items.filter((r) => r.metadata.ownerReferences?.[0]?.uid === ds.metadata.uid);
    expect(revs.map((r) => r.revision).sort()).toEqual([1, 2]);
    const cur = revs.find((r) => r.revision === 2)!;
    expect(pods.every((p) => p.metadata.labels?.['controller-revision-hash'] === cur.metadata.labels?.['controller-revision-hash'])).toBe(true);
    const deletes = (await eventsAbout(client, NS, 'DaemonSet', agent)).filter((e) => e.reason === 'SuccessfulDelete');
    expect(deletes.length).toBe(3);
    expect(deletes.every((e) => new RegExp(`^Deleted pod: ${agent}-[a-z0-9]{5}$`).test(e.message))).toBe(true);
  });

  it('with maxSurge 1 and maxUnavailable 0 starts the new pod before stopping the old one', async () => {
    surge = attempt.name('surge');
    await kubectlOk(server, ['apply', '-f', '-'], dsYaml(surge, { extraSpec: '  updateStrategy:\n    rollingUpdate:\n      maxSurge: 1\n      maxUnavailable: 0' }));
    await waitRolledOut(surge, NODES);
    const track = await trackUnavailable(surge);
    await kubectlOk(server, ['set', 'image', `daemonset/${surge}`, 'main=busybox:2']);
    await kubectlOk(server, ['rollout', 'status', `daemonset/${surge}`, '--timeout=60s']);
    const { pods } = await waitRolledOut(surge, NODES);
    track.stop();
    expect(pods.every((p) => (p.spec.containers as Array<{ image: string }>)[0].image === 'busybox:2')).toBe(true);
    expect(track.worst()).toBe(0);
    expect(track.best()).toBe(3); // never fewer than three ready pods
    expect(track.most()).toBe(4); // a new pod was ready next to the old one it replaced
  });

  it('OnDelete: a new template reaches only pods deleted by hand', async () => {
    const manual = attempt.name('manual');
    await kubectlOk(server, ['apply', '-f', '-'], dsYaml(manual, { extraSpec: '  updateStrategy:\n    type: OnDelete' }));
    const { pods: first } = await waitRolledOut(manual, NODES);
    await kubectlOk(server, ['set', 'image', `daemonset/${manual}`, 'main=busybox:2']);
    const ds = await until(`${manual} observed`, 60_000, async () => {
      const d = await getDs(manual);
      return d.status?.observedGeneration === d.metadata.generation ? d : undefined;
    });
    expect(ds.status?.updatedNumberScheduled ?? 0).toBe(0);
    expect((await podsOf(manual)).map((p) => p.metadata.uid).sort()).toEqual(first.map((p) => p.metadata.uid).sort());
    const victim = first.find((p) => p.spec.nodeName === 'sim-node-1')!;
    await kubectlOk(server, ['delete', 'pod', victim.metadata.name!]);
    const after = await until('a new pod on sim-node-1', 60_000, async () => {
      const d = await getDs(manual);
      return d.status?.updatedNumberScheduled === 1 && d.status.numberReady === 3 ? d : undefined;
    });
    const pods = await podsOf(manual);
    const replaced = pods.find((p) => p.spec.nodeName === 'sim-node-1')!;
    expect((replaced.spec.containers as Array<{ image: string }>)[0].image).toBe('busybox:2');
    expect(replaced.metadata.labels?.['pod-template-generation']).toBe(String(after.metadata.generation));
    expect(pods.filter((p) => (p.spec.containers as Array<{ image: string }>)[0].image === 'busybox:1')).toHaveLength(2);
    const r = await server.kubectl(['rollout', 'status', `daemonset/${manual}`, '--timeout=5s']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('rollout status is only available for RollingUpdate strategy type');
    await kubectlOk(server, ['delete', 'daemonset', manual, surge, '--wait=false']);
  });

  it('a NoSchedule taint keeps new daemon pods off a node unless tolerated; NoExecute evicts the intolerant', async () => {
    const plain = attempt.name('plain');
    const tolerant = attempt.name('tolerant');
    // On all three nodes to begin with (a failed attempt before this one may have had its pod on sim-node-2 evicted).
    await waitRolledOut(agent, NODES);
    const agentBefore = (await podsOf(agent)).find((p) => p.spec.nodeName === 'sim-node-2')!;
    // A failed attempt takes its taints off again: a retry, and the tests after, start from an untainted node.
    onTestFailed(async () => {
      for (const undo of ['dedicated-', 'evict-']) await server.kubectl(['taint', 'nodes', 'sim-node-2', undo]);
    });
    await kubectlOk(server, ['taint', 'nodes', 'sim-node-2', 'dedicated=infra:NoSchedule']);
    // The pod already on the node stays (NoSchedule does not evict); agent now counts it misscheduled.
    // Waited for before the new DaemonSets are made: the controller has then seen the taint, so it
    // gives plain no pod on sim-node-2 (one it made before seeing the taint would be left there).
    const agentDs = await until(`${agent} misscheduled 1`, 60_000, async () => {
      const d = await getDs(agent);
      return d.status?.numberMisscheduled === 1 && d.status.desiredNumberScheduled === 2 ? d : undefined;
    });
    expect(agentDs.status).toMatchObject({ currentNumberScheduled: 2, numberReady: 2 });
    await kubectlOk(server, ['apply', '-f', '-'], dsYaml(plain));
    const tolerate = '      tolerations:\n      - key: dedicated\n        operator: Exists\n        effect: NoSchedule\n';
    await kubectlOk(server, ['apply', '-f', '-'], dsYaml(tolerant, { podSpec: tolerate }));
    await waitRolledOut(plain, ['sim-node-0', 'sim-node-1']);
    await waitRolledOut(tolerant, NODES);
    expect((await podsOf(agent)).find((p) => p.spec.nodeName === 'sim-node-2')?.metadata.uid).toBe(agentBefore.metadata.uid);

    // NoExecute: pods that do not tolerate it are deleted.
    await kubectlOk(server, ['taint', 'nodes', 'sim-node-2', 'evict=now:NoExecute']);
    await until(`${agent} and ${tolerant} gone from sim-node-2`, 60_000, async () => {
      const a = await podsOf(agent);
      const t = await podsOf(tolerant);
      return !a.some((p) => targetNodeName(p) === 'sim-node-2') && !t.some((p) => targetNodeName(p) === 'sim-node-2') ? true : undefined;
    });
    const tol = await until(`${tolerant} status`, 60_000, async () => {
      const d = await getDs(tolerant);
      return d.status?.desiredNumberScheduled === 2 && d.status.numberMisscheduled === 0 && d.status.currentNumberScheduled === 2 ? d : undefined;
    });
    expect(tol.status?.numberReady).toBe(2);

    // Taints removed: every DaemonSet is back on all three nodes.
    await kubectlOk(server, ['taint', 'nodes', 'sim-node-2', 'dedicated-', 'evict-']);
    await waitRolledOut(agent, NODES);
    await waitRolledOut(plain, NODES);
    await waitRolledOut(tolerant, NODES);
    await kubectlOk(server, ['delete', 'daemonset', plain, tolerant, '--wait=false']);
  });

  it('labelling a node into a nodeSelector adds a pod there; unlabelling removes it', async () => {
    const picky = attempt.name('picky');
    await kubectlOk(server, ['apply', '-f', '-'], dsYaml(picky, { podSpec: '      nodeSelector:\n        role: edge\n' }));
    const empty = await until(`${picky} observed`, 60_000, async () => {
      const d = await getDs(picky);
      return d.status?.observedGeneration === d.metadata.generation ? d : undefined;
    });
    expect(empty.status).toMatchObject({ desiredNumberScheduled: 0, currentNumberScheduled: 0, numberReady: 0, numberMisscheduled: 0 });
    expect(await podsOf(picky)).toEqual([]);
    // A failed attempt takes its label off again: a retry starts from a node outside the selector.
    onTestFailed(async () => {
      await server.kubectl(['label', 'node', 'sim-node-1', 'role-']);
    });
    await kubectlOk(server, ['label', 'node', 'sim-node-1', 'role=edge']);
    const { pods } = await waitRolledOut(picky, ['sim-node-1']);
    expect(pods[0].spec.nodeSelector).toEqual({ role: 'edge' });
    await kubectlOk(server, ['label', 'node', 'sim-node-1', 'role-']);
    await until(`${picky} pod removed`, 60_000, async () => {
      const d = await getDs(picky);
      return (await podsOf(picky)).length === 0 && d.status?.desiredNumberScheduled === 0 && d.status.currentNumberScheduled === 0 ? true : undefined;
    });
    // The event follows the DELETE, written in the background.
    const deletes = await until('the SuccessfulDelete event', 30_000, async () => {
      const msgs = (await eventsAbout(client, NS, 'DaemonSet', picky)).filter((e) => e.reason === 'SuccessfulDelete').map((e) => e.message);
      return msgs.length > 0 ? msgs : undefined;
    });
    expect(deletes).toEqual([`Deleted pod: ${pods[0].metadata.name}`]);
  });

  it('a node added gets a daemon pod; a node removed is no longer counted and its unbound pod goes', async () => {
    const extra = attempt.name('extra-node');
    // A failed attempt removes its node again: a retry counts three nodes and its own.
    onTestFailed(async () => {
      await server.kubectl(['delete', 'node', extra, '--ignore-not-found']);
    });
    // A Node object with no agent behind it: its daemon pod is created but never runs.
    await kubectlOk(server, ['apply', '-f', '-'], `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${extra}\n  labels:\n    kubernetes.io/hostname: ${extra}\n`);
    const pod = await until(`an ${agent} pod for ${extra}`, 60_000, async () => (await podsOf(agent)).find((p) => targetNodeName(p) === extra));
    expect(pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [extra] }] }]);
    const grown = await until(`${agent} desired 4`, 60_000, async () => {
      const d = await getDs(agent);
      return d.status?.desiredNumberScheduled === 4 && d.status.currentNumberScheduled === 4 ? d : undefined;
    });
    expect(grown.status).toMatchObject({ numberReady: 3, numberAvailable: 3, numberUnavailable: 1 });
    const r = await server.kubectl(['rollout', 'status', `daemonset/${agent}`, '--timeout=2s']);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain(`Waiting for daemon set "${agent}" rollout to finish: 3 of 4 updated pods are available...`);
    await kubectlOk(server, ['delete', 'node', extra]);
    const shrunk = await until(`${agent} desired 3 again`, 60_000, async () => {
      const d = await getDs(agent);
      const pods = await podsOf(agent);
      return d.status?.desiredNumberScheduled === 3 && !pods.some((p) => p.metadata.uid === pod.metadata.uid) ? d : undefined;
    });
    expect(shrunk.status).toMatchObject({ currentNumberScheduled: 3, numberReady: 3, numberAvailable: 3 });
    expect(shrunk.status?.numberUnavailable ?? 0).toBe(0);
  });
});
