// What the namespace controller does to a namespace being deleted (upstream's
// namespacedResourcesDeleter): discover every namespaced resource the server serves (aggregated
// discovery, so custom resources too), delete them all (deletecollection with Background
// propagation, else one by one), check what remains, record the outcome as the five deletion
// conditions, and report an estimate of how long the rest will take.
import type { KubeObject } from '../../api/object.ts';
import { StatusError } from '../../api/status.ts';
import { isNotFound, type KubeClient } from '../../client/kube-client.ts';
import { Resources, type GVR } from '../../client/resources.ts';
import { errorMessage } from '../framework/log.ts';
import { gvrString } from './resources.ts';

export interface NamespaceCondition {
  type: string;
  status: 'True' | 'False';
  lastTransitionTime?: string;
  reason: string;
  message: string;
}

/** The condition types the deleter maintains, in upstream's order, with their "all is well" variants. */
const CONDITIONS: Array<[type: string, okReason: string, okMessage: string]> = [
  ['NamespaceDeletionDiscoveryFailure', 'ResourcesDiscovered', 'All resources successfully discovered'],
  ['NamespaceDeletionGroupVersionParsingFailure', 'ParsedGroupVersions', 'All legacy kube types successfully parsed'],
  ['NamespaceDeletionContentFailure', 'ContentDeleted', 'All content successfully deleted, may be waiting on finalization'],
  ['NamespaceContentRemaining', 'ContentRemoved', 'All content successfully removed'],
  ['NamespaceFinalizersRemaining', 'ContentHasNoFinalizers', 'All content-preserving finalizers finished'],
];

/** Seconds the GC gets when remaining objects carry finalizers. */
const FINALIZER_ESTIMATE_SECONDS = 15;

/** A served resource and its verbs, as discovery lists it. */
export interface ServedResource extends GVR {
  verbs: string[];
}

export interface DiscoveryResult {
  resources: ServedResource[];
  /** upstream's ErrGroupDiscoveryFailed: group versions that could not be discovered, with why. */
  failedGroups?: Map<string, string>;
}

/** Discovery of the namespaced resources; throws when it fails altogether. */
export type Discover = () => Promise<DiscoveryResult>;

interface AggregatedList {
  kind?: string;
  items?: Array<{
    metadata?: { name?: string };
    versions?: Array<{ version: string; freshness?: string; resources?: Array<{ resource: string; scope?: string; verbs?: string[]; responseKind?: { kind?: string } }> }>;
  }>;
}

const AGGREGATED_ACCEPT = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';

/**
 * upstream's ServerPreferredNamespacedResources over aggregated discovery (pure): each namespaced
 * group/resource once, in the first version listed that serves it (the preferred one comes
 * first); stale group versions are failures.
 */
export function preferredNamespacedResources(lists: AggregatedList[]): DiscoveryResult {
  const seen = new Set<string>();
  const resources: ServedResource[] = [];
  const failedGroups = new Map<string, string>();
  for (const list of lists) {
    for (const g of list.items ?? []) {
      const group = g.metadata?.name ?? '';
      for (const v of g.versions ?? []) {
        const gv = group ? `${group}/${v.version}` : v.version;
        if (v.freshness === 'Stale') {
          failedGroups.set(gv, `stale GroupVersion discovery: ${gv}`);
          continue;
        }
        for (const r of v.resources ?? []) {
          if (r.resource.includes('/') || seen.has(`${r.resource}.${group}`)) continue;
          seen.add(`${r.resource}.${group}`);
          if (r.scope !== 'Namespaced') continue;
          resources.push({ group, version: v.version, resource: r.resource, namespaced: true, kind: r.responseKind?.kind, verbs: r.verbs ?? [] });
        }
      }
    }
  }
  return failedGroups.size > 0 ? { resources, failedGroups } : { resources };
}

/** Discovery through the API (`/api` and `/apis`, aggregated). */
export function discoverNamespacedResources(client: KubeClient): Discover {
  return async () => {
    const lists = await Promise.all(['/api', '/apis'].map((path) => client.request<AggregatedList>('GET', path, undefined, { Accept: AGGREGATED_ACCEPT })));
    for (const l of lists) if (l.kind !== 'APIGroupDiscoveryList') throw new Error(`the server did not answer with aggregated discovery (got ${l.kind})`);
    return preferredNamespacedResources(lists);
  };
}

