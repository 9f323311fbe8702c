// Allocation of unique values (service cluster IPs, node ports) by claiming one storage key per
// value: a create-if-absent txn makes two concurrent allocations of the same value impossible.
import type { Store } from '../../store/types.ts';

export class KeyAllocator {
  private readonly store: Store;
  private readonly prefix: string;

  constructor(store: Store, prefix: string) {
    this.store = store;
    this.prefix = prefix;
  }

  /** Claims `value`; false when someone holds it. */
  async claim(value: string, owner: string): Promise<boolean> {
    const key = this.prefix + value;
    const r = await this.store.txn({ compare: [{ key, target: 'version', result: '=', value: 0 }], success: [{ type: 'put', key, value: Buffer.from(owner) }] });
    return r.succeeded;
  }

  async isFree(value: string): Promise<boolean> {
    return (await this.store.range(this.prefix + value, { countOnly: true })).count === 0;
  }

  async release(value: string): Promise<void> {
    await this.store.delete(this.prefix + value);
  }

  /** Claims a random free value from `candidates()` (bounded attempts, then a scan). */
  async claimAny(random: () => string, all: () => Iterable<string>, owner: string): Promise<string | undefined> {
    for (let i = 0; i < 64; i++) {
      const v = random();
      if (await this.claim(v, owner)) return v;
    }
    for (const v of all()) if (await this.claim(v, owner)) return v;
    return undefined;
  }
}

export function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function numberToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}
