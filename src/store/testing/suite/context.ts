// What every test of the behaviour suite works with: the harness, the open store, the test's own
// key prefix, and the watchers to cancel. setUpStoreContext() registers the per-test setup and
// teardown in the enclosing describe block.
import { afterEach, beforeEach } from 'vitest';
import { prefixEnd, type Store, type WatchHandler, type WatchOptions, type Watcher } from '../../types.ts';
import { Collector, plain, type PlainKv } from './helpers.ts';

/**
 * How the suite reaches a backend. The factory passed to describeStoreBehaviour() is called once
 * per test; the harness it returns must start with an empty keyspace (no keys; the revision and
 * the compact revision may be anything, e.g. left over from earlier tests on a shared server).
 */
export interface StoreHarness {
  /** A fresh client/handle on the same data. The suite closes the previous one first. */
  open(): Promise<Store>;
  /** Called between close() and open(): etcd restarts its server process; embedded does nothing. */
  restart(): Promise<void>;
  /** Called after every store of the test is closed: release everything the harness holds. */
  cleanup(): Promise<void>;
}

/**
 * The state of the running test. `store` and `P` change for every test (and `store` on reopen()),
 * so tests read them through the context; the functions can be destructured once.
 */
export interface SuiteContext {
  /** The store of the running test. */
  store: Store;
  /** The running test's key prefix (every test has its own). */
  readonly P: string;
  /** A key of this test (every test has its own prefix). */
  readonly k: (s: string) => string;
  /** The range end covering every key of this test. */
  readonly allOfP: () => { end: string };
  /** harness.open(); the store is closed after the test. */
  readonly open: () => Promise<Store>;
  /** close → harness.restart() → open: a new handle on the same data. */
  readonly reopen: () => Promise<void>;
  /** A watch on the current store, cancelled after the test. */
  readonly watch: (key: string, opts: WatchOptions, handler?: WatchHandler) => Promise<Watcher>;
  /** A watch delivering into a new Collector. */
  readonly watchCollect: (key: string, opts: WatchOptions) => Promise<{ c: Collector; w: Watcher }>;
  /** Every key of this test, at the current or a past revision. */
  readonly rangeP: (revision?: number) => Promise<PlainKv[]>;
}

let suiteCounter = 0;

/** Registers the per-test beforeEach/afterEach in the current describe block; returns the context. */
export function setUpStoreContext(harness: () => Promise<StoreHarness>): SuiteContext {
  let h: StoreHarness;
  let store: Store;
  let opened: Store[] = [];
  let watchers: Watcher[] = [];
  let P = '';

  /** A key of this test (every test has its own prefix). */
  const k = (s: string): string => P + s;
  const allOfP = (): { end: string } => ({ end: prefixEnd(P) });

  async function open(): Promise<Store> {
    const s = await h.open();
    opened.push(s);
    return s;
  }

  /** close → harness.restart() → open: a new handle on the same data. */
  async function reopen(): Promise<void> {
    for (const w of watchers) w.cancel();
    watchers = [];
    await store.close();
    await h.restart();
    store = await open();
  }

  async function watch(key: string, opts: WatchOptions, handler: WatchHandler = new Collector()): Promise<Watcher> {
    const w = await store.watch(key, opts, handler);
    watchers.push(w);
    return w;
  }

  async function watchCollect(key: string, opts: WatchOptions): Promise<{ c: Collector; w: Watcher }> {
    const c = new Collector();
    const w = await watch(key, opts, c);
    return { c, w };
  }

  async function rangeP(revision?: number): Promise<PlainKv[]> {
    const r = await store.range(P, { ...allOfP(), revision });
    return r.kvs.map(plain);
  }

  beforeEach(async () => {
    suiteCounter++;
    P = `/suite/${suiteCounter}-${Math.random().toString(36).slice(2, 8)}/`;
    opened = [];
    watchers = [];
    h = await harness();
    store = await open();
  });

  afterEach(async () => {
    for (const w of watchers) {
      try {
        w.cancel();
      } catch {
        // already gone
      }
    }
    for (const s of opened) await s.close().catch(() => undefined);
    await h.cleanup();
  });

  return {
    get store(): Store {
      return store;
    },
    set store(s: Store) {
      store = s;
    },
    get P(): string {
      return P;
    },
    k,
    allOfP,
    open,
    reopen,
    watch,
    watchCollect,
    rangeP,
  };
}
