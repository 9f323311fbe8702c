// ControllerRevisions as the StatefulSet and DaemonSet controllers keep them. A revision's data
// is the strategic-merge patch that restores its pod template,
// `{"spec":{"template":{…,"$patch":"replace"}}}` (what `kubectl rollout undo` applies), its
// name `<owner>-<hash>`, its labels the template's plus the hash. Hashes are FNV-32 of the
// canonical JSON, spelled with rand.SafeEncodeString's alphabet.
import type { KubeObject } from '../../api/object.ts';
import type { KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import type { ControllerRevision, PodTemplateSpec } from './types.ts';
import { canonicalJson, isAlreadyExists, newControllerRef } from './util.ts';
import { cloneJson } from '../../api/object.ts';

/** The label upstream's history package puts on every ControllerRevision it creates. */
export const REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** rand.SafeEncodeString: each character mapped into an alphabet without vowels (no words). */
export function safeEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += ALPHANUMS[s.charCodeAt(i) % ALPHANUMS.length];
  return out;
}

const PRIME = 16777619;
const OFFSET = 2166136261;

/** FNV-1 32-bit (Go's fnv.New32). */
export function fnv32(data: Uint8Array): number {
  let h = OFFSET;
  for (const b of data) h = (Math.imul(h, PRIME) >>> 0) ^ b;
  return h >>> 0;
}

/** FNV-1a 32-bit (Go's fnv.New32a). */
export function fnv32a(data: Uint8Array): number {
  let h = OFFSET;
  for (const b of data) h = Math.imul((h ^ b) >>> 0, PRIME) >>> 0;
  return h >>> 0;
}

/** The revision data of a pod template. */
export function templatePatch(template: PodTemplateSpec): { spec: { template: Record<string, unknown> } } {
  return { spec: { template: { ...cloneJson(template), $patch: 'replace' } } };
}

/** The pod template a revision restores (undefined for data of another shape). */
export function templateFromRevision(rev: ControllerRevision): PodTemplateSpec | undefined {
  const t = (rev.data as { spec?: { template?: Record<string, unknown> } } | undefined)?.spec?.template;
  if (!t || typeof t !== 'object') return undefined;
  const copy = cloneJson(t);
  delete copy.$patch;
  return copy as PodTemplateSpec;
}

/** history.HashControllerRevision: FNV-1 of the data, then the decimal collision count. */
export function hashRevisionData(data: unknown, collisionCount: number | undefined): string {
  let text = canonicalJson(data);
  if (collisionCount !== undefined) text += String(collisionCount);
  return safeEncode(String(fnv32(Buffer.from(text, 'utf8'))));
}

/** controller.ComputeHash (the DaemonSet's): FNV-1a of the template, then the count as 4 LE bytes. */
export function hashTemplate(template: PodTemplateSpec, collisionCount: number | undefined): string {
  let bytes: Buffer = Buffer.from(canonicalJson(template), 'utf8');
  if (collisionCount !== undefined) {
    const c = Buffer.alloc(4);
    c.writeUInt32LE(collisionCount >>> 0);
    bytes = Buffer.concat([bytes, c]);
  }
  return safeEncode(String(fnv32a(bytes)));
}

/** `<prefix>-<hash>`, the prefix cut to 223 characters so the name stays a valid one. */
export function revisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}

/** By revision number, then creation time, then name (history.SortControllerRevisions). */
export function sortRevisions(revs: ControllerRevision[]): ControllerRevision[] {
  return [...revs].sort((a, b) => {
    if (a.revision !== b.revision) return a.revision - b.revision;
    const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
    const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
    if (ta !== tb) return ta - tb;
    return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
  });
}

/**
 * Same data. (Upstream also compares the hash labels when both parse as integers, which
 * SafeEncodeString's output never does, so data decides.)
 */
export function equalRevision(a: ControllerRevision, b: ControllerRevision): boolean {
  return canonicalJson(a.data) === canonicalJson(b.data);
}

/** One more than the highest revision number (1 for none). */
export function nextRevision(revs: ControllerRevision[]): number {
  let max = 0;
  for (const r of revs) max = Math.max(max, r.revision);
  return max + 1;
}

/** history.NewControllerRevision: template labels, controller reference, data, number, name. */
export function newRevision(parent: KubeObject, kind: 'StatefulSet' | 'DaemonSet', templateLabels: Record<string, string> | undefined, data: unknown, revision: number, collisionCount: number): ControllerRevision {
  const hash = hashRevisionData(data, collisionCount);
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: revisionName(parent.metadata?.name ?? '', hash),
      namespace: parent.metadata?.namespace,
      labels: { ...(templateLabels ?? {}), [REVISION_HASH_LABEL]: hash },
      ownerReferences: [newControllerRef(parent, kind)],
    },
    data,
    revision,
  };
}

/**
 * Creates `rev` under the name its hash gives; when that name is taken by a revision with other
 * data, bumps `collision.count` and tries the next name. An equal revision already there is returned.
 */
export async function createRevision(client: KubeClient, parent: KubeObject, rev: ControllerRevision, collision: { count: number }): Promise<ControllerRevision> {
  const ns = parent.metadata?.namespace;
  for (let attempt = 0; attempt < 100; attempt++) {
    const hash = hashRevisionData(rev.data, collision.count);
    const clone = cloneJson(rev);
    clone.metadata.name = revisionName(parent.metadata?.name ?? '', hash);
    clone.metadata.labels = { ...(clone.metadata.labels ?? {}), [REVISION_HASH_LABEL]: hash };
    try {
      return await client.create<ControllerRevision>(Resources.controllerrevisions, ns, clone);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await client.get<ControllerRevision>(Resources.controllerrevisions, ns, clone.metadata.name!);
      if (canonicalJson(existing.data) === canonicalJson(clone.data)) return existing;
      collision.count++;
    }
  }
  throw new Error(`could not find a free ControllerRevision name for ${parent.metadata?.name}`);
}
