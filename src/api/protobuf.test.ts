import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeKubernetesProtobuf, decodeMessage, goDuration, isProtobufContentType, protobufTable, type ProtobufTable } from './protobuf.ts';
import { StatusError } from './status.ts';

const table = protobufTable();
type Obj = Record<string, unknown>;

// ---- a test-only encoder: the JSON form back to gogo's wire bytes, from the same table ----

function varint(v: bigint): number[] {
  let u = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return out;
}
const key = (no: number, wt: number): Buffer => Buffer.from(varint(BigInt(no * 8 + wt)));
const delimited = (no: number, b: Buffer): Buffer => Buffer.concat([key(no, 2), Buffer.from(varint(BigInt(b.length))), b]);

function scalar(no: number, type: string, v: unknown): Buffer {
  switch (type) {
    case 'string':
      return delimited(no, Buffer.from(String(v), 'utf8'));
    case 'bytes':
      return delimited(no, Buffer.from(String(v), 'base64'));
    case 'bool':
      return Buffer.concat([key(no, 0), Buffer.from([v ? 1 : 0])]);
    case 'double': {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(Number(v));
      return Buffer.concat([key(no, 1), b]);
    }
    default:
      return Buffer.concat([key(no, 0), Buffer.from(varint(BigInt(Number(v))))]);
  }
}

const ZERO: Record<string, unknown> = { string: '', bytes: '', bool: false };

/** Go duration string → nanoseconds (h, m, s, ms only: enough for the tests). */
function parseDuration(s: string): bigint {
  let ns = 0;
  for (const [, n, unit] of s.matchAll(/([\d.]+)(h|ms|m|s)/g)) ns += Number(n) * { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6 }[unit as 'h']!;
  return BigInt(Math.round(ns));
}

function encodeMessage(t: ProtobufTable, name: string, value: unknown): Buffer {
  const spec = t.messages[name];
  const parts: Buffer[] = [];
  switch (spec.json) {
    case 'time':
    case 'microtime': {
      if (value === null) return Buffer.alloc(0); // gogo writes a zero Time as an empty message
      const ms = Date.parse(String(value));
      const micros = /\.(\d{6})Z$/.exec(String(value))?.[1];
      parts.push(scalar(1, 'int64', Math.floor(ms / 1000)));
      if (micros) parts.push(scalar(2, 'int32', Number(micros) * 1000));
      return Buffer.concat(parts);
    }
    case 'duration':
      return Buffer.concat([key(1, 0), Buffer.from(varint(parseDuration(String(value))))]);
    case 'quantity':
      return scalar(1, 'string', value);
    case 'intstr':
      return typeof value === 'number'
        ? Buffer.concat([scalar(1, 'int64', 0), scalar(2, 'int32', value), scalar(3, 'string', '')])
        : Buffer.concat([scalar(1, 'int64', 1), scalar(2, 'int32', 0), scalar(3, 'string', value)]);
    case 'raw':
      return value === null ? Buffer.alloc(0) : delimited(1, Buffer.from(JSON.stringify(value)));
    case 'list':
      return Buffer.concat((value as unknown[]).map((v) => scalar(1, spec.fields['1'][2], v)));
  }
  const obj = value as Obj;
  for (const [n, [json, label, type, flag]] of Object.entries(spec.fields)) {
    const no = Number(n);
    const one = (ty: string, v: unknown, at = no): Buffer => (t.messages[ty] ? delimited(at, encodeMessage(t, ty, v)) : scalar(at, ty, v));
    if (flag === 'inline') {
      parts.push(delimited(no, encodeMessage(t, type, obj)));
      continue;
    }
    const v = obj[json];
    if (v === undefined) {
      // a non-pointer scalar is on the wire even when zero; the decoder must drop it again
      if (flag === 'omitZero') parts.push(scalar(no, type, ZERO[type] ?? 0));
      continue;
    }
    if (label === 'rep') for (const item of v as unknown[]) parts.push(one(type, item));
    else if (label === 'map') {
      const [kt, vt] = [type.slice(0, type.indexOf(':')), type.slice(type.indexOf(':') + 1)];
      for (const [k, mv] of Object.entries(v as Obj)) parts.push(delimited(no, Buffer.concat([scalar(1, kt, k), one(vt, mv, 2)])));
    } else parts.push(one(type, v));
  }
  return Buffer.concat(parts);
}

