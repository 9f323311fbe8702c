// Test harness: runs `k8ts server` as a child process on a fresh temp data dir and a free port,
// and runs stock kubectl against it. Used by the integration tests (kubectl, client-node).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = join(REPO_ROOT, 'src/cli/main.ts');
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const LOG_LIMIT = 256 * 1024;

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The process was killed (timeout) instead of exiting. */
  timedOut: boolean;
}

export interface KubectlOptions {
  input?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface StartOptions {
  datastore?: 'embedded' | 'etcd';
  etcdEndpoint?: string;
  /** Register this many simulated nodes (`--simulate-nodes`). */
  simulateNodes?: number;
  /** More `k8ts server` flags. */
  extraArgs?: string[];
  /** Extra environment for the server process. */
  env?: Record<string, string>;
}

export interface TestServer {
  url: string;
  kubeconfig: string;
  dataDir: string;
  pid: number;
  /** Runs stock kubectl with `--kubeconfig` of this server. */
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** Starts kubectl in the background (for `get -w` and the like). */
  spawnKubectl(args: string[], opts?: { env?: Record<string, string> }): BackgroundKubectl;
  /** The server's stderr/stdout so far (the last 256 KiB). */
  logs(): string;
  /** Whether the server process is still running. */
  alive(): boolean;
  stop(): Promise<void>;
}

export interface BackgroundKubectl {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout (or, asked, stderr: kubectl's -v logs) matches `re`; rejects after `timeoutMs` or when kubectl exits first. */
  waitFor(re: RegExp, timeoutMs?: number, stream?: 'stdout' | 'stderr'): Promise<string>;
  /** Resolves with the exit code (or -1 when killed by a signal). */
  exited: Promise<number>;
  kill(): Promise<number>;
}

/** The stock kubectl binary fetched by hack/setup-clients, or undefined when it is absent. */
export function kubectlPath(): string | undefined {
  const p = join(REPO_ROOT, '.cache/clients/kubectl');
  return existsSync(p) ? p : undefined;
}

/** Node 24 runs the .ts sources directly; older nodes (the system node) cannot. */
function nodeBinary(): string {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 24) return process.execPath;
  const local = join(REPO_ROOT, 'node_modules/.bin/node');
  return existsSync(local) ? local : process.execPath;
}

const children = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if a test file dies before afterAll: never leave a server behind.
  process.once('exit', () => {
    for (const c of children) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  installExitHook();
  const dataDir = mkdtempSync(join(tmpdir(), 'k8ts-test-'));
  const args = [MAIN, 'server', '--data-dir', dataDir, '--secure-port', '0', '--bind-address', '127.0.0.1'];
  if (opts.datastore === 'etcd') {
    if (!opts.etcdEndpoint) throw new Error('startServer: datastore etcd needs etcdEndpoint');
    args.push('--datastore', 'etcd', '--etcd-servers', opts.etcdEndpoint);
  }
  if (opts.simulateNodes) args.push('--simulate-nodes', String(opts.simulateNodes));
  args.push(...(opts.extraArgs ?? []));
  const child = spawn(nodeBinary(), args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(opts.env ?? {}) } });
  children.add(child);
  let log = '';
  const append = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > LOG_LIMIT) log = log.slice(log.length - LOG_LIMIT);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let exited = false;
  const exitPromise = new Promise<void>((res) => {
    child.once('exit', () => {
      exited = true;
      children.delete(child);
      res();
    });
  });

  const cleanupDir = () => rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
  const kill = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exitPromise;
    clearTimeout(t);
  };

  let ready: { url: string; kubeconfig: string };
  try {
    ready = await new Promise<{ url: string; kubeconfig: string }>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`k8ts server not ready within ${READY_TIMEOUT_MS} ms; output:\n${log}`)), READY_TIMEOUT_MS);
      const check = () => {
        const m = log.match(/ready on (https:\/\/\S+?)\s.*KUBECONFIG=(\S+)/);
        // With simulated nodes, the nodes are part of the server a test expects.
        if (m && (!opts.simulateNodes || /simulated nodes registered/.test(log))) {
          clearTimeout(timer);
          child.stderr!.off('data', check);
          res({ url: m[1], kubeconfig: m[2] });
        }
      };
      child.stderr!.on('data', check);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        rej(new Error(`k8ts server exited before ready (code ${code}, signal ${signal}); output:\n${log}`));
      });
    });
  } catch (err) {
    await kill();
    cleanupDir();
    throw err;
  }

  const cacheDir = join(dataDir, 'kubectl-cache');
  const baseEnv = (extra?: Record<string, string>) => ({ ...process.env, KUBECACHEDIR: cacheDir, KUBECONFIG: ready.kubeconfig, ...extra });
  let stopped = false;
  return {
    url: ready.url,
    kubeconfig: ready.kubeconfig,
    dataDir,
    pid: child.pid ?? -1,
    kubectl: (a, o = {}) => runKubectl(ready.kubeconfig, a, { ...o, env: { KUBECACHEDIR: cacheDir, ...o.env } }),
    spawnKubectl: (a, o = {}) => spawnKubectlWith(ready.kubeconfig, a, baseEnv(o.env)),
    logs: () => log,
    alive: () => !exited,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      cleanupDir();
    },
  };
}

