import { describe, expect, it } from 'vitest';
import { canonicalElement, compareElements, fieldElement, FieldSet, indexElement, keyElement, renderPath, valueElement, type Path } from './fieldpath.ts';

const f = fieldElement;
const paths = (s: FieldSet): string[] => s.paths().map(renderPath);

describe('path elements', () => {
  it('spells keys with their fields sorted, as FieldsV1 does', () => {
    expect(keyElement({ protocol: 'TCP', containerPort: 80 })).toBe('k:{"containerPort":80,"protocol":"TCP"}');
    expect(valueElement('a')).toBe('v:"a"');
    expect(valueElement(3)).toBe('v:3');
    expect(indexElement(2)).toBe('i:2');
    expect(canonicalElement('k:{"protocol": "UDP", "containerPort": 53}')).toBe('k:{"containerPort":53,"protocol":"UDP"}');
  });

  it('escapes HTML characters the way Go does', () => {
    expect(keyElement({ name: 'a<b>&c' })).toBe('k:{"name":"a\\u003cb\\u003e\\u0026c"}');
  });

  it('orders fields before keys before values before indexes', () => {
    const pes = [indexElement(1), valueElement('x'), keyElement({ name: 'b' }), f('z'), keyElement({ name: 'a' }), f('a'), valueElement(2), indexElement(0)];
    expect([...pes].sort(compareElements)).toEqual([f('a'), f('z'), 'k:{"name":"a"}', 'k:{"name":"b"}', 'v:2', 'v:"x"', 'i:0', 'i:1']);
  });

  it('renders paths as conflict messages do', () => {
    expect(renderPath([f('spec'), f('replicas')])).toBe('.spec.replicas');
    expect(renderPath([f('spec'), f('template'), f('spec'), f('containers'), keyElement({ name: 'nginx' }), f('image')])).toBe(
      '.spec.template.spec.containers[name="nginx"].image',
    );
    expect(renderPath([f('metadata'), f('labels'), f('app')])).toBe('.metadata.labels.app');
    expect(renderPath([f('ports'), keyElement({ containerPort: 53, protocol: 'UDP' })])).toBe('.ports[containerPort=53,protocol="UDP"]');
    expect(renderPath([f('metadata'), f('finalizers'), valueElement('a')])).toBe('.metadata.finalizers[="a"]');
    expect(renderPath([f('args'), indexElement(0)])).toBe('.args[0]');
  });
});

describe('FieldSet', () => {
  const set = (...ps: Path[]): FieldSet => FieldSet.of(ps);
  const a = set([f('spec'), f('replicas')], [f('spec'), f('paused')], [f('data')]);
  const b = set([f('spec'), f('replicas')], [f('metadata'), f('labels'), f('x')]);

  it('unions, differences and intersections', () => {
    expect(paths(a.union(b))).toEqual(['.data', '.metadata.labels.x', '.spec.paused', '.spec.replicas']);
    expect(paths(a.difference(b))).toEqual(['.data', '.spec.paused']);
    expect(paths(a.intersection(b))).toEqual(['.spec.replicas']);
    expect(a.intersection(set([f('other')])).isEmpty()).toBe(true);
    expect(new FieldSet().isEmpty()).toBe(true);
  });

  it('difference keeps children of a removed member, recursive difference does not', () => {
    const s = set([f('spec')], [f('spec'), f('replicas')]);
    expect(paths(s.difference(set([f('spec')])))).toEqual(['.spec.replicas']);
    expect(s.recursiveDifference(set([f('spec')])).isEmpty()).toBe(true);
  });

  it('lists member paths with a node before its children', () => {
    const s = set([f('b'), f('y')], [f('a')], [f('b')], [f('b'), f('x')]);
    expect(paths(s)).toEqual(['.a', '.b', '.b.x', '.b.y']);
    expect(s.has([f('b'), f('x')])).toBe(true);
    expect(s.has([f('b'), f('z')])).toBe(false);
  });

  it('encodes FieldsV1 with "." for nodes that are members and have children', () => {
    const item = keyElement({ name: 'nginx' });
    const s = set([f('metadata'), f('labels')], [f('metadata'), f('labels'), f('app')], [f('spec'), f('containers'), item], [f('spec'), f('containers'), item, f('image')]);
    expect(s.toFieldsV1()).toEqual({
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {} } } },
    });
    expect(JSON.stringify(s.toFieldsV1())).toBe(
      '{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\\"name\\":\\"nginx\\"}":{".":{},"f:image":{}}}}}',
    );
  });

  it('round-trips FieldsV1 and canonicalises what clients send', () => {
    const raw = {
      'f:spec': { 'f:ports': { 'k:{"protocol":"TCP","port":80}': { '.': {}, 'f:port': {} } } },
      'f:metadata': { 'f:finalizers': { 'v:"b"': {}, 'v:"a"': {}, '.': {} } },
    };
    const s = FieldSet.fromFieldsV1(raw);
    expect(JSON.stringify(s.toFieldsV1())).toBe(
      '{"f:metadata":{"f:finalizers":{".":{},"v:\\"a\\"":{},"v:\\"b\\"":{}}},"f:spec":{"f:ports":{"k:{\\"port\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:port":{}}}}}',
    );
    expect(FieldSet.fromFieldsV1(s.toFieldsV1()).equals(s)).toBe(true);
  });

  it('rejects malformed FieldsV1', () => {
    expect(() => FieldSet.fromFieldsV1([])).toThrow('FieldsV1 must be a JSON object');
    expect(() => FieldSet.fromFieldsV1({ 'x:y': {} })).toThrow('unknown path element');
    expect(() => FieldSet.fromFieldsV1({ 'f:a': 1 })).toThrow('must be an object');
    expect(() => FieldSet.fromFieldsV1({ 'k:[1]': {} })).toThrow('is not an object');
    expect(() => FieldSet.fromFieldsV1({ 'i:-1': {} })).toThrow('non-negative integer');
  });
});
