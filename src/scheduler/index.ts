// Public surface of the scheduling core.
export { Snapshot, NodeInfo, PodInfo, podRequests, LABEL_HOSTNAME, LABEL_ZONE } from './snapshot.ts';
export { parseQuantity, parseCPU, parseMemory, QuantityError } from '../api/quantity/parse.ts';
export { CycleState, filterNode, filterNodeWithNominated, whyNot, type Status, type Code } from './filters.ts';
export { scoreNodes, WEIGHTS, type ScorePlugin, type ScoreOptions, type NodeScores } from './scores.ts';
export { FitError } from './fiterror.ts';
export { schedulePod, findFeasibleNodes, numFeasibleNodesToFind, seededRandom, type ScheduleOptions, type ScheduleResult } from './schedule.ts';
export { preempt, resolvePriority, type PreemptionResult, type PreemptOptions, type Candidate } from './preemption.ts';
export type * from './types.ts';
