// An event recorder like client-go's record.EventRecorder: core/v1 Events about objects, written
// in the background one at a time. A repeat of the same (object, type, reason, message) from the
// same source is not a new Event: the existing one gets count+1 and a new lastTimestamp (a
// strategic-merge patch), as upstream's EventCorrelator does. Per object, a token bucket (burst
// 25, one more every 5 minutes) drops event storms, also as upstream.
import { nowRfc3339, type KubeObject } from '../../api/object.ts';
import { StatusError } from '../../api/status.ts';
import type { KubeClient } from '../../client/kube-client.ts';
import { Resources } from '../../client/resources.ts';
import { errorMessage, stderrLogger, type Logger } from './log.ts';

export type EventType = 'Normal' | 'Warning';

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface CoreEvent extends KubeObject {
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  source: { component: string; host?: string };
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  type: EventType;
  eventTime: null;
  reportingComponent: string;
  reportingInstance: string;
}

export interface EventRecorderOptions {
  /** source.component and reportingComponent, e.g. `deployment-controller`. */
  component: string;
  /** source.host and reportingInstance (a node name for the agent); default ''. */
  host?: string;
  logger?: Logger;
  /** Distinct events remembered for aggregation; default 4096. */
  cacheSize?: number;
  /** Per-object spam filter: burst and refill interval (default 25 and 300 s). */
  spamBurst?: number;
  spamRefillMs?: number;
  /** Events waiting to be written beyond this are dropped; default 1000. */
  maxQueued?: number;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

/** The reference to `obj` that an Event's involvedObject carries. */
export function referenceOf(obj: KubeObject, fieldPath?: string): ObjectReference {
  const m = obj.metadata ?? {};
  const ref: ObjectReference = { kind: obj.kind, namespace: m.namespace, name: m.name, uid: m.uid, apiVersion: obj.apiVersion, resourceVersion: m.resourceVersion };
  if (fieldPath) ref.fieldPath = fieldPath;
  for (const k of Object.keys(ref) as Array<keyof ObjectReference>) if (ref[k] === undefined || ref[k] === '') delete ref[k];
  return ref;
}

let lastNanos = 0n;

/** Unix nanoseconds, strictly increasing within this process (Event names must not collide). */
function uniqueNanos(): bigint {
  let n = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  if (n <= lastNanos) n = lastNanos + 1n;
  lastNanos = n;
  return n;
}

/** printf-style %s %d %v %q, as Go's fmt for the common verbs. */
export function sprintf(format: string, ...args: unknown[]): string {
  let i = 0;
  return format.replace(/%[sdvq%]/g, (v) => {
    if (v === '%%') return '%';
    const a = args[i++];
    if (v === '%q') return JSON.stringify(String(a));
    return typeof a === 'object' && a !== null ? JSON.stringify(a) : String(a);
  });
}

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly component: string;
  private readonly host: string;
  private readonly log: Logger;
  private readonly cacheSize: number;
  private readonly spamBurst: number;
  private readonly spamRefillMs: number;
  private readonly maxQueued: number;
  /** Aggregation cache, in LRU order (Map iteration order, refreshed on use). */
  private readonly seen = new Map<string, Seen>();
  private readonly buckets = new Map<string, { tokens: number; last: number }>();
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private dropped = 0;
  private dropLoggedAt = 0;
  private closed = false;

  constructor(client: KubeClient, opts: EventRecorderOptions) {
    this.client = client;
    this.component = opts.component;
    this.host = opts.host ?? '';
    this.log = opts.logger ?? stderrLogger(`events ${opts.component}`);
    this.cacheSize = opts.cacheSize ?? 4096;
    this.spamBurst = opts.spamBurst ?? 25;
    this.spamRefillMs = opts.spamRefillMs ?? 300_000;
    this.maxQueued = opts.maxQueued ?? 1000;
  }

