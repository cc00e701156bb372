/**
 * Statistics of success rates: is a technique's success rate below its baseline's by more than a
 * margin, beyond chance? Pure functions; the regression checker (services/analytics) and the
 * report use them.
 */

/** Standard normal CDF, by the Abramowitz–Stegun 7.1.26 erf approximation (|error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

/** The z quantile of a one-sided confidence level (inverse of normalCdf by bisection; deterministic). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`quantile of ${p}: needs 0 < p < 1`);
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface Proportion {
  readonly successes: number;
  readonly trials: number;
}

/** Wilson score interval of a proportion at a two-sided level `confidence` (e.g. 0.95); null bounds for no trials. */
export function wilsonInterval(p: Proportion, confidence = 0.95): { low: number; high: number } | null {
  if (p.trials <= 0) return null;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const n = p.trials;
  const phat = p.successes / n;
  const denom = 1 + (z * z) / n;
  const centre = (phat + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((phat * (1 - phat)) / n + (z * z) / (4 * n * n))) / denom;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export interface RegressionPolicy {
  /** How far below the baseline's success rate a technique may fall before it counts as a regression (absolute, e.g. 0.05). */
  readonly margin: number;
  /** One-sided significance level of the test (e.g. 0.05). */
  readonly alpha: number;
  /** Outcomes needed on each side before the test is run at all. */
  readonly minSamples: number;
}

export interface RegressionTest {
  readonly techniqueRate: number | null;
  readonly baselineRate: number | null;
  /** baseline − technique, in success-rate points. */
  readonly drop: number | null;
  readonly z: number | null;
  /** P(observing a drop at least this large | the true drop is only `margin`). */
  readonly pValue: number | null;
  readonly regressed: boolean;
  /** Why the test was or was not decided. */
  readonly reason: string;
}

/**
 * One-sided two-proportion test with a margin: H0 p_technique ≥ p_baseline − margin against
 * H1 p_technique < p_baseline − margin. Agresti–Caffo adjusted proportions (one success and one
 * failure added to each side) keep the variance positive and the test honest at small counts and
 * at rates of 0 or 1. Regressed when both sides have minSamples outcomes and p < alpha.
 */
export function regressionTest(technique: Proportion, baseline: Proportion, policy: RegressionPolicy): RegressionTest {
  const rate = (p: Proportion) => (p.trials > 0 ? p.successes / p.trials : null);
  const techniqueRate = rate(technique);
  const baselineRate = rate(baseline);
  const drop = techniqueRate !== null && baselineRate !== null ? baselineRate - techniqueRate : null;
  if (technique.trials < policy.minSamples || baseline.trials < policy.minSamples) {
    return { techniqueRate, baselineRate, drop, z: null, pValue: null, regressed: false, reason: `too few outcomes (${technique.trials} vs ${baseline.trials}; ${policy.minSamples} needed on each side)` };
  }
  const pt = (technique.successes + 1) / (technique.trials + 2);
  const pb = (baseline.successes + 1) / (baseline.trials + 2);
  const se = Math.sqrt((pt * (1 - pt)) / (technique.trials + 2) + (pb * (1 - pb)) / (baseline.trials + 2));
  const z = (pb - policy.margin - pt) / se;
  const pValue = 1 - normalCdf(z);
  const regressed = pValue < policy.alpha;
  const pct = (x: number | null) => (x === null ? "-" : `${(x * 100).toFixed(1)}%`);
  const reason = regressed
    ? `success ${pct(techniqueRate)} vs baseline ${pct(baselineRate)}: more than ${pct(policy.margin)} lower (p=${pValue.toPrecision(2)} < ${policy.alpha})`
    : `success ${pct(techniqueRate)} vs baseline ${pct(baselineRate)}: not significantly more than ${pct(policy.margin)} lower (p=${pValue.toPrecision(2)})`;
  return { techniqueRate, baselineRate, drop, z, pValue, regressed, reason };
}
