// Test/bench helper: runs a throwaway single-member etcd on loopback ports with a temp data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface EtcdServer {
  /** Client URL, e.g. `http://127.0.0.1:41234`. */
  readonly endpoint: string;
  readonly dataDir: string;
  /** Pid of the running process (of the last one started, if stopped). */
  readonly pid: number;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Starts etcd again on the same ports and data dir (stops it first if running). */
  restart(): Promise<void>;
  /** Stops etcd and removes the data dir. */
  cleanup(): Promise<void>;
}

export interface StartEtcdOptions {
  /** Passed as `--experimental-watch-progress-notify-interval` (etcd's default is 10 minutes). */
  progressNotifyIntervalMs?: number;
  /** Parent of the temp data dir; default os.tmpdir(). `/dev/shm` makes fsync cheap. */
  dataDirParent?: string;
  /** Health wait bound; default 20 s. */
  startTimeoutMs?: number;
  /** Extra etcd flags. */
  extraArgs?: string[];
}

/**
 * etcd's own default (--max-request-bytes 1.5 MiB) rejects a 1.5 MiB value because the limit
 * covers the whole raft request; raise it so every request the shared validator accepts fits.
 */
const MAX_REQUEST_BYTES = 2 * 1024 * 1024;
/** etcd's default --max-txn-ops is 128; our interface has no such limit. */
const MAX_TXN_OPS = 10_000;

export function etcdBinary(): string | undefined {
  const override = process.env.K8TS_ETCD_BIN;
  const candidates = override ? [override] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'etcd'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function etcdAvailable(): boolean {
  return etcdBinary() !== undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function goArch(): string {
  switch (process.arch) {
    case 'x64': return 'amd64';
    case 'ia32': return '386';
    default: return process.arch;
  }
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of running) c.kill('SIGKILL');
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return false;
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}

export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdServer> {
  const bin = etcdBinary();
  if (!bin) throw new Error('etcd not found on PATH (install it, e.g. `apt-get install etcd-server`, or set K8TS_ETCD_BIN)');
  installExitHook();
  const dataDir = await mkdtemp(join(opts.dataDirParent ?? tmpdir(), 'k8ts-etcd-'));
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name', 'k8ts-test',
    '--data-dir', dataDir,
    '--listen-client-urls', endpoint,
    '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `k8ts-test=${peer}`,
    '--initial-cluster-state', 'new',
    '--max-request-bytes', String(MAX_REQUEST_BYTES),
    '--max-txn-ops', String(MAX_TXN_OPS),
    '--logger', 'zap',
    '--log-level', 'warn',
    ...(opts.progressNotifyIntervalMs !== undefined
      ? ['--experimental-watch-progress-notify-interval', `${opts.progressNotifyIntervalMs}ms`]
      : []),
    ...(opts.extraArgs ?? []),
  ];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (process.arch !== 'x64') env.ETCD_UNSUPPORTED_ARCH = goArch();
  const startTimeoutMs = opts.startTimeoutMs ?? 20_000;

  let child: ChildProcess | undefined;
  let pid = 0;
  let logTail = '';

  const launch = async (): Promise<void> => {
    logTail = '';
    const c = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    pid = c.pid ?? 0;
    running.add(c);
    c.once('exit', () => running.delete(c));
    const keep = (chunk: Buffer) => {
      logTail = (logTail + chunk.toString('utf8')).slice(-8192);
    };
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    let spawnError: Error | undefined;
    c.once('error', (err) => { spawnError = err; });
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (spawnError) throw new Error(`cannot start etcd: ${spawnError.message}`);
      if (c.exitCode !== null || c.signalCode !== null) {
        throw new Error(`etcd exited during startup (${c.exitCode ?? c.signalCode}):\n${logTail}`);
      }
      if (await healthy(endpoint)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    c.kill('SIGKILL');
    await waitExit(c);
    throw new Error(`etcd did not become healthy within ${startTimeoutMs} ms:\n${logTail}`);
  };

  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const c = child;
    if (!c) return;
    if (c.exitCode === null && c.signalCode === null) {
      c.kill(sig);
      if (sig === 'SIGTERM') {
        const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
        await waitExit(c);
        clearTimeout(timer);
      } else {
        await waitExit(c);
      }
    }
    child = undefined;
  };

  try {
    await launch();
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  return {
    endpoint,
    dataDir,
    get pid() { return pid; },
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    restart: async () => {
      await signal('SIGTERM');
      await launch();
    },
    cleanup: async () => {
      await signal('SIGTERM');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
