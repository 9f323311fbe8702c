// Which nodes a DaemonSet's pods belong on, pure: the daemon pod's automatic tolerations, the
// predicates upstream checks (template nodeName, nodeSelector, required node affinity, NoSchedule
// and NoExecute taints), the pod template with its labels, and the node affinity
// (`matchFields metadata.name In [node]`) that pins a daemon pod to its node for the scheduler.
import type { Affinity, DaemonSet, Labels, Node, Pod, PodSpec, PodTemplateSpec, Taint, Toleration } from './types.ts';
import { CONTROLLER_REVISION_HASH } from './util.ts';
import { matchNodeSelectorTerm } from '../../api/selectors.ts';
import { cloneJson } from '../../api/object.ts';

export const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';
export const POD_TEMPLATE_GENERATION_LABEL = 'pod-template-generation';

const DAEMON_TOLERATIONS: Array<[string, string]> = [
  ['node.kubernetes.io/not-ready', 'NoExecute'],
  ['node.kubernetes.io/unreachable', 'NoExecute'],
  ['node.kubernetes.io/disk-pressure', 'NoSchedule'],
  ['node.kubernetes.io/memory-pressure', 'NoSchedule'],
  ['node.kubernetes.io/pid-pressure', 'NoSchedule'],
  ['node.kubernetes.io/unschedulable', 'NoSchedule'],
];

function sameToleration(a: Toleration, b: Toleration): boolean {
  return (a.key ?? '') === (b.key ?? '') && (a.operator ?? '') === (b.operator ?? '') && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '');
}

/** v1helper.AddOrUpdateTolerationInPodSpec: replaces an equal toleration, else appends. */
function addOrUpdateToleration(spec: PodSpec, t: Toleration): void {
  const list = [...(spec.tolerations ?? [])];
  const i = list.findIndex((x) => sameToleration(x, t));
  if (i >= 0) list[i] = t;
  else list.push(t);
  spec.tolerations = list;
}

/** AddOrUpdateDaemonPodTolerations: daemon pods survive node problems and cordoning. */
export function addDaemonTolerations(spec: PodSpec): void {
  for (const [key, effect] of DAEMON_TOLERATIONS) addOrUpdateToleration(spec, { key, operator: 'Exists', effect });
  if (spec.hostNetwork) addOrUpdateToleration(spec, { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
}

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  const op = t.operator ?? '';
  if (op === 'Exists') return true;
  return (op === '' || op === 'Equal') && (t.value ?? '') === (taint.value ?? '');
}

export function findUntoleratedTaint(taints: Taint[], tolerations: Toleration[], filter: (t: Taint) => boolean): Taint | undefined {
  return taints.find((taint) => filter(taint) && !tolerations.some((t) => tolerates(t, taint)));
}

/** nodeSelector and required node affinity (the scheduler's NodeAffinity filter). */
export function fitsNodeAffinity(spec: PodSpec, node: Node): boolean {
  const labels: Labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (!Object.hasOwn(labels, k) || labels[k] !== v) return false;
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) return (required.nodeSelectorTerms ?? []).some((t) => matchNodeSelectorTerm(t, node));
  return true;
}

export interface Placement {
  /** A daemon pod should be created here. */
  shouldRun: boolean;
  /** A daemon pod already here may stay (it tolerates the NoExecute taints). */
  shouldContinueRunning: boolean;
}

/** NodeShouldRunDaemonPod. */
export function nodeShouldRunDaemonPod(node: Node, ds: DaemonSet): Placement {
  const spec: PodSpec = { ...(ds.spec.template.spec ?? {}) };
  addDaemonTolerations(spec);
  if (spec.nodeName && spec.nodeName !== node.metadata.name) return { shouldRun: false, shouldContinueRunning: false };
  if (!fitsNodeAffinity(spec, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = node.spec?.taints ?? [];
  const tolerations = spec.tolerations ?? [];
  if (findUntoleratedTaint(taints, tolerations, (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')) {
    return { shouldRun: false, shouldContinueRunning: !findUntoleratedTaint(taints, tolerations, (t) => t.effect === 'NoExecute') };
  }
  return { shouldRun: true, shouldContinueRunning: true };
}

/** ReplaceDaemonSetPodNodeNameNodeAffinity: the required node terms become `metadata.name In [node]`. */
export function pinToNode(affinity: Affinity | null | undefined, nodeName: string): Affinity {
  const terms = [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }];
  const a: Affinity = { ...(affinity ?? {}) };
  a.nodeAffinity = { ...(a.nodeAffinity ?? {}), requiredDuringSchedulingIgnoredDuringExecution: { ...(a.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? {}), nodeSelectorTerms: terms } };
  return a;
}

/** The node a daemon pod is for: spec.nodeName, or the node its affinity pins it to. */
export function targetNodeName(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  for (const term of pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of term.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  }
  return undefined;
}

/**
 * The DaemonSet's template generation: the annotation upstream's API server keeps (bumped on
 * template changes only); without it, metadata.generation, which changes at least as often, so a
 * pod labelled with the current value was made from the current template.
 */
export function templateGeneration(ds: DaemonSet): string | undefined {
  const a = ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  if (a && /^\d+$/.test(a)) return a;
  return ds.metadata.generation !== undefined ? String(ds.metadata.generation) : undefined;
}

/** util.IsPodUpdated: the pod carries the current hash or the current template generation. */
export function isPodUpdated(pod: Pod, hash: string, generation: string | undefined): boolean {
  const labels = pod.metadata.labels ?? {};
  return (hash !== '' && labels[CONTROLLER_REVISION_HASH] === hash) || (generation !== undefined && labels[POD_TEMPLATE_GENERATION_LABEL] === generation);
}

/** util.CreatePodTemplate: the template with daemon tolerations, generation and hash labels. */
export function daemonPodTemplate(ds: DaemonSet, hash: string): PodTemplateSpec {
  const t = cloneJson(ds.spec.template);
  t.spec ??= {};
  addDaemonTolerations(t.spec);
  t.metadata = { ...(t.metadata ?? {}), labels: { ...(t.metadata?.labels ?? {}) } };
  const gen = templateGeneration(ds);
  if (gen !== undefined) t.metadata.labels![POD_TEMPLATE_GENERATION_LABEL] = gen;
  if (hash) t.metadata.labels![CONTROLLER_REVISION_HASH] = hash;
  return t;
}
