// HTTP plumbing for the API: reading bodies with a size limit, content negotiation, and writing
// objects and Status errors. Kept free of routing so every handler shares it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { decodeKubernetesProtobuf, isProtobufContentType } from '../api/protobuf.ts';
import { badRequest, notAcceptable, StatusError, tooLarge, internalError, unsupportedMediaType, type Status } from '../api/status.ts';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Bodies larger than this are not even drained: the connection is cut. */
const MAX_DISCARD_BYTES = 64 * 1024 * 1024;

/**
 * Discards the rest of a refused body before answering, so the client (still sending) reads the
 * 413 instead of a reset connection; a body beyond MAX_DISCARD_BYTES gets the connection cut.
 */
function refuseAfterDrain(req: IncomingMessage, err: StatusError, reject: (e: unknown) => void, already = 0): void {
  let discarded = already;
  req.removeAllListeners('data');
  req.on('data', (c: Buffer) => {
    discarded += c.length;
    if (discarded > MAX_DISCARD_BYTES) req.destroy();
  });
  req.on('end', () => reject(err));
  req.on('close', () => reject(err));
  req.resume();
}

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      refuseAfterDrain(req, tooLarge(`the request body is ${declared} bytes; the limit is ${limit}`), reject);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (c: Buffer) => {
      if (refused) return;
      size += c.length;
      if (size > limit) {
        refused = true;
        refuseAfterDrain(req, tooLarge(`the request body exceeds ${limit} bytes`), reject, size);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!refused) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
    req.on('error', reject);
    req.on('aborted', () => reject(badRequest('the request was aborted')));
  });
}

/** A body that starts like a JSON object: try the JSON parser on it first. */
export function looksLikeJson(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) continue;
    return c === 123; // {
  }
  return false;
}

/** Decodes a JSON or YAML body into a plain value. */
export function decodeBody(body: Buffer, contentType: string): unknown {
  return decodeDocument(body, contentType).value;
}

/** Decodes a body; `json` says whether it was read as JSON (YAML bodies that are JSON count). */
export function decodeDocument(body: Buffer, contentType: string): { value: unknown; json: boolean; text: string } {
  if (isProtobufContentType(contentType)) return { value: decodeKubernetesProtobuf(body).object, json: false, text: '' };
  if (/cbor/i.test(contentType)) throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty');
  const isYaml = /yaml/i.test(contentType);
  try {
    if (!isYaml) return { value: JSON.parse(text), json: true, text };
    // JSON is YAML, and what kubectl and helm send as YAML bodies: the JSON parser is ~20× faster.
    if (looksLikeJson(text)) {
      try {
        return { value: JSON.parse(text), json: true, text };
      } catch {
        // a YAML flow mapping such as {a: 1}
      }
    }
    // Duplicate keys are fieldValidation's business (duplicateYamlKeys): the last one wins here.
    return { value: parseYaml(text, { uniqueKeys: false, strict: true }), json: false, text };
  } catch (err) {
    throw badRequest(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf: ${(err as Error).message.split('\n')[0]}`);
  }
}

export interface Negotiated {
  /** The client asked for a Table (kubectl get) and accepts it. */
  table: boolean;
  /** The client asked for PartialObjectMetadata. */
  metadataOnly: boolean;
  gzip: boolean;
}

/** Reads the Accept header. JSON is always served; a protobuf-only client gets 406. */
export function negotiate(req: IncomingMessage): Negotiated {
  const accept = String(req.headers.accept ?? '');
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  if (!accept) return { table: false, metadataOnly: false, gzip };
  // Clients send the same few Accept headers over and over: each is read once.
  const known = gzip ? negotiatedGzip : negotiated;
  let n = known.get(accept);
  if (!n) {
    n = Object.freeze(readAccept(accept, gzip));
    if (known.size >= 64) known.clear();
    known.set(accept, n);
  }
  return n;
}

const negotiated = new Map<string, Readonly<Negotiated>>();
const negotiatedGzip = new Map<string, Readonly<Negotiated>>();

function readAccept(accept: string, gzip: boolean): Negotiated {
  let json = false;
  let table = false;
  let metadataOnly = false;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().split(';').map((s) => s.trim());
    const p = Object.fromEntries(params.map((x) => x.split('=').map((s) => s.trim())));
    if (type === 'application/json' || type === '*/*' || type === 'application/*' || type === 'application/yaml') {
      if (p.as === 'Table' && p.g === 'meta.k8s.io' && (p.v === 'v1' || p.v === 'v1beta1')) table = true;
      else if ((p.as === 'PartialObjectMetadata' || p.as === 'PartialObjectMetadataList') && p.g === 'meta.k8s.io') metadataOnly = true;
      else if (p.as) continue;
      json = true;
    }
  }
  if (!json) throw notAcceptable(`only the following media types are accepted: application/json, application/yaml`);
  return { table, metadataOnly, gzip };
}

export function writeBytes(res: ServerResponse, code: number, body: Buffer, gzip: boolean, contentType = 'application/json'): void {
  const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Cache-Control': 'no-cache, private' };
  let out = body;
  if (gzip && body.length > 1024) {
    out = gzipSync(body);
    headers['Content-Encoding'] = 'gzip';
  }
  headers['Content-Length'] = out.length;
  res.writeHead(code, headers);
  res.end(out);
}

export function writeJson(res: ServerResponse, code: number, obj: unknown, gzip = false): void {
  writeBytes(res, code, Buffer.from(JSON.stringify(obj)), gzip);
}

export function statusOf(err: unknown): Status {
  if (err instanceof StatusError) return err.status;
  return internalError((err as Error)?.message ?? String(err)).status;
}

export function writeError(res: ServerResponse, err: unknown): void {
  const status = statusOf(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (status.code === 429 || (status.code === 504 && status.details?.retryAfterSeconds)) res.setHeader('Retry-After', String(status.details?.retryAfterSeconds ?? 1));
  writeJson(res, status.code, status);
}
