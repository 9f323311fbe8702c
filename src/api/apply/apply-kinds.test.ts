// Apply on real schemas: keyed lists (containers, multi-key ports), sets (finalizers), atomic
// lists, maps and structs, status subresources, defaulted fields, schema-less kinds.
import { describe, it } from 'vitest';
import { checkScenario, type Obj, type Scenario, type Step } from './testing/scenarios.ts';

const deploy = (spec: Obj, metadata: Obj = {}, rest: Obj = {}): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', ...metadata },
  spec,
  ...rest,
});
/** A Deployment configuration that sets only metadata. */
const meta = (metadata: Obj): Obj => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', ...metadata } });
/** A Deployment configuration that sets only the pod template's spec. */
const podSpec = (spec: Obj): Obj => deploy({ template: { spec } });
const containers = (...cs: Obj[]): Obj => podSpec({ containers: cs });
const k = (key: Obj): string => `k:${JSON.stringify(key)}`;
const inContainers = (items: Obj): Obj => ({ 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': items } } } });
const inPodSpec = (fields: Obj): Obj => ({ 'f:spec': { 'f:template': { 'f:spec': fields } } });
const at = (manager: string, config: Obj, extra: Partial<Step> = {}): Step => ({ manager, apply: config, ...extra });

const nginx = deploy(
  {
    replicas: 2,
    selector: { matchLabels: { app: 'nginx' } },
    template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }] } },
  },
  { labels: { app: 'nginx' } },
);
const nginxItem = {
  '.': {},
  'f:image': {},
  'f:name': {},
  'f:ports': { [k({ containerPort: 80, protocol: 'TCP' })]: { '.': {}, 'f:containerPort': {} } },
};

