// Node health as upstream's node lifecycle controller judges it (pure): when it last heard from a
// node (its Ready condition's heartbeat changed, or its Lease in kube-node-lease was renewed, as
// seen on the controller's own clock), the conditions it writes once a node has been silent for
// the grace period, and the disruption state of a zone.
import { nodeCondition } from './taints.ts';
import { parseTime, rfc3339, type Lease, type Node, type NodeCondition } from './types.ts';

export interface NodeHealth {
  /** The node's status when last observed. */
  status: Node['status'];
  /** When the controller last heard from the node (ms, its own clock). */
  probeMs: number;
  readyTransitionMs: number;
  /** renewTime of the Lease last observed. */
  leaseRenew?: string;
}

export interface Observation {
  health: NodeHealth;
  /** Which grace period applies: 'startup' for a node that never posted a Ready condition. */
  grace: 'startup' | 'monitor';
  /** The Ready condition as the node has it (a stand-in Unknown one when it has none). */
  observedReady: NodeCondition;
}

/** Updates what the controller knows of a node from its current object and Lease. */
export function observeNode(saved: NodeHealth | undefined, node: Node, lease: Lease | undefined, nowMs: number): Observation {
  const current = nodeCondition(node, 'Ready');
  const created = node.metadata?.creationTimestamp ?? null;
  let health: NodeHealth;
  let grace: Observation['grace'] = 'monitor';
  let observedReady: NodeCondition;
  if (!current) {
    observedReady = { type: 'Ready', status: 'Unknown', lastHeartbeatTime: created, lastTransitionTime: created };
    grace = 'startup';
    const createdMs = parseTime(created) ?? nowMs;
    health = saved ? { ...saved, status: node.status } : { status: node.status, probeMs: createdMs, readyTransitionMs: createdMs };
  } else {
    observedReady = { ...current };
    const savedReady = saved ? (saved.status?.conditions ?? []).find((c) => c.type === 'Ready') : undefined;
    if (!saved || !savedReady) {
      health = { status: node.status, probeMs: nowMs, readyTransitionMs: nowMs, leaseRenew: saved?.leaseRenew };
    } else if (savedReady.lastHeartbeatTime !== current.lastHeartbeatTime) {
      const transition = savedReady.lastTransitionTime !== current.lastTransitionTime ? nowMs : saved.readyTransitionMs;
      health = { status: node.status, probeMs: nowMs, readyTransitionMs: transition, leaseRenew: saved.leaseRenew };
    } else {
      health = { ...saved, status: node.status };
    }
  }
  // A renewed Lease counts as hearing from the node.
  const renew = lease?.spec?.renewTime ?? undefined;
  if (renew && (!health.leaseRenew || (parseTime(renew) ?? 0) > (parseTime(health.leaseRenew) ?? 0))) {
    health = { ...health, leaseRenew: renew, probeMs: nowMs };
  }
  return { health, grace, observedReady };
}

const MARKED_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

/**
 * The conditions of a node the controller stopped hearing from: Ready and the pressure
 * conditions become Unknown (NodeStatusUnknown, or NodeStatusNeverUpdated when the kubelet never
 * posted them). NetworkUnavailable is left alone.
 */
export function unknownConditions(node: Node, nowMs: number): NodeCondition[] {
  const now = rfc3339(nowMs);
  const conds = (node.status?.conditions ?? []).map((c) => ({ ...c }));
  for (const type of MARKED_CONDITIONS) {
    const c = conds.find((x) => x.type === type);
    if (!c) {
      conds.push({ type, status: 'Unknown', lastHeartbeatTime: node.metadata?.creationTimestamp ?? null, lastTransitionTime: now, reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.' });
    } else if (c.status !== 'Unknown') {
      c.status = 'Unknown';
      c.reason = 'NodeStatusUnknown';
      c.message = 'Kubelet stopped posting node status.';
      c.lastTransitionTime = now;
    }
  }
  return conds;
}

export type ZoneState = 'Initial' | 'Normal' | 'PartialDisruption' | 'FullDisruption';

/** A zone is fully disrupted when no node is Ready, partially when >2 and ≥ threshold are not. */
export function computeZoneState(readyConditions: Array<NodeCondition | undefined>, unhealthyThreshold = 0.55): ZoneState {
  let ready = 0;
  let notReady = 0;
  for (const c of readyConditions) {
    if (c?.status === 'True') ready++;
    else notReady++;
  }
  if (ready === 0 && notReady > 0) return 'FullDisruption';
  if (notReady > 2 && notReady / (notReady + ready) >= unhealthyThreshold) return 'PartialDisruption';
  return 'Normal';
}

/** A token bucket (burst 1) as the per-zone eviction limiter; qps 0 never allows. */
export class TokenBucket {
  private qps: number;
  private tokens = 1;
  private last: number;

  constructor(qps: number, nowMs: number) {
    this.qps = qps;
    this.last = nowMs;
  }

  setQps(qps: number, nowMs: number): void {
    if (qps === this.qps) return;
    this.qps = qps;
    this.tokens = qps > 0 ? 1 : 0;
    this.last = nowMs;
  }

  tryAccept(nowMs: number): boolean {
    if (this.qps <= 0) return false;
    this.tokens = Math.min(1, this.tokens + ((nowMs - this.last) / 1000) * this.qps);
    this.last = nowMs;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
