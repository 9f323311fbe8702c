// pods/binding (the scheduler's assignment of a pod to a node) and pods/eviction (a delete that
// respects PodDisruptionBudgets, what `kubectl drain` uses). Both answer 201 with a Status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isPlainObject, meta, nowRfc3339, type KubeObject } from '../../api/object.ts';
import { fromLabelSelectorObject, matchesLabels, type LabelSelectorObject } from '../../api/selectors.ts';
import { badRequest, conflict, notFound, StatusError } from '../../api/status.ts';
import { SERVER_CHANGE, type DeleteOptions } from '../../registry/generic.ts';
import { decodeBody, readBody, writeJson } from '../http.ts';
import type { Registries, Registry } from '../registries.ts';
import type { RequestInfo } from '../request-info.ts';
import { dryRunOf } from './write.ts';

type Obj = Record<string, unknown>;

interface Condition {
  type: string;
  status: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

async function body(req: IncomingMessage): Promise<Obj> {
  const raw = await readBody(req);
  const b = decodeBody(raw, String(req.headers['content-type'] ?? 'application/json'));
  if (!isPlainObject(b)) throw badRequest('the request body must be an object');
  return b;
}

function created(res: ServerResponse): void {
  writeJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

/** POST pods/{name}/binding, or POST bindings with the pod's name in the body. */
export async function handleBinding(pods: Registry, ri: RequestInfo, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const dryRun = dryRunOf(q);
  const b = await body(req);
  const bm = isPlainObject(b.metadata) ? b.metadata : {};
  const name = ri.subresource === 'binding' ? ri.name : String(bm.name ?? '');
  if (ri.subresource === 'binding' && bm.name !== undefined && bm.name !== ri.name) throw badRequest(`the name of the object (${String(bm.name)}) does not match the name on the URL (${ri.name})`);
  const target = isPlainObject(b.target) ? b.target : {};
  const node = typeof target.name === 'string' ? target.name : '';
  const causes = [];
  if (!name) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'metadata.name' });
  if (!node) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' });
  if (target.kind !== undefined && target.kind !== '' && target.kind !== 'Node') causes.push({ reason: 'FieldValueNotSupported', message: 'Unsupported value: must be empty or \'Node\'', field: 'target.kind' });
  if (causes.length > 0) throw new StatusError(422, 'Invalid', `Binding "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, { name, kind: 'Binding', causes });
  const annotations = isPlainObject(bm.annotations) ? (bm.annotations as Record<string, string>) : {};
  await pods.gs.guaranteedUpdate(ri.namespace, name, (cur) => {
    if (!cur) throw notFound(pods.gs.gr, name);
    const m = meta(cur);
    const spec = (cur.spec ??= {}) as Obj;
    if (m.deletionTimestamp) throw conflict(pods.gs.gr, name, `pod ${name} is being deleted, cannot be assigned to a host`);
    if (spec.nodeName) throw conflict(pods.gs.gr, name, `pod ${name} is already assigned to node "${String(spec.nodeName)}"`);
    spec.nodeName = node;
    if (Object.keys(annotations).length > 0) m.annotations = { ...(m.annotations ?? {}), ...annotations };
    setCondition(cur, { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: nowRfc3339() });
    return cur;
  }, { dryRun, subresource: SERVER_CHANGE });
  created(res);
}

function setCondition(pod: KubeObject, c: Condition): void {
  const status = (pod.status ??= {}) as { conditions?: Condition[] };
  const list = (status.conditions ??= []);
  const i = list.findIndex((x) => x.type === c.type);
  if (i < 0) list.push(c);
  else if (list[i].status !== c.status) list[i] = c;
}

interface Pdb extends KubeObject {
  spec?: { selector?: LabelSelectorObject | null; minAvailable?: number | string; maxUnavailable?: number | string };
  status?: { disruptionsAllowed?: number; currentHealthy?: number; desiredHealthy?: number; observedGeneration?: number; disruptedPods?: Record<string, string> };
}

/** POST pods/{name}/eviction: deletes the pod unless a PodDisruptionBudget forbids it (429). */
export async function handleEviction(regs: Registries, pods: Registry, ri: RequestInfo, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const b = await body(req);
  const bm = isPlainObject(b.metadata) ? b.metadata : {};
  if (bm.name !== undefined && bm.name !== ri.name) throw badRequest(`name in URL does not match name in Eviction object`);
  const opts: DeleteOptions = { dryRun: dryRunOf(q) };
  const del = isPlainObject(b.deleteOptions) ? b.deleteOptions : {};
  if (typeof del.gracePeriodSeconds === 'number') opts.gracePeriodSeconds = del.gracePeriodSeconds;
  if (isPlainObject(del.preconditions)) opts.preconditions = del.preconditions as DeleteOptions['preconditions'];
  if (Array.isArray(del.dryRun) && del.dryRun.length > 0) opts.dryRun = true;
  const pod = await pods.gs.get(ri.namespace, ri.name);
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  // Pods that are not running (or already going) disrupt nothing.
  const ignoreBudgets = phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata?.deletionTimestamp;
  const pdbs = regs.get('policy', 'v1', 'poddisruptionbudgets');
  if (!ignoreBudgets && pdbs) {
    await pdbs.cache.sync();
    const labels = pod.metadata?.labels ?? {};
    const matching = pdbs.cache.list({ namespace: ri.namespace, matches: (e) => {
      const sel = fromLabelSelectorObject((e.obj as Pdb).spec?.selector);
      return sel !== undefined && sel.length > 0 && matchesLabels(sel, labels);
    } });
    if (matching.length > 1) throw new StatusError(500, 'InternalError', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    if (matching.length === 1) {
      const pdbName = matching[0].name;
      await pdbs.gs.guaranteedUpdate(ri.namespace, pdbName, (cur) => {
        if (!cur) throw notFound(pdbs.gs.gr, pdbName);
        const pdb = cur as Pdb;
        const st = (pdb.status ??= {});
        if ((st.observedGeneration ?? 0) < (pdb.metadata?.generation ?? 0)) {
          throw new StatusError(429, 'TooManyRequests', `Cannot evict pod as it would violate the pod's disruption budget.`, { retryAfterSeconds: 10, causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${pdbName} is still being processed by the server.` }] });
        }
        if ((st.disruptionsAllowed ?? 0) <= 0) {
          throw new StatusError(429, 'TooManyRequests', `Cannot evict pod as it would violate the pod's disruption budget.`, { causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${pdbName} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently` }] });
        }
        st.disruptionsAllowed = (st.disruptionsAllowed ?? 0) - 1;
        st.disruptedPods = { ...(st.disruptedPods ?? {}), [ri.name]: nowRfc3339() };
        return cur;
      }, { dryRun: opts.dryRun, subresource: 'status' });
    }
  }
  await pods.gs.delete(ri.namespace, ri.name, opts);
  created(res);
}
