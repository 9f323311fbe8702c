// Integration tests of the Deployment, ReplicaSet and ReplicationController controllers: stock
// kubectl 1.33 against one `k8ts server --simulate-nodes 3`. Each scenario has its own namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countAttempts } from '../../apiserver/testing/attempts.ts';
import { eventually as poll } from '../../apiserver/testing/eventually.ts';
import { startServer, type KubectlResult, type TestServer } from '../../apiserver/testing/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startServer({ simulateNodes: 3 });
});

afterAll(async () => {
  await server?.stop();
});

function describeResult(args: string[], r: KubectlResult): string {
  const dead = server.alive() ? '' : `\nthe server is no longer running; its last output:\n${server.logs().slice(-4000)}`;
  return `kubectl ${args.join(' ')} exited ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}${dead}`;
}

async function ok(args: string[], input?: string, timeoutMs?: number): Promise<string> {
  const r = await server.kubectl(args, { input, timeoutMs });
  if (r.code !== 0) throw new Error(describeResult(args, r));
  return r.stdout;
}

// Each attempt of a test (vitest retries a failed one) works in a namespace of its own, so a retry
// does not trip over what the failed attempt created.
const attempt = countAttempts();

async function freshNamespace(base: string): Promise<string> {
  const ns = attempt.name(base);
  await ok(['create', 'namespace', ns]);
  return ns;
}

async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
  return JSON.parse(await ok([...args, '-o', 'json'])) as T;
}

/** Polls `check` for up to 60 s until it returns a value that is not undefined. */
const eventually = <T>(what: string, check: () => Promise<T | undefined>): Promise<T> => poll(60, check, what);

interface Meta {
  name: string;
  uid: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  generateName?: string;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }>;
  deletionTimestamp?: string;
  generation?: number;
}
interface Obj {
  metadata: Meta;
  spec: Record<string, unknown> & { replicas?: number; template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: { containers: Array<{ image: string }> } } };
  status?: Record<string, unknown> & { conditions?: Array<Record<string, string>>; phase?: string };
}
interface Ev {
  reason: string;
  message: string;
  type: string;
  source?: { component?: string };
  involvedObject: { kind: string; name: string };
}

const items = async (args: string[]) => (await json<{ items: Obj[] }>(args)).items;
const activePods = async (ns: string, selector: string) => (await items(['get', 'pods', '-n', ns, '-l', selector])).filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
const events = async (ns: string) => (await json<{ items: Ev[] }>(['get', 'events', '-n', ns])).items;
/** The namespace's events once at least `n` of them pass `pred` (Events are written in the background). */
const eventsWith = (ns: string, n: number, pred: (e: Ev) => boolean) =>
  eventually(`${n} matching events`, async () => {
    const evs = await events(ns);
    return evs.filter(pred).length >= n ? evs : undefined;
  });
const revision = (o: Obj) => o.metadata.annotations?.['deployment.kubernetes.io/revision'];
const rsOf = async (ns: string, app: string) => items(['get', 'rs', '-n', ns, '-l', `app=${app}`]);

async function rolledOut(ns: string, name: string): Promise<string> {
  return ok(['rollout', 'status', `deployment/${name}`, '-n', ns, '--timeout=60s'], undefined, 70_000);
}

