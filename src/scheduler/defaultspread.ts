// The selector of upstream's system default topology spreading (PodTopologySpread with
// defaultingType System, helper.DefaultSelector): for a pod without topologySpreadConstraints,
// the pods "of the same workload" are those matching the selectors of the Services selecting the
// pod and of its controlling ReplicationController, ReplicaSet or StatefulSet, ANDed.
import { compileLabelSelector } from './labels.ts';
import type { LabelSelector, LabelSelectorOwner, LabelSelectorRequirement, Labels, Pod, ReplicationController, Service } from './types.ts';

/** Read access to the workload objects (informer stores in the scheduler, plain arrays in tests). */
export interface WorkloadListers {
  services(namespace: string): Service[];
  replicationController(namespace: string, name: string): ReplicationController | undefined;
  replicaSet(namespace: string, name: string): LabelSelectorOwner | undefined;
  statefulSet(namespace: string, name: string): LabelSelectorOwner | undefined;
}

function setMatches(sel: Labels, labels: Labels): boolean {
  for (const k in sel) if (labels[k] !== sel[k]) return false;
  return true;
}

/**
 * The default spread selector of `pod`, or null when it is empty (no Service selects the pod and
 * it has no such controller): then the system default constraints do not apply.
 */
export function defaultSpreadSelector(pod: Pod, l: WorkloadListers): LabelSelector | null {
  const ns = pod.metadata.namespace ?? 'default';
  const podLabels = pod.metadata.labels ?? {};
  let matchLabels: Labels = {};
  // GetPodServices: services of the namespace whose (non-nil) selector matches the pod.
  for (const svc of l.services(ns)) {
    const sel = svc.spec?.selector;
    if (sel && setMatches(sel, podLabels)) matchLabels = { ...matchLabels, ...sel };
  }
  const matchExpressions: LabelSelectorRequirement[] = [];
  const owner = (pod.metadata.ownerReferences ?? []).find((o) => o.controller);
  if (owner?.apiVersion === 'v1' && owner.kind === 'ReplicationController') {
    const rc = l.replicationController(ns, owner.name);
    if (rc) matchLabels = { ...matchLabels, ...(rc.spec?.selector ?? {}) };
  } else if (owner?.apiVersion === 'apps/v1' && (owner.kind === 'ReplicaSet' || owner.kind === 'StatefulSet')) {
    const w = owner.kind === 'ReplicaSet' ? l.replicaSet(ns, owner.name) : l.statefulSet(ns, owner.name);
    const sel = w?.spec?.selector;
    // A nil or invalid selector adds nothing (LabelSelectorAsSelector fails or has no requirements).
    if (sel && compileLabelSelector(sel).reqs !== null) {
      for (const [key, value] of Object.entries(sel.matchLabels ?? {})) matchExpressions.push({ key, operator: 'In', values: [value] });
      matchExpressions.push(...(sel.matchExpressions ?? []));
    }
  }
  // The workload's equality requirements fold into matchLabels when they do not clash (they
  // cannot when both select the pod); the rest stay expressions.
  const rest: LabelSelectorRequirement[] = [];
  for (const e of matchExpressions) {
    const v = e.values?.[0];
    if (e.operator === 'In' && e.values?.length === 1 && v !== undefined && (matchLabels[e.key] === undefined || matchLabels[e.key] === v)) matchLabels = { ...matchLabels, [e.key]: v };
    else rest.push(e);
  }
  if (Object.keys(matchLabels).length === 0 && rest.length === 0) return null;
  return rest.length === 0 ? { matchLabels } : { matchLabels, matchExpressions: rest };
}
