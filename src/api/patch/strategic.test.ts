import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { StatusError } from '../status.ts';
import { definitionsLookup, loadDefinitions, type Definition, type PropertySchema } from './schema.ts';
import { applyStrategicMergePatch } from './strategic.ts';

type Obj = Record<string, unknown>;

// A small slice of the Kubernetes definitions, shaped like openapi/definitions.json.
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const CORE = 'io.k8s.api.core.v1.';
const APPS = 'io.k8s.api.apps.v1.';
const ref = (name: string): PropertySchema => ({ $ref: `#/definitions/${name}` });
const str: PropertySchema = { type: 'string' };
const int: PropertySchema = { type: 'integer', format: 'int32' };
const strMap: PropertySchema = { type: 'object', additionalProperties: { type: 'string' } };
const strList: PropertySchema = { type: 'array', items: { type: 'string' } };
const mergeList = (items: PropertySchema, key?: string, strategy = 'merge'): PropertySchema => ({
  type: 'array',
  items,
  'x-kubernetes-patch-strategy': strategy,
  ...(key ? { 'x-kubernetes-patch-merge-key': key } : {}),
});
const struct = (properties: Record<string, PropertySchema>): Definition => ({ type: 'object', properties });

const definitions: Record<string, Definition> = {
  [`${META}ObjectMeta`]: struct({
    name: str,
    namespace: str,
    labels: strMap,
    annotations: strMap,
    finalizers: { ...mergeList(str), 'x-kubernetes-list-type': 'set' },
    ownerReferences: mergeList(ref(`${META}OwnerReference`), 'uid'),
  }),
  [`${META}OwnerReference`]: struct({ apiVersion: str, kind: str, name: str, uid: str, controller: { type: 'boolean' } }),
  [`${META}LabelSelector`]: struct({ matchLabels: strMap }),
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: 'string' },
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string' },
  [`${CORE}Pod`]: struct({ apiVersion: str, kind: str, metadata: ref(`${META}ObjectMeta`), spec: ref(`${CORE}PodSpec`) }),
  [`${CORE}PodTemplateSpec`]: struct({ metadata: ref(`${META}ObjectMeta`), spec: ref(`${CORE}PodSpec`) }),
  [`${CORE}PodSpec`]: struct({
    containers: mergeList(ref(`${CORE}Container`), 'name'),
    initContainers: mergeList(ref(`${CORE}Container`), 'name'),
    volumes: mergeList(ref(`${CORE}Volume`), 'name', 'merge,retainKeys'),
    tolerations: { type: 'array', items: ref(`${CORE}Toleration`) },
    imagePullSecrets: mergeList(ref(`${CORE}LocalObjectReference`), 'name'),
    nodeSelector: strMap,
    activeDeadlineSeconds: { type: 'integer', format: 'int64' },
    restartPolicy: str,
  }),
  [`${CORE}Container`]: struct({
    name: str,
    image: str,
    command: strList,
    args: strList,
    env: mergeList(ref(`${CORE}EnvVar`), 'name'),
    ports: { ...mergeList(ref(`${CORE}ContainerPort`), 'containerPort'), 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['containerPort', 'protocol'] },
    volumeMounts: mergeList(ref(`${CORE}VolumeMount`), 'mountPath'),
    resources: ref(`${CORE}ResourceRequirements`),
  }),
  [`${CORE}EnvVar`]: struct({ name: str, value: str, valueFrom: ref(`${CORE}EnvVarSource`) }),
  [`${CORE}EnvVarSource`]: struct({ fieldRef: { type: 'object', properties: { fieldPath: str } } as PropertySchema }),
  [`${CORE}ContainerPort`]: struct({ containerPort: int, name: str, protocol: str }),
  [`${CORE}VolumeMount`]: struct({ mountPath: str, name: str, readOnly: { type: 'boolean' } }),
  [`${CORE}ResourceRequirements`]: struct({
    limits: { type: 'object', additionalProperties: ref('io.k8s.apimachinery.pkg.api.resource.Quantity') },
    requests: { type: 'object', additionalProperties: ref('io.k8s.apimachinery.pkg.api.resource.Quantity') },
  }),
  [`${CORE}Volume`]: struct({ name: str, emptyDir: ref(`${CORE}EmptyDirVolumeSource`), configMap: ref(`${CORE}ConfigMapVolumeSource`) }),
  [`${CORE}EmptyDirVolumeSource`]: struct({ medium: str, sizeLimit: ref('io.k8s.apimachinery.pkg.api.resource.Quantity') }),
  [`${CORE}ConfigMapVolumeSource`]: struct({ name: str, defaultMode: int }),
  [`${CORE}Toleration`]: struct({ key: str, operator: str, value: str, effect: str }),
  [`${CORE}LocalObjectReference`]: struct({ name: str }),
  [`${APPS}Deployment`]: struct({ apiVersion: str, kind: str, metadata: ref(`${META}ObjectMeta`), spec: ref(`${APPS}DeploymentSpec`) }),
  [`${APPS}DeploymentSpec`]: struct({
    replicas: int,
    selector: ref(`${META}LabelSelector`),
    template: ref(`${CORE}PodTemplateSpec`),
    strategy: { ...ref(`${APPS}DeploymentStrategy`), 'x-kubernetes-patch-strategy': 'retainKeys' },
  }),
  [`${APPS}DeploymentStrategy`]: struct({ type: str, rollingUpdate: ref(`${APPS}RollingUpdateDeployment`) }),
  [`${APPS}RollingUpdateDeployment`]: struct({ maxSurge: ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString'), maxUnavailable: ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString') }),
  'io.example.v1.Widget': struct({ metadata: ref(`${META}ObjectMeta`), spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }),
};
const schema = definitionsLookup(definitions);