  /** Records an event about `obj` (which needs apiVersion, kind and metadata.name); never throws. */
  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    if (this.closed) return;
    const ref = referenceOf(obj);
    if (!ref.name) {
      this.log.warn(`event ${reason} dropped: the object has no name`);
      return;
    }
    if (!this.allow(ref)) return;
    if (this.queued >= this.maxQueued) {
      // One line per 10 s at most: a burst drops thousands.
      this.dropped++;
      const now = Date.now();
      if (now - this.dropLoggedAt >= 10_000) {
        this.log.warn(`${this.dropped} event(s) dropped (the latest: ${reason} about ${ref.kind}/${ref.name}): ${this.queued} events queued`);
        this.dropped = 0;
        this.dropLoggedAt = now;
      }
      return;
    }
    this.queued++;
    const now = nowRfc3339();
    this.tail = this.tail
      .then(() => this.write(ref, type, reason, message, now))
      .catch((err) => this.log.error(`event ${reason}: ${errorMessage(err)}`))
      .finally(() => this.queued--);
  }

  eventf(obj: KubeObject, type: EventType, reason: string, format: string, ...args: unknown[]): void {
    this.event(obj, type, reason, sprintf(format, ...args));
  }

  /** Resolves when every event recorded so far has been written (or given up). */
  flush(): Promise<void> {
    return this.tail;
  }

  /** Stops taking events; resolves when those queued are written. */
  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
  }

  private allow(ref: ObjectReference): boolean {
    const key = JSON.stringify([this.component, this.host, ref.kind, ref.namespace, ref.name, ref.uid, ref.apiVersion]);
    const now = Date.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.cacheSize) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.spamBurst, last: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.spamBurst, b.tokens + (now - b.last) / this.spamRefillMs);
    b.last = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private async write(ref: ObjectReference, type: EventType, reason: string, message: string, now: string): Promise<void> {
    const key = JSON.stringify([this.component, this.host, ref.kind, ref.namespace, ref.name, ref.fieldPath, ref.uid, ref.apiVersion, type, reason, message]);
    const namespace = ref.namespace || 'default';
    const prev = this.seen.get(key);
    if (prev) {
      this.seen.delete(key);
      this.seen.set(key, prev);
      const count = prev.count + 1;
      try {
        await this.retry(() => this.client.patch(Resources.events, prev.namespace, prev.name, 'strategic', { count, lastTimestamp: now, message }));
        prev.count = count;
        return;
      } catch (err) {
        if (!(err instanceof StatusError && err.code === 404)) {
          this.log.warn(`updating event ${prev.namespace}/${prev.name}: ${errorMessage(err)}`);
          return;
        }
        // The Event expired or was deleted: record it anew, keeping the count.
        this.seen.delete(key);
        await this.create(key, ref, namespace, type, reason, message, prev.firstTimestamp, now, count);
        return;
      }
    }
    await this.create(key, ref, namespace, type, reason, message, now, now, 1);
  }

  private async create(key: string, ref: ObjectReference, namespace: string, type: EventType, reason: string, message: string, first: string, last: string, count: number): Promise<void> {
    const name = `${ref.name}.${uniqueNanos().toString(16)}`;
    const ev: CoreEvent = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: ref,
      reason,
      message,
      source: this.host ? { component: this.component, host: this.host } : { component: this.component },
      firstTimestamp: first,
      lastTimestamp: last,
      count,
      type,
      eventTime: null,
      reportingComponent: this.component,
      reportingInstance: this.host,
    };
    try {
      await this.retry(() => this.client.create(Resources.events, namespace, ev));
    } catch (err) {
      this.log.warn(`creating event ${namespace}/${name} (${reason}): ${errorMessage(err)}`);
      return;
    }
    if (this.seen.size >= this.cacheSize) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, { name, namespace, count, firstTimestamp: first });
  }

  /** Retries what failed for want of a connection (not what the server refused): 3 tries, 1 s apart. */
  private async retry<R>(fn: () => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof StatusError || attempt >= 3 || this.closed) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}
