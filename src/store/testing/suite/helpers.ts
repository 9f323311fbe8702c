// Helpers shared by the behaviour suite's topic modules: bytes ↔ strings, plain (comparable) views
// of kvs and watch events, a seeded PRNG, polling, expected rejections, and a watch collector.
import { expect } from 'vitest';
import type { KeyValue, WatchEvent, WatchHandler } from '../../types.ts';

export const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8');
export const dec = (v: Uint8Array): string => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');

export interface PlainKv {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

export function plain(kv: KeyValue): PlainKv {
  return { key: kv.key, value: dec(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version, lease: kv.lease };
}

export interface PlainEvent {
  type: 'put' | 'delete';
  key: string;
  value: string;
  modRevision: number;
  createRevision: number;
  version: number;
}

export function plainEvent(ev: WatchEvent): PlainEvent {
  return { type: ev.type, key: ev.kv.key, value: dec(ev.kv.value), modRevision: ev.kv.modRevision, createRevision: ev.kv.createRevision, version: ev.kv.version };
}

/** Deterministic PRNG (mulberry32) so that a failing history can be reproduced. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function poll<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Awaits a promise that must reject with an error of class `cls`; returns the error. */
export async function rejection<T extends Error>(p: Promise<unknown>, cls: abstract new (...args: never[]) => T): Promise<T> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`expected a rejection with ${cls.name}, but the call succeeded`);
  expect(err, `expected ${cls.name}, got ${String(err)}`).toBeInstanceOf(cls);
  return err as T;
}

/** Collects what a watch delivers. */
export class Collector implements WatchHandler {
  readonly deliveries: Array<{ events: WatchEvent[]; revision: number }> = [];
  readonly events: WatchEvent[] = [];
  readonly progress: number[] = [];
  readonly errors: Error[] = [];
  /** Events (by revision) and progress notifications in the order they were delivered. */
  readonly timeline: Array<{ kind: 'event' | 'progress'; revision: number }> = [];

  onEvents(events: WatchEvent[], revision: number): void {
    this.deliveries.push({ events, revision });
    for (const ev of events) {
      this.events.push(ev);
      this.timeline.push({ kind: 'event', revision: ev.kv.modRevision });
    }
  }

  onProgress(revision: number): void {
    this.progress.push(revision);
    this.timeline.push({ kind: 'progress', revision });
  }

  /** A progress notification at r promises that every event up to r was delivered before it. */
  checkProgressConsistent(): void {
    let lastEvent = 0;
    let lastProgress = 0;
    for (const t of this.timeline) {
      if (t.kind === 'event') {
        expect(t.revision, `event at ${t.revision} after progress at ${lastProgress}`).toBeGreaterThan(lastProgress);
        lastEvent = t.revision;
      } else {
        expect(t.revision, `progress at ${t.revision} after event at ${lastEvent}`).toBeGreaterThanOrEqual(lastEvent);
        expect(t.revision, 'progress never goes backwards').toBeGreaterThanOrEqual(lastProgress);
        lastProgress = t.revision;
      }
    }
  }

  onError(err: Error): void {
    this.errors.push(err);
  }

  get lastEventRevision(): number {
    return this.events.length > 0 ? this.events[this.events.length - 1].kv.modRevision : 0;
  }

  /** Waits until an event at revision `rev` or later has been delivered. */
  async waitForRevision(rev: number, timeoutMs = 5000): Promise<void> {
    await poll(`a watch event at revision ${rev} (last seen ${this.lastEventRevision}, errors: ${this.errors.map(String).join('; ') || 'none'})`, () => this.lastEventRevision >= rev, timeoutMs);
  }

  async waitForCount(n: number, timeoutMs = 5000): Promise<void> {
    await poll(`${n} watch events (have ${this.events.length}, errors: ${this.errors.map(String).join('; ') || 'none'})`, () => this.events.length >= n, timeoutMs);
  }

  /** Events are in revision order, and no revision is split over or repeated in two deliveries. */
  checkOrdered(): void {
    let last = 0;
    for (const d of this.deliveries) {
      expect(d.events.length, 'a delivery carries at least one event').toBeGreaterThan(0);
      const first = d.events[0].kv.modRevision;
      expect(first, `delivery starting at revision ${first} follows one ending at ${last}`).toBeGreaterThan(last);
      for (let i = 1; i < d.events.length; i++) expect(d.events[i].kv.modRevision).toBeGreaterThanOrEqual(d.events[i - 1].kv.modRevision);
      last = d.events[d.events.length - 1].kv.modRevision;
      expect(d.revision, 'a delivery header revision is at least its last event revision').toBeGreaterThanOrEqual(last);
    }
  }
}