const POD = `${CORE}Pod`;
const DEPLOYMENT = `${APPS}Deployment`;

const pod = (spec: Obj, metadata: Obj = { name: 'web' }): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });
const containers = (...cs: Obj[]): Obj => pod({ containers: cs });
const deployment = (spec: Obj): Obj => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec });
const names = (list: unknown): unknown[] => (list as Obj[]).map((c) => c.name);

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

interface Case {
  name: string;
  type?: string;
  original: Obj;
  patch: Obj;
  want: Obj | ((got: Obj) => void);
}

const cases: Case[] = [
  // ---- maps and scalars
  {
    name: 'labels merge key by key: one added, one changed, the rest kept',
    original: pod({}, { name: 'web', labels: { app: 'web', tier: 'fe', team: 'a' } }),
    patch: { metadata: { labels: { tier: 'frontend', env: 'prod' } } },
    want: pod({}, { name: 'web', labels: { app: 'web', tier: 'frontend', team: 'a', env: 'prod' } }),
  },
  {
    name: 'null removes a label; null for a key that is not there is a no-op',
    original: pod({}, { name: 'web', labels: { app: 'web', tier: 'fe' } }),
    patch: { metadata: { labels: { tier: null, ghost: null } } },
    want: pod({}, { name: 'web', labels: { app: 'web' } }),
  },
  {
    name: 'annotations are created when the object has none (kubectl annotate)',
    original: pod({}),
    patch: { metadata: { annotations: { 'example.com/owner': 'team-a' } } },
    want: pod({}, { name: 'web', annotations: { 'example.com/owner': 'team-a' } }),
  },
  {
    name: 'nodeSelector (additionalProperties) merges by key',
    original: pod({ nodeSelector: { disk: 'ssd', zone: 'a' } }),
    patch: { spec: { nodeSelector: { zone: 'b', gpu: 'true' } } },
    want: pod({ nodeSelector: { disk: 'ssd', zone: 'b', gpu: 'true' } }),
  },
  {
    name: 'scalars are replaced (kubectl scale sends spec.replicas)',
    type: DEPLOYMENT,
    original: deployment({ replicas: 1, selector: { matchLabels: { app: 'web' } } }),
    patch: { spec: { replicas: 5 } },
    want: deployment({ replicas: 5, selector: { matchLabels: { app: 'web' } } }),
  },
  {
    name: 'null removes a whole struct field',
    type: DEPLOYMENT,
    original: deployment({ replicas: 1, strategy: { type: 'Recreate' } }),
    patch: { spec: { strategy: null } },
    want: deployment({ replicas: 1 }),
  },
  {
    name: '$patch: replace on a map drops the keys it does not list',
    original: pod({}, { name: 'web', labels: { app: 'web', tier: 'fe' } }),
    patch: { metadata: { labels: { $patch: 'replace', app: 'api' } } },
    want: pod({}, { name: 'web', labels: { app: 'api' } }),
  },
  {
    name: '$patch: delete on a map removes it',
    type: DEPLOYMENT,
    original: deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } }),
    patch: { spec: { strategy: { rollingUpdate: { $patch: 'delete' } } } },
    want: deployment({ strategy: { type: 'RollingUpdate' } }),
  },
  {
    name: '$patch: merge is the default behaviour',
    original: pod({}, { name: 'web', labels: { app: 'web' } }),
    patch: { metadata: { labels: { $patch: 'merge', tier: 'fe' } } },
    want: pod({}, { name: 'web', labels: { app: 'web', tier: 'fe' } }),
  },
  {
    name: 'an empty patch changes nothing',
    original: containers({ name: 'app', image: 'nginx:1.25' }),
    patch: {},
    want: containers({ name: 'app', image: 'nginx:1.25' }),
  },
  {
    name: 'nulls inside a newly added object are dropped',
    original: pod({}),
    patch: { metadata: { labels: { app: 'web', gone: null } } },
    want: pod({}, { name: 'web', labels: { app: 'web' } }),
  },

  // ---- lists of maps merged by key
  {
    name: 'containers merge by name: the image changes, everything else stays',
    original: containers({ name: 'app', image: 'nginx:1.25', args: ['-g', 'daemon off;'] }, { name: 'log', image: 'busybox' }),
    patch: { spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
    want: containers({ name: 'app', image: 'nginx:1.27', args: ['-g', 'daemon off;'] }, { name: 'log', image: 'busybox' }),
  },
  {
    // As in the kubectl patch task page: the patch names no existing element, so upstream puts
    // the new container (patch-demo-ctr-2) in front of the live one.
    name: 'a container with a new name is added, ahead of the untouched ones',
    original: containers({ name: 'patch-demo-ctr', image: 'nginx' }),
    patch: { spec: { containers: [{ name: 'patch-demo-ctr-2', image: 'redis' }] } },
    want: containers({ name: 'patch-demo-ctr-2', image: 'redis' }, { name: 'patch-demo-ctr', image: 'nginx' }),
  },
  {
    name: '$patch: delete removes the container with that name',
    original: containers({ name: 'nginx', image: 'nginx-1.0' }, { name: 'log-tailer', image: 'log-tailer-1.0' }),
    patch: { spec: { containers: [{ name: 'log-tailer', $patch: 'delete' }] } },
    want: containers({ name: 'nginx', image: 'nginx-1.0' }),
  },
  {
    name: '$patch: delete removes every element with that key, duplicates included',
    original: containers({ name: 'a' }, { name: 'b', image: 'x' }, { name: 'a', image: 'dup' }),
    patch: { spec: { containers: [{ name: 'a', $patch: 'delete' }] } },
    want: containers({ name: 'b', image: 'x' }),
  },
  {
    name: 'a {$patch: replace} element makes the list replace instead of merge',
    original: containers({ name: 'nginx', image: 'nginx-1.0' }, { name: 'log', image: 'busybox' }),
    patch: { spec: { containers: [{ name: 'nginx', image: 'nginx-2.0' }, { $patch: 'replace' }] } },
    want: containers({ name: 'nginx', image: 'nginx-2.0' }),
  },
  {
    name: 'order: untouched elements keep their place, new ones follow the patched ones',
    original: containers({ name: 'a' }, { name: 'b' }, { name: 'c' }),
    patch: { spec: { containers: [{ name: 'b', image: 'x' }, { name: 'd' }] } },
    want: containers({ name: 'a' }, { name: 'b', image: 'x' }, { name: 'd' }, { name: 'c' }),
  },
  {
    name: 'order: the patch order wins over the live order for the elements it names',
    original: containers({ name: 'B' }, { name: 'C' }, { name: 'A' }),
    patch: { spec: { containers: [{ name: 'A', image: "A'" }, { name: 'B', image: "B'" }, { name: 'D' }] } },
    want: containers({ name: 'C' }, { name: 'A', image: "A'" }, { name: 'B', image: "B'" }, { name: 'D' }),
  },
  {
    name: 'nested lists: a port is added to one container (containers[].ports[] by containerPort)',
    original: containers({ name: 'app', ports: [{ containerPort: 80, name: 'http' }] }, { name: 'side', ports: [{ containerPort: 9090 }] }),
    patch: { spec: { containers: [{ name: 'app', ports: [{ containerPort: 443, name: 'https' }] }] } },
    want: containers({ name: 'app', ports: [{ containerPort: 443, name: 'https' }, { containerPort: 80, name: 'http' }] }, { name: 'side', ports: [{ containerPort: 9090 }] }),
  },
  {
    name: 'nested lists: a port is changed and another deleted',
    original: containers({ name: 'app', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 8080, name: 'alt' }] }),
    patch: { spec: { containers: [{ name: 'app', ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 8080, $patch: 'delete' }] }] } },
    want: containers({ name: 'app', ports: [{ containerPort: 80, name: 'http', protocol: 'TCP' }] }),
  },
  {
    name: 'env merges by name; null turns a valueFrom variable into a plain value',
    original: containers({ name: 'app', env: [{ name: 'MODE', value: 'dev' }, { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }),
    patch: { spec: { containers: [{ name: 'app', env: [{ name: 'MODE', value: 'prod' }, { name: 'POD', value: 'fixed', valueFrom: null }] }] } },
    want: containers({ name: 'app', env: [{ name: 'MODE', value: 'prod' }, { name: 'POD', value: 'fixed' }] }),
  },
  {
    name: 'volumeMounts merge by mountPath',
    original: containers({ name: 'app', volumeMounts: [{ mountPath: '/data', name: 'data' }] }),
    patch: { spec: { containers: [{ name: 'app', volumeMounts: [{ mountPath: '/data', readOnly: true }, { mountPath: '/cfg', name: 'cfg' }] }] } },
    want: containers({ name: 'app', volumeMounts: [{ mountPath: '/data', name: 'data', readOnly: true }, { mountPath: '/cfg', name: 'cfg' }] }),
  },
  {
    name: 'volumes merge by name and one is deleted',
    original: pod({ volumes: [{ name: 'data', emptyDir: {} }, { name: 'tmp', emptyDir: { medium: 'Memory' } }] }),
    patch: { spec: { volumes: [{ name: 'tmp', $patch: 'delete' }, { name: 'cfg', configMap: { name: 'settings' } }] } },
    want: pod({ volumes: [{ name: 'cfg', configMap: { name: 'settings' } }, { name: 'data', emptyDir: {} }] }),
  },
  {
    name: 'resources limits (a map of quantities inside a container) merge',
    original: containers({ name: 'app', resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m' } } }),
    patch: { spec: { containers: [{ name: 'app', resources: { limits: { cpu: '1' }, requests: null } }] } },
    want: containers({ name: 'app', resources: { limits: { cpu: '1', memory: '128Mi' } } }),
  },
  {
    name: 'ownerReferences merge by uid',
    original: pod({}, { name: 'web', ownerReferences: [{ kind: 'ReplicaSet', name: 'rs-1', uid: 'u1', controller: true }] }),
    patch: { metadata: { ownerReferences: [{ uid: 'u2', kind: 'Node', name: 'n1' }] } },
    want: pod({}, { name: 'web', ownerReferences: [{ uid: 'u2', kind: 'Node', name: 'n1' }, { kind: 'ReplicaSet', name: 'rs-1', uid: 'u1', controller: true }] }),
  },

  // ---- lists without a merge strategy are replaced
  {
    name: 'args (no patch strategy) are replaced wholesale',
    original: containers({ name: 'app', args: ['--port', '80', '--verbose'] }),
    patch: { spec: { containers: [{ name: 'app', args: ['--port', '8080'] }] } },
    want: containers({ name: 'app', args: ['--port', '8080'] }),
  },
  {
    name: 'tolerations (list of maps, no strategy) are replaced wholesale',
    original: pod({ tolerations: [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'Exists' }] }),
    patch: { spec: { tolerations: [{ key: 'c', operator: 'Equal', value: 'x' }] } },
    want: pod({ tolerations: [{ key: 'c', operator: 'Equal', value: 'x' }] }),
  },
  {
    name: 'an empty list replaces a list without strategy',
    original: containers({ name: 'app', command: ['sh', '-c', 'sleep 1'] }),
    patch: { spec: { containers: [{ name: 'app', command: [] }] } },
    want: containers({ name: 'app', command: [] }),
  },

  // ---- lists of primitives with merge strategy: sets
  {
    name: 'finalizers (merge strategy) are unioned: originals first, new values appended',
    original: pod({}, { name: 'web', finalizers: ['a', 'b'] }),
    patch: { metadata: { finalizers: ['b', 'c'] } },
    want: pod({}, { name: 'web', finalizers: ['a', 'b', 'c'] }),
  },
  {
    name: 'duplicates in the patch are collapsed',
    original: pod({}, { name: 'web', finalizers: ['a'] }),
    patch: { metadata: { finalizers: ['c', 'c', 'a'] } },
    want: pod({}, { name: 'web', finalizers: ['c', 'a'] }),
  },
  {
    name: 'the patch order applies to the values it names',
    original: pod({}, { name: 'web', finalizers: ['a', 'b', 'c'] }),
    patch: { metadata: { finalizers: ['c', 'a'] } },
    want: pod({}, { name: 'web', finalizers: ['b', 'c', 'a'] }),
  },
  {
    name: '$deleteFromPrimitiveList removes values from a set',
    original: pod({}, { name: 'web', finalizers: ['a', 'b', 'c'] }),
    patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['b', 'c', 'zzz'] } },
    want: pod({}, { name: 'web', finalizers: ['a'] }),
  },
  {
    name: '$deleteFromPrimitiveList on a missing list does not create it',
    original: pod({}),
    patch: { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
    want: pod({}),
  },
  {
    name: '$deleteFromPrimitiveList also works on a list without merge strategy',
    original: containers({ name: 'app', command: ['run', '--debug', '--fast'] }),
    patch: { spec: { containers: [{ name: 'app', '$deleteFromPrimitiveList/command': ['--debug'] }] } },
    want: containers({ name: 'app', command: ['run', '--fast'] }),
  },
  {
    name: 'values are added and removed in one patch',
    original: pod({}, { name: 'web', finalizers: ['a', 'b'] }),
    patch: { metadata: { finalizers: ['c'], '$deleteFromPrimitiveList/finalizers': ['a'] } },
    want: pod({}, { name: 'web', finalizers: ['c', 'b'] }),
  },

  // ---- $setElementOrder
  {
    name: '$setElementOrder alone reorders a primitive list',
    original: pod({}, { name: 'web', finalizers: ['a', 'b', 'c'] }),
    patch: { metadata: { '$setElementOrder/finalizers': ['b', 'c', 'a'] } },
    want: pod({}, { name: 'web', finalizers: ['b', 'c', 'a'] }),
  },
  {
    name: '$setElementOrder alone reorders containers by merge key',
    original: containers({ name: 'a', image: '1' }, { name: 'b', image: '2' }, { name: 'c', image: '3' }),
    patch: { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }, { name: 'b' }] } },
    want: containers({ name: 'c', image: '3' }, { name: 'a', image: '1' }, { name: 'b', image: '2' }),
  },
  {
    name: '$setElementOrder entries that are not in the list are ignored',
    original: containers({ name: '1' }, { name: '3' }),
    patch: { spec: { '$setElementOrder/containers': [{ name: '3' }, { name: '2' }, { name: '1' }], containers: [{ name: '3', image: 'x' }, { name: '1', image: 'y' }] } },
    want: containers({ name: '3', image: 'x' }, { name: '1', image: 'y' }),
  },
  {
    name: '$setElementOrder for a list the object does not have yet',
    original: pod({ containers: [{ name: 'app' }] }),
    patch: { spec: { '$setElementOrder/initContainers': [{ name: 'b' }, { name: 'a' }], initContainers: [{ name: 'b', image: 'x' }, { name: 'a', image: 'y' }] } },
    want: pod({ containers: [{ name: 'app' }], initContainers: [{ name: 'b', image: 'x' }, { name: 'a', image: 'y' }] }),
  },
  {
    name: 'kubectl apply, env (design doc): server-added variables are kept, interleaved by their live position',
    original: containers({
      name: 'app',
      env: [
        { name: 'ENV2', value: 'bar' },
        { name: 'ENV5', value: 'server-added-2' },
        { name: 'ENV1', value: 'foo' },
        { name: 'ENV3', value: 'baz' },
        { name: 'ENV4', value: 'server-added-1' },
      ],
    }),
    patch: {
      spec: {
        containers: [
          {
            name: 'app',
            '$setElementOrder/env': [{ name: 'ENV1' }, { name: 'ENV2' }, { name: 'ENV6' }],
            env: [{ name: 'ENV3', $patch: 'delete' }, { name: 'ENV6', value: 'new-env' }],
          },
        ],
      },
    },
    want: containers({
      name: 'app',
      env: [
        { name: 'ENV5', value: 'server-added-2' },
        { name: 'ENV1', value: 'foo' },
        { name: 'ENV2', value: 'bar' },
        { name: 'ENV6', value: 'new-env' },
        { name: 'ENV4', value: 'server-added-1' },
      ],
    }),
  },
  {
    name: 'kubectl apply, finalizers (design doc): add f, delete c, keep server-added e and d',
    original: pod({}, { name: 'web', finalizers: ['b', 'e', 'a', 'c', 'd'] }),
    patch: { metadata: { '$setElementOrder/finalizers': ['a', 'b', 'f'], '$deleteFromPrimitiveList/finalizers': ['c'], finalizers: ['f'] } },
    want: pod({}, { name: 'web', finalizers: ['e', 'a', 'b', 'f', 'd'] }),
  },
  {
    name: 'kubectl apply: a deleted element may be named in $setElementOrder',
    original: containers({ name: 'hello2' }),
    patch: { spec: { '$setElementOrder/containers': [{ name: 'hello' }, { name: 'gone' }], containers: [{ name: 'hello' }, { name: 'gone', $patch: 'delete' }] } },
    want: containers({ name: 'hello' }, { name: 'hello2' }),
  },

  // ---- $retainKeys
  {
    name: '$retainKeys: Deployment strategy RollingUpdate → Recreate clears rollingUpdate',
    type: DEPLOYMENT,
    original: deployment({ replicas: 2, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } }),
    patch: { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
    want: deployment({ replicas: 2, strategy: { type: 'Recreate' } }),
  },
  {
    name: '$retainKeys: Recreate → RollingUpdate keeps and merges the listed keys',
    type: DEPLOYMENT,
    original: deployment({ strategy: { type: 'Recreate' } }),
    patch: { spec: { strategy: { $retainKeys: ['rollingUpdate', 'type'], type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
    want: deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } }),
  },
  {
    name: '$retainKeys inside a volume (merge,retainKeys): emptyDir → configMap',
    original: pod({ volumes: [{ name: 'data', emptyDir: {} }, { name: 'other', emptyDir: {} }] }),
    patch: { spec: { volumes: [{ name: 'data', $retainKeys: ['configMap', 'name'], configMap: { name: 'settings' } }] } },
    want: pod({ volumes: [{ name: 'data', configMap: { name: 'settings' } }, { name: 'other', emptyDir: {} }] }),
  },
  {
    name: '$retainKeys allows null deletions of keys it does not list',
    type: DEPLOYMENT,
    original: deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } }),
    patch: { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } } },
    want: deployment({ strategy: { type: 'Recreate' } }),
  },

  // ---- fields the schema does not describe: JSON merge patch
  {
    name: 'preserve-unknown-fields: maps merge, null deletes, lists are replaced',
    type: 'io.example.v1.Widget',
    original: { metadata: { name: 'w' }, spec: { size: 1, tags: ['a', 'b'], nested: { x: 1, y: 2 } } },
    patch: { spec: { tags: ['c'], nested: { y: null, z: 3 }, color: 'red' } },
    want: { metadata: { name: 'w' }, spec: { size: 1, tags: ['c'], nested: { x: 1, z: 3 }, color: 'red' } },
  },
  {
    name: 'a type missing from the schema behaves like JSON merge patch',
    type: 'io.example.v1.Missing',
    original: { spec: { items: [{ name: 'a', v: 1 }], keep: true } },
    patch: { spec: { items: [{ name: 'b' }] } },
    want: { spec: { items: [{ name: 'b' }], keep: true } },
  },
  {
    name: 'a field unknown to a known type is merged like JSON merge patch',
    original: pod({ containers: [{ name: 'app' }], extra: { a: 1, list: [1, 2] } }),
    patch: { spec: { extra: { b: 2, list: [3] } } },
    want: pod({ containers: [{ name: 'app' }], extra: { a: 1, b: 2, list: [3] } }),
  },
  {
    name: 'a value of another type replaces the old one',
    type: 'io.example.v1.Widget',
    original: { spec: { value: 'text', other: { a: 1 } } },
    patch: { spec: { value: { structured: true }, other: [1, 2] } },
    want: { spec: { value: { structured: true }, other: [1, 2] } },
  },

  // ---- realistic kubectl apply (three-way) patch
  {
    name: 'kubectl apply on a Deployment: image bump, env and port changes, label removed, sidecar kept',
    type: DEPLOYMENT,
    original: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        labels: { app: 'web', tier: 'fe' },
        annotations: { 'deployment.kubernetes.io/revision': '3', 'kubectl.kubernetes.io/last-applied-configuration': '{"old":true}' },
      },
      spec: {
        replicas: 3,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              { name: 'web', image: 'web:1', env: [{ name: 'A', value: 'a' }, { name: 'B', value: 'b' }], ports: [{ containerPort: 80, protocol: 'TCP' }] },
              { name: 'istio-proxy', image: 'proxy:1.20' },
            ],
          },
        },
      },
    },
    patch: {
      metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"new":true}' }, labels: { tier: null } },
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'web' }],
            containers: [
              {
                name: 'web',
                image: 'web:2',
                '$setElementOrder/env': [{ name: 'A' }, { name: 'C' }],
                env: [{ name: 'C', value: 'c' }, { name: 'B', $patch: 'delete' }],
                '$setElementOrder/ports': [{ containerPort: 80 }, { containerPort: 443 }],
                ports: [{ containerPort: 443, protocol: 'TCP' }],
              },
            ],
          },
        },
      },
    },
    want: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        labels: { app: 'web' },
        annotations: { 'deployment.kubernetes.io/revision': '3', 'kubectl.kubernetes.io/last-applied-configuration': '{"new":true}' },
      },
      spec: {
        replicas: 3,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'web:2',
                env: [{ name: 'A', value: 'a' }, { name: 'C', value: 'c' }],
                ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443, protocol: 'TCP' }],
              },
              { name: 'istio-proxy', image: 'proxy:1.20' },
            ],
          },
        },
      },
    },
  },
  {
    name: 'kubectl apply on a Pod: a container removed from the config, the remaining one reordered',
    original: containers({ name: 'a', image: 'a' }, { name: 'b', image: 'b' }, { name: 'c', image: 'c' }),
    patch: { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }], containers: [{ name: 'b', $patch: 'delete' }] } },
    want: (got) => expect(names((got.spec as Obj).containers)).toEqual(['c', 'a']),
  },
  {
    name: 'kubectl edit sends the whole changed subtree: nested merges and deletions together',
    original: pod({ restartPolicy: 'Always', containers: [{ name: 'app', image: 'x', args: ['a'], env: [{ name: 'K', value: 'v' }] }], nodeSelector: { zone: 'a' } }),
    patch: { spec: { restartPolicy: 'Never', nodeSelector: null, containers: [{ name: 'app', args: ['b'], env: [{ name: 'K', value: 'w' }] }] } },
    want: pod({ restartPolicy: 'Never', containers: [{ name: 'app', image: 'x', args: ['b'], env: [{ name: 'K', value: 'w' }] }] }),
  },
];

