// The MVCC state machine: applies one committed command to the in-memory index and returns the
// LevelDB writes that make it durable, the watch events it produced and its result. apply() is
// synchronous and deterministic given the command and the prior state, so a consensus log can be
// placed in front of it without touching this file. Values needed by value compares are passed in
// (prefetched by the caller), because the index keeps no values.
import { CompactedError, FutureRevisionError, InvalidRequestError, LeaseNotFoundError } from '../errors.ts';
import type { Compare, DeleteOp, Op, PutOp, TxnRequest } from '../types.ts';
import { encodeRecord, leaseKey, META_COMPACT, encodeNumber, MAX_OPS_PER_TXN, pointerOf, recordKey, revisionOf, type StoredRecord } from './codec.ts';
import { KeyHistory, KeyIndex } from './key-index.ts';

export type Command =
  | { type: 'txn'; req: TxnRequest }
  | { type: 'leaseGrant'; id: number; ttl: number }
  | { type: 'leaseRevoke'; id: number }
  | { type: 'compact'; revision: number };

export type LevelWrite = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/** A change as the watch hub sees it; prev values are fetched only if a watcher asks. */
export interface ChangeEvent {
  type: 'put' | 'delete';
  key: string;
  value: Uint8Array;
  modRevision: number;
  createRevision: number;
  version: number;
  lease: number;
  pointer: number;
  prevPointer: number;
}

export interface ApplyOutcome {
  writes: LevelWrite[];
  /** Records written, by pointer, readable before they are durable. */
  records: Map<number, Buffer>;
  events: ChangeEvent[];
  /** Revision after the command (unchanged when it wrote nothing). */
  revision: number;
  succeeded: boolean;
  /** Per op of the taken branch: the pointers whose prior versions the response reports. */
  opResults: OpResult[];
  /** The revision that range ops of the txn read at (the state before the txn). */
  readRevision: number;
}

export type OpResult =
  | { type: 'put'; prevPointer: number }
  | { type: 'delete'; deleted: number; prevPointers: number[] }
  | { type: 'range'; op: Op & { type: 'range' } };

interface LeaseState {
  ttl: number;
  keys: Set<string>;
}

export class StateMachine {
  readonly index = new KeyIndex();
  readonly leases = new Map<number, LeaseState>();
  revision = 1;
  compactRevision = 0;

  /** Keys whose value compares need the current value: the caller reads them before apply(). */
  static valueCompareKeys(cmd: Command): string[] {
    if (cmd.type !== 'txn') return [];
    return (cmd.req.compare ?? []).filter((c) => c.target === 'value').map((c) => c.key);
  }

  apply(cmd: Command, values: Map<string, Uint8Array | undefined> = new Map()): ApplyOutcome {
    switch (cmd.type) {
      case 'txn':
        return this.applyTxn(cmd.req, values);
      case 'leaseGrant':
        return this.applyLeaseGrant(cmd.id, cmd.ttl);
      case 'leaseRevoke':
        return this.applyLeaseRevoke(cmd.id);
      case 'compact':
        return this.applyCompact(cmd.revision);
    }
  }

  private outcome(): ApplyOutcome {
    return { writes: [], records: new Map(), events: [], revision: this.revision, succeeded: true, opResults: [], readRevision: this.revision };
  }

  private compareHolds(c: Compare, values: Map<string, Uint8Array | undefined>): boolean {
    const h = this.index.get(c.key);
    const live = h !== undefined && h.live;
    if (c.target === 'value') {
      const v = values.get(c.key);
      if (!live || v === undefined) return false;
      return cmp(Buffer.compare(Buffer.from(v.buffer, v.byteOffset, v.byteLength), Buffer.from(c.value.buffer, c.value.byteOffset, c.value.byteLength)), c.result);
    }
    let actual = 0;
    if (live) {
      const hh = h as KeyHistory;
      actual = c.target === 'version' ? hh.version : c.target === 'createRevision' ? hh.createRevision : c.target === 'lease' ? hh.lease : revisionOf(hh.latestPointer());
    }
    return cmp(actual < c.value ? -1 : actual > c.value ? 1 : 0, c.result);
  }

  private applyTxn(req: TxnRequest, values: Map<string, Uint8Array | undefined>): ApplyOutcome {
    const out = this.outcome();
    out.succeeded = (req.compare ?? []).every((c) => this.compareHolds(c, values));
    const ops = (out.succeeded ? req.success : req.failure) ?? [];
    if (ops.length > MAX_OPS_PER_TXN) throw new InvalidRequestError(`too many operations in txn request (limit ${MAX_OPS_PER_TXN})`);
    for (const op of ops) {
      if (op.type === 'put' && op.lease && !this.leases.has(op.lease)) throw new LeaseNotFoundError(op.lease);
    }
    const rev = this.revision + 1;
    let sub = 0;
    for (const op of ops) {
      if (op.type === 'put') out.opResults.push(this.put(op, rev, sub++, out));
      else if (op.type === 'delete') {
        const r = this.deleteRange(op, rev, sub, out);
        sub += r.deleted;
        out.opResults.push(r);
      } else out.opResults.push({ type: 'range', op });
    }
    if (sub > 0) this.bump(rev, out);
    return out;
  }

