// The volume plugins of the default profile, PreFilter and Filter: VolumeRestrictions (in-tree
// disk conflicts, ReadWriteOncePod claims in use), VolumeBinding (claims exist, immediate claims
// are bound, bound volumes' node affinity) and VolumeZone (zone/region labels of bound volumes).
// Unbound WaitForFirstConsumer claims need a free volume on the node that fits them, or a class
// that provisions (`kubernetes.io/no-provisioner` does not); `volumeBindings` lists what the
// scheduler binds (or asks to provision) before it binds the pod.
import { matchNodeSelector } from './labels.ts';
import type { NodeInfo, PodInfo, Snapshot } from './snapshot.ts';
import type { Labels, PersistentVolume, PersistentVolumeClaim, Pod, Volume } from './types.ts';
import { storageClassOf } from '../api/storage-class.ts';
import { ephemeralClaimError, intersect, isDelayBinding, isFullyBound, localVolumeNodeNames, volumeClaim, type VolumeStore } from './volumes.ts';

export const ERR_DISK_CONFLICT = 'node(s) had no available disk';
export const ERR_RWOP_CONFLICT = 'node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode';
export const ERR_UNBOUND_IMMEDIATE = 'pod has unbound immediate PersistentVolumeClaims';
export const ERR_VOLUME_NODE_CONFLICT = 'node(s) had volume node affinity conflict';
export const ERR_PV_NOT_EXIST = 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)';
export const ERR_VOLUME_ZONE = 'node(s) had no available volume zone';
export const ERR_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

const ZONE_BETA = 'failure-domain.beta.kubernetes.io/zone';
const REGION_BETA = 'failure-domain.beta.kubernetes.io/region';
const ZONE = 'topology.kubernetes.io/zone';
const REGION = 'topology.kubernetes.io/region';
const TOPOLOGY_LABELS = [ZONE_BETA, REGION_BETA, ZONE, REGION];
const TO_GA: Record<string, string> = { [ZONE_BETA]: ZONE, [REGION_BETA]: REGION };

/** A PreFilter rejection: every node fails with `message` (UnschedulableAndUnresolvable). */
export interface Reject {
  plugin: string;
  message: string;
}

const notFound = (resource: string, name: string) => `${resource} "${name}" not found`;

function needsDiskCheck(v: Volume): boolean {
  return !!(v.gcePersistentDisk || v.awsElasticBlockStore || v.rbd || v.iscsi);
}

/** isVolumeConflict: the same in-tree disk used read-write by two pods on one node. */
function diskConflict(v: Volume, other: Pod): boolean {
  for (const e of other.spec.volumes ?? []) {
    if (v.gcePersistentDisk && e.gcePersistentDisk && v.gcePersistentDisk.pdName === e.gcePersistentDisk.pdName && !(v.gcePersistentDisk.readOnly && e.gcePersistentDisk.readOnly)) return true;
    if (v.awsElasticBlockStore && e.awsElasticBlockStore && v.awsElasticBlockStore.volumeID === e.awsElasticBlockStore.volumeID) return true;
    if (v.iscsi && e.iscsi && v.iscsi.iqn === e.iscsi.iqn && !(v.iscsi.readOnly && e.iscsi.readOnly)) return true;
    if (v.rbd && e.rbd && v.rbd.pool === e.rbd.pool && v.rbd.image === e.rbd.image && !(v.rbd.readOnly && e.rbd.readOnly)) {
      const mons = new Set(v.rbd.monitors ?? []);
      if ((e.rbd.monitors ?? []).some((m) => mons.has(m))) return true;
    }
  }
  return false;
}

