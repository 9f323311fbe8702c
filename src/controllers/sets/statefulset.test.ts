// The StatefulSet controller against a real `k8ts server` with three simulated nodes, through
// stock kubectl: ordered creation with PVCs, partitioned rolling update, ordered scale-down,
// Parallel pod management, the PVC retention policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countAttempts } from '../../apiserver/testing/attempts.ts';
import { startServer, type TestServer } from '../../apiserver/testing/server.ts';
import { KubeClient, type Watch } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import { eventsAbout, kubectlOk, startBinder, until } from './test-helpers.ts';
import type { ControllerRevision, PersistentVolumeClaim, Pod, StatefulSet } from './types.ts';

const NS = 'default';
let server: TestServer;
let client: KubeClient;
let binder: { stop(): Promise<void> };
// A retry of a test (vitest.config.ts) names its StatefulSets (and so their app labels, pods and
// claims) other than the failed attempt did: they share the namespace with what it left behind.
const attempt = countAttempts();

beforeAll(async () => {
  server = await startServer({ simulateNodes: 3 });
  client = KubeClient.fromKubeconfig(server.kubeconfig);
  binder = startBinder(client, NS);
  // Nothing provisions volumes here: a WaitForFirstConsumer class lets the scheduler place pods
  // whose claims are still unbound (an Immediate or class-less claim would keep them Pending).
  await kubectlOk(server, ['apply', '-f', '-'], 'apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: wait\nprovisioner: example.com/none\nvolumeBindingMode: WaitForFirstConsumer\n');
});

afterAll(async () => {
  await binder?.stop();
  client?.close();
  await server?.stop();
});

interface Seen {
  type: string;
  name: string;
  uid: string;
  ready: boolean;
  deleting: boolean;
  revision: string;
}

/** Records every pod watch event with label `app=<app>`, in order. */
async function recordPods(app: string): Promise<{ log: Seen[]; stop(): void }> {
  const w: Watch<Pod> = await client.watch<Pod>(Resources.pods, NS, { labelSelector: `app=${app}` });
  const log: Seen[] = [];
  void (async () => {
    try {
      for await (const ev of w) {
        if (ev.type === 'ERROR' || ev.type === 'BOOKMARK') continue;
        const p = ev.object as Pod;
        const ready = p.status?.phase === 'Running' && !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        log.push({ type: ev.type, name: p.metadata.name!, uid: p.metadata.uid!, ready, deleting: !!p.metadata.deletionTimestamp, revision: p.metadata.labels?.['controller-revision-hash'] ?? '' });
      }
    } catch {
      // stopped
    }
  })();
  return { log, stop: () => w.stop() };
}

function stsYaml(name: string, opts: { replicas?: number; extraSpec?: string; podSpec?: string; image?: string } = {}): string {
  return `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${name}
spec:
  replicas: ${opts.replicas ?? 3}
  serviceName: ${name}
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
        image: ${opts.image ?? 'nginx:1.25'}
`;
}

const getSts = (name: string) => client.get<StatefulSet>(Resources.statefulsets, NS, name);
const podsOf = async (app: string) => (await client.list<Pod>(Resources.pods, NS, { labelSelector: `app=${app}` })).items;
const isReady = (p: Pod) => p.status?.phase === 'Running' && !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

async function waitReady(name: string, replicas: number): Promise<StatefulSet> {
  return until(`${name} to have ${replicas} ready replicas`, 60_000, async () => {
    const s = await getSts(name);
    const pods = (await podsOf(name)).filter((p) => !p.metadata.deletionTimestamp);
    return (s.status?.readyReplicas ?? 0) === replicas && s.status?.replicas === replicas && pods.length === replicas && pods.every(isReady) && s.status?.observedGeneration === s.metadata.generation ? s : undefined;
  });
}