const scenarios: Scenario[] = [
  {
    name: 'kubectl applying a Deployment owns what it wrote, list items with "."',
    steps: [at('kubectl', nginx)],
    object: nginx,
    fields: {
      'kubectl:Apply': {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:selector': {},
          'f:template': { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': nginxItem } } },
        },
      },
    },
  },
  {
    name: 'a create by update marks new maps and lists with "." but not what the zero object has',
    steps: [{ manager: 'kubectl-create', update: nginx }],
    fields: {
      'kubectl-create:Update': {
        'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:selector': {},
          'f:template': {
            'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
            'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { ...nginxItem, 'f:ports': { '.': {}, ...(nginxItem['f:ports'] as Obj) } } } },
          },
        },
      },
    },
  },
  {
    name: 'containers merge by name: each applier owns its own container',
    steps: [at('a', containers({ name: 'app', image: 'app:1' })), at('b', containers({ name: 'sidecar', image: 'side:1' }))],
    object: containers({ name: 'app', image: 'app:1' }, { name: 'sidecar', image: 'side:1' }),
    fields: { 'b:Apply': inContainers({ 'k:{"name":"sidecar"}': { '.': {}, 'f:image': {}, 'f:name': {} } }) },
  },
  {
    name: 'a container field another applier owns conflicts at its full path',
    steps: [at('a', containers({ name: 'app', image: 'app:1' })), at('b', containers({ name: 'app', image: 'app:2' }))],
    error: {
      code: 409,
      message: 'Apply failed with 1 conflict: conflict with "a": .spec.template.spec.containers[name="app"].image',
      causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "a"', field: '.spec.template.spec.containers[name="app"].image' }],
    },
  },
  {
    name: 'ports are keyed by containerPort and protocol: one port number, two protocols',
    steps: [at('a', containers({ name: 'dns', ports: [{ containerPort: 53, protocol: 'TCP' }, { containerPort: 53, protocol: 'UDP' }] }))],
    fields: {
      'a:Apply': inContainers({
        'k:{"name":"dns"}': {
          '.': {},
          'f:name': {},
          'f:ports': {
            [k({ containerPort: 53, protocol: 'TCP' })]: { '.': {}, 'f:containerPort': {}, 'f:protocol': {} },
            [k({ containerPort: 53, protocol: 'UDP' })]: { '.': {}, 'f:containerPort': {}, 'f:protocol': {} },
          },
        },
      }),
    },
  },
  {
    name: 'a port without protocol is keyed with the default TCP and merges with an explicit TCP',
    steps: [at('a', containers({ name: 'app', ports: [{ containerPort: 80 }] })), at('b', containers({ name: 'app', ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }] }))],
    object: containers({ name: 'app', ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }] }),
    fields: {
      'b:Apply': inContainers({ 'k:{"name":"app"}': { '.': {}, 'f:name': {}, 'f:ports': { [k({ containerPort: 80, protocol: 'TCP' })]: { '.': {}, 'f:containerPort': {}, 'f:name': {}, 'f:protocol': {} } } } }),
    },
  },
  {
    name: 'a port the applier stops applying is removed from its container',
    steps: [at('a', containers({ name: 'app', ports: [{ containerPort: 80 }, { containerPort: 443 }] })), at('a', containers({ name: 'app', ports: [{ containerPort: 80 }] }))],
    object: containers({ name: 'app', ports: [{ containerPort: 80 }] }),
  },
  {
    name: 'args is an atomic list: another applier setting it conflicts on the whole list',
    steps: [at('a', containers({ name: 'app', args: ['--a'] })), at('b', containers({ name: 'app', args: ['--b'] }))],
    error: { code: 409, message: 'Apply failed with 1 conflict: conflict with "a": .spec.template.spec.containers[name="app"].args' },
  },
  {
    name: 'atomic lists (command, args) are replaced whole and owned as one leaf',
    steps: [at('a', containers({ name: 'app', command: ['sh', '-c'], args: ['a', 'b'] })), at('a', containers({ name: 'app', command: ['sh', '-c'], args: ['c'] }))],
    object: containers({ name: 'app', command: ['sh', '-c'], args: ['c'] }),
    fields: { 'a:Apply': inContainers({ 'k:{"name":"app"}': { '.': {}, 'f:args': {}, 'f:command': {}, 'f:name': {} } }) },
  },
  {
    name: 'a container the applier stops applying is removed',
    steps: [at('a', containers({ name: 'app', image: 'a' }, { name: 'old', image: 'o' })), at('a', containers({ name: 'app', image: 'a' }))],
    object: containers({ name: 'app', image: 'a' }),
  },
  {
    name: 'a container another applier also applies survives when the first drops it',
    steps: [at('a', containers({ name: 'app', image: 'a' })), at('b', containers({ name: 'app', image: 'a' })), at('a', containers({ name: 'other', image: 'o' }))],
    object: containers({ name: 'app', image: 'a' }, { name: 'other', image: 'o' }),
  },
  {
    name: 'items both sides have follow the applied order; live-only items keep their place',
    steps: [at('a', containers({ name: 'a' }, { name: 'b' })), at('b', containers({ name: 'c' }, { name: 'a' }))],
    object: containers({ name: 'c' }, { name: 'a' }, { name: 'b' }),
  },
  {
    name: 'a LabelSelector is an atomic struct: one leaf, conflicts as a whole',
    steps: [at('a', deploy({ selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] } })), at('b', deploy({ selector: { matchLabels: { app: 'other' } } }))],
    fields: { 'a:Apply': { 'f:spec': { 'f:selector': {} } } },
    error: { code: 409, message: 'Apply failed with 1 conflict: conflict with "a": .spec.selector' },
  },
  {
    name: 'nodeSelector is an atomic map: a second applier conflicts instead of merging',
    steps: [at('a', podSpec({ nodeSelector: { disk: 'ssd' } })), at('b', podSpec({ nodeSelector: { zone: 'z1' } }))],
    error: { code: 409, message: 'Apply failed with 1 conflict: conflict with "a": .spec.template.spec.nodeSelector' },
  },
  {
    name: 'tolerations is an atomic list',
    steps: [at('a', podSpec({ tolerations: [{ key: 'k1', operator: 'Exists' }] })), at('b', podSpec({ tolerations: [{ key: 'k2', operator: 'Exists' }] }))],
    error: { code: 409, message: 'Apply failed with 1 conflict: conflict with "a": .spec.template.spec.tolerations' },
  },
  {
    name: 'pod template labels are a granular map: two appliers merge',
    steps: [at('a', deploy({ template: { metadata: { labels: { a: '1' } } } })), at('b', deploy({ template: { metadata: { labels: { b: '2' } } } }))],
    object: deploy({ template: { metadata: { labels: { a: '1', b: '2' } } } }),
  },
  {
    name: 'env merges by name inside a shared container',
    steps: [at('a', containers({ name: 'app', env: [{ name: 'X', value: '1' }] })), at('b', containers({ name: 'app', env: [{ name: 'Y', value: '2' }] }))],
    object: containers({ name: 'app', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }] }),
    fields: { 'b:Apply': inContainers({ 'k:{"name":"app"}': { '.': {}, 'f:env': { 'k:{"name":"Y"}': { '.': {}, 'f:name': {}, 'f:value': {} } }, 'f:name': {} } }) },
  },
  {
    name: 'volumes merge by name',
    steps: [at('a', podSpec({ volumes: [{ name: 'v1', emptyDir: {} }] })), at('b', podSpec({ volumes: [{ name: 'v2', emptyDir: {} }] }))],
    object: podSpec({ volumes: [{ name: 'v1', emptyDir: {} }, { name: 'v2', emptyDir: {} }] }),
    fields: { 'b:Apply': inPodSpec({ 'f:volumes': { 'k:{"name":"v2"}': { '.': {}, 'f:emptyDir': {}, 'f:name': {} } } }) },
  },
  {
    name: 'status in a main-resource apply of a kind with a status subresource is not owned',
    steps: [at('a', deploy({ replicas: 1 }, {}, { status: { replicas: 3 } }))],
    fields: { 'a:Apply': { 'f:spec': { 'f:replicas': {} } } },
  },
  {
    name: 'an apply through /status owns status only, and spec changes there conflict with no one',
    steps: [at('a', deploy({ replicas: 1 })), at('s', deploy({ replicas: 9 }, {}, { status: { replicas: 2 } }), { subresource: 'status' })],
    fields: { 's:Apply:status': { 'f:status': { 'f:replicas': {} } }, 'a:Apply': { 'f:spec': { 'f:replicas': {} } } },
  },
  {
    name: 'updates through the main resource and /status are separate entries',
    steps: [
      at('a', deploy({ replicas: 1 })),
      { manager: 'u', update: (prev) => ({ ...prev, spec: { replicas: 2 } }) },
      { manager: 'u', update: (prev) => ({ ...prev, status: { replicas: 2 } }), subresource: 'status' },
    ],
    fields: { 'u:Update': { 'f:spec': { 'f:replicas': {} } }, 'u:Update:status': { 'f:status': { '.': {}, 'f:replicas': {} } }, 'a:Apply': null },
  },
  {
    name: 'a conflict with a /status updater names the subresource',
    steps: [{ manager: 'ctrl', update: deploy({}, {}, { status: { replicas: 1 } }), subresource: 'status' }, at('b', deploy({}, {}, { status: { replicas: 2 } }), { subresource: 'status' })],
    error: { code: 409, message: 'Apply failed with 1 conflict: conflict with "ctrl" with subresource "status" using apps/v1: .status.replicas' },
  },
  {
    name: 'replicas changed by a controller conflict with a later apply of another value',
    steps: [at('a', deploy({ replicas: 3 })), { manager: 'hpa', update: (prev) => ({ ...prev, spec: { replicas: 5 } }) }, at('a', deploy({ replicas: 3 }))],
    error: { code: 409, message: 'Apply failed with 1 conflict: conflict with "hpa" using apps/v1: .spec.replicas' },
  },
  {
    name: 'an applier that drops a field a controller took keeps the controller value',
    steps: [at('a', deploy({ replicas: 3, paused: false })), { manager: 'hpa', update: (prev) => ({ ...prev, spec: { replicas: 5, paused: false } }) }, at('a', deploy({ paused: false }))],
    object: deploy({ replicas: 5, paused: false }),
    fields: { 'hpa:Update': { 'f:spec': { 'f:replicas': {} } } },
  },
  {
    name: 'a forced apply takes the field back from the controller',
    steps: [at('a', deploy({ replicas: 3 })), { manager: 'hpa', update: (prev) => ({ ...prev, spec: { replicas: 5 } }) }, at('a', deploy({ replicas: 3 }), { force: true })],
    object: deploy({ replicas: 3 }),
    fields: { 'hpa:Update': null, 'a:Apply': { 'f:spec': { 'f:replicas': {} } } },
  },
  {
    name: 'finalizers are a set: each applier adds its own',
    steps: [at('a', meta({ finalizers: ['a.io/x'] })), at('b', meta({ finalizers: ['b.io/y'] }))],
    object: meta({ finalizers: ['a.io/x', 'b.io/y'] }),
    fields: { 'a:Apply': { 'f:metadata': { 'f:finalizers': { 'v:"a.io/x"': {} } } } },
  },
  {
    name: 'a finalizer one applier drops is removed, the other one stays',
    steps: [at('a', meta({ finalizers: ['a.io/x'] })), at('b', meta({ finalizers: ['b.io/y'] })), at('a', meta({}))],
    object: meta({ finalizers: ['b.io/y'] }),
  },
  {
    name: 'set items both sides have follow the applied order',
    steps: [at('a', meta({ finalizers: ['x', 'y'] })), at('b', meta({ finalizers: ['z', 'x'] }))],
    object: meta({ finalizers: ['z', 'x', 'y'] }),
  },
  {
    name: 'ownerReferences are keyed by uid',
    steps: [at('a', meta({ ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u1' }] })), at('b', meta({ ownerReferences: [{ apiVersion: 'v1', kind: 'Y', name: 'y', uid: 'u2' }] }))],
    fields: { 'b:Apply': { 'f:metadata': { 'f:ownerReferences': { 'k:{"uid":"u2"}': {} } } } },
  },
  {
    name: 'a label the applier drops is removed, annotations it shares stay',
    steps: [at('a', meta({ labels: { a: '1', b: '2' }, annotations: { n: 'x' } })), at('b', meta({ annotations: { n: 'x' } })), at('a', meta({ labels: { a: '1' } }))],
    object: meta({ labels: { a: '1' }, annotations: { n: 'x' } }),
  },
  {
    name: 'a struct whose fields nobody owns any more is removed',
    steps: [at('a', deploy({ replicas: 1, strategy: { type: 'Recreate' } })), at('a', deploy({ replicas: 1 }))],
    object: deploy({ replicas: 1 }),
  },
  {
    name: 'a struct keeps the fields others own when the applier drops its part',
    steps: [
      at('a', deploy({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } })),
      { manager: 'u', update: (prev) => ({ ...prev, spec: { strategy: { type: 'Custom', rollingUpdate: { maxSurge: 1 } } } }) },
      at('a', deploy({ replicas: 2 })),
    ],
    object: deploy({ replicas: 2, strategy: { type: 'Custom' } }),
  },
  {
    name: 'defaulted fields nobody owns survive later applies',
    steps: [
      at('a', containers({ name: 'app', image: 'a:1', args: ['x'] })),
      { manager: '', store: (prev) => ({ ...prev!, spec: { template: { spec: { containers: [{ name: 'app', image: 'a:1', args: ['x'], imagePullPolicy: 'IfNotPresent' }] } } } }) },
      at('a', containers({ name: 'app', image: 'a:2' })),
    ],
    object: containers({ name: 'app', image: 'a:2', imagePullPolicy: 'IfNotPresent' }),
  },
  {
    name: 'Service ports are keyed by port and protocol; targetPort takes a number or a name',
    steps: [
      at('a', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 8080 }] } }),
      at('b', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 'http' }] } }),
    ],
    error: { code: 409, message: 'Apply failed with 1 conflict: conflict with "a": .spec.ports[port=80,protocol="TCP"].targetPort' },
  },
  {
    name: 'resource limits are a granular map of quantities',
    steps: [at('a', containers({ name: 'app', resources: { limits: { cpu: '1' } } })), at('b', containers({ name: 'app', resources: { limits: { memory: '1Gi' } } }))],
    object: containers({ name: 'app', resources: { limits: { cpu: '1', memory: '1Gi' } } }),
  },
  {
    name: 'an object stored without managedFields is first attributed to before-first-apply',
    steps: [{ manager: '', store: () => deploy({ replicas: 1 }) }, at('a', deploy({ replicas: 2 }))],
    error: { code: 409, message: 'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas' },
  },
  {
    name: 'applying the stored values to an object without managedFields shares them with before-first-apply',
    steps: [{ manager: '', store: () => deploy({ replicas: 1 }) }, at('a', deploy({ replicas: 1 }))],
    fields: { 'before-first-apply:Update': { 'f:spec': { 'f:replicas': {} } }, 'a:Apply': { 'f:spec': { 'f:replicas': {} } } },
  },
];

