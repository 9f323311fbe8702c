// The building blocks under the public API: schema lookups, zero objects, field sets,
// comparisons, merging and removal, managedFields entries and conflict messages.
import { describe, expect, it } from 'vitest';
import { fieldElement as f, FieldSet, keyElement, renderPath } from './fieldpath.ts';
import { capUpdateManagers, conflictError, decodeManagedFields, encodeManagedFields, identity, type Managed, type ManagerSet } from './managed.ts';
import { merge, removeItems, zeroObject } from './merge.ts';
import { loadApplySchema, UNTYPED_DEDUCED } from './schema.ts';
import { compare, toFieldSet, Walker } from './typed.ts';

const schema = loadApplySchema();
const w = new Walker(schema);
const DEPLOYMENT = schema.root('apps/v1', 'Deployment');
const POD = schema.root('v1', 'Pod');
const paths = (s: FieldSet): string[] => s.paths().map(renderPath);

describe('the apply schema', () => {
  it('resolves kinds, and falls back to the deduced type for unknown ones', () => {
    expect(DEPLOYMENT).toBe('io.k8s.api.apps.v1.Deployment');
    expect(schema.kind('apps/v1', 'Deployment')?.status).toBe(true);
    expect(schema.kind('v1', 'ConfigMap')?.status).toBeUndefined();
    expect(schema.root('example.com/v1', 'Widget')).toBe(UNTYPED_DEDUCED);
  });

  it('applies a field override of a named type relationship (granular claimRef)', () => {
    const pvSpec = schema.resolve('io.k8s.api.core.v1.PersistentVolumeSpec').map!;
    expect(schema.resolve('io.k8s.api.core.v1.ObjectReference').map?.atomic).toBe(true);
    expect(schema.resolve(pvSpec.fields!.claimRef.type).map?.atomic).toBeUndefined();
  });
});

describe('zero objects', () => {
  it('holds the non-pointer structs and always-encoded fields of a kind', () => {
    expect(zeroObject(w, DEPLOYMENT)).toEqual({
      metadata: {},
      spec: { selector: null, strategy: {}, template: { metadata: {}, spec: { containers: null } } },
      status: {},
    });
    expect(zeroObject(w, UNTYPED_DEDUCED)).toEqual({});
  });
});

describe('field sets and comparisons', () => {
  const pod = (containers: unknown[]) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers } });

  it('includes leaves, list items, null and empty maps, but not non-empty structs', () => {
    const set = toFieldSet(w, { metadata: { name: 'p', labels: {} }, spec: { nodeName: null, containers: [{ name: 'c', resources: {} }] } }, POD);
    expect(paths(set)).toEqual([
      '.metadata.labels',
      '.metadata.name',
      '.spec.nodeName',
      '.spec.containers[name="c"]',
      '.spec.containers[name="c"].name',
      '.spec.containers[name="c"].resources',
    ]);
  });

  it('reports added, removed and modified fields', () => {
    const c = compare(w, pod([{ name: 'a', image: '1' }, { name: 'b' }]), pod([{ name: 'a', image: '2' }, { name: 'c' }]), POD);
    expect(paths(c.modified)).toEqual(['.spec.containers[name="a"].image']);
    expect(paths(c.added)).toEqual(['.spec.containers[name="c"]', '.spec.containers[name="c"].name']);
    expect(paths(c.removed)).toEqual(['.spec.containers[name="b"]', '.spec.containers[name="b"].name']);
  });

  it('collects shape errors only when strict', () => {
    const strict = new Walker(schema, true);
    toFieldSet(strict, { spec: { containers: [{ name: 'a' }, { name: 'a' }, { image: 'x' }, 'bad'], bogus: 1, nodeName: 3 } }, POD);
    expect(strict.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      '.spec.containers: duplicate entries for key [name="a"]',
      '.spec.containers[3]: associative list with keys may only hold maps',
      '.spec.bogus: field not declared in schema',
      '.spec.nodeName: expected string, got numeric',
    ]);
    expect(w.errors).toEqual([]);
  });
});