function apply(c: Pick<Case, 'type' | 'original' | 'patch'>, original: unknown = c.original): Obj {
  return applyStrategicMergePatch(original, c.patch, schema, c.type ?? POD) as Obj;
}

describe('applyStrategicMergePatch', () => {
  it('has a table of at least 40 cases', () => expect(cases.length + errorCases.length).toBeGreaterThanOrEqual(40));

  describe.each(cases)('$name', (c) => {
    it('gives the documented result', () => {
      const got = apply(c);
      if (typeof c.want === 'function') c.want(got);
      else expect(got).toEqual(c.want);
    });

    it('is idempotent and does not modify its inputs', () => {
      const original = structuredClone(c.original);
      const patch = structuredClone(c.patch);
      const frozen = { ...c, original: deepFreeze(structuredClone(c.original)), patch: deepFreeze(structuredClone(c.patch)) };
      const once = apply(frozen);
      expect(apply(frozen, once)).toEqual(once);
      expect(frozen.original).toEqual(original);
      expect(frozen.patch).toEqual(patch);
      expect(once).not.toBe(frozen.original);
    });
  });

  it('returns a fresh object that shares nothing with the inputs', () => {
    const original = containers({ name: 'app', image: 'a', env: [{ name: 'K', value: 'v' }] });
    const patch = { spec: { containers: [{ name: 'new', env: [{ name: 'X', value: 'y' }] }] } };
    const got = apply({ original, patch });
    ((got.spec as Obj).containers as Obj[])[0].image = 'changed';
    (((got.spec as Obj).containers as Obj[])[1].env as Obj[])[0].value = 'changed';
    expect(((original.spec as Obj).containers as Obj[])[0].image).toBe('a');
    expect(patch.spec.containers[0].env[0].value).toBe('y');
  });

  it('treats a top-level $patch: delete as an empty object', () => {
    expect(apply({ original: pod({}), patch: { $patch: 'delete' } })).toEqual({});
  });
});

