import { describe, expect, it } from 'vitest';
import { defaultSpreadSelector, type WorkloadListers } from './defaultspread.ts';
import { schedulePod } from './schedule.ts';
import { Snapshot } from './snapshot.ts';
import { node, pod, ZONE } from './testutil.ts';
import type { LabelSelectorOwner, Node, Pod, ReplicationController, Service } from './types.ts';

function listers(o: { services?: Service[]; rcs?: ReplicationController[]; rss?: LabelSelectorOwner[]; sss?: LabelSelectorOwner[] }): WorkloadListers {
  const find = (xs: { metadata: { namespace?: string; name?: string } }[] | undefined, ns: string, name: string) => xs?.find((x) => x.metadata.namespace === ns && x.metadata.name === name);
  return {
    services: (ns) => (o.services ?? []).filter((s) => s.metadata.namespace === ns),
    replicationController: (ns, n) => find(o.rcs, ns, n) as ReplicationController | undefined,
    replicaSet: (ns, n) => find(o.rss, ns, n) as LabelSelectorOwner | undefined,
    statefulSet: (ns, n) => find(o.sss, ns, n) as LabelSelectorOwner | undefined,
  };
}

const owned = (name: string, labels: Record<string, string>, kind: string, owner: string, apiVersion = 'apps/v1'): Pod => {
  const p = pod(name, { labels });
  p.metadata.ownerReferences = [{ apiVersion, kind, name: owner, uid: `uid-${owner}`, controller: true }];
  return p;
};

const rs = (name: string, selector: LabelSelectorOwner['spec']): LabelSelectorOwner => ({ metadata: { name, namespace: 'default' }, spec: selector });

describe('defaultSpreadSelector (helper.DefaultSelector)', () => {
  it('ANDs the selectors of matching Services and the controlling ReplicaSet', () => {
    const l = listers({
      services: [
        { metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' } } },
        { metadata: { name: 'other', namespace: 'default' }, spec: { selector: { app: 'db' } } },
        { metadata: { name: 'elsewhere', namespace: 'prod' }, spec: { selector: { app: 'web', x: 'y' } } },
        { metadata: { name: 'headless', namespace: 'default' }, spec: {} },
      ],
      rss: [rs('web-1', { selector: { matchLabels: { app: 'web', 'pod-template-hash': '1' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] } })],
    });
    const p = owned('p', { app: 'web', 'pod-template-hash': '1' }, 'ReplicaSet', 'web-1');
    expect(defaultSpreadSelector(p, l)).toEqual({ matchLabels: { app: 'web', 'pod-template-hash': '1' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] });
  });

  it('ReplicationController and StatefulSet owners; only the controller reference counts', () => {
    const l = listers({
      rcs: [{ metadata: { name: 'rc', namespace: 'default' }, spec: { selector: { app: 'legacy' } } }],
      sss: [rs('db', { selector: { matchLabels: { app: 'db' } } })],
    });
    expect(defaultSpreadSelector(owned('p', { app: 'legacy' }, 'ReplicationController', 'rc', 'v1'), l)).toEqual({ matchLabels: { app: 'legacy' } });
    expect(defaultSpreadSelector(owned('q', { app: 'db' }, 'StatefulSet', 'db'), l)).toEqual({ matchLabels: { app: 'db' } });
    const notController = owned('r', { app: 'db' }, 'StatefulSet', 'db');
    notController.metadata.ownerReferences![0].controller = false;
    expect(defaultSpreadSelector(notController, l)).toBeNull();
    // A Job (or a missing ReplicaSet) gives nothing.
    expect(defaultSpreadSelector(owned('j', { app: 'db' }, 'Job', 'db', 'batch/v1'), l)).toBeNull();
    expect(defaultSpreadSelector(owned('m', { app: 'db' }, 'ReplicaSet', 'missing'), l)).toBeNull();
  });
});

describe('system default topology spreading (scoring only)', () => {
  // Huge nodes: LeastAllocated gives every node the same score, so only spreading differs.
  const big = (name: string, zone?: string): Node => node(name, { cpu: '1000', memory: '4Ti', labels: zone ? { [ZONE]: zone } : {} });
  const l = listers({ rss: [rs('web-1', { selector: { matchLabels: { app: 'web' } } })] });
  const replica = (i: number) => owned(`web-1-${i}`, { app: 'web' }, 'ReplicaSet', 'web-1');

  function scheduleAll(s: Snapshot, n: number, seed: number, withDefaults = true): Map<string, number> {
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const p = replica(i);
      const r = schedulePod(s, p, { seed: seed + i, defaultSpreadSelector: withDefaults ? defaultSpreadSelector(p, l) : null });
      if (!('node' in r)) throw new Error(r.error.message);
      s.assume(p, r.node);
      counts.set(r.node, (counts.get(r.node) ?? 0) + 1);
    }
    return counts;
  }

  it.each([1, 2, 3, 4, 5])('6 replicas of a ReplicaSet land 2/2/2 on 3 equal nodes (seed %i)', (seed) => {
    const counts = scheduleAll(Snapshot.from([big('a'), big('b'), big('c')]), 6, seed * 100);
    expect(Object.fromEntries(counts)).toEqual({ a: 2, b: 2, c: 2 });
  });

  it('without the default selector nothing spreads them (the resource scores are equal)', () => {
    const s = Snapshot.from([big('a'), big('b')]);
    s.assume(replica(90), 'a');
    s.assume(replica(91), 'a');
    const p = replica(0);
    const scored = (sel: ReturnType<typeof defaultSpreadSelector>) => {
      const picks = new Set<string>();
      for (let seed = 0; seed < 40; seed++) {
        const r = schedulePod(s, p, { seed, defaultSpreadSelector: sel });
        if ('node' in r) picks.add(r.node);
      }
      return [...picks].sort();
    };
    expect(scored(null)).toEqual(['a', 'b']);
    expect(scored(defaultSpreadSelector(p, l))).toEqual(['b']);
  });

  it('prefers the emptier zone across nodes of uneven zones', () => {
    const s = Snapshot.from([big('a1', 'za'), big('a2', 'za'), big('b1', 'zb')]);
    s.assume(replica(90), 'a1');
    s.assume(replica(91), 'a2');
    s.assume(replica(92), 'b1');
    // Hostname counts are 1/1/1; zone za has 2, zb has 1: b1 wins.
    for (let seed = 0; seed < 10; seed++) {
      const p = replica(0);
      const r = schedulePod(s, p, { seed, defaultSpreadSelector: defaultSpreadSelector(p, l) });
      expect('node' in r && r.node).toBe('b1');
    }
  });

  it('explicit constraints replace the defaults', () => {
    const s = Snapshot.from([big('a'), big('b')]);
    s.assume(replica(90), 'a');
    const p = replica(0);
    p.spec.topologySpreadConstraints = [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'nothing' } } }];
    const picks = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const r = schedulePod(s, p, { seed, defaultSpreadSelector: { matchLabels: { app: 'web' } } });
      if ('node' in r) picks.add(r.node);
    }
    expect([...picks].sort()).toEqual(['a', 'b']);
  });
});
