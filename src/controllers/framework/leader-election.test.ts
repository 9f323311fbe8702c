// Leader election between two candidates on a real Lease in an in-process k8ts: one leads; when
// it stops (releasing the Lease, or vanishing without release) the other takes over, within the
// lease duration. Durations are shortened so the whole file runs in a few seconds.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Resources } from '../../client/resources.ts';
import { startInProcess, type InProcessServer } from '../../client/testing/in-process.ts';
import { LeaderElector, type Lease } from './leader-election.ts';
import { silentLogger } from './log.ts';

let env: InProcessServer;

beforeAll(async () => {
  env = await startInProcess();
});

afterAll(async () => {
  await env?.stop();
});

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
}

const FAST = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 };

// Each attempt of a test (vitest retries a failed one) gets Leases of its own, and no elector of
// a failed attempt keeps renewing into the next.
let attempt = 0;
const electors: LeaderElector[] = [];
const leaseName = (base: string) => `${base}-${attempt}`;
beforeEach(() => {
  attempt++;
});
afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
});

function candidate(name: string, identity: string, opts: { releaseOnCancel?: boolean } = {}) {
  const log: string[] = [];
  let signal: AbortSignal | undefined;
  const elector = new LeaderElector({
    client: env.client(),
    name: leaseName(name),
    identity,
    ...FAST,
    ...opts,
    logger: silentLogger,
    callbacks: {
      onStartedLeading: (s) => {
        signal = s;
        log.push('started');
      },
      onStoppedLeading: () => log.push('stopped'),
      onNewLeader: (id) => log.push(`leader:${id}`),
    },
  });
  electors.push(elector);
  return { elector, log, signal: () => signal };
}

