/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

export interface Interval {
  readonly lower: number;
  readonly upper: number;
}

/**
 * The Wilson score interval of a binomial proportion (Wilson, 1927): unlike the normal
 * approximation it stays inside [0, 1] and behaves at small n and at rates near 0 or 1, which
 * is where readiness decisions are made (e.g. 48 agreements out of 50). null for n = 0.
 */
export function wilsonInterval(successes: number, n: number, z: number = Z95): Interval | null {
  if (!Number.isInteger(n) || n < 0 || successes < 0 || successes > n) throw new RangeError(`invalid counts: ${successes} of ${n}`);
  if (n === 0) return null;
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At k = 0 and k = n the bound is exactly 0 or 1; floating point would leave 1e-16 off it.
  return { lower: successes === 0 ? 0 : Math.max(0, centre - half), upper: successes === n ? 1 : Math.min(1, centre + half) };
}

/**
 * The fewest comparisons whose Wilson lower bound reaches `bar` when every one agrees
 * (Infinity for a bar of 1 or more). Below it, a verdict would fail perfect evidence and call
 * it low quality, so the readiness and ramp checks treat it as "not enough evidence yet".
 */
export function leastUnanimousSamples(bar: number, z: number = Z95): number {
  if (bar >= 1) return Number.POSITIVE_INFINITY;
  if (bar <= 0) return 1;
  // The unanimous lower bound is n / (n + z²); start just below its solution to absorb rounding.
  let n = Math.max(1, Math.floor((bar * z * z) / (1 - bar)));
  while (wilsonInterval(n, n, z)!.lower < bar) n++;
  while (n > 1 && wilsonInterval(n - 1, n - 1, z)!.lower >= bar) n--;
  return n;
}
