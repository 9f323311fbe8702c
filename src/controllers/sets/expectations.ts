// Controller expectations (upstream's ControllerExpectations): after asking for N creations and
// M deletions, a controller does not act on its owner again until the informer has seen them
// (or five minutes have passed), so a stale cache cannot make it create or delete twice.

interface Expectation {
  add: number;
  del: number;
  at: number;
}

export class Expectations {
  private readonly items = new Map<string, Expectation>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(ttlMs = 5 * 60_000, now: () => number = Date.now) {
    this.ttlMs = ttlMs;
    this.now = now;
  }

  /** Nothing outstanding (or never set, or expired). */
  satisfied(key: string): boolean {
    const e = this.items.get(key);
    if (!e) return true;
    return (e.add <= 0 && e.del <= 0) || this.now() - e.at > this.ttlMs;
  }

  set(key: string, add: number, del: number): void {
    this.items.set(key, { add, del, at: this.now() });
  }

  lower(key: string, add: number, del: number): void {
    const e = this.items.get(key);
    if (!e) return;
    e.add -= add;
    e.del -= del;
  }

  creationObserved(key: string): void {
    this.lower(key, 1, 0);
  }

  deletionObserved(key: string): void {
    this.lower(key, 0, 1);
  }

  delete(key: string): void {
    this.items.delete(key);
  }
}
