// Field paths and field sets, in the FieldsV1 spelling Kubernetes stores in managedFields:
// `f:<field>`, `k:<json of the key fields>`, `v:<json value>`, `i:<index>`, and `".": {}` for a
// node that is itself a member of the set. A path element is kept as its canonical string, so it
// can key maps directly; ordering, parsing and rendering follow structured-merge-diff.
import { isPlainObject } from '../object.ts';
import { compareValues, goJson, goString } from './value.ts';

/** One step of a path, spelled as in FieldsV1 (canonical: key fields sorted, Go's JSON). */
export type PathElement = string;
export type Path = readonly PathElement[];

export const fieldElement = (name: string): PathElement => `f:${name}`;
export const indexElement = (index: number): PathElement => `i:${index}`;
export const valueElement = (value: unknown): PathElement => `v:${goJson(value)}`;

/** A list-map item's element: its key fields, sorted by name. */
export function keyElement(fields: Record<string, unknown>): PathElement {
  // One scalar key field (a name, a type) is most lists' key: spelled without a sorted copy.
  let only: string | undefined;
  for (const name in fields) {
    if (only !== undefined) {
      only = undefined;
      break;
    }
    only = name;
  }
  if (only !== undefined) {
    const v = fields[only];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return `k:{${goJson(only)}:${goJson(v)}}`;
  }
  const sorted: Record<string, unknown> = {};
  for (const name of Object.keys(fields).sort()) sorted[name] = fields[name];
  return `k:${goJson(sorted)}`;
}

export type ParsedElement =
  | { kind: 'field'; name: string }
  | { kind: 'key'; fields: [string, unknown][] }
  | { kind: 'value'; value: unknown }
  | { kind: 'index'; index: number };

/** Parses a FieldsV1 key; throws an Error when it is not a path element. */
export function parseElement(pe: string): ParsedElement {
  const body = pe.slice(2);
  switch (pe.slice(0, 2)) {
    case 'f:':
      return { kind: 'field', name: body };
    case 'k:': {
      const fields = JSON.parse(body) as unknown;
      if (!isPlainObject(fields)) throw new Error(`key element ${pe} is not an object`);
      return { kind: 'key', fields: Object.keys(fields).sort().map((k): [string, unknown] => [k, fields[k]]) };
    }
    case 'v:':
      return { kind: 'value', value: JSON.parse(body) as unknown };
    case 'i:':
      if (!/^(0|[1-9]\d*)$/.test(body)) throw new Error(`index element ${pe} is not a non-negative integer`);
      return { kind: 'index', index: Number(body) };
  }
  throw new Error(`unknown path element ${JSON.stringify(pe)}`);
}

const canonicalMemo = new Map<string, PathElement>();

/** The canonical spelling of a path element read from a client (re-sorted keys, Go escaping). */
export function canonicalElement(pe: string): PathElement {
  if (pe.startsWith('f:')) return pe;
  // Key and value elements repeat across objects (container names, condition types): each
  // spelling is parsed and re-encoded once, in a bounded memo.
  let c = canonicalMemo.get(pe);
  if (c === undefined) {
    c = canonicalOf(pe);
    if (canonicalMemo.size >= 4096) canonicalMemo.clear();
    canonicalMemo.set(pe, c);
  }
  return c;
}

function canonicalOf(pe: string): PathElement {
  const p = parseElement(pe);
  switch (p.kind) {
    case 'field':
      return pe;
    case 'key':
      return keyElement(Object.fromEntries(p.fields));
    case 'value':
      return valueElement(p.value);
    case 'index':
      return indexElement(p.index);
  }
}

const RANK = { field: 0, key: 1, value: 2, index: 3 } as const;

/** SMD's order: fields, then keys, then values, then indexes. */
export function compareElements(a: PathElement, b: PathElement): number {
  if (a === b) return 0;
  // Field names are spelled raw after "f:": two fields compare as their strings (the common case).
  if (a.startsWith('f:') && b.startsWith('f:')) return a < b ? -1 : 1;
  return compareParsed(parseElement(a), parseElement(b));
}

function compareParsed(pa: ParsedElement, pb: ParsedElement): number {
  if (pa.kind !== pb.kind) return RANK[pa.kind] - RANK[pb.kind];
  if (pa.kind === 'field' && pb.kind === 'field') return pa.name < pb.name ? -1 : pa.name > pb.name ? 1 : 0;
  if (pa.kind === 'index' && pb.kind === 'index') return pa.index - pb.index;
  if (pa.kind === 'value' && pb.kind === 'value') return compareValues(pa.value, pb.value);
  if (pa.kind === 'key' && pb.kind === 'key') {
    for (let i = 0; i < Math.min(pa.fields.length, pb.fields.length); i++) {
      const [na, va] = pa.fields[i];
      const [nb, vb] = pb.fields[i];
      if (na !== nb) return na < nb ? -1 : 1;
      const c = compareValues(va, vb);
      if (c !== 0) return c;
    }
    return pa.fields.length - pb.fields.length;
  }
  return 0;
}

/** How conflict messages spell an element: `.image`, `[name="nginx"]`, `[="a"]`, `[0]`. */
export function renderElement(pe: PathElement): string {
  const p = parseElement(pe);
  switch (p.kind) {
    case 'field':
      return `.${p.name}`;
    case 'key':
      return `[${p.fields.map(([k, v]) => `${k}=${goString(v)}`).join(',')}]`;
    case 'value':
      return `[=${goString(p.value)}]`;
    case 'index':
      return `[${p.index}]`;
  }
}

export const renderPath = (path: Path): string => path.map(renderElement).join('');

