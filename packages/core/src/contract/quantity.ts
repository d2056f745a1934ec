/**
 * Kubernetes `resource.Quantity` parsing and comparison (the grammar of k8s.io/apimachinery), exact:
 * values are kept as a BigInt numerator over a power-of-ten denominator, so `1.5Gi` and `500m` compare
 * without rounding.
 *
 *   quantity ::= signedNumber suffix
 *   number   ::= digits | digits.digits | digits. | .digits
 *   suffix   ::= Ki | Mi | Gi | Ti | Pi | Ei | m | "" | k | M | G | T | P | E | (e|E) signedInteger
 */
export interface Quantity {
  /** The text as given. */
  readonly text: string;
  /** value = numerator / 10^scale */
  readonly numerator: bigint;
  readonly scale: number;
}

const QUANTITY_RE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** Parses a quantity, or returns undefined when the text does not follow the grammar. */
export function parseQuantity(text: string): Quantity | undefined {
  const m = QUANTITY_RE.exec(text);
  if (!m) return undefined;
  const sign = m[1] === '-' ? -1n : 1n;
  const num = m[2]!;
  const suffix = m[3] ?? '';
  const [intPart = '', fracPart = ''] = num.split('.');
  let numerator = BigInt((intPart || '0') + fracPart) * sign;
  let scale = fracPart.length;
  if (suffix in BINARY) {
    numerator *= 1n << BigInt(BINARY[suffix]!);
  } else if (suffix in DECIMAL) {
    scale -= DECIMAL[suffix]!;
  } else if (suffix !== '') {
    const exp = Number(suffix.slice(1));
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 1000) return undefined;
    scale -= exp;
  }
  if (scale < 0) {
    numerator *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { text, numerator, scale };
}

/** -1, 0 or 1 as a < b, a = b, a > b. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  const scale = Math.max(a.scale, b.scale);
  const an = a.numerator * 10n ** BigInt(scale - a.scale);
  const bn = b.numerator * 10n ** BigInt(scale - b.scale);
  return an < bn ? -1 : an > bn ? 1 : 0;
}

export function isNegative(q: Quantity): boolean {
  return q.numerator < 0n;
}

export function isWholeNumber(q: Quantity): boolean {
  return q.numerator % 10n ** BigInt(q.scale) === 0n;
}

/** The smallest integer >= the quantity (for cores). */
export function ceilQuantity(q: Quantity): bigint {
  const d = 10n ** BigInt(q.scale);
  const whole = q.numerator / d;
  return q.numerator % d === 0n || q.numerator < 0n ? whole : whole + 1n;
}

/** Value in units of 2^20 bytes, rounded up (Spark's `m` memory unit is MiB). */
export function toMebibytesCeil(q: Quantity): bigint {
  const d = 10n ** BigInt(q.scale) << 20n;
  const whole = q.numerator / d;
  return q.numerator % d === 0n || q.numerator < 0n ? whole : whole + 1n;
}