describe('merge and removal', () => {
  const names = (v: unknown): string[] => ((v as { spec: { containers: { name: string }[] } }).spec.containers ?? []).map((c) => c.name);
  const pod = (...ns: string[]) => ({ spec: { containers: ns.map((name) => ({ name })) } });

  it('interleaves keyed lists: shared items in applied order, live-only items in place', () => {
    expect(names(merge(w, pod('a', 'x', 'b'), pod('b', 'y', 'a'), POD))).toEqual(['x', 'b', 'y', 'a']);
    expect(names(merge(w, pod('a', 'b', 'c'), pod('c', 'd'), POD))).toEqual(['a', 'b', 'c', 'd']);
    expect(names(merge(w, pod('a', 'b'), pod('b', 'a'), POD))).toEqual(['b', 'a']);
  });

  it('replaces atomic values and keeps live values the configuration leaves out', () => {
    const live = { spec: { nodeSelector: { a: '1' }, containers: [{ name: 'c', args: ['x'], image: 'i' }] } };
    const applied = { spec: { nodeSelector: { b: '2' }, containers: [{ name: 'c', args: ['y'] }] } };
    expect(merge(w, live, applied, POD)).toEqual({ spec: { nodeSelector: { b: '2' }, containers: [{ name: 'c', args: ['y'], image: 'i' }] } });
  });

  it('removes list items and map keys, dropping what becomes empty', () => {
    const obj = { metadata: { labels: { a: '1' } }, spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b' }] } };
    const set = FieldSet.of([
      [f('metadata'), f('labels'), f('a')],
      [f('spec'), f('containers'), keyElement({ name: 'a' }), f('image')],
      [f('spec'), f('containers'), keyElement({ name: 'b' })],
    ]);
    expect(removeItems(w, obj, set, POD)).toEqual({ spec: { containers: [{ name: 'a' }] } });
  });
});

describe('managedFields entries', () => {
  const entry = (manager: string, operation: 'Apply' | 'Update', time: string, apiVersion = 'v1', subresource?: string): ManagerSet => ({
    manager,
    operation,
    apiVersion,
    time,
    set: FieldSet.of([[f('data'), f(manager)]]),
    ...(subresource ? { subresource } : {}),
  });
  const managed = (...ms: ManagerSet[]): Managed => new Map(ms.map((m) => [identity(m), m]));

  it('decodes with upstream errors for malformed entries', () => {
    expect(() => decodeManagedFields([{ operation: 'Patch' }])).toThrow('operation must be `Apply` or `Update`');
    expect(() => decodeManagedFields([{ operation: 'Apply' }])).toThrow('apiVersion must not be empty');
    expect(() => decodeManagedFields([{ operation: 'Apply', apiVersion: 'v1' }])).toThrow('missing fieldsType in managed fields entry 0');
    expect(() => decodeManagedFields([{ operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV2' }])).toThrow('invalid fieldsType "FieldsV2" in managed fields entry 0');
  });

  it('encodes in upstream order with the fields in Go order', () => {
    const out = encodeManagedFields(managed(entry('z', 'Update', '2024-01-01T00:00:01Z'), entry('b', 'Apply', '2024-01-01T00:00:05Z'), entry('a', 'Update', '2024-01-01T00:00:01Z', 'v1', 'status')));
    expect(out.map((e) => `${e.operation}/${e.manager}`)).toEqual(['Apply/b', 'Update/a', 'Update/z']);
    expect(Object.keys(out[1])).toEqual(['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1', 'subresource']);
  });

  it('folds the oldest Update entries per apiVersion into ancient-changes', () => {
    const many = managed(...Array.from({ length: 12 }, (_, i) => entry(`m${i}`, 'Update', `2024-01-01T00:00:${String(i).padStart(2, '0')}Z`, i % 2 ? 'v2' : 'v1')));
    const capped = encodeManagedFields(capUpdateManagers(many));
    // m0 and m1 open a bucket for their version; m2 and m3 join them, and ten entries remain.
    expect(capped.map((e) => `${e.manager}@${e.apiVersion}`)).toEqual(['ancient-changes@v1', 'ancient-changes@v2', ...Array.from({ length: 8 }, (_, i) => `m${i + 4}@${i % 2 ? 'v2' : 'v1'}`)]);
    expect(capped[0].fieldsV1).toEqual({ 'f:data': { 'f:m0': {}, 'f:m2': {} } });
    expect(capped[0].time).toBe('2024-01-01T00:00:02Z');
  });

  it('names Apply managers, subresources and Update versions in conflict messages', () => {
    const err = conflictError([
      { manager: entry('ctl', 'Apply', '', 'v1', 'status'), path: [f('status'), f('phase')] },
      { manager: entry('upd', 'Update', '', 'apps/v1'), path: [f('spec'), f('replicas')] },
    ]);
    expect(err.status.message).toBe('Apply failed with 2 conflicts: conflicts with "ctl" with subresource "status":\n- .status.phase\nconflicts with "upd" using apps/v1:\n- .spec.replicas');
    expect(err.status.details?.causes?.[1]).toEqual({ reason: 'FieldManagerConflict', message: 'conflict with "upd" using apps/v1', field: '.spec.replicas' });
  });
});
