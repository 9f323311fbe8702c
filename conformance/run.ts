// npm run conformance: runs the scenario suites that drive a live k8ts server with stock kubectl,
// helm and @kubernetes/client-node, and writes conformance/REPORT.md with every scenario's result
// and the client versions used.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SUITES = [
  'src/apiserver/kubectl.test.ts',
  'src/apiserver/client-node.test.ts',
  'src/apiserver/apply.test.ts',
  'src/apiserver/helm.test.ts',
  'src/scheduler/scheduler.test.ts',
  'src/controllers/workloads/workloads.test.ts',
  'src/controllers/sets/statefulset.test.ts',
  'src/controllers/sets/daemonset.test.ts',
  'src/controllers/batch/batch.test.ts',
  'src/controllers/core/core.test.ts',
  'src/controllers/nodes/nodes.test.ts',
  'src/controllers/volumes/volumes.test.ts',
  'src/agent/agent.test.ts',
].filter((f) => existsSync(join(root, f)));

interface AssertionResult {
  fullName: string;
  status: string;
  ancestorTitles: string[];
  title: string;
  duration?: number;
}

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0];
  } catch {
    return 'not available';
  }
}

spawnSync('bash', [join(root, 'hack/setup-clients')], { stdio: 'inherit' });
const out = mkdtempSync(join(tmpdir(), 'k8ts-conformance-'));
const jsonFile = join(out, 'results.json');
const run = spawnSync(join(root, 'node_modules/.bin/vitest'), ['run', ...SUITES, '--reporter=json', `--outputFile=${jsonFile}`], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
const results = existsSync(jsonFile) ? (JSON.parse(readFileSync(jsonFile, 'utf8')) as { testResults: Array<{ name: string; assertionResults: AssertionResult[] }> }) : { testResults: [] };
rmSync(out, { recursive: true, force: true });

const clientNode = JSON.parse(readFileSync(join(root, 'node_modules/@kubernetes/client-node/package.json'), 'utf8')) as { version: string };
const lines: string[] = [
  '# Conformance report',
  '',
  'Scenarios run by `npm run conformance` against a live `k8ts server` (embedded store) with stock clients.',
  '',
  `- kubectl: ${version(join(root, '.cache/clients/kubectl'), ['version', '--client'])}`,
  `- helm: ${version(join(root, '.cache/clients/helm'), ['version', '--short'])}`,
  `- @kubernetes/client-node: ${clientNode.version}`,
  `- Node.js: ${process.version}`,
  '',
];
let pass = 0;
let fail = 0;
for (const file of results.testResults) {
  const rel = file.name.replace(root, '');
  lines.push(`## ${rel}`, '', '| scenario | result |', '| --- | --- |');
  for (const a of file.assertionResults) {
    const ok = a.status === 'passed';
    if (ok) pass++;
    else fail++;
    const name = [...a.ancestorTitles.slice(1), a.title].join(' › ').replace(/\|/g, '\\|');
    lines.push(`| ${name} | ${ok ? 'pass' : a.status === 'skipped' || a.status === 'pending' ? 'skipped' : 'FAIL'} |`);
  }
  lines.push('');
}
lines.splice(9, 0, `**${pass} passed, ${fail} not passing.**`, '');
writeFileSync(join(root, 'conformance/REPORT.md'), lines.join('\n') + '\n');
console.log(`conformance: ${pass} passed, ${fail} failed; wrote conformance/REPORT.md`);
process.exit(run.status === 0 ? 0 : 1);
