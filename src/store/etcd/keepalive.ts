// One shared LeaseKeepAlive stream: each request gets the next response carrying its lease ID.
import { UnavailableError } from '../errors.ts';
import type { Duplex } from './rpc.ts';
import type { WireLeaseIdRequest, WireLeaseKeepAliveResponse } from './wire.ts';

interface Waiter {
  resolve(ttl: number): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class KeepAliveStream {
  readonly #call: Duplex<WireLeaseIdRequest, WireLeaseKeepAliveResponse>;
  readonly #waiters = new Map<number, Waiter[]>();
  readonly #timeoutMs: number;
  readonly #onDead: (s: KeepAliveStream) => void;
  #dead = false;

  constructor(call: Duplex<WireLeaseIdRequest, WireLeaseKeepAliveResponse>, timeoutMs: number, onDead: (s: KeepAliveStream) => void) {
    this.#call = call;
    this.#timeoutMs = timeoutMs;
    this.#onDead = onDead;
    call.on('data', (res: WireLeaseKeepAliveResponse) => this.#onResponse(res));
    call.on('error', (err: Error) => this.fail(new UnavailableError(`etcd lease keepalive stream failed: ${(err as { details?: string }).details ?? err.message}`)));
    call.on('end', () => this.fail(new UnavailableError('etcd closed the lease keepalive stream')));
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** Renews lease `id` once; resolves with etcd's answer: the TTL, or ≤ 0 when the lease is gone. */
  keepAlive(id: number): Promise<number> {
    if (this.#dead) return Promise.reject(new UnavailableError('etcd lease keepalive stream is closed'));
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#remove(id, waiter);
          reject(new UnavailableError(`etcd did not answer the keepalive of lease ${id} within ${this.#timeoutMs} ms`));
        }, this.#timeoutMs),
      };
      const list = this.#waiters.get(id);
      if (list) list.push(waiter);
      else this.#waiters.set(id, [waiter]);
      this.#call.write({ ID: id });
    });
  }

  fail(err: Error): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#onDead(this);
    const all = [...this.#waiters.values()].flat();
    this.#waiters.clear();
    for (const w of all) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.#call.removeAllListeners('data');
    this.#call.on('error', () => {});
    this.#call.cancel();
  }

  #remove(id: number, waiter: Waiter): void {
    const list = this.#waiters.get(id);
    if (!list) return;
    const i = list.indexOf(waiter);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#waiters.delete(id);
  }

  #onResponse(res: WireLeaseKeepAliveResponse): void {
    const list = this.#waiters.get(res.ID);
    const w = list?.shift();
    if (!w) return;
    if (list!.length === 0) this.#waiters.delete(res.ID);
    clearTimeout(w.timer);
    w.resolve(res.TTL);
  }
}
