// The event recorder against an in-process k8ts: Events as upstream writes them, repeats
// aggregated into count/lastTimestamp, the per-object spam filter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/object.ts';
import { Resources } from '../../client/resources.ts';
import { startInProcess, type InProcessServer } from '../../client/testing/in-process.ts';
import { EventRecorder, referenceOf, sprintf, type CoreEvent } from './events.ts';
import { silentLogger } from './log.ts';

let env: InProcessServer;

beforeAll(async () => {
  env = await startInProcess({ namespaces: ['ev'] });
});

afterAll(async () => {
  await env?.stop();
});

async function eventsAbout(name: string, ns = 'ev'): Promise<CoreEvent[]> {
  const l = await env.client().list<CoreEvent>(Resources.events, ns, { fieldSelector: `involvedObject.name=${name}` });
  return l.items;
}

describe('EventRecorder', () => {
  it('writes a core/v1 Event like upstream and aggregates a repeat into count 2', async () => {
    const c = env.client();
    const obj = await c.create<KubeObject>(Resources.configmaps, 'ev', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'subject' } });
    obj.apiVersion ??= 'v1';
    obj.kind ??= 'ConfigMap';
    const rec = new EventRecorder(c, { component: 'test-controller', host: 'node-1', logger: silentLogger });
    rec.event(obj, 'Normal', 'Synced', 'synced successfully');
    await rec.flush();
    let evs = await eventsAbout('subject');
    expect(evs).toHaveLength(1);
    const ev = evs[0];
    expect(ev.metadata?.name).toMatch(/^subject\.[0-9a-f]{12,}$/);
    expect(ev.metadata?.namespace).toBe('ev');
    expect(ev.involvedObject).toEqual({ kind: 'ConfigMap', namespace: 'ev', name: 'subject', uid: obj.metadata!.uid, apiVersion: 'v1', resourceVersion: obj.metadata!.resourceVersion });
    expect(ev).toMatchObject({
      reason: 'Synced',
      message: 'synced successfully',
      type: 'Normal',
      count: 1,
      source: { component: 'test-controller', host: 'node-1' },
      reportingComponent: 'test-controller',
      reportingInstance: 'node-1',
    });
    expect(ev.firstTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ev.lastTimestamp).toBe(ev.firstTimestamp);

    await new Promise((r) => setTimeout(r, 1100)); // next second, so lastTimestamp moves
    rec.event(obj, 'Normal', 'Synced', 'synced successfully');
    await rec.flush();
    evs = await eventsAbout('subject');
    expect(evs).toHaveLength(1);
    expect(evs[0].metadata?.name).toBe(ev.metadata?.name);
    expect(evs[0].count).toBe(2);
    expect(evs[0].firstTimestamp).toBe(ev.firstTimestamp);
    expect(evs[0].lastTimestamp > ev.lastTimestamp).toBe(true);

    // A different message is a different Event.
    rec.eventf(obj, 'Warning', 'Failed', 'could not do %s: %d tries', 'it', 3);
    await rec.close();
    evs = await eventsAbout('subject');
    expect(evs).toHaveLength(2);
    expect(evs.find((e) => e.reason === 'Failed')).toMatchObject({ type: 'Warning', message: 'could not do it: 3 tries', count: 1 });
  });

  it('re-creates an aggregated Event that was deleted, keeping the count', async () => {
    const c = env.client();
    const obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gone', namespace: 'ev', uid: 'u-1' } };
    const rec = new EventRecorder(c, { component: 'test', logger: silentLogger });
    rec.event(obj, 'Normal', 'R', 'm');
    await rec.flush();
    const [first] = await eventsAbout('gone');
    await c.delete(Resources.events, 'ev', first.metadata!.name!);
    rec.event(obj, 'Normal', 'R', 'm');
    await rec.flush();
    const evs = await eventsAbout('gone');
    expect(evs).toHaveLength(1);
    expect(evs[0].count).toBe(2);
    expect(evs[0].metadata?.name).not.toBe(first.metadata?.name);
    expect(evs[0].source).toEqual({ component: 'test' });
  });

  it('puts Events about cluster-scoped objects in default, and filters storms per object', async () => {
    const c = env.client();
    const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-x', uid: 'n-1' } };
    const rec = new EventRecorder(c, { component: 'test', logger: silentLogger, spamBurst: 3 });
    for (let i = 0; i < 10; i++) rec.event(node, 'Normal', 'Tick', `tick ${i}`);
    await rec.close();
    const evs = await eventsAbout('node-x', 'default');
    expect(evs.map((e) => e.message).sort()).toEqual(['tick 0', 'tick 1', 'tick 2']);
    expect(evs[0].involvedObject).toEqual({ kind: 'Node', name: 'node-x', uid: 'n-1', apiVersion: 'v1' });
  });

  it('formats and references like upstream', () => {
    expect(sprintf('%s has %d pods (%v) %q 100%%', 'rs', 3, { a: 1 }, 'x')).toBe('rs has 3 pods ({"a":1}) "x" 100%');
    expect(referenceOf({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'n', uid: 'u' } }, 'spec.template')).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'd',
      namespace: 'n',
      uid: 'u',
      fieldPath: 'spec.template',
    });
  });
});
