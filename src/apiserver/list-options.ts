// Query parameters of list and watch, parsed and checked once.
import { badRequest } from '../api/status.ts';
import { parseFieldSelector, parseLabelSelector, matchesFields, matchesLabels } from '../api/selectors.ts';
import type { KubeObject } from '../api/object.ts';
import type { Strategy } from '../registry/strategy.ts';

export interface ListOptions {
  labelSelector: ReturnType<typeof parseLabelSelector>;
  fieldSelector: ReturnType<typeof parseFieldSelector>;
  /** metadata.name=x pins the name: served by a key lookup. */
  nameEquals?: string;
  resourceVersion: string;
  resourceVersionMatch: '' | 'NotOlderThan' | 'Exact';
  limit: number;
  continueToken: string;
  timeoutSeconds: number;
  allowWatchBookmarks: boolean;
  sendInitialEvents?: boolean;
}

function intParam(q: URLSearchParams, name: string): number {
  const v = q.get(name);
  if (v === null || v === '') return 0;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${name}: "${v}" is not an integer`);
  return Number(v);
}

export function parseListOptions(q: URLSearchParams, strategy: Strategy, namespaced: boolean): ListOptions {
  const supported = ['metadata.name', ...(namespaced ? ['metadata.namespace'] : []), ...strategy.selectableFields];
  const fieldSelector = parseFieldSelector(q.get('fieldSelector') ?? undefined, supported);
  const rvm = q.get('resourceVersionMatch') ?? '';
  if (rvm !== '' && rvm !== 'NotOlderThan' && rvm !== 'Exact') {
    throw badRequest(`resourceVersionMatch: Unsupported value: "${rvm}": supported values: "Exact", "NotOlderThan"`);
  }
  const rv = q.get('resourceVersion') ?? '';
  if (rv !== '' && !/^\d+$/.test(rv)) throw badRequest(`resourceVersion: Invalid value: "${rv}": must be a non-negative integer`);
  // A watch-list (sendInitialEvents with NotOlderThan) may leave resourceVersion empty: "now".
  const watchList = q.get('sendInitialEvents') === 'true' && rvm === 'NotOlderThan';
  if (rvm !== '' && rv === '' && !watchList) throw badRequest(`resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided`);
  if (rvm === 'Exact' && rv === '0') throw badRequest(`resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"`);
  const limit = intParam(q, 'limit');
  const sie = q.get('sendInitialEvents');
  const nameEq = fieldSelector.find((r) => r.field === 'metadata.name' && r.op === '=');
  return {
    labelSelector: parseLabelSelector(q.get('labelSelector') ?? undefined),
    fieldSelector,
    nameEquals: nameEq?.value,
    resourceVersion: rv,
    resourceVersionMatch: rvm as ListOptions['resourceVersionMatch'],
    limit: limit > 0 ? limit : 0,
    continueToken: q.get('continue') ?? '',
    timeoutSeconds: intParam(q, 'timeoutSeconds'),
    allowWatchBookmarks: q.get('allowWatchBookmarks') === 'true',
    sendInitialEvents: sie === null ? undefined : sie === 'true',
  };
}

/** The matcher for an object under the selectors. */
/** What selectors see of an object: its labels and its selectable fields. */
export interface SelectableAttrs {
  labels: Record<string, string> | undefined;
  fields: Record<string, string>;
}

export function selectableAttrs(obj: KubeObject, strategy: Strategy): SelectableAttrs {
  const m = obj.metadata ?? {};
  return { labels: m.labels, fields: { 'metadata.name': m.name ?? '', 'metadata.namespace': m.namespace ?? '', ...strategy.fields(obj) } };
}

/** The selectors of a list or watch, on an object's selectable attributes. */
export function attrsMatcher(opts: ListOptions): (a: SelectableAttrs) => boolean {
  const { labelSelector, fieldSelector } = opts;
  if (labelSelector.length === 0 && fieldSelector.length === 0) return () => true;
  return (a) => matchesLabels(labelSelector, a.labels) && (fieldSelector.length === 0 || matchesFields(fieldSelector, a.fields));
}

export function objectMatcher(opts: ListOptions, strategy: Strategy): (obj: KubeObject) => boolean {
  const { labelSelector, fieldSelector } = opts;
  if (labelSelector.length === 0 && fieldSelector.length === 0) return () => true;
  return (obj) => {
    if (!matchesLabels(labelSelector, obj.metadata?.labels)) return false;
    if (fieldSelector.length === 0) return true;
    const m = obj.metadata ?? {};
    return matchesFields(fieldSelector, { 'metadata.name': m.name ?? '', 'metadata.namespace': m.namespace ?? '', ...strategy.fields(obj) });
  };
}

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

export function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

export function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as ContinueToken;
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string') throw new Error('bad');
    return t;
  } catch {
    throw badRequest(`continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)`);
  }
}
