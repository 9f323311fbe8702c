// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics: a candidate
// takes the Lease when it is free or its holder has not renewed it within leaseDurationSeconds
// (judged by this candidate's own clock since it last saw the record change, so clocks need not
// agree); the leader renews every retryPeriod and gives up if it cannot renew within
// renewDeadline. Every write is an update conditioned on the resourceVersion read.
import type { KubeObject } from '../../api/object.ts';
import { StatusError } from '../../api/status.ts';
import type { KubeClient } from '../../client/kube-client.ts';
import { Resources, resourcePath } from '../../client/resources.ts';
import { errorMessage, stderrLogger, type Logger } from './log.ts';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderCallbacks {
  /** Leadership acquired; `signal` aborts when it is lost or the elector stops. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Leadership ended (lost, or released on stop). Only called after onStartedLeading. */
  onStoppedLeading?(): void;
  /** Someone (possibly this candidate) is observed holding the lease. */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectionConfig {
  client: KubeClient;
  /** The Lease's name, e.g. `kube-controller-manager`. */
  name: string;
  /** Default `kube-system`. */
  namespace?: string;
  /** This candidate; unique among candidates (e.g. `<hostname>_<uuid>`). */
  identity: string;
  /** Default 15 s. Written to the Lease rounded up to whole seconds. */
  leaseDurationMs?: number;
  /** Default 10 s; must be below leaseDuration. */
  renewDeadlineMs?: number;
  /** Default 2 s. */
  retryPeriodMs?: number;
  /** Give the Lease up when stopped (default true): the next candidate need not wait out the duration. */
  releaseOnCancel?: boolean;
  callbacks: LeaderCallbacks;
  logger?: Logger;
}

/** A MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private readonly client: KubeClient;
  private readonly cfg: Required<Omit<LeaderElectionConfig, 'logger' | 'client'>>;
  private readonly log: Logger;
  private readonly leaseDurationSeconds: number;
  /** The last Lease read or written, and when (by our clock) its record last changed. */
  private observed: Lease | undefined;
  private observedRecord = '';
  private observedTime = 0;
  private leading = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private reportedLeader = '';

  constructor(cfg: LeaderElectionConfig) {
    const leaseDurationMs = cfg.leaseDurationMs ?? 15_000;
    const renewDeadlineMs = cfg.renewDeadlineMs ?? 10_000;
    const retryPeriodMs = cfg.retryPeriodMs ?? 2_000;
    if (!(leaseDurationMs > renewDeadlineMs)) throw new Error('leader election: leaseDuration must be greater than renewDeadline');
    if (!(renewDeadlineMs > retryPeriodMs * 1.2)) throw new Error('leader election: renewDeadline must be greater than retryPeriod × 1.2');
    if (!cfg.identity) throw new Error('leader election: identity is required');
    this.client = cfg.client;
    this.cfg = { namespace: 'kube-system', releaseOnCancel: true, ...cfg, leaseDurationMs, renewDeadlineMs, retryPeriodMs };
    this.log = cfg.logger ?? stderrLogger(`leader-election ${this.cfg.namespace}/${cfg.name}`);
    this.leaseDurationSeconds = Math.max(1, Math.ceil(leaseDurationMs / 1000));
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last observed ('' when none). */
  getLeader(): string {
    return this.observed?.spec?.holderIdentity ?? '';
  }

  /**
   * Campaigns until leading, leads until leadership is lost or stop() is called, then returns
   * (as client-go's Run). Call again to campaign anew.
   */
  run(): Promise<void> {
    if (this.running) return this.running;
    this.stopped = false;
    this.running = this.campaign().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Stops campaigning or leading; releases the Lease if held (releaseOnCancel). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async campaign(): Promise<void> {
    // Acquire: try every retryPeriod (with jitter, so candidates do not collide).
    let acquired = false;
    while (!this.stopped) {
      if ((acquired = await this.tryAcquireOrRenew())) break;
      await this.sleep(this.cfg.retryPeriodMs * (1 + Math.random() * 0.2));
    }
    if (!acquired) return;
    if (this.stopped) {
      // Stopped while the winning write was in flight: hand the Lease straight back.
      if (this.cfg.releaseOnCancel) await this.release();
      return;
    }
    this.leading = true;
    this.log.info(`${this.cfg.identity} acquired the lease`);
    const ac = new AbortController();
    let leaderTask: Promise<void> = Promise.resolve();
    try {
      leaderTask = Promise.resolve()
        .then(() => this.cfg.callbacks.onStartedLeading(ac.signal))
        .catch((err) => this.log.error(`onStartedLeading failed: ${errorMessage(err)}`));
    } catch (err) {
      this.log.error(`onStartedLeading failed: ${errorMessage(err)}`);
    }
    // Renew every retryPeriod; each renewal may retry until renewDeadline after the last success.
    let lastRenew = Date.now();
    while (!this.stopped) {
      await this.sleep(this.cfg.retryPeriodMs);
      if (this.stopped) break;
      let renewed = false;
      while (!this.stopped && Date.now() - lastRenew < this.cfg.renewDeadlineMs) {
        if (await this.tryAcquireOrRenew(lastRenew + this.cfg.renewDeadlineMs - Date.now())) {
          renewed = true;
          break;
        }
        await this.sleep(Math.min(this.cfg.retryPeriodMs, Math.max(0, lastRenew + this.cfg.renewDeadlineMs - Date.now())));
      }
      if (this.stopped) break;
      if (!renewed) {
        this.log.warn(`${this.cfg.identity} failed to renew the lease within ${this.cfg.renewDeadlineMs} ms: leadership lost`);
        break;
      }
      lastRenew = Date.now();
    }
    this.leading = false;
    ac.abort();
    if (this.stopped && this.cfg.releaseOnCancel) await this.release();
    try {
      this.cfg.callbacks.onStoppedLeading?.();
    } catch (err) {
      this.log.error(`onStoppedLeading failed: ${errorMessage(err)}`);
    }
    await leaderTask;
  }

  private noteObserved(lease: Lease): void {
    const s = lease.spec ?? {};
    const record = JSON.stringify([s.holderIdentity ?? '', s.leaseDurationSeconds, s.acquireTime, s.renewTime, s.leaseTransitions]);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedTime = Date.now();
    }
    this.observed = lease;
    const holder = s.holderIdentity ?? '';
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      try {
        this.cfg.callbacks.onNewLeader?.(holder);
      } catch (err) {
        this.log.error(`onNewLeader failed: ${errorMessage(err)}`);
      }
    }
  }

  /** One attempt to take or renew the Lease; false when someone else holds it or a write lost a race. */
  private async tryAcquireOrRenew(budgetMs = this.cfg.renewDeadlineMs): Promise<boolean> {
    const now = Date.now();
    const ns = this.cfg.namespace;
    const timeoutMs = Math.max(100, Math.min(budgetMs, this.cfg.renewDeadlineMs));
    // Fast path (client-go's): the leader renews the Lease it last wrote without reading it first;
    // a conflict or any other failure falls back to the read below.
    const mine = this.observed;
    if (this.leading && mine && mine.spec?.holderIdentity === this.cfg.identity && this.observedValid(mine, now)) {
      try {
        await this.write(mine, now, timeoutMs);
        return true;
      } catch (err) {
        this.log.warn(`updating the lease optimistically: ${errorMessage(err)}; reading it again`);
      }
    }
    let lease: Lease;
    try {
      lease = await this.client.request<Lease>('GET', this.path(), undefined, undefined, timeoutMs);
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) {
        this.log.warn(`reading the lease: ${errorMessage(err)}`);
        return false;
      }
      try {
        const spec: LeaseSpec = { holderIdentity: this.cfg.identity, leaseDurationSeconds: this.leaseDurationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 };
        const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.cfg.name, namespace: ns }, spec };
        const created = await this.client.request<Lease>('POST', resourcePath(Resources.leases, ns), body, undefined, timeoutMs);
        this.noteObserved(created);
        return true;
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 409)) this.log.warn(`creating the lease: ${errorMessage(e)}`);
        return false;
      }
    }
    this.noteObserved(lease);
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== '' && holder !== this.cfg.identity && this.observedValid(lease, now)) return false;
    try {
      await this.write(lease, now, timeoutMs);
      return true;
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 409)) this.log.warn(`updating the lease: ${errorMessage(err)}`);
      return false;
    }
  }

  /** The lease's record has not changed for less than its duration (by this candidate's clock). */
  private observedValid(lease: Lease, now: number): boolean {
    return this.observedTime + (lease.spec?.leaseDurationSeconds ?? this.leaseDurationSeconds) * 1000 > now;
  }

  /**
   * Writes this candidate's record over `lease` (conditioned on its resourceVersion): a renewal
   * keeps acquireTime and leaseTransitions, a takeover counts one transition more.
   */
  private async write(lease: Lease, now: number, timeoutMs: number): Promise<void> {
    const cur = lease.spec ?? {};
    const renewing = cur.holderIdentity === this.cfg.identity;
    const spec: LeaseSpec = {
      ...cur,
      holderIdentity: this.cfg.identity,
      leaseDurationSeconds: this.leaseDurationSeconds,
      renewTime: microTime(now),
      acquireTime: renewing ? (cur.acquireTime ?? microTime(now)) : microTime(now),
      leaseTransitions: renewing ? (cur.leaseTransitions ?? 0) : (cur.leaseTransitions ?? 0) + 1,
    };
    this.noteObserved(await this.client.request<Lease>('PUT', this.path(), { ...lease, spec }, undefined, timeoutMs));
  }

  private path(): string {
    return resourcePath(Resources.leases, this.cfg.namespace, this.cfg.name);
  }

  /** Gives the Lease up: empty holder, duration 1 s, so another candidate takes it at once. */
  private async release(): Promise<void> {
    const lease = this.observed;
    if (!lease || lease.spec?.holderIdentity !== this.cfg.identity) return;
    const now = microTime(Date.now());
    try {
      const spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.spec?.leaseTransitions ?? 0 };
      const updated = await this.client.request<Lease>('PUT', this.path(), { ...lease, spec }, undefined, this.cfg.renewDeadlineMs);
      this.noteObserved(updated);
    } catch (err) {
      this.log.warn(`releasing the lease: ${errorMessage(err)}`);
    }
  }
}
