// Strategy of PriorityClass: preemptionPolicy defaults to PreemptLowerPriority; names starting
// `system-` are kept for the two built-in classes (with their values, never the global default);
// user classes stay at or below 1,000,000,000; value and preemptionPolicy are fixed once made;
// the built-in classes cannot be deleted.
import type { KubeObject } from '../../api/object.ts';
import { StatusError, type FieldError } from '../../api/status.ts';
import { registerStrategy, type Strategy } from '../strategy.ts';

const SYSTEM: Record<string, number> = { 'system-node-critical': 2000001000, 'system-cluster-critical': 2000000000 };
const HIGHEST_USER_PRIORITY = 1000000000;

interface PriorityClass extends KubeObject {
  value?: number;
  globalDefault?: boolean;
  preemptionPolicy?: string;
}

/** Why a `system-` name is refused, or undefined for one of the built-in classes as they are. */
function systemClassError(pc: PriorityClass, name: string): string | undefined {
  if (!Object.hasOwn(SYSTEM, name)) return `${name} is not a known system priority class`;
  if (pc.value !== SYSTEM[name]) return `value of ${name} PriorityClass must be ${SYSTEM[name]}`;
  if (pc.globalDefault) return `globalDefault of ${name} PriorityClass must be false`;
  return undefined;
}

function validate(obj: KubeObject): FieldError[] {
  const pc = obj as PriorityClass;
  const name = pc.metadata?.name ?? '';
  if (name.startsWith('system-')) {
    const why = systemClassError(pc, name);
    return why ? [{ type: 'FieldValueForbidden', field: 'metadata.name', detail: `Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: ${why}` }] : [];
  }
  if ((pc.value ?? 0) > HIGHEST_USER_PRIORITY) return [{ type: 'FieldValueForbidden', field: 'value', detail: `Forbidden: maximum allowed value of a user defined priority is ${HIGHEST_USER_PRIORITY}` }];
  return [];
}

registerStrategy('scheduling.k8s.io/PriorityClass', (base: Strategy): Strategy => ({
  ...base,
  prepareForCreate(obj) {
    base.prepareForCreate(obj);
    (obj as PriorityClass).preemptionPolicy ??= 'PreemptLowerPriority';
  },
  prepareForUpdate(obj, old) {
    base.prepareForUpdate(obj, old);
    (obj as PriorityClass).preemptionPolicy ??= 'PreemptLowerPriority';
  },
  validate,
  refuseDelete(obj) {
    const name = obj.metadata?.name ?? '';
    if (!Object.hasOwn(SYSTEM, name)) return;
    throw new StatusError(403, 'Forbidden', `priorityclasses.scheduling.k8s.io "${name}" is forbidden: this is a system priority class and cannot be deleted`, { name, group: 'scheduling.k8s.io', kind: 'priorityclasses' });
  },
  validateUpdate(obj, old) {
    const errs = validate(obj);
    const pc = obj as PriorityClass;
    const was = old as PriorityClass;
    if (pc.value !== was.value) errs.push({ type: 'FieldValueForbidden', field: 'value', detail: 'Forbidden: may not be changed in an update.' });
    if (pc.preemptionPolicy !== was.preemptionPolicy) errs.push({ type: 'FieldValueInvalid', field: 'preemptionPolicy', detail: `Invalid value: "${pc.preemptionPolicy ?? ''}": field is immutable` });
    return errs;
  },
}));
