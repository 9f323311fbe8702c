// npm run bench -- SUITE [--json FILE]: runs one benchmark suite, prints its table, and with
// --json writes the figures as one flat JSON object.
import { writeFileSync } from 'node:fs';
import { printTable, type Row } from './table.ts';

const suites: Record<string, () => Promise<{ rows: Row[]; figures: Record<string, number> }>> = {
  store: async () => (await import('./store.ts')).run(),
  api: async () => (await import('./api.ts')).run(),
  scheduler: async () => (await import('./scheduler.ts')).run(),
};

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
const names = args.filter((a, i) => !a.startsWith('--') && (jsonAt < 0 || i !== jsonAt + 1));
const chosen = names.length > 0 ? names : Object.keys(suites);
const figures: Record<string, number> = {};
for (const name of chosen) {
  const suite = suites[name];
  if (!suite) {
    console.error(`unknown bench suite ${JSON.stringify(name)}; known: ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
  const result = await suite();
  printTable(name, result.rows);
  Object.assign(figures, result.figures);
}
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(figures, null, 2) + '\n');
process.exit(0);
