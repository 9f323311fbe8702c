// The storage interface: etcd v3 semantics, independent of any backend.
// Keys are strings compared by their UTF-8 bytes; values are bytes. See README.md for the contract.

export interface KeyValue {
  key: string;
  value: Uint8Array;
  /** Revision at which the key was created (since its last deletion). 0 for a deleted key in an event. */
  createRevision: number;
  /** Revision of the last change to the key. */
  modRevision: number;
  /** Number of changes since creation: 1 after create, +1 per put; 0 on a deletion event. */
  version: number;
  /** Lease the key is attached to, 0 for none. */
  lease: number;
}

export interface ResponseHeader {
  /** The store revision the response reflects. */
  revision: number;
}

export interface RangeOptions {
  /** Exclusive end of the range `[key, end)`. Absent: the single key. Use `prefixEnd(p)` for a prefix. */
  end?: string;
  /** Read at this past revision; absent or 0: the current revision. */
  revision?: number;
  /** At most this many kvs; `more` tells whether others were left out. 0 or absent: no limit. */
  limit?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
}

export interface RangeResult {
  header: ResponseHeader;
  kvs: KeyValue[];
  /** Number of keys in the whole range, regardless of limit. */
  count: number;
  more: boolean;
}

export type CompareTarget = 'version' | 'createRevision' | 'modRevision' | 'value' | 'lease';
export type CompareResult = '=' | '!=' | '<' | '>';

export type Compare =
  | { key: string; target: 'version' | 'createRevision' | 'modRevision' | 'lease'; result: CompareResult; value: number }
  | { key: string; target: 'value'; result: CompareResult; value: Uint8Array };

export interface PutOp {
  type: 'put';
  key: string;
  value: Uint8Array;
  lease?: number;
  prevKv?: boolean;
}

export interface DeleteOp {
  type: 'delete';
  key: string;
  end?: string;
  prevKv?: boolean;
}

export interface RangeOp extends RangeOptions {
  type: 'range';
  key: string;
}

export type Op = PutOp | DeleteOp | RangeOp;

export interface TxnRequest {
  compare?: Compare[];
  success?: Op[];
  failure?: Op[];
  /**
   * A heartbeat (a node's Lease renewal): it may wait up to HEARTBEAT_HOLD_MS for other writes to
   * share its durable write. It is still answered only once durable; any other write ends the
   * wait at once.
   */
  coalesce?: boolean;
}

/**
 * How long heartbeats wait for company by default. 1,000 nodes renew a Lease every 10 ms; each
 * durable write costs three disk I/Os (data, inode, cache flush) and the wake-ups of waiting for
 * them, so at 100 ms about ten renewals share them. A kubelet renews every 10 s against a 40 s
 * lease: the wait is nothing to it.
 */
export const HEARTBEAT_HOLD_MS = 100;

export type OpResponse =
  | { type: 'put'; prevKv?: KeyValue }
  | { type: 'delete'; deleted: number; prevKvs: KeyValue[] }
  | ({ type: 'range' } & RangeResult);

export interface TxnResult {
  header: ResponseHeader;
  succeeded: boolean;
  responses: OpResponse[];
}

export interface WatchEvent {
  type: 'put' | 'delete';
  /** For a delete: key and modRevision (the deletion's revision) only. */
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface WatchOptions {
  /** Exclusive end: watch `[key, end)`. Absent: the single key. */
  end?: string;
  /** First revision to deliver. Absent or 0: changes after the current revision. */
  fromRevision?: number;
  prevKv?: boolean;
  /** Deliver `onProgress(revision)` when the watcher is idle, so it can advance its resume point. */
  progressNotify?: boolean;
}

export interface WatchHandler {
  /** Events of one or more whole revisions, in revision order. `revision` is the header revision. */
  onEvents(events: WatchEvent[], revision: number): void;
  /** The store has reached `revision` and the watcher has seen every event up to it. */
  onProgress?(revision: number): void;
  /** The watch ended abnormally (compaction while catching up, lost backend). No call follows. */
  onError?(err: Error): void;
}

export interface Watcher {
  readonly id: number;
  cancel(): void;
  /**
   * Asks for an `onProgress(revision)` soon, with a revision at or above the store's revision at
   * the time of the request, once every event up to it has been delivered (etcd's
   * RequestProgress). Lets a cache prove it is current without waiting for the periodic notify.
   */
  requestProgress(): void;
}

export interface Lease {
  id: number;
  ttl: number;
}

export interface Store {
  /** The store's current (acknowledged) revision. */
  revision(): Promise<number>;
  range(key: string, opts?: RangeOptions): Promise<RangeResult>;
  txn(req: TxnRequest): Promise<TxnResult>;
  put(key: string, value: Uint8Array, opts?: { lease?: number; prevKv?: boolean }): Promise<{ header: ResponseHeader; prevKv?: KeyValue }>;
  delete(key: string, opts?: { end?: string; prevKv?: boolean }): Promise<{ header: ResponseHeader; deleted: number; prevKvs: KeyValue[] }>;
  /**
   * Starts a watch. Rejects with CompactedError when `fromRevision` is at or below the last
   * compaction (the revision is no longer available), FutureRevisionError never: a watch may start
   * in the future and waits for it.
   */
  watch(key: string, opts: WatchOptions, handler: WatchHandler): Promise<Watcher>;
  /** Discards history before `revision`. Reads and watches below it fail with CompactedError. */
  compact(revision: number): Promise<void>;
  /** The last compacted revision, 0 if never compacted. */
  compactRevision(): Promise<number>;
  leaseGrant(ttlSeconds: number): Promise<Lease>;
  leaseKeepAlive(id: number): Promise<Lease>;
  leaseRevoke(id: number): Promise<void>;
  close(): Promise<void>;
}

/** Range end meaning "every key from `key` on" (etcd's `\0`). */
export const END_OF_KEYSPACE = '\0';

/** The first key after every key that starts with `prefix`: `[prefix, prefixEnd(prefix))` is the prefix. */
export function prefixEnd(prefix: string): string {
  if (prefix === '') return END_OF_KEYSPACE;
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