const sortElements = (pes: Iterable<PathElement>): PathElement[] => sortInPlace([...pes]);

/** Sorts in SMD's order; fields alone (the common case) sort as plain strings. */
function sortInPlace(pes: PathElement[]): PathElement[] {
  for (const pe of pes) {
    if (pe.startsWith('f:')) continue;
    // Each element parsed once, not once per comparison.
    const parsed = pes.map((e): [PathElement, ParsedElement] => [e, parseElement(e)]);
    parsed.sort((x, y) => (x[0] === y[0] ? 0 : compareParsed(x[1], y[1])));
    for (let i = 0; i < pes.length; i++) pes[i] = parsed[i][0];
    return pes;
  }
  return pes.sort();
}

/** The node `count` elements down `path` from `root`, creating missing ones when `create`. */
function descend(root: FieldSet, path: Path, count: number, create: boolean): FieldSet | undefined {
  let node: FieldSet | undefined = root;
  for (let i = 0; i < count && node; i++) {
    let child: FieldSet | undefined = node.children.get(path[i]);
    if (!child && create) node.children.set(path[i], (child = new FieldSet()));
    node = child;
  }
  return node;
}

/** A set of paths: a trie whose nodes are members (owned themselves) and/or have children. */
export class FieldSet {
  readonly members = new Set<PathElement>();
  readonly children = new Map<PathElement, FieldSet>();

  static of(paths: Iterable<Path>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** Adds a path (mutates; for building). The empty path is ignored. */
  insert(path: Path): this {
    if (path.length === 0) return this;
    descend(this, path, path.length - 1, true)?.members.add(path[path.length - 1]);
    return this;
  }

  has(path: Path): boolean {
    if (path.length === 0) return false;
    const parent = this.at(path.slice(0, -1));
    return !!parent && parent.members.has(path[path.length - 1]);
  }

  /** The subset below a path prefix, without the prefix; undefined when nothing is there. */
  at(prefix: Path): FieldSet | undefined {
    return descend(this, prefix, prefix.length, false);
  }

  isEmpty(): boolean {
    if (this.members.size > 0) return false;
    for (const c of this.children.values()) if (!c.isEmpty()) return false;
    return true;
  }

  union(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) out.members.add(m);
    for (const m of other.members) out.members.add(m);
    for (const [pe, c] of this.children) out.children.set(pe, c);
    for (const [pe, c] of other.children) {
      const mine = out.children.get(pe);
      out.children.set(pe, mine ? mine.union(c) : c);
    }
    return out;
  }

  /** The paths of this set that are not in `other` (exact paths; children of removed members stay). */
  difference(other: FieldSet): FieldSet {
    return this.combine(other, (m) => !other.members.has(m), (c, oc) => (oc ? c.difference(oc) : c));
  }

  intersection(other: FieldSet): FieldSet {
    return this.combine(other, (m) => other.members.has(m), (c, oc) => (oc ? c.intersection(oc) : undefined));
  }

  /** Removes the paths of `other` and everything below them. */
  recursiveDifference(other: FieldSet): FieldSet {
    return this.combine(
      other,
      (m) => !other.members.has(m),
      (c, oc, pe) => (other.members.has(pe) ? undefined : oc ? c.recursiveDifference(oc) : c),
    );
  }

  private combine(
    other: FieldSet,
    keepMember: (m: PathElement) => boolean,
    child: (c: FieldSet, oc: FieldSet | undefined, pe: PathElement) => FieldSet | undefined,
  ): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (keepMember(m)) out.members.add(m);
    for (const [pe, c] of this.children) {
      const r = child(c, other.children.get(pe), pe);
      if (r && !r.isEmpty()) out.children.set(pe, r);
    }
    return out;
  }

  equals(other: FieldSet): boolean {
    return this.difference(other).isEmpty() && other.difference(this).isEmpty();
  }

  /** Every member path, in SMD's iteration order: a node's members, then its children. */
  paths(prefix: Path = []): PathElement[][] {
    const out: PathElement[][] = sortElements(this.members).map((m) => [...prefix, m]);
    for (const pe of sortElements(this.children.keys())) out.push(...this.children.get(pe)!.paths([...prefix, pe]));
    return out;
  }

  /** The FieldsV1 JSON object. */
  toFieldsV1(): Record<string, unknown> {
    return this.encode(false);
  }

  /** `self`: this node is a member too (only ever asked of a non-empty node). */
  private encode(self: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (self) out['.'] = {};
    const keys = [...this.members];
    for (const pe of this.children.keys()) if (!this.members.has(pe)) keys.push(pe);
    for (const pe of sortInPlace(keys)) {
      const child = this.children.get(pe);
      out[pe] = child !== undefined && !child.isEmpty() ? child.encode(this.members.has(pe)) : {};
    }
    return out;
  }

  /** Reads a FieldsV1 object; throws an Error when it is malformed. */
  static fromFieldsV1(json: unknown): FieldSet {
    if (!isPlainObject(json)) throw new Error('FieldsV1 must be a JSON object');
    const out = new FieldSet();
    for (const [key, value] of Object.entries(json)) {
      if (key === '.') continue;
      if (!isPlainObject(value)) throw new Error(`FieldsV1 entry ${JSON.stringify(key)} must be an object`);
      const pe = canonicalElement(key);
      const keys = Object.keys(value);
      if (keys.length === 0 || keys.includes('.')) out.members.add(pe);
      const child = FieldSet.fromFieldsV1(value);
      if (!child.isEmpty()) out.children.set(pe, child);
    }
    return out;
  }
}
