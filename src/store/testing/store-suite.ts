// One behavioural test suite for the storage interface (etcd v3 semantics), run against every
// backend. A backend's test file calls describeStoreBehaviour() with a harness factory. The tests
// live in suite/, one module per topic; they run in the order registered here.
import { describe } from 'vitest';
import { describeBadInput } from './suite/bad-input.ts';
import { describePutAndGet } from './suite/basics.ts';
import { describeCompaction } from './suite/compaction.ts';
import { describeCompareAndSwap, describeCompares } from './suite/compare.ts';
import { setUpStoreContext, type StoreHarness } from './suite/context.ts';
import { describePastReads, describeRangeOptions } from './suite/history.ts';
import { describeLeases } from './suite/leases.ts';
import { describeRestart } from './suite/restart.ts';
import { describeTxn } from './suite/txn.ts';
import { describeProgressNotifications, describeWatch } from './suite/watch.ts';

export type { StoreHarness };

export function describeStoreBehaviour(name: string, harness: () => Promise<StoreHarness>): void {
  describe(`store behaviour: ${name}`, () => {
    const ctx = setUpStoreContext(harness);
    describePutAndGet(ctx);
    describeCompareAndSwap(ctx);
    describeCompares(ctx);
    describeTxn(ctx);
    describePastReads(ctx);
    describeRangeOptions(ctx);
    describeWatch(ctx);
    describeCompaction(ctx);
    describeProgressNotifications(ctx);
    describeLeases(ctx);
    describeRestart(ctx);
    describeBadInput(ctx);
  });
}
