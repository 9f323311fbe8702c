// Test helpers for the apply scenarios: run a sequence of applies and updates through the public
// API, then look at the object, its managedFields and the error, as a client would.
import { expect } from 'vitest';
import type { KubeObject } from '../../object.ts';
import { StatusError } from '../../status.ts';
import { applyObject, updateManagedFields, type ManagedFieldsEntry } from '../manager.ts';
import { cloneJson } from '../../object.ts';

export type Obj = Record<string, unknown>;

export interface Step {
  manager: string;
  /** An apply of this configuration. */
  apply?: Obj;
  /** A non-apply write storing this object (or the object computed from the stored one). */
  update?: Obj | ((prev: Obj) => Obj);
  /** Stores this object as is, managedFields untouched (what defaulting or a raw write leaves). */
  store?: (prev: Obj | undefined) => Obj;
  force?: boolean;
  subresource?: string;
  apiVersion?: string;
  hasStatusSubresource?: boolean;
}

export interface Scenario {
  name: string;
  steps: Step[];
  /** The stored object after the last step, managedFields left out. */
  object?: Obj;
  /** `manager:Operation[:subresource]` → the entry's fieldsV1; null: no such entry. */
  fields?: Record<string, Obj | null>;
  /** Every entry, in order, as `manager:Operation:apiVersion[:subresource]@time`. */
  entries?: string[];
  /** The last step fails with this status. */
  error?: { code: number; reason?: string; message?: string | RegExp; causes?: Obj[] };
}

export const time = (i: number): string => new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString().replace('.000Z', 'Z');

const clone = <T>(v: T): T => cloneJson(v);

/** The apiVersion of an object or configuration. */
const versionOf = (o: Obj | undefined): string => (typeof o?.apiVersion === 'string' ? o.apiVersion : 'v1');

export function runSteps(steps: Step[]): { object: Obj | undefined; error?: StatusError } {
  let state: Obj | undefined;
  for (const [i, step] of steps.entries()) {
    const common = { manager: step.manager, subresource: step.subresource, now: time(i), hasStatusSubresource: step.hasStatusSubresource };
    try {
      if (step.store) state = step.store(clone(state));
      else if (step.apply) {
        state = applyObject({ ...common, live: clone(state) as KubeObject | undefined, applied: clone(step.apply), apiVersion: step.apiVersion ?? versionOf(step.apply), force: !!step.force }) as Obj;
      } else if (step.update) {
        const next = clone(typeof step.update === 'function' ? step.update(withoutManagedFields(clone(state)) ?? {}) : step.update) as KubeObject;
        const entries = updateManagedFields({ ...common, prev: clone(state) as KubeObject | undefined, next: clone(next), apiVersion: step.apiVersion ?? versionOf(next) });
        // The in-place fast path, where it applies, must agree with the general one exactly.
        expect(entries).toEqual(updateManagedFields({ ...common, prev: clone(state) as KubeObject | undefined, next: clone(next), apiVersion: step.apiVersion ?? versionOf(next), general: true }));
        const meta = { ...(next.metadata ?? {}) };
        if (entries.length > 0) meta.managedFields = entries;
        else delete meta.managedFields;
        state = { ...next, metadata: meta };
      }
    } catch (e) {
      if (i === steps.length - 1 && e instanceof StatusError) return { object: state, error: e };
      throw e;
    }
  }
  return { object: state };
}

export function withoutManagedFields(o: Obj | undefined): Obj | undefined {
  if (!o) return o;
  const { managedFields: _m, ...metadata } = (o.metadata ?? {}) as Obj;
  return { ...o, metadata };
}

export const managedFieldsOf = (o: Obj | undefined): ManagedFieldsEntry[] => (((o?.metadata as Obj | undefined)?.managedFields as ManagedFieldsEntry[] | undefined) ?? []);

const entryKey = (e: ManagedFieldsEntry): string => [e.manager, e.operation, ...(e.subresource ? [e.subresource] : [])].join(':');

export function checkScenario(s: Scenario): void {
  const { object, error } = runSteps(s.steps);
  if (s.error) {
    expect(error, 'the last step should fail').toBeDefined();
    expect(error!.status.code).toBe(s.error.code);
    if (s.error.reason !== undefined) expect(error!.status.reason).toBe(s.error.reason);
    if (typeof s.error.message === 'string') expect(error!.status.message).toBe(s.error.message);
    else if (s.error.message) expect(error!.status.message).toMatch(s.error.message);
    if (s.error.causes) expect(error!.status.details?.causes).toEqual(s.error.causes);
  } else {
    expect(error?.status.message).toBeUndefined();
  }
  if (s.object) expect(withoutManagedFields(object)).toEqual(s.object);
  const entries = managedFieldsOf(object);
  for (const [key, fields] of Object.entries(s.fields ?? {})) {
    const found = entries.filter((e) => entryKey(e) === key);
    if (fields === null) expect(found, key).toEqual([]);
    else {
      expect(found.length, `${key} in ${entries.map(entryKey).join(', ')}`).toBe(1);
      expect(found[0].fieldsV1, key).toEqual(fields);
    }
  }
  if (s.entries) {
    expect(entries.map((e) => `${entryKey(e).split(':').slice(0, 2).join(':')}:${e.apiVersion}${e.subresource ? `:${e.subresource}` : ''}@${e.time ?? '-'}`)).toEqual(s.entries);
  }
}
