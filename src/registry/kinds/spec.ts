// Small helpers shared by the per-kind strategies.
import { isPlainObject, type KubeObject } from '../../api/object.ts';
import type { FieldError } from '../../api/status.ts';
import { deepEqual } from '../../api/patch/json-patch.ts';

export type Obj = Record<string, unknown>;

/** The object's spec, created empty when absent. */
export const specOf = (o: KubeObject): Obj => (isPlainObject(o.spec) ? o.spec : (o.spec = {}));

/** `spec.<field>` must not change on update. */
export function immutableSpecField(obj: KubeObject, old: KubeObject, field: string): FieldError[] {
  const a = specOf(obj)[field];
  return deepEqual(a, specOf(old)[field]) ? [] : [{ type: 'FieldValueInvalid', field: `spec.${field}`, detail: `Invalid value: ${JSON.stringify(a)}: field is immutable` }];
}
