// Label and field selectors: parsing the query-string syntax and matching objects.
import { badRequest } from './status.ts';

export type Requirement =
  | { key: string; op: 'exists' | '!' }
  | { key: string; op: '=' | '!=' | 'gt' | 'lt'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] };

export type LabelSelector = Requirement[];

const KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, raw: string): void {
  if (!KEY_RE.test(key) || key.split('/').pop()!.length > 63) {
    throw badRequest(`unable to parse requirement: invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (in selector "${raw}")`);
  }
}

function checkValue(value: string, raw: string): void {
  if (value.length > 63 || !VALUE_RE.test(value)) {
    throw badRequest(`unable to parse requirement: invalid label value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (in selector "${raw}")`);
  }
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export function parseLabelSelector(raw: string | undefined): LabelSelector {
  if (!raw || raw.trim() === '') return [];
  const reqs: Requirement[] = [];
  for (const termRaw of splitTerms(raw)) {
    const term = termRaw.trim();
    if (term === '') throw badRequest(`unable to parse requirement: found '', expected: identifier (in selector "${raw}")`);
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^(\S+?)\s+(in|notin)\s*\((.*)\)$/))) {
      const key = m[1];
      checkKey(key, raw);
      const values = m[3].split(',').map((v) => v.trim());
      if (values.length === 1 && values[0] === '' && m[2] === 'in') {
        // `in ()` is legal upstream and matches nothing.
      }
      for (const v of values) checkValue(v, raw);
      reqs.push({ key, op: m[2] as 'in' | 'notin', values });
    } else if ((m = term.match(/^([^=!<>\s]+)\s*(==|!=|=|<|>)\s*(\S*)$/))) {
      const key = m[1];
      checkKey(key, raw);
      const op = m[2] === '==' || m[2] === '=' ? '=' : m[2] === '!=' ? '!=' : m[2] === '<' ? 'lt' : 'gt';
      if (op === 'lt' || op === 'gt') {
        if (!/^-?\d+$/.test(m[3])) throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer (in selector "${raw}")`);
      } else checkValue(m[3], raw);
      reqs.push({ key, op, value: m[3] });
    } else if ((m = term.match(/^!\s*(\S+)$/))) {
      checkKey(m[1], raw);
      reqs.push({ key: m[1], op: '!' });
    } else if (/^\S+$/.test(term)) {
      checkKey(term, raw);
      reqs.push({ key: term, op: 'exists' });
    } else {
      throw badRequest(`unable to parse requirement: invalid selector term "${term}" (in selector "${raw}")`);
    }
  }
  return reqs;
}

export function matchesLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  for (const r of sel) {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = has ? labels![r.key] : undefined;
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case '=':
        if (v !== r.value) return false;
        break;
      case '!=':
        if (v === r.value) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(v!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(v!)) return false;
        break;
      case 'gt':
        if (!has || !(Number(v) > Number(r.value))) return false;
        break;
      case 'lt':
        if (!has || !(Number(v) < Number(r.value))) return false;
        break;
    }
  }
  return true;
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export type FieldSelector = FieldRequirement[];

/** Parses `a=b,c!=d`; `supported` lists the fields this resource can be selected by. */
export function parseFieldSelector(raw: string | undefined, supported: readonly string[]): FieldSelector {
  if (!raw || raw.trim() === '') return [];
  const out: FieldRequirement[] = [];
  for (const termRaw of raw.split(',')) {
    const term = termRaw.trim();
    const m = term.match(/^([^=!]+?)\s*(==|!=|=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${raw}'; can't understand '${term}'`);
    const field = m[1];
    if (!supported.includes(field)) throw badRequest(`field label not supported: ${field}`);
    out.push({ field, op: m[2] === '!=' ? '!=' : '=', value: m[3].replace(/\\(.)/g, '$1') });
  }
  return out;
}

export function matchesFields(sel: FieldSelector, fields: Record<string, string>): boolean {
  for (const r of sel) {
    const v = fields[r.field] ?? '';
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}

/** A metav1.LabelSelector object (matchLabels, matchExpressions). */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/**
 * The requirements of a metav1.LabelSelector. An empty selector matches everything; `null` or
 * undefined matches nothing (as upstream's LabelSelectorAsSelector with a nil selector).
 */
export function fromLabelSelectorObject(sel: LabelSelectorObject | null | undefined): LabelSelector | undefined {
  if (!sel) return undefined;
  const out: LabelSelector = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) out.push({ key, op: '=', value });
  for (const e of sel.matchExpressions ?? []) {
    const values = e.values ?? [];
    if (e.operator === 'In') out.push({ key: e.key, op: 'in', values });
    else if (e.operator === 'NotIn') out.push({ key: e.key, op: 'notin', values });
    else if (e.operator === 'Exists') out.push({ key: e.key, op: 'exists' });
    else if (e.operator === 'DoesNotExist') out.push({ key: e.key, op: '!' });
    else throw badRequest(`"${e.operator}" is not a valid label selector operator`);
  }
  return out;
}

/** A v1.NodeSelectorRequirement (node selector terms and node affinity). */
export interface NodeSelectorRequirementObject {
  key: string;
  operator: string;
  values?: string[] | null;
}

const INT_RE = /^[+-]?[0-9]+$/;

/** One requirement against a label (or field) value, with Gt/Lt as integer comparisons. */
export function matchNodeSelectorRequirement(r: NodeSelectorRequirementObject, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1 || !INT_RE.test(value) || !INT_RE.test(values[0])) return false;
      const have = BigInt(value);
      const want = BigInt(values[0]);
      return r.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

/** One v1.NodeSelectorTerm against a node: every expression and field must match; an empty term matches nothing. */
export function matchNodeSelectorTerm(
  term: { matchExpressions?: NodeSelectorRequirementObject[] | null; matchFields?: NodeSelectorRequirementObject[] | null },
  node: { metadata: { name?: string; labels?: Record<string, string> | null } },
): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? undefined;
  for (const r of exprs) {
    const v = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key) ? labels[r.key] : undefined;
    if (!matchNodeSelectorRequirement(r, v)) return false;
  }
  for (const r of fields) {
    // Only metadata.name is a supported node field, with In/NotIn.
    if (r.key !== 'metadata.name' || (r.operator !== 'In' && r.operator !== 'NotIn')) return false;
    if (!matchNodeSelectorRequirement(r, node.metadata.name ?? '')) return false;
  }
  return true;
}
