// The etcd v3 wire messages we use (as decoded by proto-loader with keepCase, longs: Number,
// enums: String, defaults, oneofs) and conversions to and from the Store types.
import type { Compare, KeyValue, Op, OpResponse, RangeOptions, RangeResult } from '../types.ts';

export interface WireHeader { revision: number }

export interface WireKeyValue {
  key: Buffer;
  create_revision: number;
  mod_revision: number;
  version: number;
  value: Buffer;
  lease: number;
}

export interface WireRangeRequest {
  key: Buffer;
  range_end?: Buffer;
  limit?: number;
  revision?: number;
  keys_only?: boolean;
  count_only?: boolean;
}
export interface WireRangeResponse { header: WireHeader | null; kvs: WireKeyValue[]; more: boolean; count: number }

export interface WirePutRequest { key: Buffer; value: Buffer; lease?: number; prev_kv?: boolean }
export interface WirePutResponse { header: WireHeader | null; prev_kv: WireKeyValue | null }

export interface WireDeleteRangeRequest { key: Buffer; range_end?: Buffer; prev_kv?: boolean }
export interface WireDeleteRangeResponse { header: WireHeader | null; deleted: number; prev_kvs: WireKeyValue[] }

export type WireRequestOp =
  | { request_range: WireRangeRequest }
  | { request_put: WirePutRequest }
  | { request_delete_range: WireDeleteRangeRequest };

export interface WireResponseOp {
  response?: 'response_range' | 'response_put' | 'response_delete_range';
  response_range?: WireRangeResponse | null;
  response_put?: WirePutResponse | null;
  response_delete_range?: WireDeleteRangeResponse | null;
}

export interface WireCompare {
  result: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';
  target: 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE';
  key: Buffer;
  version?: number;
  create_revision?: number;
  mod_revision?: number;
  value?: Buffer;
  lease?: number;
}

export interface WireTxnRequest { compare: WireCompare[]; success: WireRequestOp[]; failure: WireRequestOp[] }
export interface WireTxnResponse { header: WireHeader | null; succeeded: boolean; responses: WireResponseOp[] }

export interface WireCompactionRequest { revision: number; physical: boolean }
export interface WireCompactionResponse { header: WireHeader | null }

export interface WireWatchCreateRequest {
  key: Buffer;
  range_end?: Buffer;
  start_revision?: number;
  progress_notify?: boolean;
  prev_kv?: boolean;
}
export type WireWatchRequest =
  | { create_request: WireWatchCreateRequest }
  | { cancel_request: { watch_id: number } }
  | { progress_request: Record<string, never> };

export interface WireEvent { type: 'PUT' | 'DELETE'; kv: WireKeyValue | null; prev_kv: WireKeyValue | null }
export interface WireWatchResponse {
  header: WireHeader | null;
  watch_id: number;
  created: boolean;
  canceled: boolean;
  compact_revision: number;
  cancel_reason: string;
  fragment: boolean;
  events: WireEvent[];
}

export interface WireLeaseGrantRequest { TTL: number; ID: number }
export interface WireLeaseGrantResponse { header: WireHeader | null; ID: number; TTL: number; error: string }
export interface WireLeaseIdRequest { ID: number }
export interface WireLeaseRevokeResponse { header: WireHeader | null }
export interface WireLeaseKeepAliveResponse { header: WireHeader | null; ID: number; TTL: number }
export interface WireLeaseTimeToLiveResponse { header: WireHeader | null; ID: number; TTL: number; grantedTTL: number }

// ---- conversions ----

export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'utf8');
}

/**
 * etcd refuses an empty key ("key is not provided") but treats `\0` as the smallest key, so a
 * range or watch from '' is sent as one from `\0` (what etcd's own clients do for "from key").
 */
export function rangeKeyBytes(key: string, end: string | undefined): Buffer {
  return key === '' && end !== undefined ? Buffer.from([0]) : keyBytes(key);
}

export function rangeEndBytes(end: string | undefined): Buffer | undefined {
  return end === undefined ? undefined : keyBytes(end);
}

export function revisionOf(header: WireHeader | null | undefined): number {
  return header?.revision ?? 0;
}

export function fromWireKv(kv: WireKeyValue): KeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value,
    createRevision: kv.create_revision,
    modRevision: kv.mod_revision,
    version: kv.version,
    lease: kv.lease,
  };
}

export function rangeRequest(key: string, opts: RangeOptions = {}): WireRangeRequest {
  return {
    key: rangeKeyBytes(key, opts.end),
    range_end: rangeEndBytes(opts.end),
    limit: opts.limit ?? 0,
    revision: opts.revision ?? 0,
    keys_only: opts.keysOnly ?? false,
    count_only: opts.countOnly ?? false,
  };
}

export function fromWireRange(res: WireRangeResponse, fallbackRevision = 0): RangeResult {
  return {
    header: { revision: revisionOf(res.header) || fallbackRevision },
    kvs: res.kvs.map(fromWireKv),
    count: res.count,
    more: res.more,
  };
}

const RESULTS = { '=': 'EQUAL', '!=': 'NOT_EQUAL', '<': 'LESS', '>': 'GREATER' } as const;

export function toWireCompare(c: Compare): WireCompare {
  const base = { result: RESULTS[c.result], key: keyBytes(c.key) };
  switch (c.target) {
    case 'value': return { ...base, target: 'VALUE', value: Buffer.from(c.value.buffer, c.value.byteOffset, c.value.byteLength) };
    case 'version': return { ...base, target: 'VERSION', version: c.value };
    case 'createRevision': return { ...base, target: 'CREATE', create_revision: c.value };
    case 'modRevision': return { ...base, target: 'MOD', mod_revision: c.value };
    case 'lease': return { ...base, target: 'LEASE', lease: c.value };
  }
}

export function toBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function toWireOp(op: Op): WireRequestOp {
  switch (op.type) {
    case 'put':
      return { request_put: { key: keyBytes(op.key), value: toBuffer(op.value), lease: op.lease ?? 0, prev_kv: op.prevKv ?? false } };
    case 'delete':
      return { request_delete_range: { key: rangeKeyBytes(op.key, op.end), range_end: rangeEndBytes(op.end), prev_kv: op.prevKv ?? false } };
    case 'range':
      return { request_range: rangeRequest(op.key, op) };
  }
}

export function fromWireOpResponse(r: WireResponseOp, txnRevision: number): OpResponse {
  if (r.response_put) {
    return r.response_put.prev_kv ? { type: 'put', prevKv: fromWireKv(r.response_put.prev_kv) } : { type: 'put' };
  }
  if (r.response_delete_range) {
    return { type: 'delete', deleted: r.response_delete_range.deleted, prevKvs: r.response_delete_range.prev_kvs.map(fromWireKv) };
  }
  if (r.response_range) return { type: 'range', ...fromWireRange(r.response_range, txnRevision) };
  throw new Error(`unexpected txn response op ${JSON.stringify(r.response)}`);
}
