// hack/update-protobuf [--out DIR]: regenerates openapi/protobuf.json, the wire table that
// src/api/protobuf.ts uses to decode Kubernetes protobuf request bodies into JSON.
// Source: the gzipped FileDescriptorProtos of k8s.io/api and k8s.io/apimachinery that gogo-protobuf
// registers inside the stock kubectl binary (.cache/clients/kubectl, $K8TS_KUBECTL overrides),
// kept for the group-versions in openapi/resources.json plus the apimachinery packages they use.
// JSON names and zero handling come from the Go runtime type data in the same binary (struct
// field tags and kinds: `json:"x,omitempty"` on a non-pointer scalar drops a zero). They are
// cross-checked against ../shared/reference ($K8TS_REFERENCE_DIR): the swagger property names and
// schema/builtin-types.yaml, whose `default:` marks a non-pointer field without omitempty.
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

// ---- Go runtime type data: struct field tags and kinds ----

interface GoField { json: string; omitempty: boolean; inline: boolean; pointer: boolean }
interface GoType { kind: number; fields: Map<number, GoField> }
const KIND_MAP = 21;
const KIND_PTR = 22;
const KIND_SLICE = 23;
const KIND_STRUCT = 25;

/** Named k8s.io Go types by proto-style name (`k8s.io.api.apps.v1.DeploymentSpec`), struct fields by protobuf tag number. */
function readGoTypes(bin: Buffer): Map<string, GoType> {
  if (bin.readUInt32BE(0) !== 0x7f454c46 || bin[4] !== 2 || bin[5] !== 1) throw new Error('not a 64-bit little-endian ELF binary');
  const shoff = Number(bin.readBigUInt64LE(0x28));
  const sections: { name: number; type: number; addr: number; off: number; size: number }[] = [];
  for (let i = 0; i < bin.readUInt16LE(0x3c); i++) {
    const o = shoff + i * bin.readUInt16LE(0x3a);
    sections.push({ name: bin.readUInt32LE(o), type: bin.readUInt32LE(o + 4), addr: Number(bin.readBigUInt64LE(o + 16)), off: Number(bin.readBigUInt64LE(o + 24)), size: Number(bin.readBigUInt64LE(o + 32)) });
  }
  const names = sections[bin.readUInt16LE(0x3e)];
  const section = (n: string): (typeof sections)[number] => {
    const s = sections.find((x) => bin.toString('latin1', names.off + x.name, bin.indexOf(0, names.off + x.name)) === n);
    if (!s) throw new Error(`no ${n} section`);
    return s;
  };
  const off = (addr: number): number => {
    const s = sections.find((x) => x.type !== 8 && addr >= x.addr && addr < x.addr + x.size); // 8: NOBITS
    if (!s) throw new Error(`address ${addr.toString(16)} is not in the file`);
    return s.off + addr - s.addr;
  };
  const ptr = (addr: number): number => Number(bin.readBigUInt64LE(off(addr)));
  const uvarint = (p: number): [number, number] => {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = bin[p++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return [v, p];
    }
    throw new Error(`bad name length at ${p}`);
  };
  /** abi.Name: flags byte (1 exported, 2 has tag, 8 embedded), uvarint length, name, [uvarint length, tag]. */
  const readName = (addr: number): { flags: number; name: string; tag: string } => {
    const p = off(addr);
    const [len, q] = uvarint(p + 1);
    const [tagLen, r] = bin[p] & 2 ? uvarint(q + len) : [0, q + len];
    return { flags: bin[p], name: bin.toString('latin1', q, q + len), tag: bin.toString('latin1', r, r + tagLen) };
  };
  const rodata = section('.rodata').addr; // the types base that name and type offsets are relative to
  const typelink = section('.typelink');
  const queue: number[] = [];
  for (let p = typelink.off; p < typelink.off + typelink.size; p += 4) queue.push(rodata + bin.readInt32LE(p));
  const seen = new Set<number>();
  const out = new Map<string, GoType>();
  // abi.Type: tflag at 20 (1 uncommon, 2 extra star), kind at 23, name offset at 40; element types at 48 (and 56 for maps)
  while (queue.length > 0) {
    const t = queue.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    const tflag = bin[off(t) + 20];
    const kind = bin[off(t) + 23] & 31;
    if (kind === KIND_PTR || kind === KIND_SLICE || kind === 17) queue.push(ptr(t + 48));
    if (kind === KIND_MAP) queue.push(ptr(t + 48), ptr(t + 56));
    const fields = new Map<number, GoField>();
    if (kind === KIND_STRUCT) {
      for (let i = 0, fp = ptr(t + 56), n = ptr(t + 64); i < n; i++) {
        const f = readName(ptr(fp + 24 * i)); // abi.StructField{Name, Typ, Offset}
        const ft = ptr(fp + 24 * i + 8);
        queue.push(ft);
        const no = /(?:^| )protobuf:"[a-z0-9]+,(\d+),/.exec(f.tag)?.[1];
        const json = /(?:^| )json:"([^"]*)"/.exec(f.tag)?.[1].split(',') ?? [''];
        const inline = (f.flags & 8) !== 0 && json[0] === ''; // encoding/json flattens an embedded struct without a name
        if (no) fields.set(Number(no), { json: inline ? '' : json[0] || f.name, omitempty: json.includes('omitempty'), inline, pointer: (bin[off(ft) + 23] & 31) === KIND_PTR });
      }
    }
    if (!(tflag & 1) || (kind !== KIND_STRUCT && kind !== KIND_SLICE)) continue; // unnamed, or not a message
    const uncommon = t + (kind === KIND_STRUCT ? 80 : 56); // abi.UncommonType follows StructType / SliceType
    const pkg = readName(rodata + bin.readInt32LE(off(uncommon))).name;
    const typeName = readName(rodata + bin.readInt32LE(off(t) + 40)).name.replace(/^\*/, '');
    if (!pkg.startsWith('k8s.io/') || typeName.includes('[')) continue;
    out.set(`${pkg.replace(/\//g, '.')}.${typeName.slice(typeName.indexOf('.') + 1)}`, { kind, fields });
  }
  return out;
}