describe('StatefulSet controller', () => {
  // Made by the first test (under a per-attempt name), updated and scaled by the next two.
  let web = 'web';

  it('creates web-0, web-1, web-2 in order, each once the one before is Running and Ready, with their PVCs', async () => {
    web = attempt.name('web');
    const rec = await recordPods(web);
    const claim = `
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      storageClassName: wait
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi`;
    await kubectlOk(server, ['apply', '-f', '-'], stsYaml(web, { extraSpec: claim }));
    const sts = await waitReady(web, 3);
    rec.stop();

    // Order: pod i is first seen only after pod i-1 was seen Running and Ready.
    const firstAdded = (n: string) => rec.log.findIndex((e) => e.type === 'ADDED' && e.name === n);
    const firstReady = (n: string) => rec.log.findIndex((e) => e.name === n && e.ready);
    for (let i = 1; i < 3; i++) {
      expect(firstAdded(`${web}-${i}`)).toBeGreaterThan(-1);
      expect(firstReady(`${web}-${i - 1}`)).toBeGreaterThan(-1);
      expect(firstAdded(`${web}-${i}`)).toBeGreaterThan(firstReady(`${web}-${i - 1}`));
    }

    // Status, revisions, pod identity.
    expect(sts.status).toMatchObject({ replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 3, collisionCount: 0 });
    expect(sts.status?.currentRevision).toBe(sts.status?.updateRevision);
    expect(sts.status?.updateRevision).toMatch(new RegExp(`^${web}-[bcdfghjklmnpqrstvwxz2456789]+$`));
    const rev = await client.get<ControllerRevision>(Resources.controllerrevisions, NS, sts.status!.updateRevision!);
    expect(rev.revision).toBe(1);
    expect(rev.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: web, uid: sts.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(rev.metadata.labels?.app).toBe(web);
    expect((rev.data as { spec: { template: Record<string, unknown> } }).spec.template.$patch).toBe('replace');
    const pods = (await podsOf(web)).sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
    expect(pods.map((p) => p.metadata.name)).toEqual([`${web}-0`, `${web}-1`, `${web}-2`]);
    for (const [i, p] of pods.entries()) {
      expect(p.metadata.labels).toMatchObject({ app: web, 'controller-revision-hash': sts.status!.updateRevision, 'statefulset.kubernetes.io/pod-name': `${web}-${i}`, 'apps.kubernetes.io/pod-index': String(i) });
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: web, uid: sts.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      expect(p.metadata.generateName).toBe(`${web}-`);
      expect(p.spec).toMatchObject({ hostname: `${web}-${i}`, subdomain: web });
      expect(p.spec.volumes?.find((v) => v.name === 'www')?.persistentVolumeClaim?.claimName).toBe(`www-${web}-${i}`);
      const pvc = await client.get<PersistentVolumeClaim>(Resources.persistentvolumeclaims, NS, `www-${web}-${i}`);
      expect(pvc.metadata.labels).toMatchObject({ app: web });
      expect(pvc.status?.phase).toBe('Pending');
      expect(pvc.metadata.ownerReferences ?? []).toEqual([]); // Retain/Retain
    }

    // Events as upstream writes them, in creation order.
    const evs = await eventsAbout(client, NS, 'StatefulSet', web);
    const creates = evs.filter((e) => e.reason === 'SuccessfulCreate').map((e) => e.message);
    expect(creates).toEqual(expect.arrayContaining([`create Pod ${web}-0 in StatefulSet ${web} successful`, `create Claim www-${web}-0 Pod ${web}-0 in StatefulSet ${web} success`, `create Pod ${web}-2 in StatefulSet ${web} successful`]));
    expect(evs.every((e) => e.source?.component === 'statefulset-controller' && e.type === 'Normal')).toBe(true);

    // updateStrategy.rollingUpdate is defaulted (partition 0), so kubectl reports a partitioned roll out.
    const out = await kubectlOk(server, ['rollout', 'status', `statefulset/${web}`, '--timeout=60s']);
    expect(out).toContain('partitioned roll out complete: 3 new pods have been updated...');
    const table = await kubectlOk(server, ['get', 'statefulset', web]);
    expect(table).toMatch(new RegExp(`${web}\\s+3/3`));
  });

  it('a partitioned rolling update replaces only ordinals >= partition, highest first; partition 0 finishes it', async () => {
    const before = await getSts(web);
    const oldRev = before.status!.updateRevision!;
    const uids = new Map((await podsOf(web)).map((p) => [p.metadata.name!, p.metadata.uid!]));
    const rec = await recordPods(web);
    await kubectlOk(server, ['patch', 'statefulset', web, '--type=merge', '-p', JSON.stringify({ spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } }, template: { spec: { containers: [{ name: 'main', image: 'nginx:1.26' }] } } } })]);
    const sts = await until(`${web}-1 and ${web}-2 updated`, 60_000, async () => {
      const s = await getSts(web);
      const pods = await podsOf(web);
      const updated = pods.filter((p) => p.metadata.labels?.['controller-revision-hash'] === s.status?.updateRevision && isReady(p) && !p.metadata.deletionTimestamp);
      return s.status?.updateRevision !== oldRev && s.status?.updatedReplicas === 2 && s.status?.readyReplicas === 3 && updated.length === 2 ? s : undefined;
    });
    rec.stop();
    const newRev = sts.status!.updateRevision!;
    expect(sts.status?.currentRevision).toBe(oldRev);
    const pods = new Map((await podsOf(web)).map((p) => [p.metadata.name!, p]));
    expect(pods.get(`${web}-0`)!.metadata.uid).toBe(uids.get(`${web}-0`));
    expect(pods.get(`${web}-0`)!.metadata.labels?.['controller-revision-hash']).toBe(oldRev);
    for (const n of [`${web}-1`, `${web}-2`]) {
      expect(pods.get(n)!.metadata.uid).not.toBe(uids.get(n));
      expect(pods.get(n)!.metadata.labels?.['controller-revision-hash']).toBe(newRev);
      expect((pods.get(n)!.spec.containers as Array<{ image: string }>)[0].image).toBe('nginx:1.26');
    }
    // Pod 2 went first: pod 1 was deleted only after the new pod 2 was Ready.
    const deleted = (n: string) => rec.log.findIndex((e) => e.name === n && e.uid === uids.get(n) && (e.deleting || e.type === 'DELETED'));
    const newReady = (n: string) => rec.log.findIndex((e) => e.name === n && e.uid !== uids.get(n) && e.ready);
    expect(deleted(`${web}-2`)).toBeGreaterThan(-1);
    expect(deleted(`${web}-1`)).toBeGreaterThan(newReady(`${web}-2`));
    expect(newReady(`${web}-2`)).toBeGreaterThan(deleted(`${web}-2`));
    expect(rec.log.some((e) => e.name === `${web}-0` && (e.deleting || e.type === 'DELETED'))).toBe(false);

    const partial = await kubectlOk(server, ['rollout', 'status', `statefulset/${web}`, '--timeout=60s']);
    expect(partial).toContain('partitioned roll out complete: 2 new pods have been updated...');
    const revs = (await client.list<ControllerRevision>(Resources.controllerrevisions, NS)).items.filter((r) => r.metadata.ownerReferences?.[0]?.uid === sts.metadata.uid);
    expect(revs.map((r) => [r.metadata.name, r.revision]).sort()).toEqual([[oldRev, 1], [newRev, 2]].sort());

    await kubectlOk(server, ['patch', 'statefulset', web, '--type=merge', '-p', '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}']);
    const done = await until(`${web} fully updated`, 60_000, async () => {
      const s = await getSts(web);
      return s.status?.currentRevision === newRev && s.status?.updatedReplicas === 3 && s.status?.currentReplicas === 3 && s.status?.readyReplicas === 3 ? s : undefined;
    });
    expect(done.status?.updateRevision).toBe(newRev);
    expect((await podsOf(web)).find((p) => p.metadata.name === `${web}-0`)!.metadata.uid).not.toBe(uids.get(`${web}-0`));
    const out = await kubectlOk(server, ['rollout', 'status', `statefulset/${web}`, '--timeout=60s']);
    expect(out).toContain('partitioned roll out complete: 3 new pods have been updated...');
  });

  it('scales down from the highest ordinal, one at a time, and keeps the PVCs (Retain)', async () => {
    const uids = new Map((await podsOf(web)).map((p) => [p.metadata.name!, p.metadata.uid!]));
    const rec = await recordPods(web);
    await kubectlOk(server, ['scale', 'statefulset', web, '--replicas=1']);
    await until(`${web} scaled to 1`, 60_000, async () => {
      const s = await getSts(web);
      const pods = await podsOf(web);
      return pods.length === 1 && s.status?.replicas === 1 ? true : undefined;
    });
    rec.stop();
    const pods = await podsOf(web);
    expect(pods.map((p) => p.metadata.name)).toEqual([`${web}-0`]);
    expect(pods[0].metadata.uid).toBe(uids.get(`${web}-0`));
    const firstTouch = (n: string) => rec.log.findIndex((e) => e.name === n && (e.deleting || e.type === 'DELETED'));
    const gone = (n: string) => rec.log.findIndex((e) => e.name === n && e.type === 'DELETED');
    expect(gone(`${web}-2`)).toBeGreaterThan(-1);
    expect(firstTouch(`${web}-1`)).toBeGreaterThan(gone(`${web}-2`));
    const evs = (await eventsAbout(client, NS, 'StatefulSet', web)).filter((e) => e.reason === 'SuccessfulDelete').map((e) => e.message);
    expect(evs).toEqual(expect.arrayContaining([`delete Pod ${web}-2 in StatefulSet ${web} successful`, `delete Pod ${web}-1 in StatefulSet ${web} successful`]));
    for (const i of [0, 1, 2]) await client.get(Resources.persistentvolumeclaims, NS, `www-${web}-${i}`);
  });

  it('OrderedReady waits on a pod that cannot run; Parallel creates every pod at once', async () => {
    const unschedulable = '      nodeSelector:\n        no-such-label: "x"\n';
    const ordered = attempt.name('ordered');
    const par = attempt.name('par');
    await kubectlOk(server, ['apply', '-f', '-'], stsYaml(ordered, { podSpec: unschedulable }));
    await kubectlOk(server, ['apply', '-f', '-'], stsYaml(par, { podSpec: unschedulable, extraSpec: '  podManagementPolicy: Parallel' }));
    await until(`${par}-0..2 created`, 60_000, async () => ((await podsOf(par)).length === 3 ? true : undefined));
    await until(`${ordered}-0 created`, 60_000, async () => ((await podsOf(ordered)).length === 1 ? true : undefined));
    const parSts = await until(`${par} status`, 60_000, async () => {
      const s = await getSts(par);
      return s.status?.replicas === 3 ? s : undefined;
    });
    expect(parSts.status).toMatchObject({ replicas: 3, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 0 });
    expect(parSts.status?.readyReplicas ?? 0).toBe(0);
    // The ordered set was synced after par's pods were made (its status says one replica) and stays at one.
    await until(`${ordered} status`, 60_000, async () => ((await getSts(ordered)).status?.replicas === 1 ? true : undefined));
    expect((await podsOf(ordered)).map((p) => p.metadata.name)).toEqual([`${ordered}-0`]);
    await kubectlOk(server, ['delete', 'statefulset', ordered, par, '--wait=false']);
  });

  it('PVC retention Delete/Delete: the set owns the claims; a scaled-down pod takes over its claim', async () => {
    const claim = `
  persistentVolumeClaimRetentionPolicy:
    whenDeleted: Delete
    whenScaled: Delete
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      storageClassName: wait
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi`;
    const db = attempt.name('db');
    await kubectlOk(server, ['apply', '-f', '-'], stsYaml(db, { replicas: 2, extraSpec: claim }));
    const sts = await waitReady(db, 2);
    for (const i of [0, 1]) {
      const pvc = await client.get<PersistentVolumeClaim>(Resources.persistentvolumeclaims, NS, `data-${db}-${i}`);
      expect(pvc.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: db, uid: sts.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    const db1 = (await podsOf(db)).find((p) => p.metadata.name === `${db}-1`)!;
    await kubectlOk(server, ['scale', 'statefulset', db, '--replicas=1']);
    // The claim gets the condemned pod as owner before the pod goes (the garbage collector, if
    // running, then deletes the claim).
    const refs = await until(`data-${db}-1 owned by pod ${db}-1 or collected`, 60_000, async () => {
      try {
        const pvc = await client.get<PersistentVolumeClaim>(Resources.persistentvolumeclaims, NS, `data-${db}-1`);
        const r = pvc.metadata.ownerReferences ?? [];
        return r.some((x) => x.kind === 'Pod') ? r : undefined;
      } catch {
        return 'collected' as const;
      }
    });
    if (refs !== 'collected') expect(refs).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: `${db}-1`, uid: db1.metadata.uid }]);
    await until(`${db}-1 gone`, 60_000, async () => ((await podsOf(db)).length === 1 ? true : undefined));
    const pvc0 = await client.get<PersistentVolumeClaim>(Resources.persistentvolumeclaims, NS, `data-${db}-0`);
    expect(pvc0.metadata.ownerReferences?.map((r) => r.kind)).toEqual(['StatefulSet']);
  });
});
