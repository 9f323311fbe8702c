// Objects that expire (Events, after an hour) are attached to a storage lease. Like upstream's
// lease manager, one lease is shared by everything written within a minute, so an event storm
// does not create a lease per object; the lease's TTL covers the extra minute.
import type { Store } from '../store/types.ts';

const REUSE_MS = 60_000;

interface Current {
  id: number;
  ttl: number;
  grantedAt: number;
}

const perStore = new WeakMap<Store, Map<number, Promise<Current>>>();

export async function leaseFor(store: Store, ttlSeconds: number, now = Date.now()): Promise<number> {
  let byTtl = perStore.get(store);
  if (!byTtl) perStore.set(store, (byTtl = new Map()));
  const existing = byTtl.get(ttlSeconds);
  if (existing) {
    const cur = await existing.catch(() => undefined);
    if (cur && now - cur.grantedAt < REUSE_MS) return cur.id;
  }
  const next = store.leaseGrant(ttlSeconds + REUSE_MS / 1000).then((l) => ({ id: l.id, ttl: l.ttl, grantedAt: now }));
  byTtl.set(ttlSeconds, next);
  return (await next).id;
}
