// The ResourceQuota admission plugin: a create in a namespace with quotas (and an update of a
// Service or a claim: what it adds to the stored object's usage) is measured with the quota
// evaluators (src/api/quantity/quota-usage.ts) and checked against each matching quota's status
// (hard and used, as upstream: a quota the controller has not filled yet constrains nothing).
// Passing writes are charged to status.used at once, by a conditional write of each quota that
// re-checks the limit against the stored status, so concurrent writes cannot both take the last
// unit. Refusals are 403 Forbidden with upstream's messages. Subresources are not admitted here.
import type { KubeObject } from '../../api/object.ts';
import { StatusError } from '../../api/status.ts';
import { evaluatorFor, matchesScopes, type Evaluator } from '../../api/quantity/quota-usage.ts';
import { addList, formatQ, maskList, parseList, prettyPrint, subQ, type ResourceList } from '../../api/quantity/resource-list.ts';
import type { Registries, Registry } from '../registries.ts';

export interface QuotaAdmissionOptions {
  dryRun?: boolean;
  now?: Date;
  /** The stored object, for an update: only what the update adds is charged. */
  old?: KubeObject;
}

/** Namespaces whose empty quota list was confirmed against storage lately (upstream's live lookup, 30 s). */
const confirmedEmpty = new Map<string, number>();
const LIVE_LOOKUP_TTL_MS = 30_000;

function forbidden(group: string, resource: string, obj: KubeObject, message: string): StatusError {
  const m = obj.metadata ?? {};
  const name = m.name || m.generateName || 'Unknown';
  const qualified = group ? `${resource}.${group}` : resource;
  return new StatusError(403, 'Forbidden', `${qualified} "${name}" is forbidden: ${message}`, { name, group, kind: resource });
}

interface Check {
  /** The refusal message, or undefined when the quota admits the object. */
  refusal?: string;
  /** Whether the quota constrains this object at all. */
  interesting: boolean;
  /** The quota's used list after charging `delta`. */
  newUsed?: ResourceList;
  requested?: ResourceList;
}

/** One quota against one object (upstream's CheckRequest, for one quota). */
function checkQuota(quota: KubeObject, ev: Evaluator, obj: KubeObject, delta: ResourceList | undefined): Check {
  const status = (quota.status ?? {}) as { hard?: Record<string, unknown>; used?: Record<string, unknown> };
  const hard = parseList(status.hard);
  const hardNames = Object.keys(hard);
  const restricted = ev.matching(hardNames);
  if (restricted.length === 0 || !matchesScopes(ev, quota, obj)) return { interesting: false };
  const name = quota.metadata?.name ?? '';
  const constraint = ev.constraints(restricted, obj);
  if (constraint) return { interesting: true, refusal: `failed quota: ${name}: ${constraint}` };
  const usedRaw = status.used ?? {};
  if (restricted.some((r) => hard[r] !== undefined && usedRaw[r] === undefined)) {
    return { interesting: true, refusal: `status unknown for quota: ${name}, resources: ${[...restricted].sort().join(',')}` };
  }
  if (!delta) return { interesting: true };
  const used = parseList(usedRaw);
  const requested = maskList(delta, hardNames);
  const newUsed = addList(used, requested);
  const exceeded = Object.keys(requested).filter((r) => newUsed[r].nano > hard[r].nano);
  if (exceeded.length > 0) {
    return {
      interesting: true,
      refusal: `exceeded quota: ${name}, requested: ${prettyPrint(maskList(requested, exceeded))}, used: ${prettyPrint(maskList(used, exceeded))}, limited: ${prettyPrint(maskList(hard, exceeded))}`,
    };
  }
  return { interesting: true, newUsed, requested };
}

async function quotasOf(rq: Registry, namespace: string): Promise<KubeObject[]> {
  const list = () => rq.cache.list({ namespace, matches: () => true }).map((e) => e.obj);
  let quotas = list();
  if (quotas.length === 0) {
    // A quota created a moment ago may not be in the cache yet: confirm against storage now and then.
    const at = confirmedEmpty.get(namespace);
    if (at === undefined || Date.now() - at > LIVE_LOOKUP_TTL_MS) {
      await rq.cache.sync();
      quotas = list();
      if (quotas.length === 0) {
        if (confirmedEmpty.size > 10_000) confirmedEmpty.clear();
        confirmedEmpty.set(namespace, Date.now());
      }
    }
  } else confirmedEmpty.delete(namespace);
  return quotas;
}

