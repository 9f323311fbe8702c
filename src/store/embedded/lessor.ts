// Lease expiry. Which leases exist is state-machine state; when each expires is not: deadlines
// live here, in memory, and an expired lease is revoked through a normal command. After a restart
// every lease gets its full TTL again (as etcd does after a leader change).

export class Lessor {
  private readonly deadlines = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;
  private revoking = new Set<number>();

  private readonly revoke: (id: number) => Promise<void>;

  constructor(revoke: (id: number) => Promise<void>, checkIntervalMs = 250) {
    this.revoke = revoke;
    this.timer = setInterval(() => this.expire(), checkIntervalMs);
    this.timer.unref();
  }

  /** Starts or restarts a lease's countdown. */
  refresh(id: number, ttlSeconds: number): void {
    this.deadlines.set(id, Date.now() + ttlSeconds * 1000);
  }

  forget(id: number): void {
    this.deadlines.delete(id);
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
    clearInterval(this.timer);
  }
}
