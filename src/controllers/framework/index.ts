// The controller framework: informers, work queues, leader election, events. See ../README.md.
export { Informer, SharedInformerFactory, DeletedFinalStateUnknown, deletedObject, type EventHandlers, type InformerOptions, type InformerStats, type InformerKey } from './informer.ts';
export { Indexer, Indexers, keyOf, splitKey, type IndexFunc } from './store.ts';
export {
  WorkQueue,
  runWorkers,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  BucketRateLimiter,
  MaxOfRateLimiter,
  type RateLimiter,
  type GetResult,
  type WorkQueueOptions,
  type ReconcileResult,
  type RunWorkersOptions,
} from './workqueue.ts';
export { LeaderElector, type LeaderElectionConfig, type LeaderCallbacks, type Lease, type LeaseSpec } from './leader-election.ts';
export { EventRecorder, referenceOf, sprintf, type EventRecorderOptions, type EventType, type CoreEvent, type ObjectReference } from './events.ts';
export { stderrLogger, silentLogger, type Logger } from './log.ts';
