// Ownership, conflicts, pruning and managedFields bookkeeping, on ConfigMaps (a granular map)
// and a schema-less custom kind. Each scenario runs applies and updates through the public API.
import { describe, it } from 'vitest';
import { checkScenario, time, type Obj, type Scenario, type Step } from './testing/scenarios.ts';

const cm = (data?: Record<string, string>, metadata: Obj = {}): Obj => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cm', namespace: 'default', ...metadata },
  ...(data ? { data } : {}),
});
const owns = (...keys: string[]): Obj => ({ 'f:data': Object.fromEntries(keys.map((k) => [`f:${k}`, {}])) });
const apply = (manager: string, data: Record<string, string> | undefined, extra: Partial<Step> = {}): Step => ({ manager, apply: cm(data), ...extra });
const update = (manager: string, change: (data: Record<string, string>) => Record<string, string>): Step => ({
  manager,
  update: (prev) => ({ ...(Object.keys(prev).length ? prev : cm()), data: change({ ...((prev.data as Record<string, string>) ?? {}) }) }),
});
const widget = (apiVersion: string, spec: Obj): Obj => ({ apiVersion, kind: 'Widget', metadata: { name: 'w', namespace: 'default' }, spec });

const scenarios: Scenario[] = [
  {
    name: 'an apply creates the object and owns exactly the fields it set',
    steps: [apply('a', { x: '1' })],
    object: cm({ x: '1' }),
    fields: { 'a:Apply': owns('x') },
    entries: [`a:Apply:v1@${time(0)}`],
  },
  {
    name: 'two appliers own different keys of a granular map',
    steps: [apply('a', { x: '1' }), apply('b', { y: '2' })],
    object: cm({ x: '1', y: '2' }),
    fields: { 'a:Apply': owns('x'), 'b:Apply': owns('y') },
  },
  {
    name: 'two appliers setting the same value share its ownership (the no-op apply records no time)',
    steps: [apply('a', { x: '1' }), apply('b', { x: '1' })],
    object: cm({ x: '1' }),
    fields: { 'a:Apply': owns('x'), 'b:Apply': owns('x') },
    entries: ['b:Apply:v1@-', `a:Apply:v1@${time(0)}`],
  },
  {
    name: 'a different value for a field another applier owns is a conflict',
    steps: [apply('a', { x: '1' }), apply('b', { x: '2' })],
    object: cm({ x: '1' }),
    error: {
      code: 409,
      reason: 'Conflict',
      message: 'Apply failed with 1 conflict: conflict with "a": .data.x',
      causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "a"', field: '.data.x' }],
    },
  },
  {
    name: 'several conflicts with one manager are listed under it',
    steps: [apply('a', { x: '1', y: '1' }), apply('b', { x: '2', y: '2' })],
    error: {
      code: 409,
      message: 'Apply failed with 2 conflicts: conflicts with "a":\n- .data.x\n- .data.y',
      causes: [
        { reason: 'FieldManagerConflict', message: 'conflict with "a"', field: '.data.x' },
        { reason: 'FieldManagerConflict', message: 'conflict with "a"', field: '.data.y' },
      ],
    },
  },
  {
    name: 'conflicts with several managers are grouped by manager, sorted',
    steps: [apply('m2', { y: '1' }), apply('m1', { x: '1' }), apply('c', { x: '2', y: '2' })],
    error: { code: 409, message: 'Apply failed with 2 conflicts: conflicts with "m1":\n- .data.x\nconflicts with "m2":\n- .data.y' },
  },
  {
    name: 'force takes the conflicting fields away from their owner',
    steps: [apply('a', { x: '1', y: '1' }), apply('b', { x: '2' }, { force: true })],
    object: cm({ x: '2', y: '1' }),
    fields: { 'a:Apply': owns('y'), 'b:Apply': owns('x') },
  },
  {
    name: 'a manager left with no fields loses its entry',
    steps: [apply('a', { x: '1' }), apply('b', { x: '2' }, { force: true })],
    object: cm({ x: '2' }),
    fields: { 'a:Apply': null, 'b:Apply': owns('x') },
    entries: [`b:Apply:v1@${time(1)}`],
  },
  {
    name: 'a field the applier stops applying is removed',
    steps: [apply('a', { x: '1', y: '2' }), apply('a', { x: '1' })],
    object: cm({ x: '1' }),
    fields: { 'a:Apply': owns('x') },
  },
  {
    name: 'a shared field the applier stops applying stays, owned by the other applier',
    steps: [apply('a', { x: '1' }), apply('b', { x: '1' }), apply('a', { y: '3' })],
    object: cm({ x: '1', y: '3' }),
    fields: { 'a:Apply': owns('y'), 'b:Apply': owns('x') },
  },
  {
    name: 'dropping every field removes the map itself',
    steps: [apply('a', { x: '1' }), apply('a', undefined)],
    object: cm(),
    fields: { 'a:Apply': null },
  },
  {
    name: 'an applier only removes fields it owned: fields an updater added stay',
    steps: [apply('a', { x: '1', y: '1' }), update('u', (d) => ({ ...d, z: '3' })), apply('a', { y: '1' })],
    object: cm({ y: '1', z: '3' }),
    fields: { 'a:Apply': owns('y'), 'u:Update': owns('z') },
  },
  {
    name: 'a field an updater took over is not removed when the applier drops it',
    steps: [apply('a', { x: '1', y: '1' }), update('u', (d) => ({ ...d, x: '9' })), apply('a', { y: '1' })],
    object: cm({ x: '9', y: '1' }),
    fields: { 'a:Apply': owns('y'), 'u:Update': owns('x') },
  },
  {
    name: 'an apply that changes nothing keeps the entry time',
    steps: [apply('a', { x: '1' }), apply('a', { x: '1' })],
    entries: [`a:Apply:v1@${time(0)}`],
  },
  {
    name: 'an apply that changes a value refreshes the entry time',
    steps: [apply('a', { x: '1' }), apply('a', { x: '2' })],
    object: cm({ x: '2' }),
    entries: [`a:Apply:v1@${time(1)}`],
  },
  {
    name: 'a create by update owns the new map (".") and its keys',
    steps: [update('u', () => ({ x: '1' }))],
    fields: { 'u:Update': { 'f:data': { '.': {}, 'f:x': {} } } },
    entries: [`u:Update:v1@${time(0)}`],
  },
  {
    name: 'applying a different value over an updater conflicts with it, naming its version',
    steps: [update('u', () => ({ x: '1' })), apply('a', { x: '2' })],
    error: {
      code: 409,
      message: 'Apply failed with 1 conflict: conflict with "u" using v1: .data.x',
      causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "u" using v1', field: '.data.x' }],
    },
  },
  {
    name: 'applying the value an updater set shares the field without conflict',
    steps: [update('u', () => ({ x: '1' })), apply('a', { x: '1' })],
    fields: { 'u:Update': { 'f:data': { '.': {}, 'f:x': {} } }, 'a:Apply': owns('x') },
  },
  {
    name: 'an update takes the fields it changes from appliers without conflict',
    steps: [apply('a', { x: '1', y: '1' }), update('u', (d) => ({ ...d, x: '2' }))],
    object: cm({ x: '2', y: '1' }),
    fields: { 'a:Apply': owns('y'), 'u:Update': owns('x') },
  },
  {
    name: 'an update that removes a field takes it from its owner and owns nothing itself',
    steps: [apply('a', { x: '1', y: '1' }), update('u', (d) => ({ y: d.y }))],
    object: cm({ y: '1' }),
    fields: { 'a:Apply': owns('y'), 'u:Update': null },
  },
  {
    name: 'an update that changes nothing records no entry',
    steps: [apply('a', { x: '1' }), update('u', (d) => d)],
    entries: [`a:Apply:v1@${time(0)}`],
  },
  {
    name: 'successive updates by one manager accumulate in one entry, time of the last',
    steps: [update('u', () => ({ x: '1' })), update('u', (d) => ({ ...d, y: '2' }))],
    fields: { 'u:Update': { 'f:data': { '.': {}, 'f:x': {}, 'f:y': {} } } },
    entries: [`u:Update:v1@${time(1)}`],
  },
  {
    name: 'Apply entries come before Update entries, whatever their times',
    steps: [update('u', () => ({ x: '1' })), apply('a', { y: '1' })],
    entries: [`a:Apply:v1@${time(1)}`, `u:Update:v1@${time(0)}`],
  },
  {
    name: 'Update entries are kept per apiVersion',
    steps: [
      { manager: 'u', update: widget('example.com/v1', { a: 1 }) },
      { manager: 'u', update: widget('example.com/v2', { a: 1, b: 2 }) },
    ],
    entries: [`u:Update:example.com/v1@${time(0)}`, `u:Update:example.com/v2@${time(1)}`],
  },
  {
    name: 'an applier has one entry whatever the apiVersion, stamped with the latest',
    steps: [
      { manager: 'a', apply: widget('example.com/v1', { a: 1 }) },
      { manager: 'a', apply: widget('example.com/v2', { a: 1, b: 2 }) },
    ],
    entries: [`a:Apply:example.com/v2@${time(1)}`],
    fields: { 'a:Apply': { 'f:spec': { '.': {}, 'f:a': {}, 'f:b': {} } } },
  },
  {
    name: 'an applied configuration must not carry managedFields',
    steps: [{ manager: 'a', apply: cm({ x: '1' }, { managedFields: [] }) }],
    error: { code: 400, reason: 'BadRequest', message: 'metadata.managedFields must be nil' },
  },
  {
    name: 'an applied configuration of another kind is rejected',
    steps: [apply('a', { x: '1' }), { manager: 'a', apply: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cm' } } }],
    error: { code: 400, reason: 'BadRequest', message: 'invalid object type: /v1, Kind=Secret' },
  },
  {
    name: 'an applied configuration of another version is rejected',
    steps: [{ manager: 'a', apply: cm({ x: '1' }), apiVersion: 'v2' }],
    error: { code: 400, message: 'invalid object type: /v1, Kind=ConfigMap' },
  },
  {
    name: 'an applied configuration without apiVersion and kind is rejected',
    steps: [apply('a', { x: '1' }), { manager: 'a', apply: { metadata: { name: 'cm' } }, apiVersion: 'v1' }],
    error: { code: 400, message: 'invalid object type: /, Kind=' },
  },
  {
    name: 'an unknown field of a built-in kind fails the apply as upstream does',
    steps: [{ manager: 'a', apply: { ...cm({ x: '1' }), foo: 1 } }],
    error: { code: 500, message: 'failed to create typed patch object (default/cm; /v1, Kind=ConfigMap): .foo: field not declared in schema' },
  },
  {
    name: 'a value of the wrong type fails the apply',
    steps: [{ manager: 'a', apply: { ...cm(), data: { x: 1 } } }],
    error: { code: 500, message: 'failed to create typed patch object (default/cm; /v1, Kind=ConfigMap): .data.x: expected string, got numeric' },
  },
  {
    name: 'several schema errors are listed together',
    steps: [{ manager: 'a', apply: { ...cm(), data: [], bogus: true } }],
    error: { code: 500, message: 'failed to create typed patch object (default/cm; /v1, Kind=ConfigMap): errors:\n  .data: expected map, got list\n  .bogus: field not declared in schema' },
  },
  {
    name: 'managedFields [{}] in an update clears them',
    steps: [apply('a', { x: '1' }), { manager: 'u', update: (prev) => ({ ...prev, metadata: { ...(prev.metadata as Obj), managedFields: [{}] } }) }],
    entries: [],
  },
  {
    name: 'after [{}], later updates of the stored object are not tracked',
    steps: [
      { manager: '', store: () => cm({ x: '1' }, { uid: 'u-1' }) },
      { manager: 'u', update: (prev) => ({ ...prev, data: { x: '2' }, metadata: { ...(prev.metadata as Obj), managedFields: [{}] } }) },
    ],
    object: cm({ x: '2' }, { uid: 'u-1' }),
    entries: [],
  },
  {
    name: 'an existing object without managedFields is first tracked by an apply',
    steps: [{ manager: '', store: () => cm({ x: '1' }, { uid: 'u-1' }) }, update('u', (d) => ({ ...d, y: '2' })), apply('a', { z: '3' })],
    entries: [`a:Apply:v1@${time(2)}`, `before-first-apply:Update:v1@${time(2)}`],
    fields: { 'before-first-apply:Update': { 'f:data': { '.': {}, 'f:x': {}, 'f:y': {} } }, 'u:Update': null },
  },
  {
    name: 'managedFields sent with an update replace the stored ones',
    steps: [
      apply('a', { x: '1' }),
      {
        manager: 'u',
        update: (prev) => ({
          ...prev,
          metadata: { ...(prev.metadata as Obj), managedFields: [{ manager: 'x', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: owns('x') }] },
        }),
      },
    ],
    entries: ['x:Update:v1@-'],
  },
  {
    name: 'invalid managedFields sent with an update are ignored in favour of the stored ones',
    steps: [apply('a', { x: '1' }), { manager: 'u', update: (prev) => ({ ...prev, metadata: { ...(prev.metadata as Obj), managedFields: [{ manager: 'x', operation: 'Patch' }] } }) }],
    entries: [`a:Apply:v1@${time(0)}`],
  },
  {
    name: 'an empty manager name is recorded as "unknown"',
    steps: [update('', () => ({ x: '1' }))],
    entries: [`unknown:Update:v1@${time(0)}`],
  },
  {
    name: 'metadata identity and bookkeeping fields are never owned',
    steps: [{ manager: 'a', apply: cm({ x: '1' }, { uid: 'u1', resourceVersion: '5', generation: 2, creationTimestamp: '2024-01-01T00:00:00Z', labels: { l: 'v' } }) }],
    fields: { 'a:Apply': { 'f:data': { 'f:x': {} }, 'f:metadata': { 'f:labels': { 'f:l': {} } } } },
  },
  {
    name: 'a null in the configuration clears the field and the applier owns it',
    steps: [apply('a', { x: '1', y: '2' }), { manager: 'b', apply: { ...cm(), data: { y: null } }, force: true }],
    object: cm({ x: '1' }),
    fields: { 'a:Apply': owns('x'), 'b:Apply': owns('y') },
  },
];

/** Eleven or twelve managers updating one key each, in turn. */
const updaters = (n: number): Step[] => Array.from({ length: n }, (_, i) => update(`m${i}`, (d) => ({ ...d, [`k${i}`]: String(i) })));

scenarios.push(
  {
    name: 'beyond ten Update entries the two oldest fold into ancient-changes',
    steps: updaters(11),
    entries: [`ancient-changes:Update:v1@${time(1)}`, ...Array.from({ length: 9 }, (_, i) => `m${i + 2}:Update:v1@${time(i + 2)}`)],
    fields: { 'ancient-changes:Update': { 'f:data': { '.': {}, 'f:k0': {}, 'f:k1': {} } }, 'm0:Update': null, 'm1:Update': null },
  },
  {
    name: 'later overflow keeps folding the oldest entry into ancient-changes',
    steps: updaters(12),
    entries: [`ancient-changes:Update:v1@${time(2)}`, ...Array.from({ length: 9 }, (_, i) => `m${i + 3}:Update:v1@${time(i + 3)}`)],
    fields: { 'ancient-changes:Update': { 'f:data': { '.': {}, 'f:k0': {}, 'f:k1': {}, 'f:k2': {} } } },
  },
  {
    name: 'Apply entries do not count towards the cap',
    steps: [apply('a', { a: 'a' }), apply('b', { b: 'b' }), ...updaters(10)],
    entries: [`a:Apply:v1@${time(0)}`, `b:Apply:v1@${time(1)}`, ...Array.from({ length: 10 }, (_, i) => `m${i}:Update:v1@${time(i + 2)}`)],
  },
);

describe('server-side apply: ownership and managedFields', () => {
  for (const s of scenarios) it(s.name, () => checkScenario(s));
});
