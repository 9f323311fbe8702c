// Request checks shared by both backends: they run before anything is written.
import { InvalidRequestError, MAX_KEY_BYTES, MAX_VALUE_BYTES } from './errors.ts';
import type { Op, TxnRequest } from './types.ts';

const MAX_REQUEST_BYTES = MAX_VALUE_BYTES + 64 * 1024;

function mib(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

function checkKey(key: string): number {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidRequestError('key must be a non-empty string');
  const n = Buffer.byteLength(key, 'utf8');
  if (n > MAX_KEY_BYTES) throw new InvalidRequestError(`key of ${mib(n)} is too large; the limit is ${mib(MAX_KEY_BYTES)}`);
  return n;
}

export function validatePut(key: string, value: Uint8Array): void {
  const k = checkKey(key);
  if (!(value instanceof Uint8Array)) throw new InvalidRequestError(`value for key ${JSON.stringify(key.slice(0, 256))} must be bytes`);
  if (value.byteLength > MAX_VALUE_BYTES) {
    throw new InvalidRequestError(`value for key ${JSON.stringify(key.slice(0, 256))} is ${mib(value.byteLength)}; the limit is ${mib(MAX_VALUE_BYTES)}`);
  }
  if (k + value.byteLength > MAX_REQUEST_BYTES) throw new InvalidRequestError(`request of ${mib(k + value.byteLength)} is too large; the limit is ${mib(MAX_REQUEST_BYTES)}`);
}

function checkOps(ops: Op[] | undefined, seen: Set<string>): number {
  let bytes = 0;
  for (const op of ops ?? []) {
    if (op.type === 'put') {
      validatePut(op.key, op.value);
      bytes += Buffer.byteLength(op.key) + op.value.byteLength;
    } else {
      bytes += checkKey(op.key);
      if (op.end !== undefined && op.end !== '\0' && op.end <= op.key) {
        // An empty range is legal in etcd; nothing to reject.
      }
    }
    if (op.type !== 'range') {
      const id = op.type === 'delete' && op.end !== undefined ? `${op.key}\u0000${op.end}` : op.key;
      if (seen.has(id)) throw new InvalidRequestError(`duplicate key ${JSON.stringify(op.key)} given in txn request`);
      seen.add(id);
    }
  }
  return bytes;
}

export function validateTxn(req: TxnRequest): void {
  for (const c of req.compare ?? []) checkKey(c.key);
  const bytes = Math.max(checkOps(req.success, new Set()), checkOps(req.failure, new Set()));
  if (bytes > MAX_REQUEST_BYTES) throw new InvalidRequestError(`txn of ${mib(bytes)} is too large; the limit is ${mib(MAX_REQUEST_BYTES)}`);
}