/** `k8s\0` + runtime.Unknown{typeMeta{apiVersion, kind}, raw}, as client-go sends it. */
function encodeBody(object: Obj): Buffer {
  const apiVersion = String(object.apiVersion);
  const kind = String(object.kind);
  const raw = encodeMessage(table, table.kinds[`${apiVersion}/${kind}`], object);
  const typeMeta = Buffer.concat([scalar(1, 'string', apiVersion), scalar(2, 'string', kind)]);
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), delimited(1, typeMeta), delimited(2, raw), scalar(3, 'string', ''), scalar(4, 'string', '')]);
}

const roundTrip = (object: Obj): Obj => decodeKubernetesProtobuf(encodeBody(object)).object;
// Go's JSON of each object: zero non-pointer omitempty scalars absent, empty structs present
const meta = (name: string, extra: Obj = {}): Obj => ({ name, namespace: 'default', creationTimestamp: null, ...extra });
const container = (extra: Obj = {}): Obj => ({ name: 'app', image: 'nginx:1.27', resources: {}, terminationMessagePath: '/dev/termination-log', imagePullPolicy: 'IfNotPresent', ...extra });
const fixtures: Obj[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('cm', { labels: { app: 'x' }, annotations: { note: '' } }), data: { a: 'b', empty: '' }, binaryData: { bin: Buffer.from([0, 1, 2, 255]).toString('base64') }, immutable: false },
  { apiVersion: 'v1', kind: 'Secret', metadata: meta('s'), data: { k: 'dg==', empty: '' }, type: 'Opaque' },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta('web', { uid: '6f1b', resourceVersion: '42', generation: 3, creationTimestamp: '2024-05-06T07:08:09Z' }),
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] },
      template: {
        metadata: { creationTimestamp: null, labels: { app: 'web' } },
        spec: {
          containers: [
            container({
              ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
              resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '250m', 'nvidia.com/gpu': '1' } },
              livenessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, initialDelaySeconds: 3, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
              readinessProbe: { tcpSocket: { port: 'http' } },
              command: ['nginx', '-g', 'daemon off;'],
            }),
          ],
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 30,
          dnsPolicy: 'ClusterFirst',
          securityContext: {},
          schedulerName: 'default-scheduler',
        },
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: { observedGeneration: 3, replicas: 3, conditions: [{ type: 'Available', status: 'True', lastUpdateTime: '2024-05-06T07:08:10Z', lastTransitionTime: '2024-05-06T07:08:10Z', reason: 'MinimumReplicasAvailable', message: 'ok' }] },
  },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team', creationTimestamp: null, labels: { 'kubernetes.io/metadata.name': 'team' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta('svc'),
    spec: {
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
        { name: 'https', protocol: 'TCP', port: 443, targetPort: 'https', nodePort: 30443 },
        { name: 'none', protocol: 'UDP', port: 53, targetPort: 0 },
      ],
      selector: { app: 'web' },
      clusterIP: '10.0.0.10',
      clusterIPs: ['10.0.0.10'],
      type: 'NodePort',
      sessionAffinity: 'None',
      externalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  },
  {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta('j', { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'cj', uid: 'u1', controller: true, blockOwnerDeletion: true }] }),
    spec: { parallelism: 1, completions: 1, backoffLimit: 6, manualSelector: false, template: { metadata: { creationTimestamp: null }, spec: { containers: [container({ args: ['echo', 'hi'] })], restartPolicy: 'Never' } } },
    status: { startTime: '2024-01-02T03:04:05Z', active: 1, ready: 0, terminating: 0 },
  },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta('pod', { deletionGracePeriodSeconds: 0, finalizers: ['x/y'] }),
    spec: {
      volumes: [
        { name: 'cfg', configMap: { name: 'cm', items: [{ key: 'a', path: 'a.txt', mode: 256 }], defaultMode: 420 } },
        { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
        { name: 'sec', secret: { secretName: 's', optional: true } },
      ],
      containers: [
        container({
          env: [
            { name: 'A', value: 'B' },
            { name: 'EMPTY' },
            { name: 'POD', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
            { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k', optional: false } } },
            { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
          ],
          envFrom: [{ configMapRef: { name: 'cm' } }],
          volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg', readOnly: true }],
          securityContext: { runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        }),
      ],
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      priority: 0,
      enableServiceLinks: true,
    },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: '2024-01-02T03:04:05Z' }], qosClass: 'BestEffort' },
  },
  { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: meta('web', { resourceVersion: '7' }), spec: { replicas: 5 }, status: { replicas: 3, selector: 'app=web' } },
  { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: meta('l'), spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: '2024-01-02T03:04:05.123456Z', renewTime: '2024-01-02T03:04:06.000001Z', leaseTransitions: 0 } },
  { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: meta('rev'), data: { spec: { template: { a: [1, 'x', null, true] } } }, revision: 2 },
  { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: { name: 'tr', creationTimestamp: null }, spec: { token: 't' }, status: { authenticated: true, user: { username: 'u', extra: { scopes: ['a', 'b'] } } } },
  { apiVersion: 'policy/v1', kind: 'Eviction', metadata: meta('pod'), deleteOptions: { gracePeriodSeconds: 0, preconditions: { uid: 'u1' }, propagationPolicy: 'Background' } },
];

