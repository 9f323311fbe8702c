// The storage controllers and admission end to end, with stock kubectl against `k8ts server
// --simulate-nodes 1`: static binding (smallest fit, access modes, pre-bound claims), the
// in-use protection finalizers, release and reclaim of volumes, the default StorageClass (at
// admission and retroactively), external provisioning and WaitForFirstConsumer events.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { countAttempts } from '../../apiserver/testing/attempts.ts';
import { startServer, type TestServer } from '../../apiserver/testing/server.ts';
import { eventually } from '../../apiserver/testing/eventually.ts';

let server: TestServer;

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// A retry of a test (vitest.config.ts) names its volumes, claims and classes other than the failed
// attempt did; where what that attempt left would still take part (a volume a claim could bind, a
// default class), the failed attempt removes it first.
const attempt = countAttempts();

beforeAll(async () => {
  server = await startServer({ simulateNodes: 1 });
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await server.kubectl(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const json = async (args: string[]): Promise<Obj> => JSON.parse(await ok([...args, '-o', 'json'])) as Obj;

/** `eventually` with the server's log tail on a timeout. */
const until = <T>(seconds: number, what: string, check: () => Promise<T | undefined>): Promise<T> => eventually(seconds, check, what, () => server.logs().slice(-3000));

const pv = (name: string, size: string, extra: string) =>
  `apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: ${name}\nspec:\n  capacity:\n    storage: ${size}\n  storageClassName: ""\n${extra}`;
const pvc = (name: string, size: string, extra = '  storageClassName: ""\n  accessModes: [ReadWriteOnce]\n') =>
  `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: ${name}\nspec:\n${extra}  resources:\n    requests:\n      storage: ${size}\n`;
const phaseOf = async (kind: string, name: string) => (await json(['get', kind, name])).status?.phase as string | undefined;
const eventMessages = async (name: string, reason: string) => (await json(['get', 'events', '--field-selector', `involvedObject.name=${name},reason=${reason}`])).items.map((e: Obj) => `${e.type} ${e.source?.component}: ${e.message}`);

describe('PersistentVolume binder', () => {
  // Made by the first two tests (under per-attempt names), used and removed by the third.
  let small = 'small';
  let big = 'big';
  let shared = 'shared';
  let data = 'data';
  let wide = 'wide';
  let tiny = 'tiny';

  it('binds each claim to the smallest volume that fits, with the annotations, claimRef and phases upstream writes', async () => {
    small = attempt.name('small');
    big = attempt.name('big');
    shared = attempt.name('shared');
    data = attempt.name('data');
    wide = attempt.name('wide');
    // A failed attempt removes its claims and volumes: left Pending or Available, they could bind the retry's.
    onTestFailed(async () => {
      await server.kubectl(['delete', 'pvc', data, wide, '--ignore-not-found', '--timeout=20s'], { timeoutMs: 25_000 });
      await server.kubectl(['delete', 'pv', small, big, shared, '--ignore-not-found', '--timeout=20s'], { timeoutMs: 25_000 });
    });
    await ok(['apply', '-f', '-'], [
      pv(small, '1Gi', '  accessModes: [ReadWriteOnce]\n  hostPath:\n    path: /srv/small\n'),
      pv(big, '5Gi', '  accessModes: [ReadWriteOnce]\n  persistentVolumeReclaimPolicy: Delete\n  nfs:\n    server: 192.0.2.1\n    path: /exports/big\n'),
      pv(shared, '2Gi', '  accessModes: [ReadWriteOnce, ReadWriteMany]\n  persistentVolumeReclaimPolicy: Delete\n  hostPath:\n    path: /tmp/k8ts-test-shared\n'),
    ].join('---\n'));
    // Each volume starts Pending (whatever the client sent) and becomes Available.
    for (const name of [small, big, shared]) await until(30, `${name} Available`, async () => ((await phaseOf('pv', name)) === 'Available' ? true : undefined));
    const fresh = await json(['get', 'pv', small]);
    expect(fresh.spec).toMatchObject({ persistentVolumeReclaimPolicy: 'Retain', volumeMode: 'Filesystem' });
    expect(fresh.metadata.finalizers).toEqual(['kubernetes.io/pv-protection']);
    expect(Date.parse(fresh.status.lastPhaseTransitionTime)).toBeGreaterThan(0);

    // 500Mi fits all three: the one with no extra access modes and the least capacity wins.
    await ok(['apply', '-f', '-'], [pvc(data, '500Mi'), pvc(wide, '1Gi', '  storageClassName: ""\n  accessModes: [ReadWriteMany]\n')].join('---\n'));
    const bound = await until(30, 'claims bound', async () => {
      const c = await json(['get', 'pvc', data]);
      const w = await json(['get', 'pvc', wide]);
      return c.status?.phase === 'Bound' && w.status?.phase === 'Bound' ? [c, w] : undefined;
    });
    const [dataClaim, wideClaim] = bound;
    expect(dataClaim.spec.volumeName).toBe(small);
    expect(wideClaim.spec.volumeName).toBe(shared);
    expect(dataClaim.metadata.annotations).toMatchObject({ 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes' });
    expect(dataClaim.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);
    expect(dataClaim.status).toMatchObject({ phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } });
    const smallVolume = await until(30, `${small} Bound`, async () => {
      const v = await json(['get', 'pv', small]);
      return v.status?.phase === 'Bound' ? v : undefined;
    });
    expect(smallVolume.spec.claimRef).toMatchObject({ kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: 'default', name: data, uid: dataClaim.metadata.uid });
    expect(smallVolume.metadata.annotations).toMatchObject({ 'pv.kubernetes.io/bound-by-controller': 'yes' });

    const table = await ok(['get', 'pvc', data, wide]);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE$/);
    expect(table).toMatch(new RegExp(`\\n${data}\\s+Bound\\s+${small}\\s+1Gi\\s+RWO\\s+<unset>\\s+\\S+`));
    expect(table).toMatch(new RegExp(`\\n${wide}\\s+Bound\\s+${shared}\\s+2Gi\\s+RWO,RWX\\s+<unset>\\s+\\S+`));
    const pvTable = await ok(['get', 'pv', small]);
    expect(pvTable).toMatch(/^NAME\s+CAPACITY\s+ACCESS MODES\s+RECLAIM POLICY\s+STATUS\s+CLAIM\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+REASON\s+AGE\n/);
    expect(pvTable).toMatch(new RegExp(`\\n${small}\\s+1Gi\\s+RWO\\s+Retain\\s+Bound\\s+default/${data}\\s+<unset>\\s+\\S+`));
  });

  it('a claim naming a volume that is too small gets upstream\'s VolumeMismatch event and stays Pending', async () => {
    tiny = attempt.name('tiny');
    const wants = attempt.name('wants-tiny');
    const tooBig = attempt.name('too-big');
    await ok(['apply', '-f', '-'], [pv(tiny, '100Mi', '  accessModes: [ReadWriteOnce]\n  hostPath:\n    path: /srv/tiny\n'), pvc(wants, '1Gi', `  storageClassName: ""\n  volumeName: ${tiny}\n  accessModes: [ReadWriteOnce]\n`)].join('---\n'));
    const msgs = await until(30, 'VolumeMismatch', async () => {
      const m = await eventMessages(wants, 'VolumeMismatch');
      return m.length > 0 ? m : undefined;
    });
    expect(msgs).toEqual([`Warning persistentvolume-controller: Cannot bind to requested volume "${tiny}": requested PV is too small`]);
    expect(await phaseOf('pvc', wants)).toBe('Pending');
    // No class and nothing that fits: upstream's FailedBinding.
    await ok(['apply', '-f', '-'], pvc(tooBig, '100Gi'));
    const failed = await until(30, 'FailedBinding', async () => {
      const m = await eventMessages(tooBig, 'FailedBinding');
      return m.length > 0 ? m : undefined;
    });
    expect(failed).toEqual(['Normal persistentvolume-controller: no persistent volumes available for this claim and no storage class is set']);
    const header = (await ok(['get', 'events'])).split('\n')[0];
    expect(header).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    await ok(['delete', 'pvc', wants, tooBig]);
  });

  it('a claim in use by a pod stays Terminating until the pod goes; then Retain releases its volume and Delete fails where nothing can delete it', async () => {
    const user = attempt.name('user');
    const scratch = attempt.name('scratch');
    await ok(['apply', '-f', '-'], `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${user}\nspec:\n  containers:\n  - name: c\n    image: busybox\n  volumes:\n  - name: d\n    persistentVolumeClaim:\n      claimName: ${data}\n`);
    await until(30, `pod ${user} scheduled`, async () => ((await json(['get', 'pod', user])).spec.nodeName ? true : undefined));
    await ok(['apply', '-f', '-'], pvc(scratch, '3Gi'));
    await until(30, `${scratch} bound to ${big}`, async () => ((await json(['get', 'pvc', scratch])).spec.volumeName === big ? true : undefined));
    await ok(['delete', 'pvc', data, scratch, '--wait=false']);
    await new Promise((r) => setTimeout(r, 2000));
    const held = await json(['get', 'pvc', data]);
    expect(held.metadata.deletionTimestamp).toBeTruthy();
    expect(held.metadata.finalizers).toEqual(['kubernetes.io/pvc-protection']);
    expect(await ok(['get', 'pvc', data, '--no-headers'])).toMatch(new RegExp(`^${data}\\s+Terminating\\s+${small}\\s`));
    expect(await phaseOf('pv', small)).toBe('Bound');
    // big's claim had no user: it is gone, and an NFS volume has no deleter here (as upstream without one).
    const bigVolume = await until(30, `${big} Failed`, async () => {
      const v = await json(['get', 'pv', big]);
      return v.status?.phase === 'Failed' ? v : undefined;
    });
    const why = `error getting deleter volume plugin for volume "${big}": no deletable volume plugin matched`;
    expect(bigVolume.status.message).toBe(why);
    // The event is written after the phase, in the background.
    expect(await until(30, 'the VolumeFailedDelete event', async () => {
      const msgs = await eventMessages(big, 'VolumeFailedDelete');
      return msgs.length > 0 ? msgs : undefined;
    })).toEqual([`Warning persistentvolume-controller: ${why}`]);

    await ok(['delete', 'pod', user, '--grace-period=0', '--force']);
    await until(30, `claim ${data} gone`, async () => ((await server.kubectl(['get', 'pvc', data])).code !== 0 ? true : undefined));
    await until(30, `${small} Released`, async () => ((await phaseOf('pv', small)) === 'Released' ? true : undefined));
    // A Delete volume under /tmp goes (the object: the directory is not touched), once its claim does.
    await ok(['delete', 'pvc', wide]);
    await until(30, `${shared} deleted`, async () => ((await server.kubectl(['get', 'pv', shared])).code !== 0 ? true : undefined));
    // A Released volume can be deleted: pv-protection only holds Bound ones.
    await ok(['delete', 'pv', small, big, tiny]);
  });
});

describe('validation', () => {
  it('claims and volumes need access modes, a size and (volumes) one source; a claim\'s spec is fixed once made but for its requests', async () => {
    const bad = await server.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: bad\nspec:\n  resources:\n    requests:\n      storage: 0Gi\n' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('The PersistentVolumeClaim "bad" is invalid: \n* spec.accessModes: Required value: at least 1 access mode is required\n* spec.resources[storage]: Invalid value: "0Gi": must be greater than zero');
    const badPV = await server.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: bad\nspec:\n  accessModes: [ReadWriteOnce]\n  capacity:\n    storage: 1Gi\n' });
    expect(badPV.stderr).toContain('The PersistentVolume "bad" is invalid: spec: Required value: must specify a volume type');
    const fixed = attempt.name('fixed');
    await ok(['apply', '-f', '-'], pvc(fixed, '1Gi'));
    const changed = await server.kubectl(['patch', 'pvc', fixed, '--type=merge', '-p', '{"spec":{"accessModes":["ReadWriteMany"]}}']);
    expect(changed.stderr).toContain('spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims');
    await ok(['patch', 'pvc', fixed, '--type=merge', '-p', '{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}']);
    await ok(['delete', 'pvc', fixed]);
  });

  it('a volume\'s status write keeps lastPhaseTransitionTime while the phase stays, and the server stamps a new phase', async () => {
    // A class no claim asks for: nothing binds this volume while the test writes its status.
    const clock = attempt.name('clock');
    await ok(['apply', '-f', '-'], pv(clock, '1Gi', '  accessModes: [ReadOnlyMany]\n  storageClassName: clock-only\n  hostPath:\n    path: /srv/clock\n').replace('  storageClassName: ""\n', ''));
    const available = await until(30, `${clock} Available`, async () => {
      const v = await json(['get', 'pv', clock]);
      return v.status?.phase === 'Available' ? v : undefined;
    });
    const first = available.status.lastPhaseTransitionTime as string;
    expect(Date.parse(first)).toBeGreaterThan(0);

    // The same phase, the time left out: the stored time stays.
    const same = structuredClone(available);
    delete same.status.lastPhaseTransitionTime;
    same.status.message = 'checked by hand';
    const kept = JSON.parse(await ok(['replace', '--subresource=status', '-o', 'json', '-f', '-'], JSON.stringify(same))) as Obj;
    expect(kept.status).toMatchObject({ phase: 'Available', message: 'checked by hand', lastPhaseTransitionTime: first });

    // A new phase sent with the old time (as `kubectl get` gave it): the server's clock decides.
    await new Promise((r) => setTimeout(r, 1100));
    const failed = structuredClone(kept);
    failed.status.phase = 'Failed';
    const moved = JSON.parse(await ok(['replace', '--subresource=status', '-o', 'json', '-f', '-'], JSON.stringify(failed))) as Obj;
    expect(moved.status.phase).toBe('Failed');
    expect(Date.parse(moved.status.lastPhaseTransitionTime)).toBeGreaterThan(Date.parse(first));
    await ok(['delete', 'pv', clock]);
  });
});

describe('StorageClasses', () => {
  it('the default class is set on new claims at admission and on older ones afterwards; external provisioners are named and waited for', async () => {
    const [early, after, none, delayed] = ['early', 'after', 'none', 'delayed'].map((n) => attempt.name(n));
    const standard = attempt.name('standard');
    const later = attempt.name('later');
    await ok(['apply', '-f', '-'], pvc(early, '1Gi', '  accessModes: [ReadWriteOnce]\n'));
    expect((await json(['get', 'pvc', early])).spec.storageClassName).toBeUndefined();
    // A failed attempt removes its classes: a retry's first claim must find no default class.
    onTestFailed(async () => {
      await server.kubectl(['delete', 'storageclass', standard, later, '--ignore-not-found']);
      await until(30, 'no default StorageClass', async () => (/\(default\)/.test(await ok(['get', 'storageclass'])) ? undefined : true));
    });
    await ok(['apply', '-f', '-'], [
      `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: ${standard}\n  annotations:\n    storageclass.kubernetes.io/is-default-class: "true"\nprovisioner: example.com/hostpath\n`,
      `apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: ${later}\nprovisioner: example.com/later\nvolumeBindingMode: WaitForFirstConsumer\n`,
    ].join('---\n'));
    expect(await ok(['get', 'storageclass'])).toMatch(new RegExp(`\\n${standard} \\(default\\)\\s+example\\.com/hostpath\\s+Delete\\s+Immediate\\s+false\\s+\\S+`));
    const earlyClaim = await until(30, 'retroactive default class', async () => {
      const c = await json(['get', 'pvc', early]);
      return c.spec.storageClassName === standard && c.metadata.annotations?.['volume.kubernetes.io/storage-provisioner'] ? c : undefined;
    });
    expect(earlyClaim.metadata.annotations).toMatchObject({ 'volume.kubernetes.io/storage-provisioner': 'example.com/hostpath', 'volume.beta.kubernetes.io/storage-provisioner': 'example.com/hostpath' });
    const msgs = await until(30, 'ExternalProvisioning', async () => {
      const m = await eventMessages(early, 'ExternalProvisioning');
      return m.length > 0 ? m : undefined;
    });
    expect(msgs).toEqual(["Normal persistentvolume-controller: Waiting for a volume to be created either by the external provisioner 'example.com/hostpath' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered."]);
    await ok(['apply', '-f', '-'], [pvc(after, '1Gi', '  accessModes: [ReadWriteOnce]\n'), pvc(none, '1Gi'), pvc(delayed, '1Gi', `  storageClassName: ${later}\n  accessModes: [ReadWriteOnce]\n`)].join('---\n'));
    expect((await json(['get', 'pvc', after])).spec.storageClassName).toBe(standard);
    expect((await json(['get', 'pvc', none])).spec.storageClassName).toBe('');
    const waiting = await until(30, 'WaitForFirstConsumer', async () => {
      const m = await eventMessages(delayed, 'WaitForFirstConsumer');
      return m.length > 0 ? m : undefined;
    });
    expect(waiting).toEqual(['Normal persistentvolume-controller: waiting for first consumer to be created before binding']);
    await ok(['delete', 'pvc', early, after, none, delayed]);
    await ok(['delete', 'storageclass', standard, later]);
  });
});
