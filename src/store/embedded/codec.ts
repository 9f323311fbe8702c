// How the MVCC keyspace is laid out in LevelDB. Every LevelDB key starts with a one-byte family:
//   r <8-byte pointer>  → record: one version of one key (pointer = revision * 2^16 + op index)
//   l <8-byte lease id> → lease TTL in seconds
//   m <name>            → metadata: format, revision, compact revision
import type { KeyValue } from '../types.ts';

export const SUB_BITS = 65536;
/** Upper bound on writes in one txn: the op index must fit in the pointer's low 16 bits. */
export const MAX_OPS_PER_TXN = SUB_BITS - 1;

export const FORMAT = Buffer.from('k8ts-mvcc/1');
export const META_FORMAT = Buffer.from('mformat');
export const META_REVISION = Buffer.from('mrevision');
export const META_COMPACT = Buffer.from('mcompact');
export const RECORD_PREFIX = 0x72; // 'r'
export const LEASE_PREFIX = 0x6c; // 'l'

export function pointerOf(revision: number, sub: number): number {
  return revision * SUB_BITS + sub;
}

export function revisionOf(pointer: number): number {
  return Math.floor(Math.abs(pointer) / SUB_BITS);
}

function u64(prefix: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b[0] = prefix;
  b.writeUInt32BE(Math.floor(n / 0x100000000), 1);
  b.writeUInt32BE(n >>> 0, 5);
  return b;
}

function readU64(b: Uint8Array, offset: number): number {
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return v.readUInt32BE(offset) * 0x100000000 + v.readUInt32BE(offset + 4);
}

export const recordKey = (pointer: number): Buffer => u64(RECORD_PREFIX, pointer);
export const leaseKey = (id: number): Buffer => u64(LEASE_PREFIX, id);
export const pointerFromRecordKey = (k: Uint8Array): number => readU64(k, 1);
export const leaseIdFromKey = (k: Uint8Array): number => readU64(k, 1);
export const encodeNumber = (n: number): Buffer => u64(0, n).subarray(1);
export const decodeNumber = (b: Uint8Array): number => readU64(b, 0);

/** One stored version of a key. A tombstone marks the key's deletion at `pointer`'s revision. */
export interface StoredRecord {
  key: string;
  value: Uint8Array;
  createRevision: number;
  version: number;
  lease: number;
  tombstone: boolean;
}

const HEADER = 1 + 8 + 8 + 8 + 4;

export function encodeRecord(r: StoredRecord): Buffer {
  const keyLen = Buffer.byteLength(r.key, 'utf8');
  const b = Buffer.allocUnsafe(HEADER + keyLen + r.value.byteLength);
  b[0] = r.tombstone ? 1 : 0;
  b.writeDoubleBE(r.createRevision, 1);
  b.writeDoubleBE(r.version, 9);
  b.writeDoubleBE(r.lease, 17);
  b.writeUInt32BE(keyLen, 25);
  b.write(r.key, HEADER, 'utf8');
  b.set(r.value, HEADER + keyLen);
  return b;
}

export class RecordDecodeError extends Error {}

export function decodeRecord(raw: Uint8Array): StoredRecord {
  const b = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (b.length < HEADER || b[0] > 1) throw new RecordDecodeError('record header is malformed');
  const keyLen = b.readUInt32BE(25);
  if (HEADER + keyLen > b.length) throw new RecordDecodeError('record key length exceeds the record');
  return {
    tombstone: b[0] === 1,
    createRevision: b.readDoubleBE(1),
    version: b.readDoubleBE(9),
    lease: b.readDoubleBE(17),
    key: b.toString('utf8', HEADER, HEADER + keyLen),
    value: b.subarray(HEADER + keyLen),
  };
}

export function toKeyValue(r: StoredRecord, modRevision: number, keysOnly = false): KeyValue {
  return {
    key: r.key,
    value: keysOnly ? EMPTY : r.value,
    createRevision: r.createRevision,
    modRevision,
    version: r.version,
    lease: r.lease,
  };
}

export const EMPTY: Uint8Array = Buffer.alloc(0);