/** Per-pod state of the three plugins; null parts were skipped by their PreFilter. */
export class VolumeState {
  /** VolumeRestrictions: the pod's ReadWriteOncePod claims and how many scheduled pods use them. */
  restrictions: { rwop: Set<string>; conflicting: number; diskVolumes: Volume[] } | null;
  /** VolumeBinding: the pod's fully bound claims with their volumes (undefined: the PV is missing). */
  readonly bound: { pv: PersistentVolume | undefined }[] | null;
  /** VolumeZone: topology label → allowed values, one entry per label of each bound volume. */
  readonly zones: { key: string; values: Set<string> }[] | null;
  /** VolumeBinding: the pod's unbound WaitForFirstConsumer claims, and where volumes are found. */
  readonly toBind: { claims: PersistentVolumeClaim[]; store: VolumeStore } | null;

  constructor(restrictions: VolumeState['restrictions'], bound: VolumeState['bound'], zones: VolumeState['zones'], toBind: VolumeState['toBind'] = null) {
    this.restrictions = restrictions;
    this.bound = bound;
    this.zones = zones;
    this.toBind = toBind;
  }

  clone(): VolumeState {
    const r = this.restrictions;
    return new VolumeState(r ? { ...r } : null, this.bound, this.zones, this.toBind);
  }

  /** PreFilterExtensions AddPod / RemovePod of VolumeRestrictions. */
  update(p: PodInfo, namespace: string, delta: number): void {
    const r = this.restrictions;
    if (r === null || r.rwop.size === 0 || p.namespace !== namespace) return;
    for (const c of p.claims) if (r.rwop.has(c)) r.conflicting += delta;
  }

  /** VolumeRestrictions Filter (preemption may help). */
  filterRestrictions(node: NodeInfo): string | null {
    const r = this.restrictions;
    if (r === null) return null;
    for (const v of r.diskVolumes) for (const p of node.pods) if (diskConflict(v, p.pod)) return ERR_DISK_CONFLICT;
    return r.conflicting > 0 ? ERR_RWOP_CONFLICT : null;
  }

  /**
   * VolumeBinding Filter, judged on the node's labels only: bound volumes' node affinity; each
   * claim to bind needs a matching free volume here, unless its class provisions.
   */
  filterBinding(node: NodeInfo): string | null {
    const asNode = { metadata: { labels: node.labels } };
    for (const b of this.bound ?? []) {
      if (b.pv === undefined) return ERR_PV_NOT_EXIST;
      const req = b.pv.spec?.nodeAffinity?.required;
      if (req && !matchNodeSelector(req, asNode)) return ERR_VOLUME_NODE_CONFLICT;
    }
    if (this.toBind !== null && bindingsOn(this.toBind.store, this.toBind.claims, node.labels) === null) return ERR_BIND_CONFLICT;
    return null;
  }

  /** VolumeZone Filter: nodes without any zone/region label pass (single-zone clusters). */
  filterZone(node: NodeInfo): string | null {
    if (this.zones === null) return null;
    const labels = node.labels;
    if (!TOPOLOGY_LABELS.some((k) => labels[k] !== undefined)) return null;
    for (const z of this.zones) {
      const v = labels[z.key] ?? (TO_GA[z.key] !== undefined ? labels[TO_GA[z.key]] : undefined);
      if (v === undefined || !z.values.has(v)) return ERR_VOLUME_ZONE;
    }
    return null;
  }
}

/** Claims to bind on a node with labels `nodeLabels`: a volume each, or none (provisioning); null when one can have neither. */
function bindingsOn(store: VolumeStore, claims: PersistentVolumeClaim[], nodeLabels: Labels): Array<{ pvc: PersistentVolumeClaim; pv: PersistentVolume | undefined }> | null {
  const taken = new Set<string>();
  const out: Array<{ pvc: PersistentVolumeClaim; pv: PersistentVolume | undefined }> = [];
  for (const pvc of claims) {
    const pv = store.matchingVolume(pvc, nodeLabels, taken);
    if (pv) taken.add(pv.metadata.name ?? '');
    else if ((store.storageClass(storageClassOf(pvc))?.provisioner ?? NO_PROVISIONER) === NO_PROVISIONER) return null;
    out.push({ pvc, pv });
  }
  return out;
}