describe('decodeKubernetesProtobuf', () => {
  for (const fixture of fixtures) {
    it(`round-trips ${String(fixture.apiVersion)} ${String(fixture.kind)} ${String((fixture.metadata as Obj).name)}`, () => {
      expect(roundTrip(fixture)).toEqual(fixture);
    });
  }

  it('drops a zero non-pointer omitempty scalar but keeps a zero pointer', () => {
    const scale = { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', creationTimestamp: null }, spec: {}, status: { replicas: 0 } };
    expect(roundTrip(scale)).toEqual(scale); // spec.replicas 0 went on the wire and came back dropped
    const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { creationTimestamp: null }, spec: { replicas: 0, template: { metadata: { creationTimestamp: null }, spec: { containers: [{ name: 'c', resources: {} }] } }, strategy: {} }, status: {} };
    expect(roundTrip(deploy)).toEqual(deploy);
  });

  it('maps special types to their Go JSON forms', () => {
    const d = (ns: bigint): unknown => decodeMessage(table, 'k8s.io.apimachinery.pkg.apis.meta.v1.Duration', Buffer.concat([key(1, 0), Buffer.from(varint(ns))]));
    expect(d(3600_000_000_000n)).toBe('1h0m0s');
    expect(d(30_000_000_000n)).toBe('30s');
    expect(goDuration(0n)).toBe('0s');
    expect(goDuration(1_500_000n)).toBe('1.5ms');
    expect(goDuration(5_400_500_000_000n)).toBe('1h30m0.5s');
    expect(goDuration(-2_000n)).toBe('-2µs');
    const time = (seconds: number, nanos: number, name: string): unknown => decodeMessage(table, `k8s.io.apimachinery.pkg.apis.meta.v1.${name}`, Buffer.concat([scalar(1, 'int64', seconds), scalar(2, 'int32', nanos)]));
    expect(time(1700000000, 999_999_999, 'Time')).toBe('2023-11-14T22:13:20Z'); // Go keeps seconds only
    expect(time(1700000000, 123_456_789, 'MicroTime')).toBe('2023-11-14T22:13:20.123456Z');
    expect(time(-62135596800, 0, 'Time')).toBeNull(); // Go's zero time
  });

  it('rejects what it cannot decode', () => {
    const err = (f: () => unknown): StatusError => {
      try {
        f();
      } catch (e) {
        if (e instanceof StatusError) return e;
        throw e;
      }
      throw new Error('no error');
    };
    expect(err(() => decodeKubernetesProtobuf(Buffer.from('{"kind":"ConfigMap"}'))).code).toBe(400);
    const body = encodeBody({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', creationTimestamp: null } });
    expect(err(() => decodeKubernetesProtobuf(body.subarray(0, body.length - 9))).code).toBe(400);
    const unknown = Buffer.concat([Buffer.from('k8s\0', 'latin1'), delimited(1, Buffer.concat([scalar(1, 'string', 'example.com/v1'), scalar(2, 'string', 'Widget')]))]);
    const e = err(() => decodeKubernetesProtobuf(unknown));
    expect([e.code, e.reason]).toEqual([415, 'UnsupportedMediaType']);
    expect(e.message).toContain('example.com/v1, Kind=Widget');
  });

  it('recognises the content type', () => {
    expect(isProtobufContentType('application/vnd.kubernetes.protobuf')).toBe(true);
    expect(isProtobufContentType('Application/VND.Kubernetes.Protobuf; charset=utf-8')).toBe(true);
    expect(isProtobufContentType('application/json')).toBe(false);
    expect(isProtobufContentType('application/vnd.kubernetes.protobuf;stream=watch')).toBe(true);
  });
});

// ---- the upstream k8s.io/api round-trip fixtures (every field filled), when the reference data is here ----

const fixtureDir = join(process.env.K8TS_REFERENCE_DIR ?? new URL('../../../shared/reference', import.meta.url).pathname, 'fixtures');
const upstream = existsSync(fixtureDir) ? readdirSync(fixtureDir).filter((f) => f.endsWith('.json') && f !== 'MANIFEST.json') : [];
(upstream.length > 0 ? describe : describe.skip)(upstream.length > 0 ? 'upstream fixtures' : `${fixtureDir} not found: skipping the upstream fixtures`, () => {
  it('round-trips every fixture of a kind the table knows', () => {
    let n = 0;
    for (const file of upstream) {
      const object = JSON.parse(readFileSync(join(fixtureDir, file), 'utf8')) as Obj;
      if (!table.kinds[`${String(object.apiVersion)}/${String(object.kind)}`]) continue;
      expect(roundTrip(object), file).toEqual(object);
      n++;
    }
    expect(n).toBeGreaterThan(60);
  });
});

// ---- real kubectl bytes ----

const kubectl = new URL('../../.cache/clients/kubectl', import.meta.url).pathname;
const run = promisify(execFile);
(existsSync(kubectl) ? describe : describe.skip)(existsSync(kubectl) ? 'bodies sent by the stock kubectl' : `${kubectl} not found (run hack/setup-clients): skipping the kubectl protobuf tests`, () => {
  let server: Server;
  let port = 0;
  const home = mkdtempSync(join(tmpdir(), 'k8ts-protobuf-'));
  const received: { contentType: string; object: Obj }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          if (req.method !== 'POST') throw new StatusError(404, 'NotFound', `${req.url ?? ''} not found`);
          const { object } = decodeKubernetesProtobuf(Buffer.concat(chunks));
          received.push({ contentType: req.headers['content-type'] ?? '', object });
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(object));
        } catch (e) {
          const status = e instanceof StatusError ? e.status : { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 500, message: String(e) };
          res.writeHead(status.code, { 'content-type': 'application/json' }).end(JSON.stringify(status));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(home, { recursive: true, force: true });
  });

  /** What kubectl POSTs for `create ...`, decoded, and kubectl's own Go JSON of the same object. */
  async function capture(...args: string[]): Promise<{ decoded: Obj; goJson: Obj; contentType: string }> {
    const env = { HOME: home, KUBECONFIG: join(home, 'none'), PATH: process.env.PATH ?? '' };
    const before = received.length;
    await run(kubectl, ['--server', `http://127.0.0.1:${port}`, 'create', '--dry-run=server', '-o', 'name', ...args], { env });
    const { stdout } = await run(kubectl, ['--server', 'http://127.0.0.1:1', 'create', '--dry-run=client', '-o', 'json', ...args], { env });
    expect(received.length).toBe(before + 1);
    return { ...received[before], decoded: received[before].object, goJson: JSON.parse(stdout) as Obj };
  }

  it('create configmap', async () => {
    const { decoded, goJson, contentType } = await capture('configmap', 'x', '--from-literal=a=b');
    expect(contentType).toBe('application/vnd.kubernetes.protobuf');
    expect(decoded).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' } });
    expect(decoded).toEqual(goJson);
  });

  it('create deployment', async () => {
    const { decoded, goJson } = await capture('deployment', 'web', '--image=nginx:1.27', '--replicas=3', '--port=80');
    expect(decoded).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 3 } });
    const spec = (decoded.spec as { template: { spec: { containers: Obj[] } } }).template.spec;
    expect(spec.containers[0]).toMatchObject({ image: 'nginx:1.27', ports: [{ containerPort: 80 }] });
    expect(decoded).toEqual(goJson);
  });

  it('create secret generic', async () => {
    const { decoded, goJson } = await capture('secret', 'generic', 's', '--from-literal=k=v');
    expect(decoded).toMatchObject({ kind: 'Secret', metadata: { name: 's' }, data: { k: 'dg==' } });
    expect(decoded).toEqual(goJson);
  });

  it('create service, namespace, job, quota, pdb, ingress', async () => {
    for (const args of [
      ['service', 'clusterip', 'svc', '--tcp=80:8080', '--tcp=443:https'],
      ['namespace', 'ns1'],
      ['job', 'j', '--image=busybox', '--', 'echo', 'hi'],
      ['quota', 'q', '--hard=cpu=1,memory=1G,pods=2'],
      ['pdb', 'p', '--selector=app=x', '--min-available=50%'],
      ['ingress', 'ing', '--rule=foo.com/bar=svc:80'],
    ]) {
      const { decoded, goJson } = await capture(...args);
      expect(decoded, args.join(' ')).toEqual(goJson);
    }
  });
});
