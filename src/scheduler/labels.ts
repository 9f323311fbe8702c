// Label selectors (metav1.LabelSelector) and node selectors (v1.NodeSelector), compiled once
// per pod. Label matching is src/api/selectors.ts's; node selector requirements add Gt/Lt
// (integer comparison) and matchFields on metadata.name.
import { matchesLabels, matchNodeSelectorTerm as matchTerm, type Requirement } from '../api/selectors.ts';
import type { LabelSelector, Labels, Node, NodeSelector, NodeSelectorTerm } from './types.ts';

/** A compiled label selector. `reqs === null` matches nothing (a nil selector). */
export class LabelMatcher {
  readonly reqs: Requirement[] | null;
  /** Fast path when every requirement is `key=value` (matchLabels). */
  private readonly eqKeys: string[] | null;
  private readonly eqValues: string[] | null;

  constructor(reqs: Requirement[] | null) {
    this.reqs = reqs;
    if (reqs !== null && reqs.every((r) => r.op === '=')) {
      this.eqKeys = reqs.map((r) => r.key);
      this.eqValues = reqs.map((r) => (r as { value: string }).value);
    } else {
      this.eqKeys = null;
      this.eqValues = null;
    }
  }

  /** True for `{}`: matches every object. */
  get everything(): boolean {
    return this.reqs !== null && this.reqs.length === 0;
  }

  matches(labels: Labels | undefined): boolean {
    const keys = this.eqKeys;
    if (keys !== null) {
      const values = this.eqValues!;
      if (labels === undefined) return false;
      // Inherited Object.prototype members are never strings, so a plain read is exact.
      for (let i = 0; i < keys.length; i++) if (labels[keys[i]] !== values[i]) return false;
      return true;
    }
    return this.reqs !== null && matchesLabels(this.reqs, labels);
  }

  /** The selector ANDed with `key=value` for each entry (nothing stays nothing). */
  withLabels(extra: Labels): LabelMatcher {
    if (this.reqs === null) return this;
    const add: Requirement[] = Object.entries(extra).map(([key, value]) => ({ key, op: '=', value }));
    return add.length === 0 ? this : new LabelMatcher([...this.reqs, ...add]);
  }
}

export const NOTHING = new LabelMatcher(null);
export const EVERYTHING = new LabelMatcher([]);

/**
 * metav1.LabelSelectorAsSelector: nil → nothing, {} → everything. A selector with an unknown
 * operator is an error upstream; here it matches nothing.
 */
export function compileLabelSelector(sel: LabelSelector | null | undefined): LabelMatcher {
  if (sel === null || sel === undefined) return NOTHING;
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key, op: '=', value });
  for (const e of sel.matchExpressions ?? []) {
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        reqs.push({ key: e.key, op: 'in', values });
        break;
      case 'NotIn':
        reqs.push({ key: e.key, op: 'notin', values });
        break;
      case 'Exists':
        reqs.push({ key: e.key, op: 'exists' });
        break;
      case 'DoesNotExist':
        reqs.push({ key: e.key, op: '!' });
        break;
      default:
        return NOTHING;
    }
  }
  return reqs.length === 0 ? EVERYTHING : new LabelMatcher(reqs);
}

/** One NodeSelectorTerm: all expressions and fields must match; an empty term matches nothing. */
export function matchNodeSelectorTerm(term: NodeSelectorTerm, node: Node): boolean {
  return matchTerm(term, node);
}

/** A NodeSelector: the terms are ORed. */
export function matchNodeSelector(sel: NodeSelector, node: Node): boolean {
  for (const t of sel.nodeSelectorTerms ?? []) if (matchNodeSelectorTerm(t, node)) return true;
  return false;
}
