// The per-zone queues of nodes waiting for a NoExecute taint, rate-limited as upstream's
// zoneNoExecuteTainter (a RateLimitedTimedQueue per zone): a node is queued once and, once
// tainted, not again until it is removed (the node became reachable, or its taint vanished).
// The rate follows the zone's disruption state: 0.1 nodes/s normally (and in full disruption of
// one zone), 0.01/s for partial disruption of zones larger than 50 nodes (else 0), and nothing
// while every zone is fully disrupted.
import { computeZoneState, TokenBucket, type ZoneState } from './node-health.ts';
import type { NodeCondition } from './types.ts';

export interface EvictionRates {
  /** Upstream's --node-eviction-rate (0.1). */
  qps: number;
  /** Upstream's --secondary-node-eviction-rate (0.01). */
  secondaryQps: number;
  /** Upstream's --large-cluster-size-threshold (50). */
  largeClusterThreshold: number;
}

interface Zone {
  state: ZoneState;
  pending: Set<string>;
  done: Set<string>;
  limiter: TokenBucket;
}

export class ZoneTainter {
  private readonly zones = new Map<string, Zone>();
  private readonly rates: EvictionRates;

  constructor(rates: EvictionRates) {
    this.rates = rates;
  }

  ensureZone(zone: string, nowMs: number): void {
    if (!this.zones.has(zone)) this.zones.set(zone, { state: 'Initial', pending: new Set(), done: new Set(), limiter: new TokenBucket(this.rates.qps, nowMs) });
  }

  zoneNames(): string[] {
    return [...this.zones.keys()];
  }

  /** Some zone has nodes waiting to be tainted. */
  hasPending(): boolean {
    for (const z of this.zones.values()) if (z.pending.size > 0) return true;
    return false;
  }

  /** Queues a node; false when it is queued or tainted already. */
  add(zone: string, node: string, nowMs: number): boolean {
    this.ensureZone(zone, nowMs);
    const z = this.zones.get(zone)!;
    if (z.pending.has(node) || z.done.has(node)) return false;
    z.pending.add(node);
    return true;
  }

  /** Forgets a node (queued or tainted); true when it was known. */
  remove(zone: string, node: string): boolean {
    const z = this.zones.get(zone);
    if (!z) return false;
    return z.pending.delete(node) || z.done.delete(node);
  }

  /** The nodes the zone's limiter lets through now, in queue order (they leave the queue). */
  take(zone: string, nowMs: number): string[] {
    const z = this.zones.get(zone);
    if (!z) return [];
    const out: string[] = [];
    for (const node of z.pending) {
      if (!z.limiter.tryAccept(nowMs)) break;
      z.pending.delete(node);
      out.push(node);
    }
    return out;
  }

  /** A taken node was handled (tainted, or needs none): not queued again until removed. */
  markDone(zone: string, node: string): void {
    this.zones.get(zone)?.done.add(node);
  }

  /** A taken node failed: back in the queue. */
  requeue(zone: string, node: string): void {
    this.zones.get(zone)?.pending.add(node);
  }

  /** The limiter rate for a zone in `state` with `size` nodes. */
  setLimiter(zone: string, size: number, state: ZoneState, nowMs: number): void {
    const r = this.rates;
    const qps = state === 'PartialDisruption' ? (size > r.largeClusterThreshold ? r.secondaryQps : 0) : r.qps;
    this.zones.get(zone)?.limiter.setQps(qps, nowMs);
  }

  /**
   * Upstream's handleDisruption: new zone states from the Ready conditions of each zone's nodes,
   * and limiter rates to match. When every zone becomes fully disrupted all tainting stops
   * ('entered': the caller removes the NoExecute taints); when some node is Ready again after
   * that, rates are restored ('exited': the caller gives every node a fresh grace period).
   */
  updateZoneStates(zoneConditions: Map<string, Array<NodeCondition | undefined>>, unhealthyThreshold: number, nowMs: number): 'entered' | 'exited' | undefined {
    const next = new Map<string, ZoneState>();
    let allFully = true;
    for (const [zone, conds] of zoneConditions) {
      const state = computeZoneState(conds, unhealthyThreshold);
      if (state !== 'FullDisruption') allFully = false;
      next.set(zone, state);
      this.ensureZone(zone, nowMs);
    }
    let allWereFully = true;
    for (const [zone, z] of this.zones) {
      if (!zoneConditions.has(zone)) this.zones.delete(zone);
      else if (z.state !== 'FullDisruption') allWereFully = false;
    }
    if (allFully && allWereFully) return undefined;
    if (allFully) {
      for (const z of this.zones.values()) {
        z.limiter.setQps(0, nowMs);
        z.state = 'FullDisruption';
      }
      return 'entered';
    }
    for (const [zone, z] of this.zones) {
      const state = next.get(zone)!;
      if (!allWereFully && z.state === state) continue;
      this.setLimiter(zone, zoneConditions.get(zone)!.length, state, nowMs);
      z.state = state;
    }
    return allWereFully ? 'exited' : undefined;
  }
}
