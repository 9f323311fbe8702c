// resource.Quantity parsing: "100m", "0.5", "128Mi", "1e3", "500M", "1k", ".5Gi".
//
// A quantity is a signed decimal number followed by one suffix: a binary SI suffix
// (Ki Mi Gi Ti Pi Ei, powers of 1024), a decimal SI suffix (n u m "" k M G T P E) or a
// decimal exponent (e3, E-2). Values are kept exactly as BigInt nano-units, rounding any finer
// precision up (away from zero) to 1n the way upstream does, so sums of container requests are
// exact. `milliValue` and `value` round up like Quantity.MilliValue() / Quantity.Value().

const QUANTITY_RE = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?[0-9]+))?$/;

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, bigint> = { Ki: 10n, Mi: 20n, Gi: 30n, Ti: 40n, Pi: 50n, Ei: 60n };

export class QuantityError extends Error {}

const cache = new Map<string, bigint>();

/** Parses a quantity into nano-units (1 = 1e-9). Throws QuantityError on bad syntax. */
export function parseQuantity(input: string | number): bigint {
  const s = typeof input === 'number' ? String(input) : input;
  const hit = cache.get(s);
  if (hit !== undefined) return hit;
  const v = parseUncached(s);
  if (cache.size > 10_000) cache.clear();
  cache.set(s, v);
  return v;
}

function parseUncached(s: string): bigint {
  const m = QUANTITY_RE.exec(s);
  if (!m || (m[2] === '' && (m[3] === undefined || m[3] === ''))) {
    throw new QuantityError(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
  }
  const [, sign, whole, frac = '', suffix, exp] = m;
  let mantissa = BigInt((whole || '0') + frac);
  let exp10 = 9 - frac.length; // nano-units
  let binShift = 0n;
  if (suffix !== undefined) {
    if (suffix in BINARY_SUFFIX) binShift = BINARY_SUFFIX[suffix];
    else exp10 += DECIMAL_SUFFIX[suffix];
  } else if (exp !== undefined) {
    exp10 += Number(exp);
  }
  mantissa <<= binShift;
  let nano: bigint;
  if (exp10 >= 0) nano = mantissa * 10n ** BigInt(exp10);
  else {
    const d = 10n ** BigInt(-exp10);
    nano = (mantissa + d - 1n) / d; // round up to the nearest nano
  }
  return sign === '-' ? -nano : nano;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return a >= 0n ? (a + b - 1n) / b : -(-a / b);
}

/** Quantity.MilliValue(): thousandths, rounded up. */
export function milliValue(nano: bigint): number {
  return Number(ceilDiv(nano, 1_000_000n));
}

/** Quantity.Value(): whole units, rounded up. */
export function value(nano: bigint): number {
  return Number(ceilDiv(nano, 1_000_000_000n));
}

/** CPU in millicores ("100m" → 100, "0.5" → 500, "2" → 2000). */
export function parseCPU(s: string | number): number {
  return milliValue(parseQuantity(s));
}

/** Memory (or any integral resource) in whole units ("128Mi" → 134217728, "1e3" → 1000). */
export function parseMemory(s: string | number): number {
  return value(parseQuantity(s));
}
