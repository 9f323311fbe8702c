// hack/update-openapi [--out DIR]: regenerates openapi/ (resources.json, definitions.json,
// operations.json) from the Kubernetes 1.33 reference data in ../shared/reference
// ($K8TS_REFERENCE_DIR overrides). Prints a summary; exits 1 if the cross-checks disagree.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { generate, OUTPUT_FILES } from './openapi/generate.ts';
import { loadReference, referenceDir, referencePresent } from './openapi/reference.ts';

const repoRoot = dirname(import.meta.dirname);
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
if (args.some((_a, i) => i !== outAt && (outAt < 0 || i !== outAt + 1)) || (outAt >= 0 && !args[outAt + 1])) {
  console.error('usage: hack/update-openapi [--out DIR]');
  process.exit(2);
}
const outDir = outAt >= 0 ? resolve(args[outAt + 1]) : join(repoRoot, 'openapi');

const refDir = referenceDir(repoRoot);
if (!referencePresent(refDir)) {
  console.error(`reference data not found in ${refDir} (set K8TS_REFERENCE_DIR)`);
  process.exit(2);
}
const result = generate(loadReference(refDir));
mkdirSync(outDir, { recursive: true });
for (const name of OUTPUT_FILES) writeFileSync(join(outDir, name), result.files[name]);

for (const line of result.summary) console.log(line);
console.log(`wrote ${OUTPUT_FILES.map((f) => join(outDir, f)).join(', ')}`);
if (result.problems.length > 0) {
  console.error(`${result.problems.length} problems:`);
  for (const p of result.problems) console.error(`  ${p}`);
  process.exit(1);
}
