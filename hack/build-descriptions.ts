// Build step (npm run build): writes dist/openapi-descriptions.json, the field descriptions
// `kubectl explain` shows, from the installed @kubernetes/client-node. Never committed.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDescriptions } from '../src/apiserver/descriptions.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = process.argv[2] ?? join(root, 'dist/openapi-descriptions.json');
const definitions = JSON.parse(readFileSync(join(root, 'openapi/definitions.json'), 'utf8')) as Record<string, unknown>;
const docs = readDescriptions(Object.keys(definitions));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(docs));
process.stderr.write(`descriptions: ${Object.keys(docs).length} of ${Object.keys(definitions).length} definitions -> ${out}\n`);
