// hack/update-protobuf [--out DIR]: regenerates openapi/protobuf.json, the wire table that
// src/api/protobuf.ts uses to decode Kubernetes protobuf request bodies into JSON.
// Source: the gzipped FileDescriptorProtos of k8s.io/api and k8s.io/apimachinery that gogo-protobuf
// registers inside the stock kubectl binary (.cache/clients/kubectl, $K8TS_KUBECTL overrides),
// kept for the group-versions in openapi/resources.json plus the apimachinery packages they use.
// Zero-value handling comes from ../shared/reference ($K8TS_REFERENCE_DIR): schema/builtin-types.yaml
// (`default:` marks a non-pointer Go field) and the swagger `required` lists.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { constants, inflateRawSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { readFields, type FieldSpec, type MessageSpec, type SpecialJson } from '../src/api/protobuf.ts';
import { referenceDir } from './openapi/reference.ts';

const repoRoot = dirname(import.meta.dirname);
const args = process.argv.slice(2);
if (!(args.length === 0 || (args.length === 2 && args[0] === '--out' && args[1]))) {
  console.error('usage: hack/update-protobuf [--out DIR]');
  process.exit(2);
}
const outDir = args.length === 2 ? resolve(args[1]) : join(repoRoot, 'openapi');
const refDir = referenceDir(repoRoot);
const SMD_FILE = join(refDir, 'schema/builtin-types.yaml');
const SWAGGER_FILE = join(refDir, 'openapi-v2/swagger-v1.33.json');
if (!existsSync(SMD_FILE) || !existsSync(SWAGGER_FILE)) {
  console.error(`reference data not found in ${refDir} (need schema/builtin-types.yaml and openapi-v2/swagger-v1.33.json; set K8TS_REFERENCE_DIR)`);
  process.exit(2);
}
const kubectlPath = resolve(process.env.K8TS_KUBECTL ?? join(repoRoot, '.cache/clients/kubectl'));
if (!existsSync(kubectlPath)) {
  console.error(`kubectl binary not found at ${kubectlPath} (run hack/setup-clients or set K8TS_KUBECTL)`);
  process.exit(2);
}

// ---- descriptors out of the kubectl binary ----

interface ProtoField { name: string; no: number; label: number; type: number; typeName: string }
interface ProtoMessage { name: string; fields: ProtoField[]; mapEntry: boolean }
const str = (b: Buffer): string => b.toString('utf8');

function parseMessage(buf: Buffer, scope: string, out: Map<string, ProtoMessage>): void {
  const msg: ProtoMessage = { name: '', fields: [], mapEntry: false };
  const nested: Buffer[] = [];
  for (const f of readFields(buf)) {
    if (f.no === 1) msg.name = `${scope}.${str(f.bytes)}`;
    else if (f.no === 3) nested.push(f.bytes);
    else if (f.no === 7) msg.mapEntry = readFields(f.bytes).some((o) => o.no === 7 && o.varint !== 0n);
    else if (f.no === 2) {
      const fd: ProtoField = { name: '', no: 0, label: 1, type: 0, typeName: '' };
      for (const x of readFields(f.bytes)) {
        if (x.no === 1) fd.name = str(x.bytes);
        else if (x.no === 3) fd.no = Number(x.varint);
        else if (x.no === 4) fd.label = Number(x.varint);
        else if (x.no === 5) fd.type = Number(x.varint);
        else if (x.no === 6) fd.typeName = str(x.bytes).replace(/^\./, '');
      }
      msg.fields.push(fd);
    }
  }
  for (const n of nested) parseMessage(n, msg.name, out);
  out.set(msg.name, msg);
}

/** file name → [package, its messages], for every k8s.io generated.proto embedded in the binary. */
function extractDescriptors(binary: Buffer): Map<string, [string, Map<string, ProtoMessage>]> {
  const files = new Map<string, [string, Map<string, ProtoMessage>]>();
  const magic = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0]); // gzip, deflate, no flags, no mtime
  for (let i = binary.indexOf(magic); i >= 0; i = binary.indexOf(magic, i + 1)) {
    try {
      const fd = inflateRawSync(binary.subarray(i + 10, i + 10 + (2 << 20)), { finishFlush: constants.Z_SYNC_FLUSH });
      const top = readFields(fd);
      const name = top.find((f) => f.no === 1 && f.wt === 2);
      if (!name || !/^k8s\.io\/.*\/generated\.proto$/.test(str(name.bytes))) continue;
      const pkg = str(top.find((f) => f.no === 2)?.bytes ?? Buffer.alloc(0));
      const messages = new Map<string, ProtoMessage>();
      for (const f of top) if (f.no === 4) parseMessage(f.bytes, pkg, messages);
      files.set(str(name.bytes), [pkg, messages]);
    } catch {
      continue; // not a descriptor
    }
  }
  return files;
}

