import { InvalidPriceError, PricingError } from "./errors.ts";

// Units: prices are quoted in USD per 1e6 tokens and 1 USD = 1e12 pico-USD, so a USD/MTok
// decimal with at most 6 fractional digits is an exact integer number of pico-USD per token
// ($2.50/MTok = 2.5e-6 USD/token = 2_500_000 pico-USD/token). Costs leave this module in
// nano-USD (1e-9 USD), the unit stored in ClickHouse.
const PRICE_DECIMALS = 6;
const PICO_PER_NANO = 1_000n;
const NANO_PER_USD = 1e9;

/** Parses a non-negative decimal into an integer scaled by 10^decimals, refusing to round. */
function parseScaledDecimal(value: string, decimals: number): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(value);
  if (!match) throw new InvalidPriceError(value, 'expected a non-negative decimal such as "2.50"');
  const whole = match[1] ?? "0";
  const fraction = match[2] ?? "";
  if (fraction.replace(/0+$/, "").length > decimals) {
    throw new InvalidPriceError(value, `more than ${decimals} decimal places cannot be represented exactly`);
  }
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.slice(0, decimals).padEnd(decimals, "0"));
}

/** "2.50" (USD per million tokens) → 2_500_000n (pico-USD per token). */
export function parseUsdPerMTok(value: string): bigint {
  return parseScaledDecimal(value, PRICE_DECIMALS);
}

/** A fraction in (0, 1] as parts per million: "0.5" → 500_000n. */
export const PPM = 1_000_000n;
export function parseFractionPpm(value: string): bigint {
  const ppm = parseScaledDecimal(value, 6);
  if (ppm <= 0n || ppm > PPM) throw new InvalidPriceError(value, "expected a fraction in (0, 1]");
  return ppm;
}

/** numerator / denominator rounded half-up; both non-negative. */
export function divRoundHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (numerator < 0n || denominator <= 0n) {
    throw new PricingError(`divRoundHalfUp expects numerator >= 0 and denominator > 0`);
  }
  return (2n * numerator + denominator) / (2n * denominator);
}

/** Pico-USD → nano-USD, rounded half-up: the single rounding step of a breakdown line. */
export function picoToNano(pico: bigint): bigint {
  return divRoundHalfUp(pico, PICO_PER_NANO);
}

/** Crosses from bigint back to number only when the value is exactly representable. */
export function toSafeNumber(value: bigint, what: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} (${value}) exceeds Number.MAX_SAFE_INTEGER`);
  return n;
}

function assertSafeInteger(n: number, what: string): void {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} must be a safe integer, got ${n}`);
}

/** Integer sum of nano-USD amounts; throws rather than return a rounded total. */
export function sumNanoUsd(values: readonly number[]): number {
  let total = 0n;
  for (const v of values) {
    assertSafeInteger(v, "nano-USD amount");
    total += BigInt(v);
  }
  return toSafeNumber(total, "nano-USD sum");
}

/** nano-USD → USD as a float. For display only: never feed the result back into money math. */
export function nanoUsdToUsd(nano: number): number {
  assertSafeInteger(nano, "nano-USD amount");
  return nano / NANO_PER_USD;
}
