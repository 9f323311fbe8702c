// The Priority admission plugin: a new pod gets spec.priority and spec.preemptionPolicy from its
// PriorityClass (spec.priorityClassName), or from the global default class when it names none
// (priority 0 when there is no default). A class that does not exist, or a priority or policy in
// the pod that differs from the class's, is refused with 403 Forbidden, as upstream. Classes are
// read from the watch cache (upstream reads an informer); a name the cache does not know yet is
// looked for again once the cache has caught up with storage.
import type { KubeObject } from '../../api/object.ts';
import { StatusError } from '../../api/status.ts';
import type { Registries } from '../registries.ts';
import type { CacheEntry } from '../watch-cache.ts';

interface PriorityClass {
  metadata?: { name?: string };
  value?: number;
  globalDefault?: boolean;
  preemptionPolicy?: string;
}

const DEFAULT_POLICY = 'PreemptLowerPriority';

/** Classes parsed once per cached version (every pod create looks at all of them for a global default). */
const parsed = new WeakMap<CacheEntry, PriorityClass>();
const classOf = (e: CacheEntry): PriorityClass => {
  let c = parsed.get(e);
  if (!c) parsed.set(e, (c = e.obj as PriorityClass));
  return c;
};

function forbidden(pod: KubeObject, message: string): StatusError {
  const name = pod.metadata?.name || pod.metadata?.generateName || 'Unknown';
  return new StatusError(403, 'Forbidden', `pods "${name}" is forbidden: ${message}`, { name, kind: 'pods' });
}

/** Sets a new pod's priority and preemption policy; throws 403 Forbidden as upstream. */
export async function admitPodPriority(regs: Registries, pod: KubeObject): Promise<void> {
  const reg = regs.get('scheduling.k8s.io', 'v1', 'priorityclasses');
  if (!reg) return;
  const spec = (pod.spec ?? (pod.spec = {})) as { priorityClassName?: string; priority?: number; preemptionPolicy?: string };
  const classes = () => reg.cache.list({ namespace: '', matches: () => true }).map(classOf);
  let cls: PriorityClass | undefined;
  if (spec.priorityClassName) {
    const name = spec.priorityClassName;
    const find = () => {
      const e = reg.cache.get('', name);
      return e ? classOf(e) : undefined;
    };
    cls = find();
    if (!cls) {
      // A class created a moment ago: once the cache has caught up (a slow catch-up is a miss).
      await reg.cache.sync().catch(() => undefined);
      cls = find();
    }
    if (!cls) throw forbidden(pod, `no PriorityClass with name ${name} was found`);
  } else {
    // The global default with the lowest value, as upstream picks among several.
    for (const c of classes()) if (c.globalDefault && (!cls || (c.value ?? 0) < (cls.value ?? 0))) cls = c;
    if (cls) spec.priorityClassName = cls.metadata?.name;
  }
  const priority = cls?.value ?? 0;
  if (spec.priority !== undefined && spec.priority !== null && spec.priority !== priority) {
    throw forbidden(pod, `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`);
  }
  spec.priority = priority;
  const policy = cls?.preemptionPolicy ?? DEFAULT_POLICY;
  if (spec.preemptionPolicy && spec.preemptionPolicy !== policy) {
    throw forbidden(pod, `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`);
  }
  spec.preemptionPolicy = policy;
}

/** Only one PriorityClass may be the global default (upstream's Priority admission of classes). */
export function admitPriorityClass(regs: Registries, pc: KubeObject): void {
  if (!(pc as PriorityClass).globalDefault) return;
  const reg = regs.get('scheduling.k8s.io', 'v1', 'priorityclasses');
  const other = reg?.cache.list({ namespace: '', matches: () => true }).map(classOf).find((c) => c.globalDefault && c.metadata?.name !== pc.metadata?.name);
  if (!other) return;
  const name = pc.metadata?.name ?? '';
  throw new StatusError(403, 'Forbidden', `priorityclasses.scheduling.k8s.io "${name}" is forbidden: PriorityClass ${other.metadata?.name ?? ''} is already marked as default. Only one default can exist`, { name, group: 'scheduling.k8s.io', kind: 'priorityclasses' });
}