const widget = (spec: Obj, rest: Obj = {}): Obj => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec, ...rest });

scenarios.push(
  {
    name: 'kinds without a schema are deduced: maps are granular and every key is owned',
    steps: [at('a', widget({ a: 1 })), at('b', widget({ b: { c: 2 } }))],
    object: widget({ a: 1, b: { c: 2 } }),
    fields: { 'a:Apply': { 'f:spec': { '.': {}, 'f:a': {} } }, 'b:Apply': { 'f:spec': { '.': {}, 'f:b': { '.': {}, 'f:c': {} } } } },
  },
  {
    name: 'lists of kinds without a schema are atomic',
    steps: [at('a', widget({ items: [1, 2] })), at('b', widget({ items: [3] }))],
    error: { code: 409, message: 'Apply failed with 1 conflict: conflict with "a": .spec.items' },
  },
  {
    name: 'nested keys of a schema-less kind are pruned when no longer applied',
    steps: [at('a', widget({ m: { x: 1, y: 2 } })), at('a', widget({ m: { x: 1 } }))],
    object: widget({ m: { x: 1 } }),
  },
  {
    name: 'any field is accepted for a schema-less kind',
    steps: [at('a', widget({ a: 1 }, { extra: { anything: [true] } }))],
    fields: { 'a:Apply': { 'f:extra': { '.': {}, 'f:anything': {} }, 'f:spec': { '.': {}, 'f:a': {} } } },
  },
  {
    name: 'the caller can say a schema-less kind has a status subresource',
    steps: [at('a', widget({ a: 1 }, { status: { ok: true } }), { hasStatusSubresource: true })],
    fields: { 'a:Apply': { 'f:spec': { '.': {}, 'f:a': {} } } },
  },
  {
    name: 'an apply of a schema-less kind over an updater conflicts like any other',
    steps: [{ manager: 'u', update: widget({ a: 1 }) }, at('a', widget({ a: 2 }))],
    error: { code: 409, message: 'Apply failed with 1 conflict: conflict with "u" using example.com/v1: .spec.a' },
  },
);

describe('server-side apply on typed and deduced kinds', () => {
  for (const s of scenarios) it(s.name, () => checkScenario(s));
});