/** The NamespaceDeletionDiscoveryFailure message for an ErrGroupDiscoveryFailed. */
export function discoveryFailureMessage(failed: Map<string, string>): string {
  const groups = [...failed].map(([gv, why]) => `${gv}: ${why}`).sort();
  return `Discovery failed for some groups, ${failed.size} failing: unable to retrieve the complete list of server APIs: ${groups.join(', ')}`;
}

const nowStamp = (now: Date) => now.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Merges the failure conditions found into `status.conditions` (missing types get their OK
 * variant); lastTransitionTime changes only with the status. Returns whether anything changed.
 */
export function updateConditions(status: { conditions?: NamespaceCondition[] }, found: NamespaceCondition[], now: Date): boolean {
  let changed = false;
  const conds = (status.conditions ??= []);
  for (const [type, okReason, okMessage] of CONDITIONS) {
    const want = found.find((c) => c.type === type) ?? { type, status: 'False', reason: okReason, message: okMessage };
    const old = conds.find((c) => c.type === type);
    if (!old) {
      conds.push({ type, status: want.status, lastTransitionTime: nowStamp(now), reason: want.reason, message: want.message });
      changed = true;
    } else if (old.status !== want.status || old.reason !== want.reason || old.message !== want.message) {
      if (old.status !== want.status) old.lastTransitionTime = nowStamp(now);
      old.status = want.status;
      old.reason = want.reason;
      old.message = want.message;
      changed = true;
    }
  }
  return changed;
}

interface GvrResult {
  estimate: number;
  remaining: number;
  finalizers: Map<string, number>;
}

export class Deleter {
  private readonly client: KubeClient;
  private readonly discover: Discover;
  private readonly now: () => Date;

  constructor(client: KubeClient, discover: Discover, now: () => Date) {
    this.client = client;
    this.discover = discover;
    this.now = now;
  }