// ---- reference facts ----

type Schema = { properties?: Record<string, Schema>; 'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[] };
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
/** Messages whose Go type has its own MarshalJSON, and the wire fields each must have. */
const SPECIAL: Record<string, [SpecialJson, string]> = {
  [`${META}.Time`]: ['time', '1 seconds int64,2 nanos int32'],
  [`${META}.MicroTime`]: ['microtime', '1 seconds int64,2 nanos int32'],
  [`${META}.Duration`]: ['duration', '1 duration int64'],
  [`${META}.FieldsV1`]: ['raw', '1 Raw bytes'],
  'k8s.io.apimachinery.pkg.runtime.RawExtension': ['raw', '1 raw bytes'],
  'k8s.io.apimachinery.pkg.api.resource.Quantity': ['quantity', '1 string string'],
  'k8s.io.apimachinery.pkg.api.resource.QuantityValue': ['quantity', '1 string string'],
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString': ['intstr', '1 type int64,2 intVal int32,3 strVal string'],
};
const SCALARS: Record<number, string> = {
  1: 'double', 2: 'float', 3: 'int64', 4: 'uint64', 5: 'int32', 6: 'fixed64', 7: 'fixed32', 8: 'bool', 9: 'string',
  12: 'bytes', 13: 'uint32', 14: 'enum', 15: 'sfixed32', 16: 'sfixed64', 17: 'sint32', 18: 'sint64',
};

// ---- the table ----

const problems: string[] = [];
const binary = readFileSync(kubectlPath);
const files = extractDescriptors(binary);
let goTypes: Map<string, GoType>;
try {
  goTypes = readGoTypes(binary);
} catch (e) {
  console.error(`cannot read the Go type data of ${kubectlPath}: ${(e as Error).message}`);
  process.exit(1);
}
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
  if (!SCALARS[f.type]) problems.push(`${where}: unsupported proto type ${f.type}`);
  return SCALARS[f.type] ?? 'unsupported';
};