interface ErrorCase {
  name: string;
  type?: string;
  original: Obj;
  patch: unknown;
  code: number;
  reason: string;
  message: string | RegExp;
}

const errorCases: ErrorCase[] = [
  {
    name: 'a container without its merge key',
    original: containers({ name: 'app' }),
    patch: { spec: { containers: [{ image: 'nginx:1.27' }] } },
    code: 422,
    reason: 'Invalid',
    message: 'map: map[image:nginx:1.27] does not contain declared merge key: name',
  },
  {
    name: 'a $patch: delete element without its merge key',
    original: containers({ name: 'app' }),
    patch: { spec: { containers: [{ $patch: 'delete', image: 'x' }] } },
    code: 422,
    reason: 'Invalid',
    message: 'map: map[$patch:delete image:x] does not contain declared merge key: name',
  },
  {
    name: 'a nested port without containerPort',
    original: containers({ name: 'app', ports: [{ containerPort: 80 }] }),
    patch: { spec: { containers: [{ name: 'app', ports: [{ name: 'http' }] }] } },
    code: 422,
    reason: 'Invalid',
    message: /does not contain declared merge key: containerPort$/,
  },
  {
    name: 'an unknown $patch value on a map',
    original: pod({}),
    patch: { metadata: { labels: { $patch: 'remove' } } },
    code: 400,
    reason: 'BadRequest',
    message: 'unknown patch type: remove in map: map[$patch:remove]',
  },
  {
    name: 'an unknown $patch value in a list',
    original: containers({ name: 'app' }),
    patch: { spec: { containers: [{ name: 'app', $patch: 'drop' }] } },
    code: 400,
    reason: 'BadRequest',
    message: /^unknown patch type: drop/,
  },
  {
    name: 'a $setElementOrder list that contradicts the patch list',
    original: containers({ name: '1' }, { name: '2' }, { name: '3' }),
    patch: { spec: { '$setElementOrder/containers': [{ name: '1' }, { name: '2' }, { name: '3' }], containers: [{ name: '3' }, { name: '1' }] } },
    code: 400,
    reason: 'BadRequest',
    message: /doesn't match \$setElementOrder list/,
  },
  {
    name: 'a $setElementOrder that is not a list',
    original: pod({}, { name: 'web', finalizers: ['a'] }),
    patch: { metadata: { '$setElementOrder/finalizers': 'a' } },
    code: 400,
    reason: 'BadRequest',
    message: 'invalid patch format of setElementOrder list',
  },
  {
    name: 'a $setElementOrder entry without the merge key',
    original: containers({ name: 'a' }),
    patch: { spec: { '$setElementOrder/containers': [{ image: 'a' }] } },
    code: 422,
    reason: 'Invalid',
    message: 'map: map[image:a] does not contain declared merge key: name',
  },
  {
    name: 'a $retainKeys that is not a list',
    type: DEPLOYMENT,
    original: deployment({ strategy: { type: 'Recreate' } }),
    patch: { spec: { strategy: { $retainKeys: 'type' } } },
    code: 400,
    reason: 'BadRequest',
    message: 'invalid patch format of retainKeys',
  },
  {
    name: 'a patch key missing from $retainKeys',
    type: DEPLOYMENT,
    original: deployment({ strategy: { type: 'Recreate' } }),
    patch: { spec: { strategy: { $retainKeys: ['type'], type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
    code: 422,
    reason: 'Invalid',
    message: "patch content doesn't match retainKeys list",
  },
  {
    name: 'a $deleteFromPrimitiveList that is not a list',
    original: pod({}, { name: 'web', finalizers: ['a'] }),
    patch: { metadata: { '$deleteFromPrimitiveList/finalizers': 'a' } },
    code: 400,
    reason: 'BadRequest',
    message: 'invalid patch format of primitive list',
  },
  {
    name: 'a list of lists in a merging list',
    original: pod({}, { name: 'web', finalizers: ['a'] }),
    patch: { metadata: { finalizers: [['b']] } },
    code: 422,
    reason: 'Invalid',
    message: 'lists of lists are not supported',
  },
  {
    name: 'maps mixed with strings in a merging list',
    original: pod({}, { name: 'web', finalizers: ['a'] }),
    patch: { metadata: { finalizers: [{ name: 'b' }] } },
    code: 422,
    reason: 'Invalid',
    message: /^list element types are not identical/,
  },
  {
    name: 'a patch that is not an object',
    original: pod({}),
    patch: [{ op: 'add' }],
    code: 400,
    reason: 'BadRequest',
    message: /must be a JSON object/,
  },
];

describe('applyStrategicMergePatch errors', () => {
  it.each(errorCases)('$name → $code', (c) => {
    let err: unknown;
    try {
      applyStrategicMergePatch(c.original, c.patch, schema, c.type ?? POD);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StatusError);
    const se = err as StatusError;
    expect(se.code).toBe(c.code);
    expect(se.reason).toBe(c.reason);
    if (typeof c.message === 'string') expect(se.message).toBe(c.message);
    else expect(se.message).toMatch(c.message);
  });
});

const realDefinitions = new URL('../../../openapi/definitions.json', import.meta.url);

describe.skipIf(!existsSync(fileURLToPath(realDefinitions)))('against openapi/definitions.json', () => {
  const real = loadDefinitions(realDefinitions);

  it('knows the patch metadata of PodSpec.containers and DeploymentSpec.strategy', () => {
    const podSpec = real.definition('io.k8s.api.core.v1.PodSpec');
    expect(podSpec?.properties?.containers?.['x-kubernetes-patch-merge-key']).toBe('name');
    expect(podSpec?.properties?.containers?.['x-kubernetes-patch-strategy']).toBe('merge');
    expect(real.definition('io.k8s.api.apps.v1.DeploymentSpec')?.properties?.strategy?.['x-kubernetes-patch-strategy']).toBe('retainKeys');
  });

  it('merges containers, ports and env of a Pod', () => {
    const original = pod({ containers: [{ name: 'app', image: 'a', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }] }, { name: 'side', image: 's' }] });
    const patch = { metadata: { labels: { x: 'y' } }, spec: { containers: [{ name: 'app', image: 'b', ports: [{ containerPort: 443 }], env: [{ name: 'A', value: '2' }] }] } };
    expect(applyStrategicMergePatch(original, patch, real, POD)).toEqual(
      pod(
        { containers: [{ name: 'app', image: 'b', ports: [{ containerPort: 443 }, { containerPort: 80 }], env: [{ name: 'A', value: '2' }] }, { name: 'side', image: 's' }] },
        { name: 'web', labels: { x: 'y' } },
      ),
    );
  });

  it('switches a Deployment to Recreate with $retainKeys', () => {
    const original = deployment({ replicas: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } });
    const patch = { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } };
    expect(applyStrategicMergePatch(original, patch, real, DEPLOYMENT)).toEqual(deployment({ replicas: 1, strategy: { type: 'Recreate' } }));
  });

  it('unions finalizers and replaces args', () => {
    const original = pod({ containers: [{ name: 'app', args: ['a', 'b'] }] }, { name: 'web', finalizers: ['f1'] });
    const patch = { metadata: { finalizers: ['f1', 'f2'] }, spec: { containers: [{ name: 'app', args: ['c'] }] } };
    expect(applyStrategicMergePatch(original, patch, real, POD)).toEqual(pod({ containers: [{ name: 'app', args: ['c'] }] }, { name: 'web', finalizers: ['f1', 'f2'] }));
  });
});
