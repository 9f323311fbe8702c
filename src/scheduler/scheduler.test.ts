// The scheduler and the node lifecycle end to end: stock kubectl against `k8ts server` with three
// simulated nodes (and a node-monitor grace period of 20 s, so a silent node is noticed quickly:
// it must stay above the nodes' 10 s Lease renewals, or live nodes turn Unknown between them).
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { countAttempts } from '../apiserver/testing/attempts.ts';
import { kubectlPath, startServer, type TestServer } from '../apiserver/testing/server.ts';
import { eventually } from '../apiserver/testing/eventually.ts';

let server: TestServer;
// A retry of a test (vitest.config.ts) names its pods (and their app labels), claims and classes
// other than the failed attempt did, and a failed attempt takes back what would still steer the
// scheduler: node labels and taints, CSINodes, a default PriorityClass.
const attempt = countAttempts();

beforeAll(async () => {
  server = await startServer({ simulateNodes: 3, env: { K8TS_NODE_MONITOR_GRACE_SECONDS: '20' } });
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

async function ok(args: string[]): Promise<string> {
  const r = await server.kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function file(name: string, text: string): string {
  const p = join(server.dataDir, name);
  writeFileSync(p, text);
  return p;
}


interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: { phase?: string; conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

const pods = async (selector: string) => (JSON.parse(await ok(['get', 'pods', '-l', selector, '-o', 'json'])) as { items: Pod[] }).items;

describe.skipIf(!kubectlPath())('scheduler', () => {
  it('binds a pod to a node: Scheduled event, PodScheduled True, Running on the simulated node', async () => {
    const single = attempt.name('single');
    await ok(['run', single, '--image=nginx:1.25', `--labels=app=${single}`]);
    const p = await eventually(30, async () => (await pods(`app=${single}`)).find((x) => x.status.phase === 'Running'));
    expect(p.spec.nodeName).toMatch(/^sim-node-[012]$/);
    expect(p.status.conditions).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'True' }));
    const events = await ok(['get', 'events', '--field-selector', `involvedObject.name=${single},reason=Scheduled`, '-o', 'jsonpath={.items[*].message}']);
    expect(events).toBe(`Successfully assigned default/${single} to ${p.spec.nodeName}`);
  });

  it('Priority admission: pods get their class\'s priority and policy (0 without a default), unknown classes and mismatched priorities are refused', async () => {
    const classes = await ok(['get', 'priorityclasses']);
    expect(classes.split('\n')[0]).toMatch(/^NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE\s+PREEMPTIONPOLICY$/);
    expect(classes).toMatch(/\nsystem-node-critical\s+2000001000\s+false\s+\S+\s+PreemptLowerPriority/);
    expect(classes).toMatch(/\nsystem-cluster-critical\s+2000000000\s+false\s+\S+\s+PreemptLowerPriority/);
    const [plainPrio, defaultPrio, app] = ['plain-prio', 'default-prio', 'prio'].map((n) => attempt.name(n));
    const everyone = attempt.name('everyone');
    const plain = attempt.name('plain');
    await ok(['run', plainPrio, '--image=busybox', `--labels=app=${app}`]);
    const spec = async (name: string) => JSON.parse(await ok(['get', 'pod', name, '-o', 'jsonpath={.spec}'])) as { priority?: number; preemptionPolicy?: string; priorityClassName?: string };
    expect(await spec(plainPrio)).toMatchObject({ priority: 0, preemptionPolicy: 'PreemptLowerPriority' });
    // A replace that leaves out the fields admission set (a client that does not know them) keeps them, as upstream.
    const current = JSON.parse(await ok(['get', 'pod', plainPrio, '-o', 'json'])) as { metadata: { resourceVersion?: string }; spec: Record<string, unknown> & { containers: Array<{ image: string }> } };
    // Unconditional (no resourceVersion): the scheduler and the node may write the pod meanwhile.
    delete current.metadata.resourceVersion;
    delete current.spec.priority;
    delete current.spec.preemptionPolicy;
    current.spec.containers[0].image = 'busybox:2';
    await ok(['replace', '-f', file('replaced.json', JSON.stringify(current))]);
    expect(await spec(plainPrio)).toMatchObject({ priority: 0, preemptionPolicy: 'PreemptLowerPriority' });
    // A failed attempt removes its classes: a retry's first pod must find no global default.
    onTestFailed(async () => {
      await server.kubectl(['delete', 'priorityclass', everyone, plain, '--ignore-not-found']);
      await eventually(30, async () => (/\strue\s/.test(await ok(['get', 'priorityclasses'])) ? undefined : true), 'no global default PriorityClass');
    });
    await ok(['create', '-f', file('default-prio.yaml', `apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: ${everyone}\nvalue: 100\nglobalDefault: true\npreemptionPolicy: Never\n`)]);
    await ok(['run', defaultPrio, '--image=busybox', `--labels=app=${app}`]);
    expect(await spec(defaultPrio)).toMatchObject({ priorityClassName: everyone, priority: 100, preemptionPolicy: 'Never' });
    const unknown = await server.kubectl(['run', 'bad-prio', '--image=busybox', '--overrides={"spec":{"priorityClassName":"nope"}}']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('Error from server (Forbidden): pods "bad-prio" is forbidden: no PriorityClass with name nope was found');
    const mismatch = await server.kubectl(['create', '-f', file('bad-prio.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad-prio\nspec:\n  priorityClassName: system-cluster-critical\n  priority: 5\n  containers:\n  - name: c\n    image: busybox\n')]);
    expect(mismatch.stderr).toContain('pods "bad-prio" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 2000000000 from the given PriorityClass name');
    const second = await server.kubectl(['create', '-f', file('second-default.yaml', 'apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: second\nvalue: 5\nglobalDefault: true\n')]);
    expect(second.stderr).toContain(`priorityclasses.scheduling.k8s.io "second" is forbidden: PriorityClass ${everyone} is already marked as default. Only one default can exist`);
    await ok(['create', '-f', file('plain-class.yaml', `apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: ${plain}\nvalue: 7\n`)]);
    const promoted = await server.kubectl(['patch', 'priorityclass', plain, '--type=merge', '-p', '{"globalDefault":true}']);
    expect(promoted.stderr).toContain(`priorityclasses.scheduling.k8s.io "${plain}" is forbidden: PriorityClass ${everyone} is already marked as default. Only one default can exist`);
    expect(await ok(['get', 'priorityclass', plain, '-o', 'jsonpath={.preemptionPolicy}'])).toBe('PreemptLowerPriority');
    const revalued = await server.kubectl(['patch', 'priorityclass', plain, '--type=merge', '-p', '{"value":8}']);
    expect(revalued.stderr).toContain('value: Forbidden: may not be changed in an update.');
    const reserved = await server.kubectl(['create', 'priorityclass', 'system-mine', '--value=5']);
    expect(reserved.stderr).toContain("metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class");
    const tooHigh = await server.kubectl(['create', 'priorityclass', 'too-high', '--value=2000000000']);
    expect(tooHigh.stderr).toContain('value: Forbidden: maximum allowed value of a user defined priority is 1000000000');
    const system = await server.kubectl(['delete', 'priorityclass', 'system-node-critical']);
    expect(system.stderr).toContain('Error from server (Forbidden): priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted');
    await ok(['delete', 'priorityclass', everyone, plain]);
    await ok(['delete', 'pods', '-l', `app=${app}`, '--wait=false']);
  });

  it('a pod nothing can hold stays Pending with the upstream FailedScheduling message', async () => {
    const greedy = attempt.name('greedy');
    await ok(['create', '-f', file('greedy.yaml', `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${greedy}\n  labels:\n    app: ${greedy}\nspec:\n  nodeSelector:\n    disktype: ssd\n  containers:\n  - name: c\n    image: busybox\n    resources:\n      requests:\n        cpu: "64"\n`)]);
    const msg = '0/3 nodes are available: 3 node(s) didn\'t match Pod\'s node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.';
    const p = await eventually(30, async () => (await pods(`app=${greedy}`)).find((x) => x.status.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False')));
    expect(p.status.conditions?.find((c) => c.type === 'PodScheduled')).toMatchObject({ status: 'False', reason: 'Unschedulable', message: msg });
    // The event is written in the background, beside the status.
    const described = await eventually(30, async () => {
      const out = await ok(['describe', 'pod', greedy]);
      return /FailedScheduling/.test(out) ? out : undefined;
    });
    expect(described).toMatch(/Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/3 nodes are available: 3 node\(s\) didn't match Pod's node affinity\/selector\./);
    // Labelling one node with enough room is not enough: the CPU request still fits nowhere.
    // A failed attempt takes its label off again: a retry's pod must first match no node.
    onTestFailed(async () => {
      await server.kubectl(['label', 'node', 'sim-node-0', 'disktype-']);
    });
    await ok(['label', 'node', 'sim-node-0', 'disktype=ssd']);
    const again = '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn\'t match Pod\'s node affinity/selector. preemption: 0/3 nodes are available: ';
    await eventually(30, async () => ((await pods(`app=${greedy}`))[0].status.conditions?.find((c) => c.type === 'PodScheduled')?.message?.startsWith(again) ? true : undefined));
    await ok(['delete', 'pod', greedy, '--wait=false']);
  });

  it('places pods by nodeSelector and keeps them off tainted nodes', async () => {
    const gold = attempt.name('gold');
    const spread = attempt.name('spread');
    // A failed attempt takes its label and taint off again, for the retry and the tests after.
    onTestFailed(async () => {
      await server.kubectl(['label', 'node', 'sim-node-1', 'tier-']);
      await server.kubectl(['taint', 'node', 'sim-node-2', 'dedicated=batch:NoSchedule-']);
    });
    await ok(['label', 'node', 'sim-node-1', 'tier=gold']);
    await ok(['taint', 'node', 'sim-node-2', 'dedicated=batch:NoSchedule']);
    await ok(['create', '-f', file('gold.yaml', `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${gold}\n  labels:\n    app: ${gold}\nspec:\n  nodeSelector:\n    tier: gold\n  containers:\n  - name: c\n    image: busybox\n`)]);
    const g = await eventually(30, async () => (await pods(`app=${gold}`)).find((x) => x.spec.nodeName));
    expect(g.spec.nodeName).toBe('sim-node-1');
    for (let i = 0; i < 4; i++) await ok(['run', `${spread}-${i}`, '--image=busybox', `--labels=app=${spread}`]);
    const placed = await eventually(30, async () => {
      const ps = await pods(`app=${spread}`);
      return ps.length === 4 && ps.every((x) => x.spec.nodeName) ? ps : undefined;
    });
    expect(placed.map((x) => x.spec.nodeName)).not.toContain('sim-node-2');
    await ok(['taint', 'node', 'sim-node-2', 'dedicated=batch:NoSchedule-']);
  });

  it('a pod whose PVC does not exist waits with the upstream message, and is scheduled once the claim exists', async () => {
    const claimer = attempt.name('claimer');
    const data = attempt.name('data');
    const fast = attempt.name('fast');
    await ok(['create', '-f', file('claimer.yaml', `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${claimer}\n  labels:\n    app: ${claimer}\nspec:\n  containers:\n  - name: c\n    image: busybox\n  volumes:\n  - name: data\n    persistentVolumeClaim:\n      claimName: ${data}\n`)]);
    const msg = `0/3 nodes are available: persistentvolumeclaim "${data}" not found. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.`;
    const events = await eventually(30, async () => {
      const out = await ok(['get', 'events', '--field-selector', `involvedObject.name=${claimer},reason=FailedScheduling`, '-o', 'jsonpath={.items[*].message}']);
      return out !== '' ? out : undefined;
    });
    expect(events).toBe(msg);
    const p = (await pods(`app=${claimer}`))[0];
    expect(p.spec.nodeName).toBeUndefined();
    expect(p.status.conditions?.find((c) => c.type === 'PodScheduled')).toMatchObject({ status: 'False', reason: 'Unschedulable', message: msg });
    // An unbound claim of an Immediate class (no PV controller binds it) is still not enough.
    await ok(['create', '-f', file('claim.yaml', `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: ${data}\nspec:\n  storageClassName: ${fast}\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n`)]);
    const unbound = '0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.';
    await eventually(30, async () => ((await pods(`app=${claimer}`))[0].status.conditions?.find((c) => c.type === 'PodScheduled')?.message === unbound ? true : undefined));
    // A WaitForFirstConsumer class lets the scheduler place the pod.
    await ok(['create', '-f', file('fast.yaml', `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: ${fast}\nprovisioner: example.com/none\nvolumeBindingMode: WaitForFirstConsumer\n`)]);
    const placed = await eventually(30, async () => (await pods(`app=${claimer}`)).find((x) => x.spec.nodeName));
    expect(placed.spec.nodeName).toMatch(/^sim-node-[012]$/);
    await ok(['delete', 'pod', claimer, '--wait=false']);
  });

  it('CSINode attach limits: one volume of the driver per node, the fourth pod waits with upstream\'s message', async () => {
    // The CSINodes are named after the nodes: a failed attempt removes its own. A retry's driver
    // has another name, so the volumes of the failed attempt's pods do not count against its limits.
    const driver = `${attempt.name('csi')}.example.com`;
    const limited = attempt.name('limited');
    const vol = attempt.name('vol');
    const attach = attempt.name('attach');
    onTestFailed(async () => {
      await server.kubectl(['delete', 'csinodes', '--all']);
    });
    const csiNodes = [0, 1, 2].map((i) => `apiVersion: storage.k8s.io/v1\nkind: CSINode\nmetadata:\n  name: sim-node-${i}\nspec:\n  drivers:\n  - name: ${driver}\n    nodeID: sim-node-${i}\n    allocatable:\n      count: 1\n`).join('---\n');
    await ok(['create', '-f', file('csinodes.yaml', csiNodes)]);
    await ok(['create', '-f', file('limited.yaml', `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: ${limited}\nprovisioner: ${driver}\nvolumeBindingMode: WaitForFirstConsumer\n`)]);
    const docs = [0, 1, 2, 3].map((i) => [
      `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: ${vol}-${i}\nspec:\n  storageClassName: ${limited}\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n`,
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${attach}-${i}\n  labels:\n    app: ${attach}\nspec:\n  containers:\n  - name: c\n    image: busybox\n  volumes:\n  - name: data\n    persistentVolumeClaim:\n      claimName: ${vol}-${i}\n`,
    ].join('---\n'));
    // Three first, so that which one waits is known.
    await ok(['create', '-f', file('attach.yaml', docs.slice(0, 3).join('---\n'))]);
    const placed = await eventually(30, async () => {
      const ps = (await pods(`app=${attach}`)).filter((x) => x.spec.nodeName);
      return ps.length === 3 ? ps : undefined;
    });
    expect(new Set(placed.map((x) => x.spec.nodeName)).size).toBe(3);
    await ok(['create', '-f', file('attach-3.yaml', docs[3])]);
    const cond = await eventually(30, async () => (await pods(`app=${attach}`)).find((x) => x.metadata.name === `${attach}-3`)?.status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False'));
    expect(cond.message).toMatch(/^0\/3 nodes are available: 3 node\(s\) exceed max volume count\. preemption: /);
    await ok(['delete', 'pods', '-l', `app=${attach}`, '--wait=false']);
    await ok(['delete', 'pvc', ...[0, 1, 2, 3].map((i) => `${vol}-${i}`), '--wait=false']);
    await ok(['delete', 'csinodes', '--all']);
  });

  it('local volumes (WaitForFirstConsumer, no provisioner): the pod goes where a volume fits and the claim binds to it; none fitting is upstream\'s bind conflict', async () => {
    // The class (and so the volumes) of a retry are its own: the failed attempt's volumes are not candidates.
    const cls = attempt.name('local');
    const [small, large] = [`${cls}-1`, `${cls}-2`];
    const db = attempt.name('db');
    const huge = attempt.name('huge');
    const local = (name: string, size: string, node: string) =>
      `apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: ${name}\nspec:\n  capacity:\n    storage: ${size}\n  accessModes: [ReadWriteOnce]\n  storageClassName: ${cls}\n  local:\n    path: /mnt/${name}\n  nodeAffinity:\n    required:\n      nodeSelectorTerms:\n      - matchExpressions:\n        - key: kubernetes.io/hostname\n          operator: In\n          values: [${node}]\n`;
    const claimAndPod = (name: string, size: string) =>
      `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: ${name}\nspec:\n  storageClassName: ${cls}\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: ${size}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  labels:\n    app: local-${name}\nspec:\n  containers:\n  - name: c\n    image: busybox\n  volumes:\n  - name: data\n    persistentVolumeClaim:\n      claimName: ${name}\n`;
    await ok(['create', '-f', file('local.yaml', [`apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: ${cls}\nprovisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: WaitForFirstConsumer\n`, local(small, '1Gi', 'sim-node-1'), local(large, '5Gi', 'sim-node-2')].join('---\n'))]);
    await eventually(30, async () => ((JSON.parse(await ok(['get', 'pv', large, '-o', 'json'])) as { status?: { phase?: string } }).status?.phase === 'Available' ? true : undefined), `${large} Available`);
    await ok(['create', '-f', file('db.yaml', claimAndPod(db, '2Gi'))]);
    const placed = await eventually(30, async () => (await pods(`app=local-${db}`)).find((x) => x.spec.nodeName), `pod ${db} placed`);
    expect(placed.spec.nodeName).toBe('sim-node-2');
    const claim = await eventually(30, async () => {
      const c = JSON.parse(await ok(['get', 'pvc', db, '-o', 'json'])) as { spec: { volumeName?: string }; status: { phase?: string } };
      return c.status.phase === 'Bound' ? c : undefined;
    }, `claim ${db} Bound`);
    expect(claim.spec.volumeName).toBe(large);
    expect(await ok(['get', 'pv', large, '--no-headers'])).toMatch(new RegExp(`^${large}\\s+5Gi\\s+RWO\\s+Retain\\s+Bound\\s+default/${db}\\s+${cls}\\s`));
    await ok(['create', '-f', file('huge.yaml', claimAndPod(huge, '10Gi'))]);
    const msg = "0/3 nodes are available: 3 node(s) didn't find available persistent volumes to bind. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
    const cond = await eventually(30, async () => (await pods(`app=local-${huge}`))[0]?.status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False'), `${huge} unschedulable`);
    expect(cond.message).toBe(msg);
    await ok(['delete', 'pod', db, huge, '--wait=false']);
    await ok(['delete', 'pvc', db, huge, '--wait=false']);
  });

  it('a pod with scheduling gates is left alone until the gates are removed', async () => {
    const gated = attempt.name('gated');
    const afterGated = attempt.name('after-gated');
    await ok(['create', '-f', file('gated.yaml', `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${gated}\n  labels:\n    app: ${gated}\nspec:\n  schedulingGates:\n  - name: example.com/wait\n  containers:\n  - name: c\n    image: busybox\n`)]);
    await ok(['run', afterGated, '--image=busybox', `--labels=app=${afterGated}`]);
    await eventually(30, async () => ((await pods(`app=${afterGated}`))[0]?.spec.nodeName ? true : undefined));
    const g = (await pods(`app=${gated}`))[0];
    expect(g.spec.nodeName).toBeUndefined();
    expect(g.status.conditions?.find((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable')).toBeUndefined();
    await ok(['patch', 'pod', gated, '--type=json', '-p', '[{"op":"remove","path":"/spec/schedulingGates"}]']);
    const placed = await eventually(30, async () => (await pods(`app=${gated}`)).find((x) => x.spec.nodeName));
    expect(placed.spec.nodeName).toMatch(/^sim-node-[012]$/);
    await ok(['delete', 'pod', gated, afterGated, '--wait=false']);
  });

  it('a node that stops renewing its Lease turns NotReady, is tainted unreachable, and its pods are evicted and replaced elsewhere', async () => {
    const tolerate = '      tolerations:\n      - key: node.kubernetes.io/unreachable\n        operator: Exists\n        effect: NoExecute\n        tolerationSeconds: 2\n';
    const survivor = attempt.name('survivor');
    await ok(['create', '-f', file('survivor.yaml', `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${survivor}\nspec:\n  replicas: 3\n  selector:\n    matchLabels:\n      app: ${survivor}\n  template:\n    metadata:\n      labels:\n        app: ${survivor}\n    spec:\n${tolerate}      containers:\n      - name: c\n        image: busybox\n`)]);
    await ok(['rollout', 'status', `deployment/${survivor}`, '--timeout=60s']);
    const before = await pods(`app=${survivor}`);
    const victim = before.find((x) => x.spec.nodeName)?.spec.nodeName as string;
    const onVictim = before.filter((x) => x.spec.nodeName === victim).map((x) => x.metadata.name);
    expect(onVictim.length).toBeGreaterThan(0);
    await ok(['annotate', 'node', victim, 'simulated.k8ts.io/stop=true']);
    const node = await eventually(60, async () => {
      const n = JSON.parse(await ok(['get', 'node', victim, '-o', 'json'])) as { spec: { taints?: Array<{ key: string; effect: string }> }; status: { conditions: Array<{ type: string; status: string; reason: string; message: string }> } };
      const ready = n.status.conditions.find((c) => c.type === 'Ready');
      return ready?.status === 'Unknown' && (n.spec.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute') ? n : undefined;
    });
    expect(node.status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    expect(await ok(['get', 'nodes'])).toMatch(new RegExp(`^${victim}\\s+NotReady\\s`, 'm'));
    // Evicted (deleted; the silent node never confirms, so they stay Terminating) and replaced on live nodes.
    await eventually(90, async () => {
      const ps = (JSON.parse(await ok(['get', 'pods', '-l', `app=${survivor}`, '-o', 'json'])) as { items: Array<Pod & { metadata: { deletionTimestamp?: string } }> }).items;
      const evicted = ps.filter((x) => onVictim.includes(x.metadata.name));
      const live = ps.filter((x) => !x.metadata.deletionTimestamp && x.spec.nodeName && x.spec.nodeName !== victim && x.status.phase === 'Running');
      return evicted.every((x) => x.metadata.deletionTimestamp) && live.length === 3 ? true : undefined;
    });
  }, 180_000);
});