/** Runs stock kubectl with the given kubeconfig; never rejects for a non-zero exit. */
export function runKubectl(kubeconfig: string, args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  const bin = kubectlPath();
  if (!bin) return Promise.reject(new Error('kubectl not found: run `bash hack/setup-clients`'));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((res) => {
    const child = execFile(
      bin,
      ['--kubeconfig', kubeconfig, ...args],
      { env: { ...process.env, KUBECONFIG: kubeconfig, ...opts.env }, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; killed?: boolean; signal?: string }) | null;
        const timedOut = !!e?.killed;
        const code = !e ? 0 : typeof e.code === 'number' ? e.code : -1;
        res({ code, stdout, stderr, timedOut });
      },
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

/** Kubectl bound to a kubeconfig path, for callers that keep only the path. */
export function kubectl(kubeconfig: string): (args: string[], opts?: KubectlOptions) => Promise<KubectlResult> {
  return (args, opts) => runKubectl(kubeconfig, args, opts);
}

function spawnKubectlWith(kubeconfig: string, args: string[], env: NodeJS.ProcessEnv): BackgroundKubectl {
  const bin = kubectlPath();
  if (!bin) throw new Error('kubectl not found: run `bash hack/setup-clients`');
  const child = spawn(bin, ['--kubeconfig', kubeconfig, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<number>((res) =>
    child.once('exit', (code) => {
      children.delete(child);
      res(code ?? -1);
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(re, timeoutMs = 10_000, stream = 'stdout') {
      return new Promise((res, rej) => {
        const started = Date.now();
        const tick = () => {
          const m = (stream === 'stdout' ? out : err).match(re);
          if (m) return res(m[0]);
          if (done) return rej(new Error(`kubectl exited before output matched ${re}; stdout:\n${out}\nstderr:\n${err}`));
          if (Date.now() - started > timeoutMs) return rej(new Error(`timed out after ${timeoutMs} ms waiting for ${re}; stdout:\n${out}\nstderr:\n${err}`));
          setTimeout(tick, 50);
        };
        tick();
      });
    },
    async kill() {
      if (!done) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
        const code = await exited;
        clearTimeout(t);
        return code;
      }
      return exited;
    },
  };
}

export interface Credentials {
  server: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** The server URL, CA and admin client certificate from a kubeconfig with embedded (`-data`) fields. */
export function credentialsFromKubeconfig(path: string): Credentials {
  const kc = parseYaml(readFileSync(path, 'utf8')) as {
    'current-context'?: string;
    contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
    clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{ name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }>;
  };
  const ctx = kc.contexts.find((c) => c.name === kc['current-context']) ?? kc.contexts[0];
  const cluster = kc.clusters.find((c) => c.name === ctx.context.cluster) ?? kc.clusters[0];
  const user = kc.users.find((u) => u.name === ctx.context.user) ?? kc.users[0];
  const b64 = (s: string) => Buffer.from(s, 'base64');
  return {
    server: cluster.cluster.server,
    ca: b64(cluster.cluster['certificate-authority-data']),
    cert: b64(user.user['client-certificate-data']),
    key: b64(user.user['client-key-data']),
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send without the client certificate (anonymous), still trusting the CA. */
  anonymous?: boolean;
  /** Send the body with Transfer-Encoding: chunked instead of Content-Length. */
  chunked?: boolean;
  timeoutMs?: number;
}

/** One HTTPS request to the server, with the admin certificate unless `anonymous`. */
export function rawRequest(creds: Credentials, path: string, opts: RawRequestOptions = {}): Promise<RawResponse> {
  const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (body) {
    headers['content-type'] ??= 'application/json';
    if (opts.chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = String(body.length);
  }
  return new Promise((res, rej) => {
    const req = httpsRequest(
      new URL(path, creds.server),
      {
        method: opts.method ?? 'GET',
        ca: creds.ca,
        ...(opts.anonymous ? {} : { cert: creds.cert, key: creds.key }),
        headers,
        agent: false,
        timeout: opts.timeoutMs ?? 15_000,
      },
      (resp) => {
        const chunks: Buffer[] = [];
        resp.on('data', (c: Buffer) => chunks.push(c));
        resp.on('error', rej);
        resp.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          res({ status: resp.statusCode ?? 0, headers: resp.headers, body: text, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${path} timed out`)));
    req.on('error', rej);
    if (body && opts.chunked) {
      // Several chunks, so the server sees a real chunked stream.
      for (let off = 0; off < body.length; off += 64 * 1024) req.write(body.subarray(off, off + 64 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}
