import { fnv1a32 } from "../hash.ts";
import type { Calibration, CalibrationPoint } from "./model.ts";
import { seededRandom as rng } from "@costwise/seeded";

export { rng };

/** What a use case must keep: a share of the frontier's quality, or a cap on frontier calls. */
export interface QualityTarget {
  /** Routed quality / frontier-only quality, e.g. 0.95. */
  readonly quality?: number | undefined;
  /** At most this share of requests on the frontier tier. */
  readonly strong_share_max?: number | undefined;
}

export interface LabelledScore {
  readonly score: number;
  readonly strong: number;
  readonly weak: number;
  readonly group: string;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))));
  return sorted[i]!;
}

/**
 * Per-threshold routed quality (as a share of strong-only quality) from out-of-fold scores, with
 * a one-sided lower bound from a bootstrap over groups (rows of a group move together: an
 * MT-bench question's two turns are not two independent samples). Thresholds sit at score
 * quantiles, one per percent of strong share, plus "everything strong".
 */
export function buildCalibration(rows: readonly LabelledScore[], opts: { confidence?: number; resamples?: number; seed?: number } = {}): Calibration {
  if (rows.length < 2) throw new RangeError("calibration needs at least two labelled rows");
  const confidence = opts.confidence ?? 0.95;
  const B = opts.resamples ?? 300;
  const scores = [...new Set(rows.map((r) => r.score))].sort((a, b) => a - b);
  const thresholds = [...new Set(Array.from({ length: 101 }, (_, i) => quantile(scores, i / 100)))];
  thresholds.unshift(Number.NEGATIVE_INFINITY);
  thresholds.push(Number.POSITIVE_INFINITY);
  const uniq = [...new Set(thresholds)].sort((a, b) => a - b);

  const groups = [...new Set(rows.map((r) => r.group))];
  const byGroup = new Map<string, LabelledScore[]>();
  for (const r of rows) (byGroup.get(r.group) ?? byGroup.set(r.group, []).get(r.group)!).push(r);

  const ratioAt = (rs: readonly LabelledScore[], t: number) => {
    let routed = 0, strong = 0;
    for (const r of rs) {
      routed += r.score >= t ? r.strong : r.weak;
      strong += r.strong;
    }
    return strong === 0 ? 1 : routed / strong;
  };
  const rand = rng(opts.seed ?? 7);
  const boots: LabelledScore[][] = Array.from({ length: B }, () => {
    const out: LabelledScore[] = [];
    for (let i = 0; i < groups.length; i++) out.push(...byGroup.get(groups[Math.floor(rand() * groups.length)]!)!);
    return out;
  });
  const points: CalibrationPoint[] = uniq.map((t) => {
    const bs = boots.map((b) => ratioAt(b, t)).sort((a, b) => a - b);
    const share = rows.filter((r) => r.score >= t).length / rows.length;
    return { threshold: t, strongShare: share, quality: ratioAt(rows, t), qualityLower: quantile(bs, 1 - confidence) };
  });
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  // JSON has no infinities: the end points become just outside the score range (scores are in 0..1).
  const finite = points.map((p) => ({ ...p, threshold: p.threshold === Number.NEGATIVE_INFINITY ? -1 : p.threshold === Number.POSITIVE_INFINITY ? 2 : p.threshold }));
  return { rows: rows.length, groups: groups.length, confidence, strongQuality: mean(rows.map((r) => r.strong)), weakQuality: mean(rows.map((r) => r.weak)), points: finite };
}

export interface ThresholdChoice {
  readonly threshold: number;
  readonly point: CalibrationPoint;
}

/**
 * The highest threshold (fewest frontier calls) whose lower bound meets the quality target and
 * whose strong share stays under the cap. Returns a reason instead when none does, or when only
 * "everything to the frontier" does (then the route would never leave the frontier: a policy
 * that should say so rather than pretend to route).
 */
export function chooseThreshold(cal: Calibration, target: QualityTarget): ThresholdChoice | { readonly reason: string } {
  const pts = [...cal.points].sort((a, b) => b.threshold - a.threshold);
  const ok = pts.filter((p) => (target.quality === undefined || p.qualityLower >= target.quality) && (target.strong_share_max === undefined || p.strongShare <= target.strong_share_max));
  const best = ok[0];
  const basis = `${cal.rows} labelled rows in ${cal.groups} groups, ${Math.round(cal.confidence * 100)}% lower bound`;
  if (!best) {
    const maxLower = Math.max(...cal.points.map((p) => p.qualityLower));
    if (target.quality !== undefined && target.strong_share_max !== undefined) {
      const capped = cal.points.filter((p) => p.strongShare <= target.strong_share_max!);
      const bestCapped = Math.max(...capped.map((p) => p.qualityLower));
      return { reason: `quality ${target.quality} with at most ${target.strong_share_max} of requests on the frontier cannot both hold: under that cap the best lower bound is ${bestCapped.toFixed(3)} (${basis})` };
    }
    return { reason: `no threshold reaches quality ${target.quality}: the best lower bound is ${maxLower.toFixed(3)} (${basis})` };
  }
  if (best.strongShare >= 1) return { reason: `only sending every request to the frontier keeps quality ${target.quality} (${basis}): the route would never use the cheap tier` };
  return { threshold: best.threshold, point: best };
}

