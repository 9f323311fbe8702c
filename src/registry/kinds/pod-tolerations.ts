// Upstream's DefaultTolerationSeconds admission: a new pod tolerates the not-ready and
// unreachable NoExecute taints for 300 s, unless it already says how long it tolerates them.
import type { Obj } from './spec.ts';

const DEFAULT_SECONDS = 300;
const KEYS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

export function addDefaultTolerations(spec: Obj): void {
  const tolerations = (spec.tolerations ?? []) as Obj[];
  for (const key of KEYS) {
    const covered = tolerations.some((t) => (t.key === key || (t.key === undefined && t.operator === 'Exists')) && (t.effect === undefined || t.effect === '' || t.effect === 'NoExecute'));
    if (!covered) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: DEFAULT_SECONDS });
  }
  spec.tolerations = tolerations;
}
