// Moving between kubectl's client-side apply (an Update by kubectl-client-side-apply plus the
// last-applied-configuration annotation) and server-side apply by the manager "kubectl".
import { describe, it } from 'vitest';
import { LAST_APPLIED } from './last-applied.ts';
import { checkScenario, type Obj, type Scenario, type Step } from './testing/scenarios.ts';

const CSA = 'kubectl-client-side-apply';
const cm = (data: Record<string, string>, annotations?: Record<string, string>): Obj => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cm', namespace: 'default', ...(annotations ? { annotations } : {}) },
  data,
});
/** What `kubectl apply` (client side) stores: the object plus the annotation recording it. */
const clientSideApplied = (data: Record<string, string>, recorded = data, apiVersion = 'v1'): Obj =>
  cm(data, { [LAST_APPLIED]: `${JSON.stringify({ ...cm(recorded), apiVersion })}\n` });
/** What kubectl's server-side apply records in the annotation for a ConfigMap configuration. */
const recorded = (data: Record<string, string>, annotations?: Record<string, string>): string =>
  `{"apiVersion":"v1","data":${JSON.stringify(data)},"kind":"ConfigMap","metadata":{${annotations ? `"annotations":${JSON.stringify(annotations)},` : ''}"name":"cm","namespace":"default"}}\n`;
const csaCreate: Step = { manager: CSA, update: clientSideApplied({ x: '1' }) };
const ssa = (data: Record<string, string>, manager = 'kubectl', annotations?: Record<string, string>): Step => ({ manager, apply: cm(data, annotations) });

const scenarios: Scenario[] = [
  {
    name: 'kubectl server-side apply over client-side apply changes recorded fields without conflict',
    steps: [csaCreate, ssa({ x: '2' })],
    object: cm({ x: '2' }, { [LAST_APPLIED]: recorded({ x: '2' }) }),
    fields: {
      'kubectl:Apply': { 'f:data': { 'f:x': {} } },
      [`${CSA}:Update`]: { 'f:data': {}, 'f:metadata': { 'f:annotations': { '.': {}, [`f:${LAST_APPLIED}`]: {} } } },
    },
  },
  {
    name: 'the migration is kubectl-only: another manager conflicts with the client-side applier',
    steps: [csaCreate, ssa({ x: '2' }, 'other')],
    error: { code: 409, message: `Apply failed with 1 conflict: conflict with "${CSA}" using v1: .data.x` },
  },
  {
    name: 'only conflicts the annotation explains are forgiven; the rest are reported',
    steps: [csaCreate, { manager: 'editor', update: (prev) => ({ ...prev, data: { ...(prev.data as Obj), y: '5' } }) }, ssa({ x: '2', y: '6' })],
    error: { code: 409, message: 'Apply failed with 1 conflict: conflict with "editor" using v1: .data.y' },
  },
  {
    name: 'a field whose live value no longer matches the annotation is not forgiven',
    steps: [csaCreate, { manager: CSA, update: (prev) => ({ ...prev, data: { x: '3' } }) }, ssa({ x: '2' })],
    error: { code: 409, message: `Apply failed with 1 conflict: conflict with "${CSA}" using v1: .data.x` },
  },
  {
    name: 'an annotation recorded for another apiVersion is not used',
    steps: [{ manager: CSA, update: clientSideApplied({ x: '1' }, { x: '1' }, 'v0') }, ssa({ x: '2' })],
    error: { code: 409, message: `Apply failed with 1 conflict: conflict with "${CSA}" using v1: .data.x` },
  },
  {
    name: 'server-side apply by kubectl does not add the annotation to objects without it',
    steps: [ssa({ x: '1' }), ssa({ x: '2' })],
    object: cm({ x: '2' }),
  },
  {
    name: 'each kubectl server-side apply rewrites the annotation to what it applied',
    steps: [csaCreate, ssa({ x: '2' }), ssa({ x: '2', y: '3' })],
    object: cm({ x: '2', y: '3' }, { [LAST_APPLIED]: recorded({ x: '2', y: '3' }) }),
  },
  {
    name: 'the annotation is written as kubectl writes it: sorted keys, HTML escaped, newline',
    steps: [csaCreate, ssa({ x: '<b>&' })],
    object: cm({ x: '<b>&' }, { [LAST_APPLIED]: '{"apiVersion":"v1","data":{"x":"\\u003cb\\u003e\\u0026"},"kind":"ConfigMap","metadata":{"name":"cm","namespace":"default"}}\n' }),
  },
  {
    name: 'the annotation records the annotations the configuration sets',
    steps: [csaCreate, ssa({ x: '1' }, 'kubectl', { note: 'n' })],
    object: cm({ x: '1' }, { note: 'n', [LAST_APPLIED]: recorded({ x: '1' }, { note: 'n' }) }),
  },
  {
    name: 'a configuration that sets the annotation itself conflicts with client-side apply',
    steps: [csaCreate, ssa({ x: '1' }, 'kubectl', { [LAST_APPLIED]: 'mine' })],
    error: { code: 409, message: `Apply failed with 1 conflict: conflict with "${CSA}" using v1: .metadata.annotations.${LAST_APPLIED}` },
  },
  {
    name: 'forced, the annotation is still rewritten without the configuration’s own copy of it',
    steps: [csaCreate, { ...ssa({ x: '1' }, 'kubectl', { note: 'n', [LAST_APPLIED]: 'mine' }), force: true }],
    object: cm({ x: '1' }, { note: 'n', [LAST_APPLIED]: recorded({ x: '1' }, { note: 'n' }) }),
  },
  {
    name: 'an annotation that would exceed 256 KiB is dropped instead',
    steps: [csaCreate, ssa({ x: 'y'.repeat(270 * 1024) })],
    object: { ...cm({ x: 'y'.repeat(270 * 1024) }) },
  },
  {
    name: 'going back to client-side apply takes fields over without conflicts',
    steps: [csaCreate, ssa({ x: '2' }), { manager: CSA, update: clientSideApplied({ x: '5' }) }],
    object: clientSideApplied({ x: '5' }),
    fields: { 'kubectl:Apply': null, [`${CSA}:Update`]: { 'f:data': { '.': {}, 'f:x': {} }, 'f:metadata': { 'f:annotations': { '.': {}, [`f:${LAST_APPLIED}`]: {} } } } },
  },
];

describe('client-side apply and server-side apply', () => {
  for (const s of scenarios) it(s.name, () => checkScenario(s));
});