const messages: Record<string, MessageSpec> = {};
const markers: string[] = [];
const count = { list: 0, inline: 0, omitZero: 0, renamed: 0, smdChecked: 0 };
for (const m of kept.sort((a, b) => (a.name < b.name ? -1 : 1))) {
  const go = goTypes.get(m.name);
  const special = SPECIAL[m.name]?.[0] ?? (go?.kind === KIND_SLICE ? 'list' : undefined);
  const shape = m.fields.map((f) => `${f.no} ${f.name}${f.type === 11 ? '' : ` ${SCALARS[f.type]}`}`).join(',');
  if (special === 'list') count.list++;
  if (special === 'list' ? !/^1 items [a-z0-9]+$/.test(shape) : special && shape !== SPECIAL[m.name][1]) problems.push(`${m.name}: wire shape ${shape} is not what ${special} expects`);
  if (!special && go?.kind !== KIND_STRUCT) problems.push(`${m.name}: no Go struct in ${kubectlPath}`);
  const props = new Set(Object.keys(definitions[definitionName(m.name)]?.properties ?? {}));
  const smdType = smd.get(definitionName(m.name));
  const fields: Record<string, FieldSpec> = {};
  for (const f of [...m.fields].sort((a, b) => a.no - b.no)) {
    const where = `${m.name}.${f.name}`;
    const gf = go?.fields.get(f.no);
    if (!special && !gf) {
      problems.push(`${where}: no Go field tagged protobuf ${f.no}`);
      continue;
    }
    if (gf?.json === '-') continue; // not part of the JSON form
    const json = special || !gf ? f.name : gf.inline ? f.name : gf.json;
    if (json !== f.name) count.renamed++;
    const entry = f.type === 11 ? all.get(f.typeName) : undefined;
    let spec: FieldSpec;
    if (entry?.mapEntry) {
      const [k, v] = [...entry.fields].sort((a, b) => a.no - b.no);
      spec = [json, 'map', `${typeOf(k, where)}:${typeOf(v, where)}`];
    } else {
      spec = [json, f.label === 3 ? 'rep' : 'opt', typeOf(f, where)];
    }
    if (special) {
      // the decoder gives these their own JSON form
    } else if (gf?.inline) {
      spec.push('inline');
      count.inline++;
    } else if (gf && spec[1] === 'opt' && f.type !== 11 && gf.omitempty && !gf.pointer) {
      spec.push('omitZero'); // a non-pointer omitempty scalar: gogo always writes it, Go's JSON drops its zero
      count.omitZero++;
    }
    if (gf && !gf.inline && props.size > 0 && !props.has(json)) problems.push(`${where}: JSON name ${json} is not a property of ${definitionName(m.name)}`);
    // builtin-types.yaml gives a zero `default:` exactly to the non-pointer scalars without omitempty
    const sf = smdType?.get(json);
    // (and to fields with a `+default` marker, whatever their Go type)
    if (gf && sf && spec[1] === 'opt' && f.type !== 11 && f.type !== 12) {
      count.smdChecked++;
      if (!('default' in sf) && !gf.pointer && !gf.omitempty) problems.push(`${where}: builtin-types.yaml lacks the default of a non-pointer field without omitempty`);
      if ('default' in sf && (gf.pointer || gf.omitempty)) markers.push(`${where}=${JSON.stringify(sf.default)}`);
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
console.log(`${goTypes.size} named k8s.io Go types in its runtime type data`);
console.log(`${Object.keys(messages).length} messages (${count.list} list wrappers), ${Object.keys(sortedKinds).length} kinds`);
console.log(`fields: ${count.omitZero} omitZero, ${count.inline} inline, ${count.renamed} renamed (JSON name ≠ proto name)`);
console.log(`${count.smdChecked} scalars checked against builtin-types.yaml; defaults there from +default markers: ${markers.join(', ')}`);
console.log(`wrote ${outFile} (${text.length} bytes)`);
if (problems.length > 0) {
  console.error(`${problems.length} problems:`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
