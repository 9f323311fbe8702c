// Classifies errors of etcd gRPC calls. etcd reports its errors as gRPC statuses whose details
// are fixed strings ("etcdserver: ..."); clients are expected to match them.
import { status } from '@grpc/grpc-js';
import { ClosedError } from './rpc.ts';

export type EtcdErrorKind =
  | 'compacted'
  | 'future-revision'
  | 'lease-not-found'
  | 'lease-exists'
  | 'invalid'
  | 'no-space'
  | 'unavailable'
  | 'closed'
  | 'other';

export interface ClassifiedError {
  kind: EtcdErrorKind;
  message: string;
}

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function classify(err: unknown): ClassifiedError {
  if (err instanceof ClosedError) return { kind: 'closed', message: err.message };
  const details = (err as { details?: unknown } | null)?.details;
  const message = typeof details === 'string' && details !== '' ? details : err instanceof Error ? err.message : String(err);
  const code = grpcCode(err);
  const m = message.toLowerCase();
  if (m.includes('required revision has been compacted')) return { kind: 'compacted', message };
  if (m.includes('required revision is a future revision')) return { kind: 'future-revision', message };
  if (m.includes('requested lease not found') || m.includes('lease not found')) return { kind: 'lease-not-found', message };
  if (m.includes('lease already exists')) return { kind: 'lease-exists', message };
  if (m.includes('database space exceeded')) return { kind: 'no-space', message };
  switch (code) {
    case status.INVALID_ARGUMENT:
    case status.OUT_OF_RANGE:
      return { kind: 'invalid', message };
    case status.RESOURCE_EXHAUSTED:
      // e.g. "grpc: received message larger than max": the request was too large.
      return { kind: m.includes('larger than max') ? 'invalid' : 'unavailable', message };
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
    case status.CANCELLED:
    case status.ABORTED:
      return { kind: 'unavailable', message };
    case undefined:
      return { kind: 'other', message };
    default:
      if (/request timed out|leader changed|no leader|too many requests|not capable|stopped/.test(m)) return { kind: 'unavailable', message };
      return { kind: 'other', message };
  }
}
