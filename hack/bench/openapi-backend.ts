// openapi-backend against the lean dispatcher, on one machine: cold init and retained heap,
// route matching per request, and list query validation. Prints a markdown table of medians.
//
//   PATH=$PWD/node_modules/.bin:$PATH node hack/bench/openapi-backend.ts [--runs N] [--ms MS]   (~1.5 min)
//
// openapi-backend reads OpenAPI 3 only, so its document is our served /openapi/v2 (built in-process
// by OpenApiDocs, descriptions included) converted by toOpenApi3 below: definitions become
// components.schemas with their $refs rewritten (a $ref with our description beside it is wrapped
// in allOf, which 3.0 requires), the {namespace}/{name}/{path} template parameters
// are declared as path parameters, and each query parameter gets the type the upstream swagger
// gives it (our v2 document lists every query parameter as a string, which would leave the
// validator nothing to check). The served document has no request bodies, so neither has this one.
//
// Init is measured in fresh child processes (--expose-gc), since a cold start is what it costs;
// matching and validation in this process after a warm-up. Every loop is bounded by a count.
import { spawnSync } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Document, OpenAPIBackend, Operation } from 'openapi-backend';

type Json = Record<string, unknown>;

interface V2Parameter {
  name: string;
  in: string;
}

interface V2Operation {
  operationId?: string;
  parameters?: V2Parameter[];
  responses?: Json;
  'x-kubernetes-action'?: string;
  'x-kubernetes-group-version-kind'?: Json;
}

interface V2Document {
  info: { title: string; version: string };
  paths: Record<string, Record<string, V2Operation>>;
  definitions: Json;
}

/** Query parameter types as the Kubernetes 1.33 swagger declares them; the rest are strings. */
const QUERY_TYPES: Record<string, 'integer' | 'boolean'> = {
  limit: 'integer',
  timeoutSeconds: 'integer',
  gracePeriodSeconds: 'integer',
  limitBytes: 'integer',
  sinceSeconds: 'integer',
  tailLines: 'integer',
  ports: 'integer',
  watch: 'boolean',
  allowWatchBookmarks: 'boolean',
  sendInitialEvents: 'boolean',
  force: 'boolean',
  orphanDependents: 'boolean',
  ignoreStoreReadErrorWithClusterBreakingPotential: 'boolean',
  insecureSkipTLSVerifyBackend: 'boolean',
  follow: 'boolean',
  previous: 'boolean',
  timestamps: 'boolean',
  stdin: 'boolean',
  stdout: 'boolean',
  stderr: 'boolean',
  tty: 'boolean',
};

/** A swagger 2.0 schema as OpenAPI 3.0 wants it: refs into components, and a $ref with siblings
 * (our descriptions) wrapped in allOf, since a 3.0 Reference Object allows no other keys (as
 * kube-apiserver's own v3 documents do). */
function v3Schema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(v3Schema);
  if (typeof s !== 'object' || s === null) return s;
  const out: Json = {};
  for (const [k, v] of Object.entries(s)) out[k] = k === '$ref' && typeof v === 'string' ? v.replace('#/definitions/', '#/components/schemas/') : v3Schema(v);
  if (typeof out.$ref === 'string' && Object.keys(out).length > 1) {
    const { $ref, ...rest } = out;
    return { allOf: [{ $ref }], ...rest };
  }
  return out;
}

