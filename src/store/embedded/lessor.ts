// Lease expiry. Which leases exist is state-machine state; when each expires is not: deadlines
// live here, in memory, and an expired lease is revoked through a normal command. After a restart
// every lease gets its full TTL again (as etcd does after a leader change). One timer waits for
// the earliest deadline, so a store without leases never wakes for them.

const MAX_DELAY_MS = 2 ** 31 - 1;

export class Lessor {
  private readonly deadlines = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (Infinity when none is armed). */
  private due = Infinity;
  private revoking = new Set<number>();
  private closed = false;

  private readonly revoke: (id: number) => Promise<void>;

  constructor(revoke: (id: number) => Promise<void>) {
    this.revoke = revoke;
  }

  /** Starts or restarts a lease's countdown. */
  refresh(id: number, ttlSeconds: number): void {
    const deadline = Date.now() + ttlSeconds * 1000;
    this.deadlines.set(id, deadline);
    // Only an earlier deadline needs the timer moved; a later one (this lease's own, pushed back)
    // lets it fire early, find nothing due and re-arm for the earliest.
    if (!this.timer || deadline < this.due) this.arm(deadline);
  }

  /** Drops a lease's countdown; a timer armed for it finds nothing due and re-arms. */
  forget(id: number): void {
    this.deadlines.delete(id);
  }

  private arm(at: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.due = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.due = Infinity;
      this.expire();
      let next = Infinity;
      for (const [id, deadline] of this.deadlines) if (deadline < next && !this.revoking.has(id)) next = deadline;
      if (next !== Infinity) this.arm(next);
    }, Math.min(MAX_DELAY_MS, Math.max(0, at - Date.now())));
    this.timer.unref();
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, deadline] of this.deadlines) {
      if (deadline > now || this.revoking.has(id)) continue;
      this.revoking.add(id);
      this.revoke(id)
        .catch(() => undefined)
        .finally(() => {
          this.revoking.delete(id);
          this.deadlines.delete(id);
        });
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