describe('Deployment', () => {
  it('creates a ReplicaSet and pods, and kubectl rollout status completes', async () => {
    const ns = await freshNamespace('wl-create');
    await ok(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=3', '-n', ns]);
    expect(await rolledOut(ns, 'web')).toContain('deployment "web" successfully rolled out');

    const [rs] = await rsOf(ns, 'web');
    const hash = rs.metadata.labels?.['pod-template-hash'];
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.metadata.annotations).toMatchObject({ 'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4' });
    expect(rs.metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', controller: true, blockOwnerDeletion: true })]);
    expect(rs.spec.selector).toEqual({ matchLabels: { app: 'web', 'pod-template-hash': hash } });
    expect(rs.spec.template?.metadata?.labels).toEqual({ app: 'web', 'pod-template-hash': hash });

    const pods = await activePods(ns, 'app=web');
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.generateName).toBe(`web-${hash}-`);
      expect(p.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }

    const d = await json<Obj>(['get', 'deployment', 'web', '-n', ns]);
    expect(revision(d)).toBe('1');
    expect(d.status).toMatchObject({ observedGeneration: d.metadata.generation, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(d.status?.unavailableReplicas).toBeUndefined();
    const conds = Object.fromEntries((d.status?.conditions ?? []).map((c) => [c.type, c]));
    expect(conds.Available).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' });
    expect(conds.Progressing).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rs.metadata.name}" has successfully progressed.` });

    const evs = await eventually('the events', async () => {
      const e = await events(ns);
      // The ReplicaSet's events are written in the background: wait for one per pod.
      return e.filter((x) => x.reason === 'SuccessfulCreate' && x.involvedObject.name === rs.metadata.name).length >= pods.length && e.some((x) => x.reason === 'ScalingReplicaSet') ? e : undefined;
    });
    expect(evs).toContainEqual(expect.objectContaining({ reason: 'ScalingReplicaSet', type: 'Normal', message: `Scaled up replica set ${rs.metadata.name} from 0 to 3`, source: { component: 'deployment-controller' } }));
    const created = evs.filter((e) => e.reason === 'SuccessfulCreate' && e.involvedObject.name === rs.metadata.name);
    expect(created.map((e) => e.message).sort()).toEqual(pods.map((p) => `Created pod: ${p.metadata.name}`).sort());
    expect(created[0].source?.component).toBe('replicaset-controller');
  });

  it('scales up and down with kubectl scale', async () => {
    const ns = await freshNamespace('wl-scale');
    await ok(['create', 'deployment', 'api', '--image=nginx', '--replicas=2', '-n', ns]);
    await rolledOut(ns, 'api');
    await ok(['scale', 'deployment/api', '--replicas=5', '-n', ns]);
    await rolledOut(ns, 'api');
    expect(await activePods(ns, 'app=api')).toHaveLength(5);
    const [rs] = await rsOf(ns, 'api');
    expect(rs.spec.replicas).toBe(5);
    expect(rs.metadata.annotations?.['deployment.kubernetes.io/desired-replicas']).toBe('5');
    await ok(['scale', 'deployment/api', '--replicas=1', '-n', ns]);
    await eventually('1 pod left', async () => ((await activePods(ns, 'app=api')).length === 1 ? true : undefined));
    await rolledOut(ns, 'api');
    const msgs = (await eventsWith(ns, 4, (e) => e.reason === 'SuccessfulDelete')).map((e) => e.message);
    expect(msgs).toContain(`Scaled up replica set ${rs.metadata.name} from 2 to 5`);
    expect(msgs).toContain(`Scaled down replica set ${rs.metadata.name} from 5 to 1`);
    expect(msgs.filter((m) => m.startsWith('Deleted pod: '))).toHaveLength(4);
  });

  it('rolls out a new image, keeps history, and rolls back with kubectl rollout undo', async () => {
    const ns = await freshNamespace('wl-roll');
    await ok(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=3', '-n', ns]);
    await rolledOut(ns, 'web');
    const [first] = await rsOf(ns, 'web');
    await ok(['set', 'image', 'deployment/web', 'nginx=nginx:1.26', '-n', ns]);
    await ok(['annotate', 'deployment/web', 'kubernetes.io/change-cause=image 1.26', '-n', ns]);
    expect(await rolledOut(ns, 'web')).toContain('successfully rolled out');

    const rss = await rsOf(ns, 'web');
    expect(rss).toHaveLength(2);
    const old = rss.find((r) => r.metadata.uid === first.metadata.uid)!;
    const cur = rss.find((r) => r.metadata.uid !== first.metadata.uid)!;
    expect(old.spec.replicas).toBe(0);
    expect(cur.spec.replicas).toBe(3);
    expect(revision(cur)).toBe('2');
    expect(cur.spec.template?.spec.containers[0].image).toBe('nginx:1.26');
    expect(revision(await json<Obj>(['get', 'deployment', 'web', '-n', ns]))).toBe('2');
    const pods = await eventually('only new pods', async () => {
      const ps = await activePods(ns, 'app=web');
      return ps.length === 3 && ps.every((p) => p.metadata.labels?.['pod-template-hash'] === cur.metadata.labels?.['pod-template-hash']) ? ps : undefined;
    });
    expect(pods.every((p) => p.metadata.ownerReferences?.[0].uid === cur.metadata.uid)).toBe(true);
    // maxSurge 25% of 3 rounds up to 1, maxUnavailable rounds down to 0: one new pod at a time.
    const msgs = (await eventsWith(ns, 7, (e) => e.reason === 'ScalingReplicaSet')).map((e) => e.message);
    expect(msgs).toContain(`Scaled up replica set ${cur.metadata.name} from 0 to 1`);
    expect(msgs).toContain(`Scaled down replica set ${old.metadata.name} from 3 to 2`);
    expect(msgs).toContain(`Scaled down replica set ${old.metadata.name} from 1 to 0`);

    await eventually('the change cause on the new ReplicaSet', async () => ((await rsOf(ns, 'web')).some((r) => r.metadata.annotations?.['kubernetes.io/change-cause'] === 'image 1.26') ? true : undefined));
    const history = await ok(['rollout', 'history', 'deployment/web', '-n', ns]);
    expect(history).toMatch(/^1\s+<none>$/m);
    expect(history).toMatch(/^2\s+image 1\.26$/m);
    expect(await ok(['rollout', 'history', 'deployment/web', '-n', ns, '--revision=1'])).toContain('nginx:1.25');

    expect(await ok(['rollout', 'undo', 'deployment/web', '-n', ns])).toContain('rolled back');
    await rolledOut(ns, 'web');
    const after = await rsOf(ns, 'web');
    expect(after).toHaveLength(2);
    const back = after.find((r) => r.metadata.uid === first.metadata.uid)!;
    expect(revision(back)).toBe('3');
    expect(back.metadata.annotations?.['deployment.kubernetes.io/revision-history']).toBe('1');
    expect(back.spec.replicas).toBe(3);
    const d = await json<Obj>(['get', 'deployment', 'web', '-n', ns]);
    expect(revision(d)).toBe('3');
    expect(d.spec.template?.spec.containers[0].image).toBe('nginx:1.25');
    const h2 = await ok(['rollout', 'history', 'deployment/web', '-n', ns]);
    expect(h2).toMatch(/^2\s+image 1\.26$/m);
    expect(h2).toMatch(/^3\s+/m);
    expect(h2).not.toMatch(/^1\s+/m);
  });

  it('holds a paused rollout until kubectl rollout resume', async () => {
    const ns = await freshNamespace('wl-pause');
    await ok(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=2', '-n', ns]);
    await rolledOut(ns, 'web');
    await ok(['rollout', 'pause', 'deployment/web', '-n', ns]);
    await ok(['set', 'image', 'deployment/web', 'nginx=nginx:1.27', '-n', ns]);
    // Once the paused spec is observed, there is still one ReplicaSet and the rollout is marked paused.
    const d = await eventually('the paused spec observed', async () => {
      const x = await json<Obj>(['get', 'deployment', 'web', '-n', ns]);
      return x.status?.observedGeneration === x.metadata.generation ? x : undefined;
    });
    expect(d.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' });
    expect(await rsOf(ns, 'web')).toHaveLength(1);
    await ok(['rollout', 'resume', 'deployment/web', '-n', ns]);
    await rolledOut(ns, 'web');
    const rss = await rsOf(ns, 'web');
    expect(rss).toHaveLength(2);
    expect(rss.find((r) => r.spec.replicas === 2)?.spec.template?.spec.containers[0].image).toBe('nginx:1.27');
  });

  it('rolls out a new ReplicaSet on kubectl rollout restart', async () => {
    const ns = await freshNamespace('wl-restart');
    await ok(['create', 'deployment', 'web', '--image=nginx', '--replicas=2', '-n', ns]);
    await rolledOut(ns, 'web');
    const [before] = await rsOf(ns, 'web');
    await ok(['rollout', 'restart', 'deployment/web', '-n', ns]);
    await rolledOut(ns, 'web');
    const cur = (await rsOf(ns, 'web')).find((r) => r.metadata.uid !== before.metadata.uid);
    expect(cur?.spec.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeTruthy();
    expect(cur?.metadata.labels?.['pod-template-hash']).not.toBe(before.metadata.labels?.['pod-template-hash']);
    expect(revision(cur!)).toBe('2');
    expect(cur?.spec.replicas).toBe(2);
  });

  it('deletes old ReplicaSets beyond revisionHistoryLimit, oldest revision first', async () => {
    const ns = await freshNamespace('wl-history');
    await ok(['apply', '-n', ns, '-f', '-'], deploymentYaml('hist', 1, 'revisionHistoryLimit: 1'));
    await rolledOut(ns, 'hist');
    for (const image of ['nginx:1', 'nginx:2', 'nginx:3']) {
      await ok(['set', 'image', 'deployment/hist', `c=${image}`, '-n', ns]);
      await rolledOut(ns, 'hist');
    }
    const rss = await eventually('2 ReplicaSets left', async () => {
      const x = await rsOf(ns, 'hist');
      return x.length === 2 ? x : undefined;
    });
    const byRev = Object.fromEntries(rss.map((r) => [revision(r), r.spec.template?.spec.containers[0].image]));
    expect(byRev).toEqual({ '3': 'nginx:2', '4': 'nginx:3' });
  });

  it('Recreate scales the old ReplicaSet to 0 before creating the new one at full size', async () => {
    const ns = await freshNamespace('wl-recreate');
    await ok(['apply', '-n', ns, '-f', '-'], deploymentYaml('rec', 2, 'strategy: {type: Recreate}'));
    await rolledOut(ns, 'rec');
    const [old] = await rsOf(ns, 'rec');
    await ok(['set', 'image', 'deployment/rec', 'c=nginx:2', '-n', ns]);
    await rolledOut(ns, 'rec');
    const cur = (await rsOf(ns, 'rec')).find((r) => r.metadata.uid !== old.metadata.uid)!;
    const msgs = (await eventsWith(ns, 3, (e) => e.reason === 'ScalingReplicaSet')).map((e) => e.message);
    expect(msgs).toContain(`Scaled down replica set ${old.metadata.name} from 2 to 0`);
    expect(msgs).toContain(`Scaled up replica set ${cur.metadata.name} from 0 to 2`);
  });

  it('reports ProgressDeadlineExceeded, and kubectl rollout status fails', async () => {
    const ns = await freshNamespace('wl-deadline');
    await ok(['apply', '-n', ns, '-f', '-'], deploymentYaml('stuck', 1, 'progressDeadlineSeconds: 2', '      nodeSelector: {nowhere: "true"}'));
    const cond = await eventually('the deadline condition', async () => {
      const d = await json<Obj>(['get', 'deployment', 'stuck', '-n', ns]);
      const c = d.status?.conditions?.find((x) => x.type === 'Progressing');
      return c?.reason === 'ProgressDeadlineExceeded' ? c : undefined;
    });
    const [rs] = await rsOf(ns, 'stuck');
    expect(cond).toMatchObject({ status: 'False', message: `ReplicaSet "${rs.metadata.name}" has timed out progressing.` });
    const r = await server.kubectl(['rollout', 'status', 'deployment/stuck', '-n', ns, '--timeout=20s']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('deployment "stuck" exceeded its progress deadline');
    const d = await json<Obj>(['get', 'deployment', 'stuck', '-n', ns]);
    expect(d.status?.conditions?.find((x) => x.type === 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
  });
});

function deploymentYaml(name: string, replicas: number, specExtra: string, podExtra = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  ${specExtra}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
${podExtra}
      containers: [{name: c, image: nginx}]
`;
}

function replicaSetYaml(kind: 'ReplicaSet' | 'ReplicationController', name: string, replicas: number, extra = ''): string {
  const selector = kind === 'ReplicaSet' ? `{matchLabels: {app: ${name}}}` : `{app: ${name}}`;
  return `apiVersion: ${kind === 'ReplicaSet' ? 'apps/v1' : 'v1'}
kind: ${kind}
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  ${extra}
  selector: ${selector}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: c, image: nginx}]}
`;
}

describe('ReplicaSet', () => {
  it('replaces a deleted pod and reports status, minReadySeconds included', async () => {
    const ns = await freshNamespace('wl-replace');
    await ok(['apply', '-n', ns, '-f', '-'], replicaSetYaml('ReplicaSet', 'rs', 3, 'minReadySeconds: 2'));
    const rsReady = () =>
      eventually('3 available replicas', async () => {
        const rs = await json<Obj>(['get', 'rs', 'rs', '-n', ns]);
        return rs.status?.availableReplicas === 3 ? rs : undefined;
      });
    const rs = await rsReady();
    expect(rs.status).toEqual({ replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
    const [victim] = await activePods(ns, 'app=rs');
    await ok(['delete', 'pod', victim.metadata.name, '-n', ns]);
    const pods = await eventually('a replacement', async () => {
      const ps = await activePods(ns, 'app=rs');
      return ps.length === 3 && !ps.some((p) => p.metadata.name === victim.metadata.name) ? ps : undefined;
    });
    expect(pods.every((p) => p.metadata.ownerReferences?.[0].uid === rs.metadata.uid)).toBe(true);
    await rsReady();
    const created = (await eventsWith(ns, 4, (e) => e.reason === 'SuccessfulCreate')).filter((e) => e.reason === 'SuccessfulCreate');
    expect(created).toHaveLength(4);
  });

  it('adopts an orphan, deletes the unscheduled pod first on scale-down, and releases a pod that stops matching', async () => {
    const ns = await freshNamespace('wl-adopt');
    await ok(['apply', '-n', ns, '-f', '-'], replicaSetYaml('ReplicaSet', 'keep', 2));
    await eventually('2 ready replicas', async () => ((await json<Obj>(['get', 'rs', 'keep', '-n', ns])).status?.readyReplicas === 2 ? true : undefined));
    // An orphan no node accepts: adopted as a third replica, it is the one to go.
    await ok(['run', 'stray', '--image=nginx', '--labels=app=keep', '-n', ns, '--overrides={"spec":{"nodeSelector":{"nowhere":"true"}}}']);
    await eventually('the stray pod deleted', async () => ((await activePods(ns, 'app=keep')).some((p) => p.metadata.name === 'stray') ? undefined : true));
    const evs = await eventsWith(ns, 1, (e) => e.reason === 'SuccessfulDelete');
    expect(evs).toContainEqual(expect.objectContaining({ reason: 'SuccessfulDelete', message: 'Deleted pod: stray', involvedObject: expect.objectContaining({ kind: 'ReplicaSet', name: 'keep' }) }));
    expect(await activePods(ns, 'app=keep')).toHaveLength(2);

    // A running orphan is adopted by a ReplicaSet created after it, which then makes only one more pod.
    await ok(['run', 'orphan', '--image=nginx', '--labels=app=adopt', '-n', ns]);
    await eventually('the orphan running', async () => ((await json<Obj>(['get', 'pod', 'orphan', '-n', ns])).status?.phase === 'Running' ? true : undefined));
    await ok(['apply', '-n', ns, '-f', '-'], replicaSetYaml('ReplicaSet', 'adopt', 2));
    const adopter = await eventually('2 ready replicas', async () => {
      const x = await json<Obj>(['get', 'rs', 'adopt', '-n', ns]);
      return x.status?.readyReplicas === 2 ? x : undefined;
    });
    const adopted = await json<Obj>(['get', 'pod', 'orphan', '-n', ns]);
    expect(adopted.metadata.ownerReferences).toEqual([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'adopt', uid: adopter.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(await activePods(ns, 'app=adopt')).toHaveLength(2);
    const made = (e: Ev) => e.reason === 'SuccessfulCreate' && e.involvedObject.name === 'adopt';
    expect((await eventsWith(ns, 1, made)).filter(made)).toHaveLength(1);

    // A pod that stops matching is released and replaced.
    await ok(['label', 'pod', 'orphan', 'app=gone', '--overwrite', '-n', ns]);
    await eventually('the pod released', async () => ((await json<Obj>(['get', 'pod', 'orphan', '-n', ns])).metadata.ownerReferences?.length ? undefined : true));
    const pods = await eventually('a replacement', async () => {
      const ps = await activePods(ns, 'app=adopt');
      return ps.length === 2 && ps.every((p) => p.metadata.name !== 'orphan') ? ps : undefined;
    });
    expect(pods.every((p) => p.metadata.ownerReferences?.[0].uid === adopter.metadata.uid)).toBe(true);
  }, 180_000);

  it('reports FailedCreate and a ReplicaFailure condition when pods are refused, and recovers', async () => {
    const ns = await freshNamespace('wl-quota');
    await ok(['create', 'quota', 'q', '--hard=pods=1', '-n', ns]);
    await eventually('the quota counted', async () => ((await json<Obj>(['get', 'quota', 'q', '-n', ns])).status?.hard ? true : undefined));
    await ok(['apply', '-n', ns, '-f', '-'], replicaSetYaml('ReplicaSet', 'capped', 3));
    const cond = await eventually('the ReplicaFailure condition', async () => (await json<Obj>(['get', 'rs', 'capped', '-n', ns])).status?.conditions?.find((c) => c.type === 'ReplicaFailure'));
    expect(cond).toMatchObject({ status: 'True', reason: 'FailedCreate' });
    expect(cond.message).toContain('exceeded quota: q');
    const failed = (await eventsWith(ns, 1, (e) => e.reason === 'FailedCreate')).find((e) => e.reason === 'FailedCreate');
    expect(failed).toMatchObject({ type: 'Warning', involvedObject: expect.objectContaining({ kind: 'ReplicaSet', name: 'capped' }) });
    expect(failed?.message).toMatch(/^Error creating: pods "capped-\w+" is forbidden: exceeded quota: q/);
    expect(await activePods(ns, 'app=capped')).toHaveLength(1);

    await ok(['patch', 'quota', 'q', '-n', ns, '--type=merge', '-p', '{"spec":{"hard":{"pods":"3"}}}']);
    const rs = await eventually('3 replicas', async () => {
      const x = await json<Obj>(['get', 'rs', 'capped', '-n', ns]);
      return x.status?.replicas === 3 ? x : undefined;
    });
    expect(await activePods(ns, 'app=capped')).toHaveLength(3);
    expect(rs.status?.conditions ?? []).toEqual([]);
  });
});

describe('ReplicationController', () => {
  it('runs its replicas like a ReplicaSet', async () => {
    const ns = await freshNamespace('wl-rc');
    await ok(['apply', '-n', ns, '-f', '-'], replicaSetYaml('ReplicationController', 'old', 2));
    const rc = await eventually('2 ready replicas', async () => {
      const x = await json<Obj>(['get', 'rc', 'old', '-n', ns]);
      return x.status?.readyReplicas === 2 ? x : undefined;
    });
    expect(rc.status).toMatchObject({ replicas: 2, fullyLabeledReplicas: 2, availableReplicas: 2, observedGeneration: 1 });
    const pods = await activePods(ns, 'app=old');
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(p.metadata.generateName).toBe('old-');
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'ReplicationController', name: 'old', uid: rc.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    await ok(['scale', 'rc/old', '--replicas=1', '-n', ns]);
    await eventually('1 pod', async () => ((await activePods(ns, 'app=old')).length === 1 ? true : undefined));
    const evs = (await eventsWith(ns, 3, (e) => e.involvedObject.kind === 'ReplicationController')).filter((e) => e.involvedObject.kind === 'ReplicationController');
    expect(evs.filter((e) => e.reason === 'SuccessfulCreate')).toHaveLength(2);
    expect(evs.find((e) => e.reason === 'SuccessfulDelete')?.source?.component).toBe('replication-controller');
  });
});