/** Stable group halves for a seed (calibration checks: calibrate on one half, measure on the other). */
export function groupHalf(group: string, seed: number): 0 | 1 {
  return (fnv1a32(group, seed * 7919 + 13) & 1) as 0 | 1;
}

/** One judged shadow comparison of a cheap-routed request: its router score and whether the answers agreed. */
export interface ShadowOutcome {
  readonly score: number;
  readonly agreed: boolean;
}

/** Wilson score lower bound of a binomial share (one-sided, z for the confidence). */
export function wilsonLower(successes: number, n: number, z = 1.645): number {
  if (n === 0) return 0;
  const p = successes / n, z2 = z * z;
  return Math.max(0, (p + z2 / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n));
}

/** What a semantic route routes on before live shadow samples confirm its target. */
export type CalibrationStart = "frontier" | "model";

/** The threshold that sends every request to the frontier (every score is ≥ it). */
export const FRONTIER_ONLY = -1;

export interface LiveCalibration {
  readonly threshold: number;
  /** Estimated share of frontier quality at the threshold, and its lower bound. */
  readonly achieved: number;
  readonly lower: number;
  readonly samples: number;
  /**
   * "shadow": derived from shadow samples; "offline": the model file's threshold (too few samples,
   * start "model"); "unconfirmed": everything to the frontier, because too few samples exist or no
   * threshold's lower bound meets the target yet (start "frontier").
   */
  readonly source: "shadow" | "offline" | "unconfirmed";
}

/**
 * Re-derive the threshold from live shadow results. The router samples a semantic route's
 * requests on both sides of its threshold (a cheap-routed one is compared with the frontier's
 * answer, a frontier-routed one with the cheap model's: `shadowsRoute`), so the samples are a
 * uniform draw of the route's traffic with the score each request had. At a threshold t the kept
 * quality is the share of requests that either go to the frontier (score ≥ t) or whose cheap
 * answer agrees with the frontier's (a disagreeing one counts as no quality: the conservative
 * reading). Nothing here comes from the training data, so the estimate holds on traffic unlike the
 * model's, and the threshold can move either way. The chosen threshold is the highest (fewest
 * frontier calls) whose Wilson lower bound meets the target.
 *
 * Until minSamples exist, or while no threshold's bound meets the target, start "frontier" keeps
 * the route on the frontier (it keeps sampling, at the cheap model's price); start "model" keeps
 * the model file's threshold until minSamples exist. A target without a quality share (only
 * strong_share_max) is not re-calibrated.
 */
export function recalibrate(offline: ThresholdChoice, samples: readonly ShadowOutcome[], target: QualityTarget, minSamples: number, start: CalibrationStart = "frontier"): LiveCalibration {
  const n = samples.length;
  const asOffline: LiveCalibration = { threshold: offline.threshold, achieved: offline.point.quality, lower: offline.point.qualityLower, samples: n, source: "offline" };
  const unconfirmed: LiveCalibration = { threshold: FRONTIER_ONLY, achieved: 1, lower: 1, samples: n, source: "unconfirmed" };
  if (target.quality === undefined) return asOffline;
  if (n < minSamples) return start === "model" ? asOffline : unconfirmed;
  // Walk thresholds from "everything cheap" down: requests scoring ≥ t move to the frontier, and
  // the disagreements among them stop counting against the route.
  const sorted = [...samples].sort((a, b) => b.score - a.score);
  let disagreeBelow = sorted.filter((x) => !x.agreed).length;
  const at = (t: number): LiveCalibration => {
    const ok = n - disagreeBelow;
    return { threshold: t, achieved: ok / n, lower: wilsonLower(ok, n), samples: n, source: "shadow" };
  };
  const none = at(2);
  if (none.lower >= target.quality) return none;
  for (let i = 0; i < sorted.length; ) {
    const score = sorted[i]!.score;
    for (; i < sorted.length && sorted[i]!.score === score; i++) if (!sorted[i]!.agreed) disagreeBelow--;
    // At the lowest sampled score no sampled request would go cheap: that is "everything to the frontier".
    if (i === sorted.length) break;
    const est = at(score);
    if (est.lower >= target.quality) return est;
  }
  return unconfirmed;
}
