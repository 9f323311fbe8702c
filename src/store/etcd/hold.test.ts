// The etcd backend's heartbeat hold: heartbeats wait for the hold or for the next other write,
// whichever comes first, and a hold of 0 lets them go at once.
import { describe, expect, it } from 'vitest';
import { HeartbeatHold } from './hold.ts';
import { sleep } from '../testing/suite/helpers.ts';

describe('HeartbeatHold', () => {
  it('held heartbeats go together when the hold ends', async () => {
    const hold = new HeartbeatHold(300);
    const gone: number[] = [];
    const waits = [0, 1, 2].map((i) => hold.wait().then(() => gone.push(i)));
    await sleep(50);
    expect(gone).toEqual([]);
    await Promise.all(waits);
    expect(gone).toEqual([0, 1, 2]);
  });

  it('another write lets every held heartbeat go at once', async () => {
    const hold = new HeartbeatHold(60_000);
    let gone = 0;
    const waits = [hold.wait(), hold.wait()].map((p) => p.then(() => gone++));
    await sleep(50);
    expect(gone).toBe(0);
    hold.release();
    await Promise.all(waits);
    expect(gone).toBe(2);
    // The next heartbeat waits again.
    let next = false;
    const later = hold.wait().then(() => (next = true));
    await sleep(50);
    expect(next).toBe(false);
    hold.release();
    await later;
  });

  it('a hold of 0 never holds', async () => {
    const hold = new HeartbeatHold(0);
    let gone = false;
    await hold.wait().then(() => (gone = true));
    expect(gone).toBe(true);
  });
});
