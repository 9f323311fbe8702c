// Remembers the resourceVersion of each object this controller wrote last, so a sync can tell
// that its cache has not yet caught up with its own write (the informer's event will bring the
// object back to the queue): acting on the stale copy would only end in a 409 Conflict.
import type { KubeObject } from '../../api/object.ts';

/** a > b for k8ts's numeric resourceVersions; unknown formats never compare as newer. */
function newer(a: string, b: string): boolean {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return a.length !== b.length ? a.length > b.length : a > b;
}

interface Mark {
  rv: string;
  /** The write's own resourceVersion is unknown (a status write answered with the one sent): stale up to and including `rv`. */
  inclusive: boolean;
  /** What was written (compared when the cache shows `rv` itself: equal content means nothing is missing). */
  content?: string;
  at: number;
}

/** After this long a mark is dropped whatever the cache shows (a relist or a lost event must not block an object). */
const MARK_TTL_MS = 30_000;

export class OwnWrites {
  private readonly written = new Map<string, Mark>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** Records a write's result; `sent` is the resourceVersion the request carried, `content` a fingerprint of what was written. */
  wrote(obj: KubeObject | undefined, sent?: string, content?: string): void {
    const uid = obj?.metadata?.uid;
    const rv = obj?.metadata?.resourceVersion;
    if (!uid || !rv) return;
    const at = this.now();
    if (sent && !newer(rv, sent)) this.written.set(uid, { rv: sent, inclusive: true, content, at });
    else this.written.set(uid, { rv, inclusive: false, at });
  }

  /** True while the cached copy is older than what we wrote; `content` is the cached copy's fingerprint. */
  stale(cached: KubeObject, content?: string): boolean {
    const uid = cached.metadata?.uid ?? '';
    const mark = this.written.get(uid);
    if (mark === undefined) return false;
    const rv = cached.metadata?.resourceVersion ?? '';
    const behind = newer(mark.rv, rv) || (mark.inclusive && mark.rv === rv && (mark.content === undefined || mark.content !== content));
    if (behind && this.now() - mark.at < MARK_TTL_MS) return true;
    this.written.delete(uid);
    return false;
  }

  forget(obj: KubeObject): void {
    this.written.delete(obj.metadata?.uid ?? '');
  }
}
