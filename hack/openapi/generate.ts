// Builds the three openapi/ files from the reference data and collects the cross-check results.
import { checkBuiltinTypes, checkPatchMeta } from './crosscheck.ts';
import { buildDefinitions } from './definitions.ts';
import { formatJson } from './format.ts';
import { buildOperations } from './operations.ts';
import type { Reference } from './reference.ts';
import { buildResources, servedGroupVersions } from './resources.ts';

export const OUTPUT_FILES = ['resources.json', 'definitions.json', 'operations.json'] as const;

export interface Generated {
  /** File name (under openapi/) → contents. */
  files: Record<(typeof OUTPUT_FILES)[number], string>;
  /** Human-readable summary lines. */
  summary: string[];
  /** Anything that disagrees; empty when the reference data is consistent. */
  problems: string[];
}

export function generate(ref: Reference): Generated {
  const { file: resources, problems: resourceProblems } = buildResources(ref);
  const served = servedGroupVersions(resources.groups);
  const ops = buildOperations(ref, resources.resources, served);
  const roots = resources.resources.map((r) => r.definition).filter((d): d is string => d !== null);
  const defs = buildDefinitions(ref, served, roots);
  const patchMeta = checkPatchMeta(defs.definitions, ref.patchMeta);
  const builtin = checkBuiltinTypes(defs.definitions, ref.smdTypes);

  const problems = [
    ...resourceProblems,
    ...ops.problems,
    ...defs.problems,
    ...patchMeta.mismatches.map((m) => `patch-meta.json: ${m}`),
    ...builtin.mismatches.map((m) => `builtin-types.yaml: ${m}`),
  ];
  const dropped = [...defs.droppedKeys].sort().map(([k, n]) => `${k} (${n})`);
  const summary = [
    `reference: ${ref.dir}`,
    `groups: ${resources.groups.length}, group-versions: ${served.size}, resources: ${resources.resources.length}`,
    `operations: ${ops.operations.length} (resource paths only; discovery and non-resource paths left out)`,
    `definitions: ${Object.keys(defs.definitions).length} of ${Object.keys(ref.swagger.definitions).length} in the swagger`,
    `type-level markers added from patch-meta.json: ${defs.addedTypeMarkers.length}`,
    `swagger schema keys dropped besides description: ${dropped.length > 0 ? dropped.join(', ') : 'none'}`,
    `cross-check patch-meta.json: ${patchMeta.compared} facts compared, ${patchMeta.mismatches.length} mismatches`,
    `cross-check builtin-types.yaml: ${builtin.typesCompared} types, ${builtin.compared} list/map facts compared, ${builtin.mismatches.length} mismatches; ` +
      `${builtin.fieldSetDiffs.length} field-set differences`,
    ...builtin.fieldSetDiffs.map((d) => `  field-set difference: ${d}`),
  ];
  return {
    files: {
      'resources.json': formatJson(resources, 4),
      'definitions.json': formatJson(defs.definitions, 3),
      'operations.json': formatJson(ops.operations, 1),
    },
    summary,
    problems,
  };
}
