import { AnalyticsInputError } from "./errors.ts";

/**
 * Money in analytics is integer nano-USD held as bigint: ClickHouse returns 64-bit sums as JSON
 * strings, and sums over millions of calls can pass 2^53 nano-USD ($9M), so nothing goes through
 * a float until it is printed.
 */
export type Nano = bigint;

export const NANO_PER_USD = 1_000_000_000n;

/** A ClickHouse 64-bit integer as JSON (a string, or a number for small types) → bigint. */
export function toNano(v: string | number | bigint | null | undefined): Nano {
  if (v === null || v === undefined || v === "") return 0n;
  if (typeof v === "bigint") return v;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new RangeError(`not an integer amount: ${v}`);
    return BigInt(v);
  }
  return BigInt(v);
}

/** "$1,234.5678": exact decimal text from nano-USD, rounded half away from zero. */
export function formatUsd(nano: Nano, digits = 2): string {
  const neg = nano < 0n;
  const abs = neg ? -nano : nano;
  const scale = 10n ** BigInt(9 - digits);
  const rounded = (abs + scale / 2n) / scale;
  const s = rounded.toString().padStart(digits + 1, "0");
  const whole = s.slice(0, s.length - digits).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const frac = digits > 0 ? `.${s.slice(-digits)}` : "";
  return `${neg && rounded !== 0n ? "-" : ""}$${whole}${frac}`;
}

/** Plain decimal USD text for machine output (JSON, CSV): "-12.345678901". */
export function usdDecimal(nano: Nano): string {
  const neg = nano < 0n;
  const abs = neg ? -nano : nano;
  const whole = abs / NANO_PER_USD;
  const frac = (abs % NANO_PER_USD).toString().padStart(9, "0");
  return `${neg ? "-" : ""}${whole}.${frac}`;
}

/** "2000" or "1999.99" or 2000 (USD) → nano-USD, refusing anything it cannot represent exactly. */
export function parseUsd(value: string | number): Nano {
  const text = typeof value === "number" ? String(value) : value.trim();
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) throw new AnalyticsInputError(`invalid USD amount ${JSON.stringify(value)}: expected a non-negative decimal with at most 9 decimals`);
  return BigInt(m[1]!) * NANO_PER_USD + BigInt((m[2] ?? "").padEnd(9, "0"));
}

/** part / whole as a number (for ratios and percentages only, never for money). */
export function ratio(part: Nano, whole: Nano): number | null {
  if (whole === 0n) return null;
  // Scale before dividing so the ratio keeps 6 significant decimals without a float sum.
  return Number((part * 1_000_000n) / whole) / 1_000_000;
}

export function formatPct(r: number | null, digits = 1): string {
  return r === null ? "-" : `${(r * 100).toFixed(digits)}%`;
}

/** Split `total` over `weights` proportionally, exactly: the parts add up to total (largest remainder). */
export function apportion(total: Nano, weights: readonly Nano[]): Nano[] {
  const sum = weights.reduce((a, b) => a + b, 0n);
  if (sum <= 0n) return weights.map((_, i) => (i === 0 ? total : 0n));
  const neg = total < 0n;
  const abs = neg ? -total : total;
  const parts = weights.map((w) => (abs * w) / sum);
  const rema = weights.map((w, i) => ({ i, r: (abs * w) % sum }));
  let left = abs - parts.reduce((a, b) => a + b, 0n);
  rema.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of rema) {
    if (left <= 0n) break;
    parts[i] = parts[i]! + 1n;
    left -= 1n;
  }
  return neg ? parts.map((p) => -p) : parts;
}
