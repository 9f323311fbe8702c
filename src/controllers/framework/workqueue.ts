// Work queues with client-go's semantics. An item is in the queue at most once; an item added
// while a worker processes it is queued again when the worker calls done(), so one key is never
// processed by two workers at once. Delayed adds (addAfter) keep the earliest time per item.
// Rate-limited adds delay by the larger of a per-item exponential backoff (5 ms doubling to
// 1000 s, reset by forget()) and an overall token bucket (10 qps, burst 100).
import { errorMessage, stderrLogger, type Logger } from './log.ts';

export interface RateLimiter<K> {
  /** How long to wait before `item` may be processed again (ms); counts a failure. */
  when(item: K): number;
  /** Clears the item's failure history. */
  forget(item: K): void;
  numRequeues(item: K): number;
}

/** baseMs × 2^(failures−1), capped at maxMs (client-go: 5 ms … 1000 s). */
export class ItemExponentialFailureRateLimiter<K> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(baseMs = 5, maxMs = 1_000_000) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  when(item: K): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(n, 60));
  }

  forget(item: K): void {
    this.failures.delete(item);
  }

  numRequeues(item: K): number {
    return this.failures.get(item) ?? 0;
  }
}

/** A token bucket shared by all items (golang.org/x/time/rate reservations): qps refill, burst size. */
export class BucketRateLimiter<K> implements RateLimiter<K> {
  private readonly qps: number;
  private readonly burst: number;
  private readonly now: () => number;
  private tokens: number;
  private last: number;

  constructor(qps = 10, burst = 100, now: () => number = Date.now) {
    this.qps = qps;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.last = now();
  }

  when(_item: K): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }

  forget(_item: K): void {}

  numRequeues(_item: K): number {
    return 0;
  }
}

/** The longest delay of several limiters. */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  private readonly limiters: RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    this.limiters = limiters;
  }

  when(item: K): number {
    let d = 0;
    for (const l of this.limiters) d = Math.max(d, l.when(item));
    return d;
  }

  forget(item: K): void {
    for (const l of this.limiters) l.forget(item);
  }

  numRequeues(item: K): number {
    let n = 0;
    for (const l of this.limiters) n = Math.max(n, l.numRequeues(item));
    return n;
  }
}

/** client-go's DefaultControllerRateLimiter. */
export function defaultControllerRateLimiter<K>(now: () => number = Date.now): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(new ItemExponentialFailureRateLimiter<K>(5, 1_000_000), new BucketRateLimiter<K>(10, 100, now));
}

export type GetResult<K> = { item: K; shutdown: false } | { item: undefined; shutdown: true };

export interface WorkQueueOptions<K> {
  name?: string;
  rateLimiter?: RateLimiter<K>;
}

export class WorkQueue<K = string> {
  readonly name: string;
  private readonly rateLimiter: RateLimiter<K>;
  private queue: K[] = [];
  private head = 0;
  /** Items that need processing (queued, or re-added while processing). */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiting = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private readonly getters: Array<() => void> = [];
  private readonly drainWaiters: Array<() => void> = [];
  private shutting = false;

  constructor(opts: WorkQueueOptions<K> = {}) {
    this.name = opts.name ?? 'queue';
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>();
  }

  add(item: K): void {
    if (this.shutting || this.dirty.has(item)) return;
    this.dirty.add(item);
    if (this.processing.has(item)) return;
    this.queue.push(item);
    this.getters.shift()?.();
  }

  /** Items queued (not counting those being processed or waiting for a delay). */
  len(): number {
    return this.queue.length - this.head;
  }

  /** Items waiting for addAfter/addRateLimited delays. */
  waitingCount(): number {
    return this.waiting.size;
  }

  /** The next item; waits while the queue is empty. After shutDown(), `shutdown` once it is empty. */
  async get(): Promise<GetResult<K>> {
    while (this.len() === 0 && !this.shutting) await new Promise<void>((r) => this.getters.push(r));
    if (this.len() === 0) return { item: undefined, shutdown: true };
    const item = this.queue[this.head]!;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.processing.add(item);
    this.dirty.delete(item);
    return { item, shutdown: false };
  }

  /** The worker finished with `item`; if it was added meanwhile, it is queued again now. */
  done(item: K): void {
    this.processing.delete(item);
    if (this.dirty.has(item)) {
      this.queue.push(item);
      this.getters.shift()?.();
    }
    if (this.processing.size === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Adds `item` after `ms`; an item already waiting keeps the earlier of the two times. */
  addAfter(item: K, ms: number): void {
    if (this.shutting) return;
    if (ms <= 0) return this.add(item);
    const at = Date.now() + ms;
    const w = this.waiting.get(item);
    if (w && w.at <= at) return;
    if (w) clearTimeout(w.timer);
    const timer = setTimeout(() => {
      this.waiting.delete(item);
      this.add(item);
    }, ms);
    this.waiting.set(item, { at, timer });
  }

  /** Adds `item` when the rate limiter allows (per-item backoff, overall bucket). */
  addRateLimited(item: K): void {
    this.addAfter(item, this.rateLimiter.when(item));
  }

  /** The item succeeded: clear its backoff. */
  forget(item: K): void {
    this.rateLimiter.forget(item);
  }

  numRequeues(item: K): number {
    return this.rateLimiter.numRequeues(item);
  }

  shuttingDown(): boolean {
    return this.shutting;
  }

  /** Stops taking items; get() hands out what is queued, then reports shutdown. Delayed adds are dropped. */
  shutDown(): void {
    this.shutting = true;
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
    for (const g of this.getters.splice(0)) g();
  }

  /** shutDown(), then waits until no item is being processed. */
  async shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size > 0) await new Promise<void>((r) => this.drainWaiters.push(r));
  }
}

export interface ReconcileResult {
  /** Process the item again after this long (its failure history is cleared). */
  requeueAfterMs?: number;
}

export interface RunWorkersOptions {
  logger?: Logger;
  /** Give up on an item after this many consecutive failures (logged, forgotten); default unlimited. */
  maxRetries?: number;
}

/**
 * Runs `n` workers: each takes an item, reconciles it, and on success forgets its backoff; a
 * thrown error re-queues it rate-limited. Resolves when the queue has shut down and every worker
 * has finished its item.
 */
export async function runWorkers<K>(queue: WorkQueue<K>, n: number, reconcile: (item: K) => Promise<void | ReconcileResult> | void | ReconcileResult, opts: RunWorkersOptions = {}): Promise<void> {
  const log = opts.logger ?? stderrLogger(queue.name);
  const maxRetries = opts.maxRetries ?? Infinity;
  const worker = async () => {
    for (;;) {
      const { item, shutdown } = await queue.get();
      if (shutdown) return;
      try {
        const r = await reconcile(item);
        queue.forget(item);
        if (r && r.requeueAfterMs !== undefined) queue.addAfter(item, r.requeueAfterMs);
      } catch (err) {
        if (queue.numRequeues(item) < maxRetries) {
          log.warn(`reconcile ${String(item)} failed (retry ${queue.numRequeues(item) + 1}): ${errorMessage(err)}`);
          queue.addRateLimited(item);
        } else {
          log.error(`reconcile ${String(item)} failed ${maxRetries + 1} times, dropping it: ${errorMessage(err)}`);
          queue.forget(item);
        }
      } finally {
        queue.done(item);
      }
    }
  };
  await Promise.all(Array.from({ length: n }, () => worker()));
}