// ---- reference facts ----

type Schema = { properties?: Record<string, Schema>; required?: string[]; type?: string; 'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[] };
type SmdField = { name: string; default?: unknown };
const swagger = JSON.parse(readFileSync(SWAGGER_FILE, 'utf8')) as { definitions: Record<string, Schema> };
const definitions: Record<string, Schema> = {
  ...swagger.definitions,
  ...(JSON.parse(readFileSync(join(repoRoot, 'openapi/definitions.json'), 'utf8')) as Record<string, Schema>),
};
const smd = new Map<string, Map<string, SmdField>>();
for (const t of (parseYaml(readFileSync(SMD_FILE, 'utf8')) as { types: { name: string; map?: { fields?: SmdField[] } }[] }).types) {
  smd.set(t.name, new Map((t.map?.fields ?? []).map((f) => [f.name, f])));
}
const groups = (JSON.parse(readFileSync(join(repoRoot, 'openapi/resources.json'), 'utf8')) as { groups: { name: string; versions: string[] }[] }).groups;

/** `k8s.io.api.core.v1.Pod` ↔ `io.k8s.api.core.v1.Pod` (`_` in proto packages is `-` in definition names). */
const definitionName = (msg: string): string => `io.k8s.${msg.slice('k8s.io.'.length)}`.replace(/_/g, '-');
const messageName = (def: string): string => `k8s.io.${def.slice('io.k8s.'.length)}`.replace(/-/g, '_');

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';
const APIMACHINERY = [META, 'k8s.io.apimachinery.pkg.runtime', 'k8s.io.apimachinery.pkg.api.resource', 'k8s.io.apimachinery.pkg.util.intstr'];
const SPECIAL: Record<string, SpecialJson> = {
  [`${META}.Time`]: 'time',
  [`${META}.MicroTime`]: 'microtime',
  [`${META}.Duration`]: 'duration',
  [`${META}.FieldsV1`]: 'raw',
  'k8s.io.apimachinery.pkg.runtime.RawExtension': 'raw',
  'k8s.io.apimachinery.pkg.api.resource.Quantity': 'quantity',
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString': 'intstr',
};
/** The wire fields each special message must have (number name type). */
const SPECIAL_SHAPE: Record<SpecialJson, string> = {
  time: '1 seconds int64,2 nanos int32',
  microtime: '1 seconds int64,2 nanos int32',
  duration: '1 duration int64',
  raw: '1 raw bytes',
  quantity: '1 string string',
  intstr: '1 type int64,2 intVal int32,3 strVal string',
  list: '1 items',
};
/**
 * Go pointer scalars that builtin-types.yaml cannot tell apart: fields of types it lacks or
 * describes without `default:` (the apimachinery meta types, autoscaling/v1 Scale, the review
 * kinds), and pointer fields it gives a non-zero `+default` (from k8s.io/api and apimachinery types.go).
 */
const POINTERS = new Set([
  `${META}.ObjectMeta.deletionGracePeriodSeconds`,
  `${META}.ListMeta.remainingItemCount`,
  `${META}.OwnerReference.controller`,
  `${META}.OwnerReference.blockOwnerDeletion`,
  `${META}.DeleteOptions.gracePeriodSeconds`,
  `${META}.DeleteOptions.orphanDependents`,
  `${META}.DeleteOptions.propagationPolicy`,
  `${META}.DeleteOptions.ignoreStoreReadErrorWithClusterBreakingPotential`,
  `${META}.Preconditions.uid`,
  `${META}.Preconditions.resourceVersion`,
  `${META}.ListOptions.timeoutSeconds`,
  `${META}.ListOptions.sendInitialEvents`,
  `${META}.PatchOptions.force`,
  'k8s.io.api.authentication.v1.TokenRequestSpec.expirationSeconds',
  'k8s.io.api.core.v1.ReplicationControllerSpec.replicas',
  'k8s.io.api.core.v1.AzureDiskVolumeSource.cachingMode',
  'k8s.io.api.core.v1.AzureDiskVolumeSource.fsType',
  'k8s.io.api.core.v1.AzureDiskVolumeSource.kind',
]);

const SCALARS: Record<number, string> = {
  1: 'double', 2: 'float', 3: 'int64', 4: 'uint64', 5: 'int32', 6: 'fixed64', 7: 'fixed32', 8: 'bool', 9: 'string',
  12: 'bytes', 13: 'uint32', 14: 'enum', 15: 'sfixed32', 16: 'sfixed64', 17: 'sint32', 18: 'sint64',
};
const ZERO = new Set<unknown>(['', 0, false]);

// ---- the table ----

const problems: string[] = [];
const files = extractDescriptors(readFileSync(kubectlPath));
const all = new Map<string, ProtoMessage>();
const packages = new Set<string>();
for (const [pkg, messages] of files.values()) {
  packages.add(pkg);
  for (const [n, m] of messages) all.set(n, m);
}
const servedPackage = (group: string, version: string): string => `k8s.io.api.${group === '' ? 'core' : group.split('.')[0]}.${version}`;
const keep = new Set(APIMACHINERY);
const absent: string[] = [];
for (const g of groups) {
  for (const v of g.versions) {
    const pkg = servedPackage(g.name, v);
    if (packages.has(pkg)) keep.add(pkg);
    else absent.push(g.name ? `${g.name}/${v}` : v);
  }
}
for (const pkg of APIMACHINERY) if (!packages.has(pkg)) problems.push(`package ${pkg} is not in ${kubectlPath}`);
const kept = [...all.values()].filter((m) => !m.mapEntry && keep.has(m.name.slice(0, m.name.lastIndexOf('.'))));
const keptNames = new Set(kept.map((m) => m.name));

const typeOf = (f: ProtoField, where: string): string => {
  if (f.type === 11) {
    if (!keptNames.has(f.typeName)) problems.push(`${where}: type ${f.typeName} is not kept`);
    return f.typeName;
  }
  const s = SCALARS[f.type];
  if (!s) problems.push(`${where}: unsupported proto type ${f.type}`);
  return s ?? 'unsupported';
};
const jsonFields = (msgName: string): Set<string> => new Set(Object.keys(definitions[definitionName(msgName)]?.properties ?? {}));
/** Whether every field of an embedded struct (and of structs it embeds) is a JSON field of the embedder. */
const covers = (sub: ProtoMessage, props: Set<string>): boolean =>
  sub.fields.every((x) => props.has(x.name) || props.has(x.name.toLowerCase()) || (x.type === 11 && !!all.get(x.typeName) && covers(all.get(x.typeName)!, props)));
const isListWrapper = (m: ProtoMessage): boolean =>
  m.name.startsWith(`${META}.`) || m.name.startsWith('k8s.io.api.')
    ? m.fields.length === 1 && m.fields[0].name === 'items' && m.fields[0].label === 3 && !m.name.endsWith('List') && !definitions[definitionName(m.name)]
    : false;

/** Whether a zero value of this scalar must be dropped: a non-pointer Go field that is not required. */
function omitZero(m: ProtoMessage, f: ProtoField): boolean {
  const def = definitions[definitionName(m.name)];
  if (def?.required?.includes(f.name)) return false;
  if (POINTERS.has(`${m.name}.${f.name}`)) return false;
  const smdType = smd.get(definitionName(m.name));
  const trusted = smdType !== undefined && !m.name.startsWith('k8s.io.apimachinery.') && [...smdType.values()].some((x) => 'default' in x);
  if (!trusted) return true; // not described: Go scalars are non-pointer unless listed in POINTERS
  const sf = smdType.get(f.name);
  if (!sf) {
    problems.push(`${m.name}.${f.name}: not in builtin-types.yaml`);
    return true;
  }
  if (!('default' in sf)) return false; // a pointer: kept whenever it is on the wire
  if (!ZERO.has(sf.default)) return true; // a `+default` marker on a non-pointer (pointer ones are in POINTERS)
  return true;
}

const messages: Record<string, MessageSpec> = {};
let listWrappers = 0;
let inlines = 0;
const renamed: string[] = [];
const undescribed: string[] = [];
for (const m of kept.sort((a, b) => (a.name < b.name ? -1 : 1))) {
  const special = SPECIAL[m.name] ?? (isListWrapper(m) ? 'list' : undefined);
  if (special) {
    const shape = m.fields.map((f) => `${f.no} ${f.name}${f.type === 11 ? '' : ` ${SCALARS[f.type]}`}`).join(',');
    if (special === 'list' ? !shape.startsWith('1 items') : shape.toLowerCase() !== SPECIAL_SHAPE[special].toLowerCase()) problems.push(`${m.name}: wire shape ${shape} is not the expected ${SPECIAL_SHAPE[special]}`);
    if (special === 'list') listWrappers++;
  }
  const props = jsonFields(m.name);
  if (props.size === 0 && !special) undescribed.push(m.name);
  const fields: Record<string, FieldSpec> = {};
  for (const pf of [...m.fields].sort((a, b) => a.no - b.no)) {
    // the proto field name is the Go JSON name, but for a few fields only up to case (`Webhooks`, `uID`)
    const f = { ...pf, name: props.has(pf.name) ? pf.name : ([...props].find((p) => p.toLowerCase() === pf.name.toLowerCase()) ?? pf.name) };
    const where = `${m.name}.${f.name}`;
    if (f.name !== pf.name) renamed.push(`${m.name}.${pf.name}→${f.name}`);
    if (f.type === 10) problems.push(`${where}: proto groups are not supported`);
    const entry = f.type === 11 ? all.get(f.typeName) : undefined;
    let spec: FieldSpec;
    if (entry?.mapEntry) {
      const [k, v] = [...entry.fields].sort((a, b) => a.no - b.no);
      spec = [f.name, 'map', `${typeOf(k, where)}:${typeOf(v, where)}`];
    } else if (f.label === 3) {
      spec = [f.name, 'rep', typeOf(f, where)];
    } else {
      spec = [f.name, 'opt', typeOf(f, where)];
      if (f.type !== 11 && !special && omitZero(m, f)) spec.push('omitZero');
    }
    // every other name missing from the definition is a `json:",inline"` embedded struct
    if (props.size > 0 && !special && !props.has(f.name)) {
      const sub = f.type === 11 && spec[1] === 'opt' ? all.get(f.typeName) : undefined;
      if (sub && covers(sub, props)) {
        spec.push('inline');
        inlines++;
      } else problems.push(`${where}: not a JSON field of ${definitionName(m.name)}`);
    }
    fields[String(f.no)] = spec;
  }
  messages[m.name] = special ? { json: special, fields } : { fields };
}

// kinds: every served group/version/kind of a definition whose message is kept
const servedGV = new Set(groups.flatMap((g) => g.versions.map((v) => (g.name ? `${g.name}/${v}` : v))));
const kinds: Record<string, string> = {};
for (const [def, schema] of Object.entries(definitions)) {
  for (const gvk of schema['x-kubernetes-group-version-kind'] ?? []) {
    const gv = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
    const msg = messageName(def);
    if (!servedGV.has(gv) || !messages[msg]) continue;
    if (msg.startsWith('k8s.io.api.') && !msg.startsWith(`${servedPackage(gvk.group, gvk.version)}.`)) problems.push(`${gv} ${gvk.kind}: ${msg} is not in ${servedPackage(gvk.group, gvk.version)}`);
    kinds[`${gv}/${gvk.kind}`] = msg;
  }
}
const sortedKinds = Object.fromEntries(Object.entries(kinds).sort(([a], [b]) => (a < b ? -1 : 1)));
for (const k of ['v1/ConfigMap', 'v1/Secret', 'apps/v1/Deployment', 'autoscaling/v1/Scale', 'policy/v1/Eviction', 'v1/DeleteOptions']) {
  if (!sortedKinds[k]) problems.push(`kind ${k} has no message`);
}

// one line per kind and per message: compact, deterministic, and diffable
const lines = (o: Record<string, unknown>): string => Object.entries(o).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n');
const text = `{\n  "kinds": {\n${lines(sortedKinds)}\n  },\n  "messages": {\n${lines(messages)}\n  }\n}\n`;
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, 'protobuf.json');
writeFileSync(outFile, text);

console.log(`${files.size} descriptors in ${kubectlPath}; kept ${keep.size} packages`);
if (absent.length > 0) console.log(`served but not in kubectl (JSON only): ${absent.join(', ')}`);
console.log(`${Object.keys(messages).length} messages (${listWrappers} list wrappers, ${inlines} inline fields), ${Object.keys(sortedKinds).length} kinds`);
console.log(`JSON name differs from the proto name: ${renamed.join(', ')}`);
console.log(`no swagger definition to check names against: ${undescribed.join(', ')}`);
console.log(`wrote ${outFile} (${text.length} bytes)`);
if (problems.length > 0) {
  console.error(`${problems.length} problems:`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