/** Our served swagger 2.0 document as an OpenAPI 3.0 document openapi-backend accepts. */
function toOpenApi3(v2: V2Document): Document {
  const paths: Record<string, Json> = {};
  for (const [path, item] of Object.entries(v2.paths)) {
    const out: Json = {
      parameters: [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
    };
    for (const [method, op] of Object.entries(item)) {
      out[method] = {
        operationId: op.operationId,
        parameters: (op.parameters ?? []).map((p) => ({ name: p.name, in: 'query', schema: { type: QUERY_TYPES[p.name] ?? 'string' } })),
        responses: op.responses ?? { '200': { description: 'OK' } },
        'x-kubernetes-action': op['x-kubernetes-action'],
        'x-kubernetes-group-version-kind': op['x-kubernetes-group-version-kind'],
      };
    }
    paths[path] = out;
  }
  const schemas = v3Schema(v2.definitions) as Json;
  return { openapi: '3.0.3', info: v2.info, paths, components: { schemas } } as unknown as Document;
}

/** The bytes GET /openapi/v2 answers with, without a server. */
async function servedV2(): Promise<V2Document> {
  const { OpenApiDocs } = await import('../../src/apiserver/openapi.ts');
  const { Catalog } = await import('../../src/registry/catalog.ts');
  let body: Buffer | undefined;
  const req = { headers: { accept: 'application/json' } } as unknown as IncomingMessage;
  const res = { writeHead: () => res, end: (b?: Buffer) => void (body = b) } as unknown as ServerResponse;
  if (!new OpenApiDocs(Catalog.load()).serve('/openapi/v2', new URLSearchParams(), req, res) || !body) throw new Error('no /openapi/v2 document');
  return JSON.parse(body.toString('utf8')) as V2Document;
}

/** quick: skip checking the document and compile validators on first use; validate: false: router only. */
async function newBackend(definition: Document, opts: { quick?: boolean; validate?: boolean } = {}): Promise<OpenAPIBackend> {
  const { OpenAPIBackend } = await import('openapi-backend');
  return new OpenAPIBackend({ definition, strict: true, ...opts }).init();
}

const VARIANTS: Record<string, { quick?: boolean; validate?: boolean }> = {
  'openapi-backend': {},
  'openapi-backend-quick': { quick: true },
  'openapi-backend-router': { validate: false },
};

// --- cold init, one per child process ---------------------------------------------------------

interface InitFigures {
  importMs: number;
  loadMs: number;
  initMs: number;
  heapMB: number;
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const heapUsed = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

async function initChild(which: string): Promise<InitFigures> {
  const heap0 = heapUsed();
  const t0 = performance.now();
  if (which === 'k8ts') {
    // What the dispatcher needs: the parser, the list options, the catalogue and the strategies.
    const [{ Catalog }, { strategyFor }] = await Promise.all([
      import('../../src/registry/catalog.ts'),
      import('../../src/registry/strategy.ts'),
      import('../../src/registry/kinds/index.ts'),
      import('../../src/apiserver/request-info.ts'),
      import('../../src/apiserver/list-options.ts'),
    ]);
    const t1 = performance.now();
    const catalog = Catalog.load();
    const strategies = catalog.resources.map((r) => strategyFor(r));
    const t2 = performance.now();
    const heapMB = (heapUsed() - heap0) / 2 ** 20;
    if (strategies.length === 0) throw new Error('empty catalogue');
    return { importMs: t1 - t0, loadMs: t2 - t1, initMs: 0, heapMB };
  }
  await import('openapi-backend');
  const t1 = performance.now();
  const doc = toOpenApi3(await servedV2());
  const t2 = performance.now();
  const variant = VARIANTS[which];
  if (!variant) throw new Error(`unknown init variant ${which}`);
  const api = await newBackend(doc, variant);
  const t3 = performance.now();
  const heapMB = (heapUsed() - heap0) / 2 ** 20;
  if (!api.initialized) throw new Error('openapi-backend did not initialise');
  return { importMs: t1 - t0, loadMs: t2 - t1, initMs: t3 - t2, heapMB };
}

function initRuns(which: string, runs: number): InitFigures[] {
  const out: InitFigures[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['--expose-gc', new URL(import.meta.url).pathname, '--init', which], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`init child ${which} failed: ${r.stderr || r.error}`);
    out.push(JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as InitFigures);
  }
  return out;
}

// --- per-request work ---------------------------------------------------------------------------

/** A realistic mix: reads and writes on core and group resources, both scopes, subresources, watches. */
const REQUESTS: Array<[string, string]> = [
  ['GET', '/api/v1/namespaces/default/pods?limit=500'],
  ['GET', '/api/v1/namespaces/default/pods/web-0'],
  ['POST', '/api/v1/namespaces/default/pods?fieldManager=kubectl-client-side-apply'],
  ['PUT', '/api/v1/namespaces/default/pods/web-0/status'],
  ['GET', '/api/v1/namespaces/default/pods/web-0/log?container=app&tailLines=10'],
  ['DELETE', '/api/v1/namespaces/default/configmaps/settings'],
  ['DELETE', '/api/v1/namespaces/default/secrets?labelSelector=app%3Dweb'],
  ['GET', '/api/v1/nodes'],
  ['PATCH', '/api/v1/nodes/node-1/status'],
  ['GET', '/api/v1/namespaces/kube-system'],
  ['PUT', '/api/v1/namespaces/team-a/finalize'],
  ['GET', '/api/v1/pods?watch=1&allowWatchBookmarks=true&resourceVersion=4711'],
  ['PATCH', '/apis/apps/v1/namespaces/default/deployments/web'],
  ['GET', '/apis/apps/v1/namespaces/default/deployments/web/scale'],
  ['PUT', '/apis/apps/v1/namespaces/default/deployments/web/scale'],
  ['GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles?watch=1&resourceVersion=100'],
  ['GET', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1'],
  ['PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1'],
  ['POST', '/apis/batch/v1/namespaces/default/jobs'],
  ['GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions?limit=500'],
];

/** List queries as clients send them (kubectl get, paging, informer list and watch). */
const LIST_QUERIES = [
  'limit=500',
  `limit=500&continue=${Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 4711, start: 'web-7\u0000' })).toString('base64url')}&labelSelector=app%3Dweb%2Ctier%21%3Ddb`,
  'limit=500&resourceVersion=4711&resourceVersionMatch=NotOlderThan',
  'watch=true&resourceVersion=4711&timeoutSeconds=300&allowWatchBookmarks=true&labelSelector=app%3Dweb',
];

/** Queries on which the two may disagree: [query, what Kubernetes does]. */
const VERDICT_QUERIES: Array<[string, 'accept' | 'reject']> = [
  ...LIST_QUERIES.map((q): [string, 'accept'] => [q, 'accept']),
  ['watch=1&resourceVersion=4711', 'accept'], // strconv.ParseBool takes 1, t, T, TRUE, true, True
  ['limit=abc', 'reject'],
  ['timeoutSeconds=1.5', 'reject'],
  ['resourceVersionMatch=Bogus&resourceVersion=1', 'reject'],
  ['resourceVersionMatch=Exact', 'reject'], // resourceVersionMatch without resourceVersion
];

/** ns per call: `iterations` calls of fn(i), i cycling over [0, size). */
function timeLoop(fn: (i: number) => void, size: number, iterations: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i % size);
  return Number(process.hrtime.bigint() - t0) / iterations;
}

/** Iterations for about `ms` per run, from a bounded probe; a whole number of mixes, at most 5M. */
function calibrate(fn: (i: number) => void, size: number, ms: number): number {
  let n = size;
  for (let k = 0; k < 20; k++) {
    const ns = timeLoop(fn, size, n);
    if (ns * n >= 20e6 || n >= 5_000_000) return Math.min(5_000_000, Math.max(size, Math.ceil((ms * 1e6) / ns / size) * size));
    n *= 4;
  }
  return n;
}

/** Medians (ns/op) of `runs` alternating runs of each function. */
function compare(fns: Array<(i: number) => void>, size: number, runs: number, ms: number): number[] {
  const iterations = fns.map((fn) => calibrate(fn, size, ms));
  const samples: number[][] = fns.map(() => []);
  for (let r = 0; r < runs; r++) fns.forEach((fn, k) => samples[k].push(timeLoop(fn, size, iterations[k])));
  return samples.map(median);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

// --- main -----------------------------------------------------------------------------------------

interface Row {
  metric: string;
  oab: string;
  k8ts: string;
  ratio: string;
}

function printTable(rows: Row[]): void {
  const head: Row = { metric: 'metric (median of runs)', oab: 'openapi-backend', k8ts: 'k8ts dispatcher', ratio: 'openapi-backend / k8ts' };
  const all = [head, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => r[k].length));
  const line = (r: Row) => `| ${r.metric.padEnd(w('metric'))} | ${r.oab.padStart(w('oab'))} | ${r.k8ts.padStart(w('k8ts'))} | ${r.ratio.padStart(w('ratio'))} |`;
  console.log(line(head));
  console.log(`|${'-'.repeat(w('metric') + 2)}|${'-'.repeat(w('oab') + 1)}:|${'-'.repeat(w('k8ts') + 1)}:|${'-'.repeat(w('ratio') + 1)}:|`);
  for (const r of rows) console.log(line(r));
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const times = (a: number, b: number): string => `${fmt(a / b, a / b < 10 ? 1 : 0)}×`;

async function main(runs: number, ms: number): Promise<void> {
  const { parseRequestInfo } = await import('../../src/apiserver/request-info.ts');
  const { parseListOptions } = await import('../../src/apiserver/list-options.ts');
  const { Catalog } = await import('../../src/registry/catalog.ts');
  const { strategyFor } = await import('../../src/registry/strategy.ts');
  await import('../../src/registry/kinds/index.ts');
  const operations = (await import('../../openapi/operations.json', { with: { type: 'json' } })).default as Array<{ operationId: string; resource: string; subresource?: string }>;
  const byId = new Map(operations.map((o) => [o.operationId, o]));

  // (a) cold init, in fresh processes.
  const init = {
    k8ts: initRuns('k8ts', runs),
    oab: initRuns('openapi-backend', runs),
    quick: initRuns('openapi-backend-quick', runs),
    router: initRuns('openapi-backend-router', runs),
  };
  const med = (xs: InitFigures[], f: (x: InitFigures) => number) => median(xs.map(f));
  const total = (x: InitFigures) => x.importMs + x.loadMs + x.initMs;

  const catalog = Catalog.load();
  const api = await newBackend(toOpenApi3(await servedV2()));
  const router = api.router;

  // (b) route matching. Both start from the method and the raw URL and end at the resource.
  const k8tsRoute = (i: number) => {
    const [method, url] = REQUESTS[i];
    const qi = url.indexOf('?');
    const ri = parseRequestInfo(method, qi >= 0 ? url.slice(0, qi) : url, new URLSearchParams(qi >= 0 ? url.slice(qi + 1) : ''));
    return catalog.lookup(ri.group, ri.version, ri.resource) ? ri : undefined;
  };
  const oabRoute = (i: number) => router.matchOperation({ method: REQUESTS[i][0], path: REQUESTS[i][1], headers: {} });
  let routesAgree = 0;
  for (let i = 0; i < REQUESTS.length; i++) {
    const ri = k8tsRoute(i);
    const op = byId.get(oabRoute(i)?.operationId ?? '');
    if (ri && op && op.resource === ri.resource && (op.subresource ?? '') === ri.subresource) routesAgree++;
    else console.error(`route disagreement on ${REQUESTS[i].join(' ')}: k8ts ${ri?.resource}/${ri?.subresource}, openapi-backend ${op?.operationId}`);
  }
  let sink = 0;
  const [oabRouteNs, k8tsRouteNs] = compare(
    [(i) => void (sink += oabRoute(i) ? 1 : 0), (i) => void (sink += k8tsRoute(i) ? 1 : 0)],
    REQUESTS.length,
    runs,
    ms,
  );

  // (c) list query validation on listCoreV1NamespacedPod. openapi-backend gets the matched
  // operation (no matching in the timing); both start from the raw query string.
  const listOp = router.getOperation('listCoreV1NamespacedPod') as Operation;
  const pods = catalog.lookup('', 'v1', 'pods');
  if (!pods) throw new Error('no pods in the catalogue');
  const podStrategy = strategyFor(pods);
  const oabValid = (q: string) => api.validator.validateRequest({ method: 'get', path: '/api/v1/namespaces/default/pods', query: q, headers: {} }, listOp).valid;
  const k8tsValid = (q: string) => {
    try {
      parseListOptions(new URLSearchParams(q), podStrategy, true);
      return true;
    } catch {
      return false;
    }
  };
  const verdicts = VERDICT_QUERIES.map(([q, kube]) => ({ q, kube, oab: oabValid(q) ? 'accept' : 'reject', k8ts: k8tsValid(q) ? 'accept' : 'reject' }));
  for (const q of LIST_QUERIES) if (!oabValid(q) || !k8tsValid(q)) throw new Error(`timed query ${q} is not valid for both`);
  const [oabValidateNs, k8tsValidateNs] = compare(
    [(i) => void (sink += oabValid(LIST_QUERIES[i]) ? 1 : 0), (i) => void (sink += k8tsValid(LIST_QUERIES[i]) ? 1 : 0)],
    LIST_QUERIES.length,
    runs,
    ms,
  );
  if (sink === 0) throw new Error('nothing was measured');

  // quick: true moves each operation's validator compile to its first request.
  const v3 = toOpenApi3(await servedV2());
  const firstValidateMs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const lazy = await newBackend(structuredClone(v3), { quick: true });
    const op = lazy.router.getOperation('listCoreV1NamespacedPod') as Operation;
    const t0 = performance.now();
    lazy.validator.validateRequest({ method: 'get', path: '/api/v1/namespaces/default/pods', query: LIST_QUERIES[0], headers: {} }, op);
    firstValidateMs.push(performance.now() - t0);
  }

  const ms1 = (n: number) => `${fmt(n, n < 10 ? 1 : 0)} ms`;
  const mb = (n: number) => `${fmt(n, 1)} MB`;
  const rows: Row[] = [
    { metric: 'cold init: import modules', oab: ms1(med(init.oab, (x) => x.importMs)), k8ts: ms1(med(init.k8ts, (x) => x.importMs)), ratio: '' },
    { metric: 'cold init: build served v2 + convert to v3 / load catalogue + strategies', oab: ms1(med(init.oab, (x) => x.loadMs)), k8ts: ms1(med(init.k8ts, (x) => x.loadMs)), ratio: '' },
    { metric: 'cold init: new OpenAPIBackend().init()', oab: ms1(med(init.oab, (x) => x.initMs)), k8ts: '—', ratio: '' },
    { metric: 'cold init: total', oab: ms1(med(init.oab, total)), k8ts: ms1(med(init.k8ts, total)), ratio: times(med(init.oab, total), med(init.k8ts, total)) },
    { metric: 'cold init: total, openapi-backend quick: true', oab: ms1(med(init.quick, total)), k8ts: ms1(med(init.k8ts, total)), ratio: times(med(init.quick, total), med(init.k8ts, total)) },
    { metric: 'cold init: total, openapi-backend validate: false', oab: ms1(med(init.router, total)), k8ts: ms1(med(init.k8ts, total)), ratio: times(med(init.router, total), med(init.k8ts, total)) },
    { metric: 'retained heap after init', oab: mb(med(init.oab, (x) => x.heapMB)), k8ts: mb(med(init.k8ts, (x) => x.heapMB)), ratio: times(med(init.oab, (x) => x.heapMB), med(init.k8ts, (x) => x.heapMB)) },
    { metric: 'retained heap after init, quick: true', oab: mb(med(init.quick, (x) => x.heapMB)), k8ts: mb(med(init.k8ts, (x) => x.heapMB)), ratio: times(med(init.quick, (x) => x.heapMB), med(init.k8ts, (x) => x.heapMB)) },
    { metric: `route match, ${REQUESTS.length}-request mix: µs/op`, oab: fmt(oabRouteNs / 1e3, 2), k8ts: fmt(k8tsRouteNs / 1e3, 2), ratio: times(oabRouteNs, k8tsRouteNs) },
    { metric: 'route match: ops/s', oab: fmt(1e9 / oabRouteNs), k8ts: fmt(1e9 / k8tsRouteNs), ratio: '' },
    { metric: `route match: requests routed alike`, oab: `${routesAgree}/${REQUESTS.length}`, k8ts: `${routesAgree}/${REQUESTS.length}`, ratio: '' },
    { metric: `list query validation, ${LIST_QUERIES.length}-query mix: µs/op`, oab: fmt(oabValidateNs / 1e3, 2), k8ts: fmt(k8tsValidateNs / 1e3, 2), ratio: times(oabValidateNs, k8tsValidateNs) },
    { metric: 'list query validation: ops/s', oab: fmt(1e9 / oabValidateNs), k8ts: fmt(1e9 / k8tsValidateNs), ratio: '' },
    { metric: 'quick: true, first validation of an operation', oab: ms1(median(firstValidateMs)), k8ts: '—', ratio: '' },
    {
      metric: `list query verdicts as Kubernetes (${verdicts.length} queries)`,
      oab: `${verdicts.filter((v) => v.oab === v.kube).length}/${verdicts.length}`,
      k8ts: `${verdicts.filter((v) => v.k8ts === v.kube).length}/${verdicts.length}`,
      ratio: '',
    },
  ];
  console.log(`openapi-backend vs k8ts dispatcher — Node ${process.version}, ${runs} runs, ~${ms} ms per timed run, ${Object.keys(api.definition.paths ?? {}).length} paths / ${router.getOperations().length} operations\n`);
  printTable(rows);
  const wrong = verdicts.filter((v) => v.oab !== v.kube || v.k8ts !== v.kube);
  if (wrong.length > 0) {
    console.log('\nverdicts that differ from Kubernetes:');
    for (const v of wrong) console.log(`- \`${v.q}\`: Kubernetes ${v.kube}s; openapi-backend ${v.oab}s; k8ts ${v.k8ts}s`);
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: number): number => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args[at + 1]) : dflt;
  };
  const initAt = args.indexOf('--init');
  if (initAt >= 0) console.log(JSON.stringify(await initChild(args[initAt + 1])));
  else await main(opt('--runs', 5), opt('--ms', 300));
}