  /** Deletes all content; updates the conditions; returns the estimate in seconds. Throws the aggregated errors. */
  async deleteAllContent(ns: KubeObject): Promise<number> {
    const name = ns.metadata?.name ?? '';
    const deletedAt = Date.parse(ns.metadata?.deletionTimestamp ?? '') || this.now().getTime();
    const errors: string[] = [];
    const remaining = new Map<string, number>();
    const finalizers = new Map<string, number>();
    let estimate = 0;
    const found: NamespaceCondition[] = [];
    const fatal: string[] = [];
    let served: ServedResource[] = [];
    try {
      const d = await this.discover();
      served = d.resources;
      if (d.failedGroups && d.failedGroups.size > 0) {
        const message = discoveryFailureMessage(d.failedGroups);
        found.push({ type: 'NamespaceDeletionDiscoveryFailure', status: 'True', reason: 'DiscoveryFailed', message });
        fatal.push(message.replace(/^Discovery failed for some groups, \d+ failing: /, ''));
      }
    } catch (err) {
      found.push({ type: 'NamespaceDeletionDiscoveryFailure', status: 'True', reason: 'DiscoveryFailed', message: errorMessage(err) });
      fatal.push(errorMessage(err));
    }
    for (const gvr of served.filter((r) => r.verbs.includes('delete'))) {
      let r: GvrResult;
      try {
        r = await this.deleteResource(gvr, name, deletedAt);
      } catch (err) {
        errors.push(errorMessage(err));
        r = (err as { result?: GvrResult }).result ?? { estimate: 0, remaining: 0, finalizers: new Map() };
      }
      estimate = Math.max(estimate, r.estimate);
      if (r.remaining > 0) {
        remaining.set(`${gvr.resource}.${gvr.group}`, r.remaining);
        for (const [f, n] of r.finalizers) finalizers.set(f, (finalizers.get(f) ?? 0) + n);
      }
    }
    if (errors.length > 0) {
      found.push({ type: 'NamespaceDeletionContentFailure', status: 'True', reason: 'ContentDeletionFailed', message: `Failed to delete all resource types, ${errors.length} remaining: ${[...errors].sort().join(', ')}` });
    }
    if (remaining.size > 0) {
      const parts = [...remaining].map(([gr, n]) => `${gr} has ${n} resource instances`).sort();
      found.push({ type: 'NamespaceContentRemaining', status: 'True', reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${parts.join(', ')}` });
    }
    if (finalizers.size > 0) {
      const parts = [...finalizers].map(([f, n]) => `${f} in ${n} resource instances`).sort();
      found.push({ type: 'NamespaceFinalizersRemaining', status: 'True', reason: 'SomeFinalizersRemain', message: `Some content in the namespace has finalizers remaining: ${parts.join(', ')}` });
    }
    const next = structuredClone(ns);
    const status = (next.status ??= {}) as { conditions?: NamespaceCondition[] };
    if (updateConditions(status, found, this.now())) {
      try {
        await this.client.updateStatus(Resources.namespaces, undefined, next);
      } catch {
        // upstream only logs this; the next pass writes them again
      }
    }
    const all = [...fatal, ...errors];
    if (all.length > 0) throw new Error(all.join('; '));
    return estimate;
  }

  private async deleteResource(gvr: ServedResource, ns: string, deletedAt: number): Promise<GvrResult> {
    let estimate = gvr.group === '' && gvr.resource === 'pods' ? await this.estimatePods(ns) : 0;
    if (estimate > 0 && this.now().getTime() - deletedAt >= estimate * 1000) estimate = 0;
    const canList = gvr.verbs.includes('list');
    let collected = false;
    if (gvr.verbs.includes('deletecollection')) {
      try {
        await this.client.deleteCollection(gvr, ns, { propagationPolicy: 'Background' });
        collected = true;
      } catch (err) {
        if (!(err instanceof StatusError && (err.code === 404 || err.code === 405))) throw withResult(err, { estimate, remaining: 0, finalizers: new Map() });
      }
    }
    if (!collected && canList) {
      try {
        await this.deleteEach(gvr, ns);
      } catch (err) {
        throw withResult(err, { estimate, remaining: 0, finalizers: new Map() });
      }
    }
    if (!canList) return { estimate, remaining: 0, finalizers: new Map() };
    let items: KubeObject[];
    try {
      items = (await this.client.listAll(gvr, ns)).items;
    } catch (err) {
      if (err instanceof StatusError && (err.code === 404 || err.code === 405)) return { estimate, remaining: 0, finalizers: new Map() };
      throw withResult(err, { estimate, remaining: 0, finalizers: new Map() });
    }
    if (items.length === 0) return { estimate: 0, remaining: 0, finalizers: new Map() };
    const finalizers = new Map<string, number>();
    for (const it of items) for (const f of it.metadata?.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    if (estimate !== 0) return { estimate, remaining: items.length, finalizers };
    if (finalizers.size > 0) return { estimate: FINALIZER_ESTIMATE_SECONDS, remaining: items.length, finalizers };
    throw withResult(new Error(`unexpected items still remain in namespace: ${ns} for gvr: ${gvrString(gvr)}`), { estimate, remaining: items.length, finalizers });
  }

  private async deleteEach(gvr: GVR, ns: string): Promise<void> {
    let items: KubeObject[];
    try {
      items = (await this.client.listAll(gvr, ns)).items;
    } catch (err) {
      if (err instanceof StatusError && (err.code === 404 || err.code === 405)) return;
      throw err;
    }
    for (const it of items) {
      try {
        await this.client.delete(gvr, ns, it.metadata?.name ?? '', { propagationPolicy: 'Background' });
      } catch (err) {
        if (!isNotFound(err) && !(err instanceof StatusError && err.code === 405)) throw err;
      }
    }
  }

  /** The longest termination grace period among the namespace's pods that have not finished. */
  private async estimatePods(ns: string): Promise<number> {
    let estimate = 0;
    for (const pod of (await this.client.listAll(Resources.pods, ns)).items) {
      const phase = (pod.status as { phase?: string } | undefined)?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      const grace = (pod.spec as { terminationGracePeriodSeconds?: number } | undefined)?.terminationGracePeriodSeconds;
      if (typeof grace === 'number' && grace > estimate) estimate = grace;
    }
    return estimate;
  }
}

function withResult(err: unknown, result: GvrResult): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  return Object.assign(e, { result });
}