/**
 * Admits (or refuses with 403) the creation of `obj` in `namespace` under the namespace's
 * ResourceQuotas, charging the quotas' status.used unless `dryRun`. `info` is the created
 * resource's group and plural (the Registry's `info` will do).
 */
export async function admitResourceQuota(regs: Registries, info: { group: string; resource: string }, namespace: string, obj: KubeObject, opts: QuotaAdmissionOptions = {}): Promise<void> {
  if (!namespace) return;
  const ev = evaluatorFor(info.group, info.resource);
  if (opts.old && !ev.chargesUpdates) return;
  const rq = regs.get('', 'v1', 'resourcequotas');
  if (!rq) return;
  const quotas = await quotasOf(rq, namespace);
  if (quotas.length === 0) return;
  const now = opts.now ?? new Date();
  const fail = (msg: string) => forbidden(info.group, info.resource, obj, msg);

  const interesting: KubeObject[] = [];
  for (const q of quotas) {
    const c = checkQuota(q, ev, obj, undefined);
    if (c.refusal) throw fail(c.refusal);
    if (c.interesting) interesting.push(q);
  }
  if (interesting.length === 0) return;
  const usage = ev.usage(obj, now);
  const negative = Object.keys(usage).filter((k) => usage[k].nano < 0n);
  if (negative.length > 0) throw fail(`quota usage is negative for resource(s): ${negative.sort().join(',')}`);
  const delta = opts.old ? growth(usage, ev.usage(opts.old, now)) : usage;
  if (Object.values(delta).every((q) => q.nano === 0n)) return;
  for (const q of interesting) {
    const c = checkQuota(q, ev, obj, delta);
    if (c.refusal) throw fail(c.refusal);
  }
  if (opts.dryRun) return;

  // Charge each quota by a conditional write that re-checks against the stored status.
  const charged: Array<{ name: string; requested: ResourceList }> = [];
  try {
    for (const q of interesting) {
      const name = q.metadata?.name ?? '';
      let requested: ResourceList | undefined;
      await rq.gs.guaranteedUpdate(namespace, name, (cur) => {
        if (!cur) throw new StatusError(404, 'NotFound', 'gone');
        const c = checkQuota(cur, ev, obj, delta);
        if (c.refusal) throw fail(c.refusal);
        requested = c.requested;
        if (!c.newUsed) return cur;
        const status = (cur.status ?? {}) as { used?: Record<string, string> };
        const used = { ...(status.used ?? {}) };
        for (const [k, v] of Object.entries(c.newUsed)) used[k] = formatQ(v);
        cur.status = { ...status, used };
        return cur;
      }, { subresource: 'status' }).catch((err: unknown) => {
        // A quota deleted meanwhile constrains nothing.
        if (err instanceof StatusError && err.code === 404 && err.message === 'gone') return;
        throw err;
      });
      if (requested) charged.push({ name, requested });
    }
  } catch (err) {
    await Promise.all(charged.map((c) => uncharge(rq, namespace, c.name, c.requested)));
    throw err;
  }
}

/** What an update adds to the stored object's usage: each resource's increase, none below zero. */
function growth(next: ResourceList, prev: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, q] of Object.entries(next)) {
    const d = prev[k] ? subQ(q, prev[k]) : q;
    if (d.nano > 0n) out[k] = d;
  }
  return out;
}

/** Gives back a charge (a later quota refused the object). Best effort: the controller recounts anyway. */
async function uncharge(rq: Registry, namespace: string, name: string, requested: ResourceList): Promise<void> {
  try {
    await rq.gs.guaranteedUpdate(namespace, name, (cur) => {
      if (!cur) throw new StatusError(404, 'NotFound', 'gone');
      const status = (cur.status ?? {}) as { used?: Record<string, string> };
      const used = parseList(status.used);
      const out = { ...(status.used ?? {}) };
      for (const [k, v] of Object.entries(requested)) if (used[k]) out[k] = formatQ(subQ(used[k], v));
      cur.status = { ...status, used: out };
      return cur;
    }, { subresource: 'status' });
  } catch {
    // the quota controller recalculates usage
  }
}