/** The pod's unbound WaitForFirstConsumer claims (without a volume named yet). */
function claimsToBind(store: VolumeStore, pod: Pod): PersistentVolumeClaim[] {
  const ns = pod.metadata.namespace ?? 'default';
  const out: PersistentVolumeClaim[] = [];
  for (const v of pod.spec.volumes ?? []) {
    const claim = volumeClaim(pod, v);
    const pvc = claim && store.pvc(ns, claim.name);
    if (pvc && !isFullyBound(pvc) && !pvc.spec?.volumeName && isDelayBinding(pvc, store)) out.push(pvc);
  }
  return out;
}

/**
 * What binding `pod` to the node with `nodeLabels` takes first (upstream's PreBind): for each
 * unbound WaitForFirstConsumer claim, the volume to bind it to, or undefined to have it
 * provisioned there. Null when the node cannot hold the claims any more.
 */
export function volumeBindings(store: VolumeStore, pod: Pod, nodeLabels: Labels): Array<{ pvc: PersistentVolumeClaim; pv: PersistentVolume | undefined }> | null {
  const claims = claimsToBind(store, pod);
  return claims.length === 0 ? [] : bindingsOn(store, claims, nodeLabels);
}

export interface VolumePreFilter {
  state: VolumeState | null;
  reject: Reject | null;
  /** The nodes to filter (NodeAffinity's and VolumeBinding's PreFilterResults merged); null = all. */
  nodeNames: Set<string> | null;
  /** The plugins that narrowed `nodeNames`, sorted. */
  nodePlugins: string[];
}

const NONE: VolumePreFilter = { state: null, reject: null, nodeNames: null, nodePlugins: [] };

/** volumehelpers.LabelZonesToSet: `a__b` is the set {a, b}; an empty member is invalid. */
function zonesOf(value: string): Set<string> | null {
  const parts = value.split('__').map((z) => z.trim());
  return parts.some((z) => z === '') ? null : new Set(parts);
}

/**
 * The PreFilter of VolumeRestrictions, VolumeBinding and VolumeZone, in that order, after
 * NodeAffinity's (whose node names, if any, are `affinityNames`).
 */
