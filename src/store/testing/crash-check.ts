// The write pattern and the checks of the crash-safety test, shared by both backends.
import { prefixEnd, type Store, type TxnRequest } from '../types.ts';

export const CRASH_PREFIX = '/crash/';

/** One write = one txn touching three keys, so a torn txn would be visible. */
export function txnForWrite(id: string, seq: number): TxnRequest {
  const value = Buffer.from(`${id}:${'x'.repeat(200 + (seq % 7) * 100)}`);
  return {
    compare: [{ key: `${CRASH_PREFIX}${id}/a`, target: 'version', result: '=', value: 0 }],
    success: [
      { type: 'put', key: `${CRASH_PREFIX}${id}/a`, value },
      { type: 'put', key: `${CRASH_PREFIX}${id}/b`, value },
      { type: 'put', key: `${CRASH_PREFIX}${id}/c`, value },
    ],
  };
}

export interface CrashCheck {
  revision: number;
  writesFound: number;
  problems: string[];
}

/** Checks the reopened store: every acknowledged write present at its revision, no torn txn. */
export async function checkAfterCrash(store: Store, acked: Map<string, number>, previousRevision: number): Promise<CrashCheck> {
  const problems: string[] = [];
  const revision = await store.revision();
  if (revision < previousRevision) problems.push(`revision went backwards: ${revision} < ${previousRevision}`);
  const maxAcked = Math.max(0, ...acked.values());
  if (revision < maxAcked) problems.push(`revision ${revision} is below an acknowledged revision ${maxAcked}`);
  const all = await store.range(CRASH_PREFIX, { end: prefixEnd(CRASH_PREFIX) });
  const byWrite = new Map<string, Array<{ part: string; rev: number; value: string }>>();
  for (const kv of all.kvs) {
    const rest = kv.key.slice(CRASH_PREFIX.length);
    const id = rest.slice(0, rest.lastIndexOf('/'));
    const list = byWrite.get(id) ?? [];
    list.push({ part: rest.slice(rest.lastIndexOf('/') + 1), rev: kv.modRevision, value: Buffer.from(kv.value).toString() });
    byWrite.set(id, list);
  }
  for (const [id, parts] of byWrite) {
    if (parts.length !== 3) problems.push(`torn txn ${id}: ${parts.length} of 3 keys present`);
    else if (new Set(parts.map((p) => p.rev)).size !== 1) problems.push(`txn ${id} spans revisions ${parts.map((p) => p.rev).join(',')}`);
    else if (!parts.every((p) => p.value.startsWith(`${id}:`))) problems.push(`txn ${id} holds a wrong value`);
  }
  for (const [id, rev] of acked) {
    const parts = byWrite.get(id);
    if (!parts) problems.push(`acknowledged write ${id} (revision ${rev}) is missing`);
    else if (parts[0].rev !== rev) problems.push(`acknowledged write ${id} has revision ${parts[0].rev}, acknowledged as ${rev}`);
  }
  return { revision, writesFound: byWrite.size, problems: problems.slice(0, 20) };
}
