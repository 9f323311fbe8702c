// The Job, CronJob and TTL-after-finished controllers against a real `k8ts server` with three
// simulated nodes, through stock kubectl. Until the scheduler is wired in, the test binds pending
// pods itself (pods/binding); once a scheduler binds them first, those bindings just conflict.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countAttempts } from '../../apiserver/testing/attempts.ts';
import { startServer, type TestServer } from '../../apiserver/testing/server.ts';
import { KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { CronJob, Job, Pod } from './types.ts';

const NS = 'default';
let server: TestServer;
let client: KubeClient;
let binding = true;
let binder: Promise<void> | undefined;
// A retry of a test (vitest.config.ts) names its Jobs and pods other than the failed attempt did:
// they share the namespace with what that attempt left behind.
const attempt = countAttempts();

async function bindPendingPods(): Promise<void> {
  let nodes: string[] = [];
  for (let i = 0; binding && i < 1_000_000; i++) {
    try {
      if (nodes.length === 0) nodes = (await client.list(Resources.nodes, undefined)).items.map((n) => n.metadata?.name ?? '');
      const pods = (await client.list<Pod>(Resources.pods, NS)).items.filter((p) => !p.spec?.nodeName && !p.metadata.deletionTimestamp);
      await Promise.all(
        pods.map((p, j) =>
          client
            .createSubresource(Resources.pods, NS, p.metadata.name ?? '', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: p.metadata.name, namespace: NS }, target: { apiVersion: 'v1', kind: 'Node', name: nodes[(i + j) % nodes.length] } })
            .catch(() => undefined),
        ),
      );
    } catch {
      // the server is starting or stopping
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function kubectl(args: string[], input?: string): Promise<string> {
  const r = await server.kubectl(args, { input, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Polls `fn` every 200 ms until it returns a value, for at most `ms`. */
async function until<T>(what: string, ms: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 100_000; i++) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

const getJob = (name: string) => client.get<Job>(Resources.jobs, NS, name);
const podsOf = async (job: string) => (await client.list<Pod>(Resources.pods, NS, { labelSelector: `batch.kubernetes.io/job-name=${job}` })).items;
const cond = (j: Job, type: string) => j.status?.conditions?.find((c) => c.type === type);
async function eventsOf(name: string): Promise<Array<{ type: string; reason: string; message: string }>> {
  const out = JSON.parse(await kubectl(['get', 'events', '-n', NS, '--field-selector', `involvedObject.name=${name}`, '-o', 'json'])) as { items: Array<{ type: string; reason: string; message: string }> };
  return out.items;
}

function jobYaml(name: string, opts: { spec?: string; annotations?: Record<string, string> } = {}): string {
  const ann = Object.entries({ 'simulated.k8ts.io/run-seconds': '1', ...opts.annotations })
    .map(([k, v]) => `        ${k}: "${v}"`)
    .join('\n');
  return `apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
spec:
${opts.spec ?? ''}
  template:
    metadata:
      annotations:
${ann}
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
`;
}

beforeAll(async () => {
  server = await startServer({ simulateNodes: 3 });
  client = KubeClient.fromKubeconfig(server.kubeconfig);
  binder = bindPendingPods();
  // Started first: its first activation comes within a minute while the other tests run.
  await kubectl(['apply', '-f', '-'], `apiVersion: batch/v1
kind: CronJob
metadata:
  name: hello
spec:
  schedule: "*/1 * * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
            simulated.k8ts.io/run-seconds: "1"
        spec:
          restartPolicy: OnFailure
          containers:
          - name: hello
            image: busybox
`);
}, 60_000);

afterAll(async () => {
  binding = false;
  await binder;
  client?.close();
  await server?.stop();
});

describe('Job controller', () => {
  it('runs a Job with completions 3 and parallelism 2 to Complete, as kubectl shows it', async () => {
    const pi = attempt.name('pi');
    await kubectl(['apply', '-f', '-'], jobYaml(pi, { spec: '  completions: 3\n  parallelism: 2' }));
    let maxActive = 0;
    const done = await until(`job ${pi} to complete`, 90_000, async () => {
      const j = await getJob(pi);
      maxActive = Math.max(maxActive, j.status?.active ?? 0);
      return cond(j, 'Complete')?.status === 'True' ? j : undefined;
    });
    expect(maxActive).toBeLessThanOrEqual(2);
    const wait = await server.kubectl(['wait', '--for=condition=complete', `job/${pi}`, '--timeout=30s']);
    expect(wait.stdout).toContain(`job.batch/${pi} condition met`);
    expect(done.status).toMatchObject({ succeeded: 3, ready: 0, terminating: 0, uncountedTerminatedPods: {} });
    expect(done.status?.active).toBeUndefined();
    expect(done.status?.startTime).toMatch(/Z$/);
    expect(done.status?.completionTime).toMatch(/Z$/);
    for (const type of ['SuccessCriteriaMet', 'Complete']) {
      expect(cond(done, type)).toMatchObject({ status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' });
    }
    expect(await kubectl(['get', 'jobs', pi])).toMatch(new RegExp(`^${pi}\\s+Complete\\s+3/3\\s`, 'm'));
    const pods = await podsOf(pi);
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(p.metadata.generateName).toBe(`${pi}-`);
      expect(p.metadata.labels).toMatchObject({ 'batch.kubernetes.io/controller-uid': done.metadata.uid, 'batch.kubernetes.io/job-name': pi, 'controller-uid': done.metadata.uid, 'job-name': pi });
      expect(p.metadata.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'Job', name: pi, uid: done.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      expect(p.metadata.finalizers ?? []).not.toContain('batch.kubernetes.io/job-tracking');
      expect(p.status?.phase).toBe('Succeeded');
    }
    // The controller's events are written in the background: wait for one per pod and Completed.
    const events = await until('the Job\'s events', 30_000, async () => {
      const evs = await eventsOf(pi);
      return evs.filter((e) => e.reason === 'SuccessfulCreate').length >= pods.length && evs.some((e) => e.reason === 'Completed') ? evs : undefined;
    });
    const created = events.filter((e) => e.reason === 'SuccessfulCreate').map((e) => e.message);
    expect(created.sort()).toEqual(pods.map((p) => `Created pod: ${p.metadata.name}`).sort());
    expect(events).toContainEqual(expect.objectContaining({ type: 'Normal', reason: 'Completed', message: 'Job completed' }));
  }, 120_000);

  it('fails a Job whose pods exit 1 with BackoffLimitExceeded after backoffLimit retries', async () => {
    const name = attempt.name('failing');
    await kubectl(['apply', '-f', '-'], jobYaml(name, { spec: '  backoffLimit: 1', annotations: { 'simulated.k8ts.io/exit-code': '1' } }));
    const wait = await server.kubectl(['wait', '--for=condition=failed', `job/${name}`, '--timeout=90s'], { timeoutMs: 100_000 });
    expect(wait.stdout).toContain(`job.batch/${name} condition met`);
    const j = await getJob(name);
    const message = 'Job has reached the specified backoff limit';
    expect(cond(j, 'FailureTarget')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded', message });
    expect(cond(j, 'Failed')).toMatchObject({ status: 'True', reason: 'BackoffLimitExceeded', message });
    expect(cond(j, 'Complete')).toBeUndefined();
    expect(j.status?.failed).toBe(2);
    expect(j.status?.completionTime).toBeUndefined();
    expect(await podsOf(name)).toHaveLength(2);
    expect(await kubectl(['get', 'jobs', name])).toMatch(new RegExp(`^${name}\\s+Failed\\s+0/1\\s`, 'm'));
    expect(await eventsOf(name)).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'BackoffLimitExceeded', message }));
  }, 120_000);

  it('tracks an Indexed Job: index annotations, labels, hostnames and completedIndexes', async () => {
    const name = attempt.name('indexed');
    await kubectl(['apply', '-f', '-'], jobYaml(name, { spec: '  completions: 3\n  parallelism: 3\n  completionMode: Indexed' }));
    await kubectl(['wait', '--for=condition=complete', `job/${name}`, '--timeout=90s']);
    const j = await getJob(name);
    expect(j.status?.completedIndexes).toBe('0-2');
    expect(j.status?.succeeded).toBe(3);
    const pods = await podsOf(name);
    const indexes = pods.map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index']).sort();
    expect(indexes).toEqual(['0', '1', '2']);
    for (const p of pods) {
      const ix = p.metadata.annotations?.['batch.kubernetes.io/job-completion-index'];
      expect(p.metadata.labels?.['batch.kubernetes.io/job-completion-index']).toBe(ix);
      expect(p.metadata.generateName).toBe(`${name}-${ix}-`);
      expect(p.spec?.hostname).toBe(`${name}-${ix}`);
      expect(p.spec?.containers?.[0]?.env).toContainEqual(expect.objectContaining({ name: 'JOB_COMPLETION_INDEX' }));
    }
  }, 120_000);

  it('creates no pods for a suspended Job, and runs it once resumed', async () => {
    const name = attempt.name('sleepy');
    await kubectl(['apply', '-f', '-'], jobYaml(name, { spec: '  suspend: true' }));
    const suspended = await until('the Suspended condition', 30_000, async () => {
      const j = await getJob(name);
      return cond(j, 'Suspended')?.status === 'True' ? j : undefined;
    });
    expect(cond(suspended, 'Suspended')).toMatchObject({ reason: 'JobSuspended', message: 'Job suspended' });
    expect(suspended.status?.startTime).toBeUndefined();
    expect(await podsOf(name)).toHaveLength(0);
    expect(await kubectl(['get', 'jobs', name])).toMatch(new RegExp(`^${name}\\s+Suspended\\s+0/1\\s`, 'm'));
    await kubectl(['patch', 'job', name, '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    await kubectl(['wait', '--for=condition=complete', `job/${name}`, '--timeout=90s']);
    const j = await getJob(name);
    expect(cond(j, 'Suspended')).toMatchObject({ status: 'False', reason: 'JobResumed', message: 'Job resumed' });
    expect(j.status?.startTime).toBeDefined();
    expect(await podsOf(name)).toHaveLength(1);
  }, 120_000);

  it('fails a Job on a podFailurePolicy FailJob rule, with upstream wording', async () => {
    const policy = `  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes:
        containerName: main
        operator: In
        values: [42]`;
    const name = attempt.name('policy');
    await kubectl(['apply', '-f', '-'], jobYaml(name, { spec: policy, annotations: { 'simulated.k8ts.io/exit-code': '42' } }));
    await kubectl(['wait', '--for=condition=failed', `job/${name}`, '--timeout=60s']);
    const j = await getJob(name);
    const [pod] = await podsOf(name);
    expect(cond(j, 'Failed')).toMatchObject({ reason: 'PodFailurePolicy', message: `Container main for pod ${NS}/${pod?.metadata.name} failed with exit code 42 matching FailJob rule at index 0` });
  }, 90_000);

  it('fails a Job past activeDeadlineSeconds with DeadlineExceeded and removes its pods', async () => {
    const name = attempt.name('slow');
    await kubectl(['apply', '-f', '-'], jobYaml(name, { spec: '  activeDeadlineSeconds: 3', annotations: { 'simulated.k8ts.io/run-seconds': '300' } }));
    await kubectl(['wait', '--for=condition=failed', `job/${name}`, '--timeout=60s']);
    const j = await getJob(name);
    expect(cond(j, 'Failed')).toMatchObject({ reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' });
    expect(j.status?.active).toBeUndefined();
    expect(j.status?.failed).toBe(1);
    await until('the deadline-exceeded pod to go', 60_000, async () => ((await podsOf(name)).length === 0 ? true : undefined));
  }, 150_000);

  it('adopts a matching orphan pod and releases a pod relabelled out of its manualSelector', async () => {
    const podsWith = async (app: string) => (await client.list<Pod>(Resources.pods, NS, { labelSelector: `app=${app}` })).items.filter((p) => !p.metadata.deletionTimestamp);
    const stray = attempt.name('stray');
    const claimer = attempt.name('claimer');
    const adoptee = attempt.name('adoptee');
    await kubectl(['apply', '-f', '-'], `apiVersion: v1
kind: Pod
metadata:
  name: ${stray}
  labels: { app: ${adoptee} }
  annotations: { simulated.k8ts.io/run-seconds: "300" }
spec:
  restartPolicy: Never
  containers: [{ name: main, image: busybox }]
`);
    const strayPod = await client.get<Pod>(Resources.pods, NS, stray);
    await kubectl(['apply', '-f', '-'], `apiVersion: batch/v1
kind: Job
metadata:
  name: ${claimer}
spec:
  manualSelector: true
  selector: { matchLabels: { app: ${adoptee} } }
  completions: 2
  parallelism: 2
  template:
    metadata:
      labels: { app: ${adoptee} }
      annotations: { simulated.k8ts.io/run-seconds: "300" }
    spec:
      restartPolicy: Never
      containers: [{ name: main, image: busybox }]
`);
    const job = await getJob(claimer);
    const ref = { apiVersion: 'batch/v1', kind: 'Job', name: claimer, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true };
    const adopted = await until('the orphan to be adopted', 30_000, async () => {
      const p = await client.get<Pod>(Resources.pods, NS, stray);
      return p.metadata.ownerReferences?.length ? p : undefined;
    });
    expect(adopted.metadata.uid).toBe(strayPod.metadata.uid);
    expect(adopted.metadata.ownerReferences).toEqual([ref]);
    expect(adopted.metadata.finalizers).toContain('batch.kubernetes.io/job-tracking');
    await until('two active pods', 60_000, async () => ((await getJob(claimer)).status?.active === 2 ? true : undefined));
    expect((await podsWith(adoptee)).map((p) => p.metadata.name)).toContain(stray);
    expect(await podsWith(adoptee)).toHaveLength(2);

    await kubectl(['label', 'pod', stray, 'app=elsewhere', '--overwrite']);
    const released = await until('the relabelled pod to be released', 30_000, async () => {
      const p = await client.get<Pod>(Resources.pods, NS, stray);
      return p.metadata.ownerReferences?.length ? undefined : p;
    });
    expect(released.metadata.finalizers ?? []).not.toContain('batch.kubernetes.io/job-tracking');
    expect(released.metadata.deletionTimestamp).toBeUndefined();
    const replaced = await until('a replacement pod', 60_000, async () => {
      const pods = await podsWith(adoptee);
      return pods.length === 2 && pods.every((p) => p.metadata.name !== stray) ? pods : undefined;
    });
    for (const p of replaced) expect(p.metadata.ownerReferences).toEqual([ref]);
    const j = await until('two active pods again', 60_000, async () => {
      const cur = await getJob(claimer);
      return cur.status?.active === 2 ? cur : undefined;
    });
    expect(j.status?.failed ?? 0).toBe(0);
    expect(j.status?.succeeded ?? 0).toBe(0);
    await kubectl(['delete', 'job', claimer, '--wait=false']);
    await kubectl(['delete', 'pod', stray, '--wait=false']);
  }, 150_000);

  it('deletes a finished Job after ttlSecondsAfterFinished', async () => {
    const name = attempt.name('shortlived');
    await kubectl(['apply', '-f', '-'], jobYaml(name, { spec: '  ttlSecondsAfterFinished: 1' }));
    const gone = await until(`job ${name} to be deleted`, 60_000, async () => {
      try {
        await getJob(name);
        return undefined;
      } catch (err) {
        return (err as { code?: number }).code === 404 ? true : undefined;
      }
    });
    expect(gone).toBe(true);
  }, 90_000);
});

describe('CronJob controller', () => {
  it('creates a Job from a */1 CronJob within 70 s, named by its scheduled minute', async () => {
    const cj = await client.get<CronJob>(Resources.cronjobs, NS, 'hello');
    const job = await until('a Job of cronjob hello', 75_000, async () => {
      const jobs = (await client.list<Job>(Resources.jobs, NS)).items;
      return jobs.find((j) => j.metadata.ownerReferences?.some((r) => r.uid === cj.metadata.uid));
    });
    const m = /^hello-(\d+)$/.exec(job.metadata.name ?? '');
    expect(m).not.toBeNull();
    const scheduled = new Date(Number(m![1]) * 60_000);
    expect(job.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe(scheduled.toISOString().replace('.000Z', 'Z'));
    expect(job.metadata.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'hello', uid: cj.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    const status = await until('lastScheduleTime', 30_000, async () => {
      const c = await client.get<CronJob>(Resources.cronjobs, NS, 'hello');
      return c.status?.lastScheduleTime ? c.status : undefined;
    });
    expect(Date.parse(status.lastScheduleTime!)).toBeGreaterThanOrEqual(scheduled.getTime());
    const events = await until('SuccessfulCreate', 30_000, async () => {
      const ev = await eventsOf('hello');
      return ev.some((e) => e.reason === 'SuccessfulCreate') ? ev : undefined;
    });
    expect(events).toContainEqual(expect.objectContaining({ type: 'Normal', reason: 'SuccessfulCreate', message: `Created job ${job.metadata.name}` }));
    await kubectl(['delete', 'cronjob', 'hello']);
  }, 120_000);
});