export function volumePreFilter(snap: Snapshot, pi: PodInfo, affinityNames: Set<string> | null): VolumePreFilter {
  const pod = pi.pod;
  const volumes = pod.spec.volumes ?? [];
  const affinity: VolumePreFilter = { ...NONE, nodeNames: affinityNames, nodePlugins: affinityNames === null ? [] : ['NodeAffinity'] };
  if (volumes.length === 0) return affinity;
  const store = snap.volumes;
  const ns = pi.namespace;

  // VolumeRestrictions
  const rwop = new Set<string>();
  for (const v of volumes) {
    if (!v.persistentVolumeClaim) continue;
    const pvc = store.pvc(ns, v.persistentVolumeClaim.claimName);
    if (!pvc) return { ...affinity, reject: { plugin: 'VolumeRestrictions', message: notFound('persistentvolumeclaim', v.persistentVolumeClaim.claimName) } };
    if ((pvc.spec?.accessModes ?? []).includes('ReadWriteOncePod')) rwop.add(pvc.metadata.name ?? '');
  }
  let conflicting = 0;
  for (const c of rwop) if (snap.isPVCUsed(ns, c)) conflicting++;
  const diskVolumes = volumes.filter(needsDiskCheck);
  const restrictions = diskVolumes.length > 0 || conflicting > 0 ? { rwop, conflicting, diskVolumes } : null;

  // VolumeBinding
  let bound: { pv: PersistentVolume | undefined }[] | null = null;
  let eligibleNodes: Set<string> | null = null;
  let hasClaims = false;
  for (const v of volumes) {
    const claim = volumeClaim(pod, v);
    if (claim === null) continue;
    hasClaims = true;
    const pvc = store.pvc(ns, claim.name);
    const reject = (message: string): VolumePreFilter => ({ ...affinity, reject: { plugin: 'VolumeBinding', message } });
    if (!pvc) return reject(claim.ephemeral ? `waiting for ephemeral volume controller to create the persistentvolumeclaim "${claim.name}"` : notFound('persistentvolumeclaim', claim.name));
    if (pvc.status?.phase === 'Lost') return reject(`persistentvolumeclaim "${claim.name}" bound to non-existent persistentvolume "${pvc.spec?.volumeName ?? ''}"`);
    if (pvc.metadata.deletionTimestamp) return reject(`persistentvolumeclaim "${claim.name}" is being deleted`);
    if (claim.ephemeral) {
      const err = ephemeralClaimError(pod, pvc);
      if (err !== null) return reject(err);
    }
  }
  if (hasClaims) {
    bound = [];
    let unboundImmediate = false;
    let pvMissing = false;
    for (const v of volumes) {
      const claim = volumeClaim(pod, v);
      if (claim === null) continue;
      const pvc = store.pvc(ns, claim.name)!;
      if (isFullyBound(pvc)) {
        const pv = store.pv(pvc.spec!.volumeName!);
        bound.push({ pv });
        if (pv === undefined) pvMissing = true;
        else {
          const names = localVolumeNodeNames(pv);
          if (names !== null) eligibleNodes = eligibleNodes === null ? names : intersect(eligibleNodes, names);
        }
      } else if (!isDelayBinding(pvc, store) || pvc.spec?.volumeName) unboundImmediate = true;
    }
    if (unboundImmediate) return { ...affinity, reject: { plugin: 'VolumeBinding', message: ERR_UNBOUND_IMMEDIATE } };
    if (pvMissing) eligibleNodes = null; // GetEligibleNodes gives up on any error
  }
  let nodeNames = affinityNames;
  const nodePlugins = [...affinity.nodePlugins];
  if (eligibleNodes !== null) {
    const e = eligibleNodes;
    nodeNames = nodeNames === null ? e : intersect(nodeNames, e);
    nodePlugins.push('VolumeBinding');
    if (nodeNames.size === 0) {
      const message = nodePlugins.length === 1 ? `node(s) didn't satisfy plugin ${nodePlugins[0]}` : `node(s) didn't satisfy plugin(s) [${nodePlugins.join(' ')}] simultaneously`;
      return { state: null, reject: { plugin: 'VolumeBinding', message }, nodeNames, nodePlugins };
    }
  }

  // VolumeZone (only persistentVolumeClaim volumes; unbound WaitForFirstConsumer claims are skipped)
  let zones: { key: string; values: Set<string> }[] | null = null;
  for (const v of volumes) {
    if (!v.persistentVolumeClaim) continue;
    const reject = (message: string): VolumePreFilter => ({ ...affinity, reject: { plugin: 'VolumeZone', message } });
    const name = v.persistentVolumeClaim.claimName;
    if (name === '') return reject('PersistentVolumeClaim had no name');
    const pvc = store.pvc(ns, name)!;
    const pvName = pvc.spec?.volumeName ?? '';
    if (pvName === '') {
      const cls = storageClassOf(pvc);
      if (cls === '') return reject('PersistentVolumeClaim had no pv name and storageClass name');
      const sc = store.storageClass(cls);
      if (!sc) return reject(notFound('storageclass.storage.k8s.io', cls));
      if (sc.volumeBindingMode === 'WaitForFirstConsumer') continue;
      return reject('PersistentVolume had no name');
    }
    const pv = store.pv(pvName);
    if (!pv) return reject(notFound('persistentvolume', pvName));
    for (const key of TOPOLOGY_LABELS) {
      const value = pv.metadata.labels?.[key];
      if (value === undefined) continue;
      const values = zonesOf(value);
      if (values !== null) (zones ??= []).push({ key, values });
    }
  }

  const pending = hasClaims ? claimsToBind(store, pod) : [];
  const toBind = pending.length > 0 ? { claims: pending, store } : null;
  const state = restrictions !== null || bound !== null || zones !== null || toBind !== null ? new VolumeState(restrictions, bound, zones, toBind) : null;
  return { state, reject: null, nodeNames, nodePlugins };
}