describe('LeaderElector', () => {
  it('elects one of two candidates; the other takes over when the leader stops and releases', async () => {
    const a = candidate('lease-release', 'a');
    const b = candidate('lease-release', 'b');
    const runA = a.elector.run();
    await until('a to lead', () => a.elector.isLeader(), 5000);
    const runB = b.elector.run();
    // b sees a as leader and stays a candidate through several retry periods.
    await new Promise((r) => setTimeout(r, 3 * FAST.retryPeriodMs));
    expect(b.elector.isLeader()).toBe(false);
    expect(b.elector.getLeader()).toBe('a');
    expect(b.log).toContain('leader:a');

    const lease = await env.client().get<Lease>(Resources.leases, 'kube-system', leaseName('lease-release'));
    expect(lease.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(lease.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    // a keeps renewing.
    let renewed = lease;
    for (const end = Date.now() + 20 * FAST.retryPeriodMs; String(renewed.spec?.renewTime) <= String(lease.spec?.renewTime) && Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, FAST.retryPeriodMs));
      renewed = await env.client().get<Lease>(Resources.leases, 'kube-system', leaseName('lease-release'));
    }
    expect(String(renewed.spec?.renewTime) > String(lease.spec?.renewTime)).toBe(true);
    expect(renewed.spec?.acquireTime).toBe(lease.spec?.acquireTime);

    await a.elector.stop();
    await runA;
    expect(a.log).toEqual(['leader:a', 'started', 'stopped']);
    expect(a.signal()?.aborted).toBe(true);
    const tookMs = await until('b to lead', () => b.elector.isLeader(), FAST.leaseDurationMs + 1000);
    // Released: b need not wait out the lease, only its retry period.
    expect(tookMs).toBeLessThan(FAST.leaseDurationMs);
    const after = await env.client().get<Lease>(Resources.leases, 'kube-system', leaseName('lease-release'));
    expect(after.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.elector.stop();
    await runB;
    const released = await env.client().get<Lease>(Resources.leases, 'kube-system', leaseName('lease-release'));
    expect(released.spec?.holderIdentity ?? '').toBe('');
  });

  it('takes over from a leader that vanished without releasing, once the lease duration has passed', async () => {
    const a = candidate('lease-crash', 'a', { releaseOnCancel: false });
    const b = candidate('lease-crash', 'b');
    const runA = a.elector.run();
    await until('a to lead', () => a.elector.isLeader(), 5000);
    const runB = b.elector.run();
    await new Promise((r) => setTimeout(r, 2 * FAST.retryPeriodMs));
    await a.elector.stop(); // stops renewing; the Lease still names a
    await runA;
    const held = await env.client().get<Lease>(Resources.leases, 'kube-system', leaseName('lease-crash'));
    expect(held.spec?.holderIdentity).toBe('a');
    const start = Date.now();
    await until('b to lead', () => b.elector.isLeader(), FAST.leaseDurationMs + 2000);
    // Not before the lease ran out, counted from a's last renewal (same clock: one process) ...
    expect(Date.now() - Date.parse(String(held.spec?.renewTime))).toBeGreaterThanOrEqual(FAST.leaseDurationMs);
    // ... and soon after.
    expect(Date.now() - start).toBeLessThan(FAST.leaseDurationMs + 2 * FAST.retryPeriodMs + 500);
    const after = await env.client().get<Lease>(Resources.leases, 'kube-system', leaseName('lease-crash'));
    expect(after.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.elector.stop();
    await runB;
  });

  it('gives leadership up when it cannot renew within the renew deadline', async () => {
    const a = candidate('lease-lost', 'a');
    const runA = a.elector.run();
    await until('a to lead', () => a.elector.isLeader(), 5000);
    // Someone else overwrites the Lease with a fresh holder; a's renewals now fail.
    // A merge patch (no resourceVersion): a's renewals in between cannot make it conflict.
    const now = new Date().toISOString().replace('Z', '000Z');
    await env.client().patch(Resources.leases, 'kube-system', leaseName('lease-lost'), 'merge', { spec: { holderIdentity: 'intruder', renewTime: now, leaseDurationSeconds: 30 } });
    await until('a to lose', () => !a.elector.isLeader(), FAST.renewDeadlineMs + 2 * FAST.retryPeriodMs + 1000);
    await runA; // run() returns once leadership is lost
    expect(a.log.slice(-1)).toEqual(['stopped']);
    expect(a.signal()?.aborted).toBe(true);
    const after = await env.client().get<Lease>(Resources.leases, 'kube-system', leaseName('lease-lost'));
    expect(after.spec?.holderIdentity).toBe('intruder');
  });

  it('renews with one write per retry period, and reads again after a failed write', async () => {
    const client = env.client();
    const calls: string[] = [];
    const request = client.request.bind(client);
    client.request = ((method: string, ...rest: Parameters<typeof request> extends [string, ...infer R] ? R : never) => {
      calls.push(method);
      return request(method, ...rest);
    }) as typeof client.request;
    const elector = new LeaderElector({ client, name: leaseName('lease-fast'), identity: 'a', ...FAST, logger: silentLogger, callbacks: { onStartedLeading: () => undefined } });
    electors.push(elector);
    const run = elector.run();
    await until('a to lead', () => elector.isLeader(), 5000);
    calls.length = 0;
    const tookMs = await until('four renewals', () => calls.length >= 4, 20 * FAST.retryPeriodMs);
    // client-go's fast path: the leader updates the Lease it last wrote, without a GET first,
    // and no more often than once per retry period.
    expect(new Set(calls)).toEqual(new Set(['PUT']));
    expect(calls.length).toBeLessThanOrEqual(Math.ceil(tookMs / FAST.retryPeriodMs) + 1);
    // Another writer bumps the resourceVersion (same holder; a merge patch, which no renewal can
    // make conflict): the optimistic PUT conflicts, the elector reads the Lease and renews it,
    // and stays leader.
    calls.length = 0;
    await env.client().patch(Resources.leases, 'kube-system', leaseName('lease-fast'), 'merge', { metadata: { labels: { touched: 'yes' } } });
    await until('a conflict, a read and a renewal', () => /PUT,GET,PUT/.test(calls.join(',')), 20 * FAST.retryPeriodMs);
    expect(elector.isLeader()).toBe(true);
    const after = await env.client().get<Lease>(Resources.leases, 'kube-system', leaseName('lease-fast'));
    expect(after.metadata?.labels).toEqual({ touched: 'yes' });
    expect(after.spec?.holderIdentity).toBe('a');
    await elector.stop();
    await run;
  });

  it('checks its durations', () => {
    const client = env.client();
    const callbacks = { onStartedLeading: () => undefined };
    expect(() => new LeaderElector({ client, name: 'x', identity: 'i', leaseDurationMs: 1000, renewDeadlineMs: 1000, callbacks })).toThrow(/leaseDuration/);
    expect(() => new LeaderElector({ client, name: 'x', identity: 'i', renewDeadlineMs: 1000, retryPeriodMs: 1000, callbacks })).toThrow(/renewDeadline/);
    expect(() => new LeaderElector({ client, name: 'x', identity: '', callbacks })).toThrow(/identity/);
  });
});
