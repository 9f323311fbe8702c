// FitError: why a pod fits no node, rendered like kube-scheduler's FailedScheduling message:
//   0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.
//   preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.
import type { Status } from './filters.ts';

export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/** Go's sort.Strings order (bytewise UTF-8), not JavaScript's UTF-16 order. */
function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export class FitError extends Error {
  readonly numAllNodes: number;
  /** The status of each node that was evaluated. */
  readonly statuses: Map<string, Status>;
  /** The status counted for each node not in `statuses`. */
  readonly absentStatus: Status | null;
  /** Set when the pod was rejected before any node was looked at. */
  readonly preFilterMsg: string;
  /** What preemption (PostFilter) said, already prefixed with "preemption: ". */
  readonly postFilterMsg: string;

  constructor(
    numAllNodes: number,
    statuses: Map<string, Status>,
    opts: { absentStatus?: Status | null; preFilterMsg?: string; postFilterMsg?: string } = {},
  ) {
    super();
    this.name = 'FitError';
    this.numAllNodes = numAllNodes;
    this.statuses = statuses;
    this.absentStatus = opts.absentStatus ?? null;
    this.preFilterMsg = opts.preFilterMsg ?? '';
    this.postFilterMsg = opts.postFilterMsg ?? '';
    this.message = this.render();
  }

  /** The same error with a PostFilter message appended. */
  withPostFilterMsg(msg: string): FitError {
    return new FitError(this.numAllNodes, this.statuses, { absentStatus: this.absentStatus, preFilterMsg: this.preFilterMsg, postFilterMsg: msg });
  }

  /** Reason → number of nodes. */
  histogram(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const s of this.statuses.values()) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    const absent = this.numAllNodes - this.statuses.size;
    if (absent > 0 && this.absentStatus) for (const r of this.absentStatus.reasons) counts.set(r, (counts.get(r) ?? 0) + absent);
    return counts;
  }

  private render(): string {
    if (this.numAllNodes === 0) return NO_NODES_AVAILABLE;
    let msg = `0/${this.numAllNodes} nodes are available:`;
    if (this.preFilterMsg !== '') msg += ` ${this.preFilterMsg}.`;
    else {
      const parts = [...this.histogram()].map(([r, n]) => `${n} ${r}`).sort(byteCompare);
      if (parts.length > 0) msg += ` ${parts.join(', ')}.`;
    }
    if (this.postFilterMsg !== '') msg += ` ${this.postFilterMsg}`;
    return msg;
  }
}
