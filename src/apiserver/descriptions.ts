// Field descriptions for the OpenAPI documents (what `kubectl explain` shows), taken from the doc
// comments of the installed @kubernetes/client-node type declarations, keyed by definition name.
// `npm run build` writes them to dist/openapi-descriptions.json; a source checkout reads the
// package directly. No upstream text is kept in this repository.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface Doc {
  description?: string;
  properties: Record<string, string>;
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const unescape = (s: string) => s.replace(/\\(['"\\])/g, '$1');
const clean = (block: string) => unescape(block.split('\n').map((l) => l.replace(/^\s*\*\s?/, '')).join(' ').replace(/\s+/g, ' ').trim());

/** client-node's class names for a definition, most specific first. */
function classNames(def: string): string[] {
  const parts = def.split('.');
  const kind = parts[parts.length - 1];
  const version = parts[parts.length - 2];
  const group = parts[parts.length - 3];
  return [`${cap(group)}${cap(version)}${kind}`, `${cap(version)}${kind}`];
}

function parse(text: string): Doc {
  const doc: Doc = { properties: {} };
  const cls = text.match(/\/\*\*\s*\n((?:\s*\*.*\n)+?)\s*\*\/\s*\nexport declare class/);
  if (cls) doc.description = clean(cls[1]);
  const re = /\/\*\*\s*\n((?:\s*\*.*\n)+?)\s*\*\/\s*\n\s*'([^']+)'\??:/g;
  for (let m = re.exec(text); m; m = re.exec(text)) doc.properties[m[2]] = clean(m[1]);
  return doc;
}

function modelsDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('@kubernetes/client-node/package.json');
    const dir = join(dirname(pkg), 'dist/gen/models');
    return existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Descriptions for `definitions`, read from the installed client-node package (empty if absent). */
export function readDescriptions(definitions: Iterable<string>): Record<string, Doc> {
  const dir = modelsDir();
  const result: Record<string, Doc> = {};
  if (!dir) return result;
  for (const def of definitions) {
    for (const name of classNames(def)) {
      const file = join(dir, `${name}.d.ts`);
      if (!existsSync(file)) continue;
      const doc = parse(readFileSync(file, 'utf8'));
      if (doc.description || Object.keys(doc.properties).length > 0) result[def] = doc;
      break;
    }
  }
  return result;
}

/** The prebuilt file next to the compiled server, else the package itself. */
export function loadDescriptions(definitions: Iterable<string>, prebuilt = new URL('../openapi-descriptions.json', import.meta.url)): Record<string, Doc> {
  if (existsSync(prebuilt)) return JSON.parse(readFileSync(prebuilt, 'utf8')) as Record<string, Doc>;
  return readDescriptions(definitions);
}

/** A copy of `definitions` with the descriptions filled in. */
export function describe(definitions: Record<string, Record<string, unknown>>, docs: Record<string, Doc>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, def] of Object.entries(definitions)) {
    const doc = docs[name];
    if (!doc) {
      out[name] = def;
      continue;
    }
    const copy: Record<string, unknown> = { ...def };
    if (doc.description) copy.description = doc.description;
    const props = def.properties as Record<string, Record<string, unknown>> | undefined;
    if (props) {
      copy.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, doc.properties[k] ? { ...v, description: doc.properties[k] } : v]));
    }
    out[name] = copy;
  }
  return out;
}
