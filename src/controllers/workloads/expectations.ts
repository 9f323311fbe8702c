// Controller expectations (upstream's UIDTrackingControllerExpectations): before a controller
// creates or deletes pods it records how many adds and which deletes it expects to observe
// through its informer, and it does not act on that owner again until the informer has caught
// up (or the expectations are older than five minutes), so a lagging cache never causes double
// creates or deletes.

export const EXPECTATIONS_TTL_MS = 5 * 60 * 1000;

interface Expectation {
  add: number;
  del: number;
  /** Keys of the pods whose deletion is expected. */
  deleting: Set<string>;
  at: number;
}

export class Expectations {
  private readonly byOwner = new Map<string, Expectation>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** True when the owner may be synced: nothing outstanding, expired, or never recorded. */
  satisfied(owner: string): boolean {
    const e = this.byOwner.get(owner);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.now() - e.at > EXPECTATIONS_TTL_MS;
  }

  expectCreations(owner: string, n: number): void {
    this.byOwner.set(owner, { add: n, del: 0, deleting: new Set(), at: this.now() });
  }

  expectDeletions(owner: string, podKeys: string[]): void {
    this.byOwner.set(owner, { add: 0, del: podKeys.length, deleting: new Set(podKeys), at: this.now() });
  }

  creationObserved(owner: string): void {
    const e = this.byOwner.get(owner);
    if (e) e.add--;
  }

  /** A pod's deletion was seen (or will never be): counted once per expected key. */
  deletionObserved(owner: string, podKey: string): void {
    const e = this.byOwner.get(owner);
    if (!e || !e.deleting.delete(podKey)) return;
    e.del--;
  }

  delete(owner: string): void {
    this.byOwner.delete(owner);
  }

  /** Outstanding (adds, deletes), for tests. */
  pending(owner: string): { add: number; del: number } | undefined {
    const e = this.byOwner.get(owner);
    return e ? { add: e.add, del: e.del } : undefined;
  }
}
