// resource.Quantity as quota arithmetic needs it: an exact value (nano-units, parsed by
// parse.ts) plus the format it prints in, added and printed as upstream does. A sum keeps
// the format of its left side unless that side is zero (then it takes the right side's), and
// String() is canonical: DecimalSI "1500m" / "2" / "1500k", BinarySI "1536Mi" (falling back to
// DecimalSI below 1024 or when not whole), DecimalExponent "1e3".
import { parseQuantity } from './parse.ts';

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** The value in nano-units (1n = 1e-9). */
  nano: bigint;
  format: QuantityFormat;
}

/** A resource name → quantity map (corev1.ResourceList). */
export type ResourceList = Record<string, Quantity>;

const EXPONENT_RE = /[eE][+-]?[0-9]+$/;
const BINARY_RE = /(Ki|Mi|Gi|Ti|Pi|Ei)$/;

/** Parses a quantity string (throws QuantityError on bad syntax). */
export function parseQ(s: string | number): Quantity {
  const str = String(s).trim();
  const format: QuantityFormat = BINARY_RE.test(str) ? 'BinarySI' : EXPONENT_RE.test(str) ? 'DecimalExponent' : 'DecimalSI';
  return { nano: parseQuantity(str), format };
}

/** resource.NewQuantity(n, DecimalSI). */
export function count(n: number | bigint): Quantity {
  return { nano: BigInt(n) * 1_000_000_000n, format: 'DecimalSI' };
}

export const zero = (): Quantity => ({ nano: 0n, format: 'DecimalSI' });

export function addQ(a: Quantity, b: Quantity): Quantity {
  return { nano: a.nano + b.nano, format: a.nano === 0n ? b.format : a.format };
}

export function subQ(a: Quantity, b: Quantity): Quantity {
  return { nano: a.nano - b.nano, format: a.nano === 0n ? b.format : a.format };
}

const DECIMAL_SUFFIX: Record<number, string> = { [-9]: 'n', [-6]: 'u', [-3]: 'm', 0: '', 3: 'k', 6: 'M', 9: 'G', 12: 'T', 15: 'P', 18: 'E' };
const BINARY_SUFFIX = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/** Quantity.String(): the canonical form. */
export function formatQ(q: Quantity): string {
  if (q.nano === 0n) return '0';
  const neg = q.nano < 0n;
  const abs = neg ? -q.nano : q.nano;
  const sign = neg ? '-' : '';
  let format = q.format;
  if (format === 'BinarySI' && (abs < 1024n * 1_000_000_000n || abs % 1_000_000_000n !== 0n)) format = 'DecimalSI';
  if (format === 'BinarySI') {
    let v = abs / 1_000_000_000n;
    let e = 0;
    while (e < 6 && v % 1024n === 0n) {
      v /= 1024n;
      e++;
    }
    return `${sign}${v}${BINARY_SUFFIX[e]}`;
  }
  // Decimal: strip factors of ten, then step the exponent down to a multiple of three.
  let m = abs;
  let e = -9;
  while (m % 10n === 0n) {
    m /= 10n;
    e++;
  }
  const r = ((e % 3) + 3) % 3;
  if (r !== 0) {
    m *= 10n ** BigInt(r);
    e -= r;
  }
  if (format === 'DecimalExponent') return `${sign}${m}${e === 0 ? '' : `e${e}`}`;
  while (e > 18) {
    m *= 1000n;
    e -= 3;
  }
  return `${sign}${m}${DECIMAL_SUFFIX[e]}`;
}

/** Sums two lists (quota.Add). */
export function addList(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(a)) out[k] = b[k] ? addQ(v, b[k]) : { ...v };
  for (const [k, v] of Object.entries(b)) if (!out[k]) out[k] = { ...v };
  return out;
}

/** Only the named resources (quota.Mask). */
export function maskList(a: ResourceList, names: Iterable<string>): ResourceList {
  const out: ResourceList = {};
  for (const n of names) if (a[n]) out[n] = a[n];
  return out;
}

/** A list from an object's string map; unparsable values are left out. */
export function parseList(m: Record<string, unknown> | undefined): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(m ?? {})) {
    if (typeof v !== 'string' && typeof v !== 'number') continue;
    try {
      out[k] = parseQ(v);
    } catch {
      // invalid quantities were refused by validation; skip what slipped through
    }
  }
  return out;
}

/** The canonical string map of a list. */
export function formatList(a: ResourceList): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(a).sort()) out[k] = formatQ(a[k]);
  return out;
}

/** `a=1,b=2` sorted by name, as the quota admission messages print lists. */
export function prettyPrint(a: ResourceList): string {
  return Object.keys(a)
    .sort()
    .map((k) => `${k}=${formatQ(a[k])}`)
    .join(',');
}

export function equalLists(a: ResourceList, b: ResourceList): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] !== undefined && b[k].nano === a[k].nano);
}
