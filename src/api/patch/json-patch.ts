// JSON Patch (RFC 6902): add, remove, replace, move, copy, test.
import { StatusError } from '../status.ts';
import { cloneJson, jsonDeepEqual } from '../object.ts';

type Json = unknown;

function unprocessable(message: string): StatusError {
  return new StatusError(422, 'Invalid', message);
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw unprocessable(`the JSON pointer "${path}" must start with "/"`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arrayIndex(tok: string, len: number, forAdd: boolean, path: string): number {
  if (forAdd && tok === '-') return len;
  if (!/^(0|[1-9]\d*)$/.test(tok)) throw unprocessable(`invalid array index "${tok}" in path "${path}"`);
  const i = Number(tok);
  if (i > len || (!forAdd && i === len)) throw unprocessable(`array index ${i} out of bounds in path "${path}"`);
  return i;
}

function parentOf(doc: Json, tokens: string[], path: string): Json {
  let cur = doc;
  for (const tok of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(tok, cur.length, false, path)];
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, tok)) cur = cur[tok];
    else throw unprocessable(`doc is missing path: "${path}"`);
  }
  return cur;
}

function get(doc: Json, path: string): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent.length, false, path)];
  if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) return parent[last];
  throw unprocessable(`doc is missing path: "${path}"`);
}

function add(doc: Json, path: string, value: Json): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true, path), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else throw unprocessable(`doc is missing path: "${path}"`);
  return doc;
}

function remove(doc: Json, path: string): Json {
  const tokens = parsePointer(path);
  if (tokens.length === 0) throw unprocessable('cannot remove the whole document');
  const parent = parentOf(doc, tokens, path);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, false, path), 1);
  else if (isObject(parent) && Object.prototype.hasOwnProperty.call(parent, last)) delete parent[last];
  else throw unprocessable(`doc is missing path: "${path}"`);
  return doc;
}

export function deepEqual(a: Json, b: Json): boolean {
  return jsonDeepEqual(a, b);
}

/** Applies `patch` to a copy of `doc`. Errors are 422 Invalid with the failing operation. */
export function applyJsonPatch(doc: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw new StatusError(400, 'BadRequest', 'json patch must be an array of operations');
  let out = cloneJson(doc);
  for (const [i, op] of patch.entries()) {
    if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') throw new StatusError(400, 'BadRequest', `json patch operation ${i} needs "op" and "path"`);
    const path = op.path;
    switch (op.op) {
      case 'add':
        if (!('value' in op)) throw unprocessable(`json patch operation ${i} (add) has no value`);
        out = add(out, path, cloneJson(op.value));
        break;
      case 'remove':
        out = remove(out, path);
        break;
      case 'replace':
        if (!('value' in op)) throw unprocessable(`json patch operation ${i} (replace) has no value`);
        if (parsePointer(path).length === 0) out = cloneJson(op.value);
        else {
          get(out, path);
          out = add(remove(out, path), path, cloneJson(op.value));
        }
        break;
      case 'move': {
        if (typeof op.from !== 'string') throw unprocessable(`json patch operation ${i} (move) has no "from"`);
        const v = get(out, op.from);
        out = add(remove(out, op.from), path, v);
        break;
      }
      case 'copy': {
        if (typeof op.from !== 'string') throw unprocessable(`json patch operation ${i} (copy) has no "from"`);
        out = add(out, path, cloneJson(get(out, op.from)));
        break;
      }
      case 'test':
        if (!deepEqual(get(out, path), op.value)) throw unprocessable(`testing value ${path} failed: test failed`);
        break;
      default:
        throw new StatusError(400, 'BadRequest', `json patch operation ${i} has unknown op "${op.op}"`);
    }
  }
  return out;
}
