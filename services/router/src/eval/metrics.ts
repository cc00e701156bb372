/**
 * RouteLLM's cost–quality metrics (Ong et al. 2024, lm-sys/RouteLLM routellm/evals/evaluate.py),
 * computed exactly instead of on ten quantile bins:
 * - the curve: for every threshold on the router's score, the share of calls sent to the strong
 *   model (x, 0..1) and the mean quality of the chosen answers (y);
 * - PGR(x) = (quality(x) − weak) / (strong − weak), the share of the strong–weak gap recovered;
 * - APGR = the area under PGR over x ∈ [0, 1] (trapezoids); a random router scores 0.5;
 * - CPT(p) = the smallest share of strong calls whose quality reaches weak + p·(strong − weak).
 */

export interface Outcome {
  /** The router's score: higher means "send to the strong model". */
  readonly score: number;
  readonly strong: number;
  readonly weak: number;
}

export interface CurvePoint {
  /** Share of calls sent to the strong model, 0..1. */
  readonly strongShare: number;
  readonly quality: number;
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

export function modelQuality(rows: readonly Outcome[]): { strong: number; weak: number } {
  return { strong: mean(rows.map((r) => r.strong)), weak: mean(rows.map((r) => r.weak)) };
}

/**
 * The router's curve: rows ranked by score (highest first) go to the strong model; rows with the
 * same score move together, so ties never get an arbitrary order. Starts at 0 and ends at 1.
 */
export function routerCurve(rows: readonly Outcome[]): CurvePoint[] {
  if (rows.length === 0) return [];
  const n = rows.length;
  const sorted = [...rows].sort((a, b) => b.score - a.score);
  let total = rows.reduce((s, r) => s + r.weak, 0);
  const points: CurvePoint[] = [{ strongShare: 0, quality: total / n }];
  for (let i = 0; i < n; ) {
    const s = sorted[i]!.score;
    while (i < n && sorted[i]!.score === s) {
      total += sorted[i]!.strong - sorted[i]!.weak;
      i++;
    }
    points.push({ strongShare: i / n, quality: total / n });
  }
  return points;
}

/** The oracle: knows each row's outcome and spends strong calls only where they gain, best gain first. */
export function oracleCurve(rows: readonly Outcome[]): CurvePoint[] {
  const gains = rows.map((r) => r.strong - r.weak).sort((a, b) => b - a);
  const n = rows.length;
  let total = rows.reduce((s, r) => s + r.weak, 0);
  const points: CurvePoint[] = [{ strongShare: 0, quality: total / n }];
  gains.forEach((g, i) => {
    if (g > 0) total += g;
    points.push({ strongShare: (i + 1) / n, quality: total / n });
  });
  return points;
}

/** The random router's expected curve: a straight line from the weak to the strong model. */
export function randomCurve(rows: readonly Outcome[]): CurvePoint[] {
  const q = modelQuality(rows);
  return [{ strongShare: 0, quality: q.weak }, { strongShare: 1, quality: q.strong }];
}

/** Quality at a strong-call share, linearly interpolated between the curve's points. */
export function qualityAt(curve: readonly CurvePoint[], share: number): number {
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1]!, b = curve[i]!;
    if (share <= b.strongShare) {
      const span = b.strongShare - a.strongShare;
      return span === 0 ? b.quality : a.quality + ((share - a.strongShare) / span) * (b.quality - a.quality);
    }
  }
  return curve.at(-1)?.quality ?? Number.NaN;
}

/** The smallest strong-call share at which the curve reaches `target` quality; null if it never does. */
export function shareAtQuality(curve: readonly CurvePoint[], target: number): number | null {
  const first = curve[0];
  if (!first) return null;
  if (first.quality >= target) return first.strongShare;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1]!, b = curve[i]!;
    if (b.quality >= target) {
      return b.quality === a.quality ? b.strongShare : a.strongShare + ((target - a.quality) / (b.quality - a.quality)) * (b.strongShare - a.strongShare);
    }
  }
  return null;
}

/** Average performance gap recovered: ∫₀¹ PGR(x) dx by trapezoids over the curve's points. */
export function apgr(curve: readonly CurvePoint[], q: { strong: number; weak: number }): number {
  const gap = q.strong - q.weak;
  let area = 0;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1]!, b = curve[i]!;
    area += ((b.strongShare - a.strongShare) * (a.quality + b.quality)) / 2;
  }
  return (area - q.weak) / gap;
}

/** Call-performance threshold: strong-call share needed to recover `pgr` (e.g. 0.5) of the gap. */
export function cpt(curve: readonly CurvePoint[], q: { strong: number; weak: number }, pgr: number): number | null {
  return shareAtQuality(curve, q.weak + pgr * (q.strong - q.weak));
}

export interface RouterMetrics {
  /** null when the weak model is at least as good as the strong one: there is no gap to recover. */
  readonly apgr: number | null;
  readonly cpt50: number | null;
  readonly cpt80: number | null;
  /** Smallest strong-call share reaching 95% of the strong model's quality. */
  readonly strongShareAt95: number | null;
  /** 1 − strongShareAt95: calls the cheap tier keeps at 95% of strong quality. */
  readonly cheapShareAt95: number | null;
}

export function routerMetrics(curve: readonly CurvePoint[], q: { strong: number; weak: number }): RouterMetrics {
  const at95 = shareAtQuality(curve, 0.95 * q.strong);
  const gap = q.strong > q.weak;
  return { apgr: gap ? apgr(curve, q) : null, cpt50: gap ? cpt(curve, q, 0.5) : null, cpt80: gap ? cpt(curve, q, 0.8) : null, strongShareAt95: at95, cheapShareAt95: at95 === null ? null : 1 - at95 };
}
