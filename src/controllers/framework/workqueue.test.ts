// Work queue semantics (client-go): de-duplication, no concurrent processing of one key, delayed
// and rate-limited adds, shutdown; the workers helper. Timers are faked wherever time matters.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BucketRateLimiter, ItemExponentialFailureRateLimiter, MaxOfRateLimiter, WorkQueue, defaultControllerRateLimiter, runWorkers } from './workqueue.ts';
import { silentLogger } from './log.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** Lets pending promise callbacks run (fake timers do not advance microtasks by themselves). */
const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('WorkQueue', () => {
  it('de-duplicates queued items and hands them out in FIFO order', async () => {
    const q = new WorkQueue<string>();
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    expect(q.len()).toBe(3);
    const got = [(await q.get()).item, (await q.get()).item, (await q.get()).item];
    expect(got).toEqual(['a', 'b', 'c']);
    expect(q.len()).toBe(0);
  });

  it('re-queues an item added while it is being processed only after done()', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    const { item } = await q.get();
    expect(item).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0); // not handed to a second worker while the first has it
    let second: string | undefined;
    void q.get().then((r) => (second = r.item));
    await flush();
    expect(second).toBeUndefined();
    q.done('a');
    await flush();
    expect(second).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('addAfter adds after the delay and keeps the earliest time per item', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue<string>();
    q.addAfter('x', 1000);
    q.addAfter('x', 300); // earlier: replaces
    q.addAfter('x', 5000); // later: ignored
    q.addAfter('now', 0);
    expect(q.len()).toBe(1);
    expect(q.waitingCount()).toBe(1);
    vi.advanceTimersByTime(299);
    expect(q.len()).toBe(1);
    vi.advanceTimersByTime(1);
    expect(q.len()).toBe(2);
    vi.advanceTimersByTime(10_000);
    expect(q.len()).toBe(2); // the replaced timers added nothing more
    expect(q.waitingCount()).toBe(0);
  });

  it('addRateLimited backs off per item exponentially from 5 ms, forget() resets it', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue<string>({ rateLimiter: new ItemExponentialFailureRateLimiter(5, 1_000_000) });
    const readyAfter = async (item: string): Promise<number> => {
      q.addRateLimited(item);
      let ms = 0;
      while (q.len() === 0 && ms < 2_000_000) {
        vi.advanceTimersByTime(1);
        ms++;
      }
      const r = await q.get();
      q.done(r.item!);
      return ms;
    };
    expect(await readyAfter('k')).toBe(5);
    expect(await readyAfter('k')).toBe(10);
    expect(await readyAfter('k')).toBe(20);
    expect(await readyAfter('k')).toBe(40);
    expect(q.numRequeues('k')).toBe(4);
    expect(await readyAfter('other')).toBe(5); // per item
    q.forget('k');
    expect(q.numRequeues('k')).toBe(0);
    expect(await readyAfter('k')).toBe(5);
  });

  it('caps the per-item backoff at 1000 s', () => {
    const l = new ItemExponentialFailureRateLimiter<string>(5, 1_000_000);
    let last = 0;
    for (let i = 0; i < 40; i++) last = l.when('k');
    expect(last).toBe(1_000_000);
  });

  it('the default limiter also applies an overall bucket of 10 qps with burst 100', () => {
    let now = 0;
    const l = defaultControllerRateLimiter<string>(() => now);
    const delays = Array.from({ length: 102 }, (_, i) => l.when(`item-${i}`));
    expect(delays.slice(0, 100).every((d) => d === 5)).toBe(true); // burst: only the per-item 5 ms
    expect(delays[100]).toBe(100); // 101st: one token at 10 qps
    expect(delays[101]).toBe(200);
    now += 10_000; // refilled
    expect(l.when('fresh')).toBe(5);
    const b = new BucketRateLimiter<string>(10, 100, () => now);
    expect(b.numRequeues('x')).toBe(0);
    const m = new MaxOfRateLimiter<string>(new ItemExponentialFailureRateLimiter(1, 8), b);
    expect([m.when('y'), m.when('y'), m.when('y'), m.when('y'), m.when('y')]).toEqual([1, 2, 4, 8, 8]);
    expect(m.numRequeues('y')).toBe(5);
  });

  it('shutDown hands out what is queued, then reports shutdown; drops delayed items', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue<string>();
    q.add('a');
    q.addAfter('later', 100);
    const waiting = new WorkQueue<string>();
    const pending = waiting.get();
    q.shutDown();
    waiting.shutDown();
    expect(await pending).toEqual({ item: undefined, shutdown: true });
    q.add('ignored');
    expect(await q.get()).toEqual({ item: 'a', shutdown: false });
    expect(await q.get()).toEqual({ item: undefined, shutdown: true });
    vi.advanceTimersByTime(1000);
    expect(q.len()).toBe(0);
    expect(q.shuttingDown()).toBe(true);
  });

  it('shutDownWithDrain waits for items being processed', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    await q.get();
    let drained = false;
    const p = q.shutDownWithDrain().then(() => (drained = true));
    await flush();
    expect(drained).toBe(false);
    q.done('a');
    await p;
    expect(drained).toBe(true);
  });
});

describe('runWorkers', () => {
  it('processes every key once per add, never one key on two workers at once, and retries failures with backoff', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue<string>({ name: 'test' });
    const active = new Set<string>();
    let overlap = false;
    const attempts = new Map<string, number>();
    const done: string[] = [];
    const workers = runWorkers(
      q,
      4,
      async (key) => {
        if (active.has(key)) overlap = true;
        active.add(key);
        await new Promise((r) => setTimeout(r, 10));
        active.delete(key);
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        if (key === 'flaky' && n < 3) throw new Error(`attempt ${n} failed`);
        done.push(key);
      },
      { logger: silentLogger },
    );
    for (const k of ['a', 'b', 'c', 'flaky', 'a']) q.add(k);
    for (let i = 0; i < 200 && !done.includes('flaky'); i++) await vi.advanceTimersByTimeAsync(5);
    expect(done.sort()).toEqual(['a', 'b', 'c', 'flaky']);
    expect(attempts.get('flaky')).toBe(3);
    expect(q.numRequeues('flaky')).toBe(0); // forgotten after success
    expect(overlap).toBe(false);
    q.shutDown();
    await vi.advanceTimersByTimeAsync(100);
    await workers;
  });

  it('requeues after requeueAfterMs and gives up after maxRetries', async () => {
    vi.useFakeTimers();
    const q = new WorkQueue<string>();
    let periodic = 0;
    let failing = 0;
    const workers = runWorkers(
      q,
      1,
      (key) => {
        if (key === 'periodic') {
          periodic++;
          return { requeueAfterMs: 1000 };
        }
        failing++;
        throw new Error('always');
      },
      { logger: silentLogger, maxRetries: 2 },
    );
    q.add('periodic');
    q.add('failing');
    for (let i = 0; i < 35; i++) await vi.advanceTimersByTimeAsync(100);
    expect(periodic).toBe(4); // at 0, 1 s, 2 s, 3 s
    expect(failing).toBe(3); // first try + 2 retries
    expect(q.numRequeues('failing')).toBe(0);
    q.shutDown();
    await workers;
  });
});
