// The watch cache's entries: stored JSON gains its resourceVersion without a parse, and a
// superseded entry keeps only its bytes (its object is parsed again when asked for).
import { describe, expect, it } from 'vitest';
import { encodeObject } from '../registry/generic.ts';
import type { Strategy } from '../registry/strategy.ts';
import { CacheEntry, withResourceVersion } from './watch-cache.ts';

describe('withResourceVersion', () => {
  it('adds the resourceVersion to stored JSON, same object as a parse would give', () => {
    const obj = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'n1', namespace: 'kube-node-lease', resourceVersion: '5' }, spec: { holderIdentity: 'n1' } };
    const out = withResourceVersion(encodeObject(structuredClone(obj)), 42);
    expect(out).toBeDefined();
    expect(JSON.parse(out!.toString())).toEqual({ ...obj, metadata: { ...obj.metadata, resourceVersion: '42' } });
  });

  it('handles empty metadata', () => {
    const out = withResourceVersion(Buffer.from('{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}'), 7);
    expect(JSON.parse(out!.toString())).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { resourceVersion: '7' } });
  });

  it('declines documents that do not start as stored objects do', () => {
    expect(withResourceVersion(Buffer.from('{"spec":{"metadata":{}},"apiVersion":"v1","kind":"X","metadata":{}}'), 7)).toBeUndefined();
    expect(withResourceVersion(Buffer.from('{"apiVersion":"v\\"1","kind":"X","metadata":{}}'), 7)).toBeUndefined();
  });
});

describe('CacheEntry', () => {
  it('parses its object on demand without keeping it, and works out its selectable attributes once', () => {
    const e = new CacheEntry('/registry/pods/default/a', 'default', 'a', Buffer.from('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"default","labels":{"app":"x"}},"spec":{"nodeName":"n1"}}'), 3);
    const first = e.obj;
    expect(first.metadata?.name).toBe('a');
    expect(e.obj).toEqual(first);
    expect(e.obj).not.toBe(first);
    const strategy = { fields: (o: { spec?: { nodeName?: string } }) => ({ 'spec.nodeName': o.spec?.nodeName ?? '' }) } as unknown as Strategy;
    const attrs = e.attrs(strategy);
    expect(attrs).toEqual({ labels: { app: 'x' }, fields: { 'metadata.name': 'a', 'metadata.namespace': 'default', 'spec.nodeName': 'n1' } });
    expect(e.attrs(strategy)).toBe(attrs);
    e.supersede();
    expect(e.attrs(strategy)).not.toBe(attrs);
  });
});