  private bump(rev: number, out: ApplyOutcome): void {
    this.revision = rev;
    out.revision = rev;
  }

  private write(out: ApplyOutcome, pointer: number, rec: StoredRecord): void {
    const buf = encodeRecord(rec);
    out.writes.push({ type: 'put', key: recordKey(pointer), value: buf });
    out.records.set(pointer, buf);
  }

  private put(op: PutOp, rev: number, sub: number, out: ApplyOutcome): OpResult {
    const h = this.index.getOrCreate(op.key);
    const wasLive = h.live;
    const prevPointer = wasLive ? h.latestPointer() : 0;
    const lease = op.lease ?? 0;
    if (wasLive && h.lease && h.lease !== lease) this.leases.get(h.lease)?.keys.delete(op.key);
    if (lease) this.leases.get(lease)?.keys.add(op.key);
    h.createRevision = wasLive ? h.createRevision : rev;
    h.version = wasLive ? h.version + 1 : 1;
    h.lease = lease;
    const pointer = pointerOf(rev, sub);
    h.pointers.push(pointer);
    const rec: StoredRecord = { key: op.key, value: op.value, createRevision: h.createRevision, version: h.version, lease, tombstone: false };
    this.write(out, pointer, rec);
    out.events.push({ type: 'put', key: op.key, value: op.value, modRevision: rev, createRevision: h.createRevision, version: h.version, lease, pointer, prevPointer });
    return { type: 'put', prevPointer };
  }

  private deleteRange(op: DeleteOp, rev: number, sub: number, out: ApplyOutcome): OpResult & { type: 'delete' } {
    const keys: string[] = [];
    this.index.forEachInRange(op.key, op.end, (k, h) => {
      if (h.live) keys.push(k);
    });
    const prevPointers: number[] = [];
    for (const k of keys) prevPointers.push(this.tombstone(k, rev, sub++, out));
    return { type: 'delete', deleted: keys.length, prevPointers };
  }

  private tombstone(key: string, rev: number, sub: number, out: ApplyOutcome): number {
    const h = this.index.get(key) as KeyHistory;
    const prevPointer = h.latestPointer();
    if (h.lease) this.leases.get(h.lease)?.keys.delete(key);
    const pointer = pointerOf(rev, sub);
    h.pointers.push(-pointer);
    h.createRevision = 0;
    h.version = 0;
    h.lease = 0;
    this.write(out, pointer, { key, value: Buffer.alloc(0), createRevision: 0, version: 0, lease: 0, tombstone: true });
    out.events.push({ type: 'delete', key, value: Buffer.alloc(0), modRevision: rev, createRevision: 0, version: 0, lease: 0, pointer: -pointer, prevPointer });
    return prevPointer;
  }

  private applyLeaseGrant(id: number, ttl: number): ApplyOutcome {
    const out = this.outcome();
    if (this.leases.has(id)) throw new InvalidRequestError(`lease ${id} already exists`);
    this.leases.set(id, { ttl, keys: new Set() });
    out.writes.push({ type: 'put', key: leaseKey(id), value: encodeNumber(ttl) });
    return out;
  }

  private applyLeaseRevoke(id: number): ApplyOutcome {
    const out = this.outcome();
    const lease = this.leases.get(id);
    if (!lease) throw new LeaseNotFoundError(id);
    const rev = this.revision + 1;
    let sub = 0;
    for (const key of [...lease.keys].sort()) this.tombstone(key, rev, sub++, out);
    this.leases.delete(id);
    out.writes.push({ type: 'del', key: leaseKey(id) });
    if (sub > 0) this.bump(rev, out);
    return out;
  }

  /** Logical compaction: reads below `revision` fail from now on. The index is pruned separately. */
  private applyCompact(revision: number): ApplyOutcome {
    if (revision <= this.compactRevision) throw new CompactedError(this.compactRevision, revision);
    if (revision > this.revision) throw new FutureRevisionError(revision, this.revision);
    const out = this.outcome();
    this.compactRevision = revision;
    out.writes.push({ type: 'put', key: META_COMPACT, value: encodeNumber(revision) });
    return out;
  }

  /** Restores a lease at open (replaying the persisted state, not a command). */
  restoreLease(id: number, ttl: number): void {
    this.leases.set(id, { ttl, keys: new Set() });
  }
}

function cmp(c: number, result: Compare['result']): boolean {
  switch (result) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '>':
      return c > 0;
  }
}
