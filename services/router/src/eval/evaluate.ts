import type { EvalSet } from "./dataset.ts";
import { modelQuality, oracleCurve, qualityAt, randomCurve, routerCurve, routerMetrics, type CurvePoint, type RouterMetrics } from "./metrics.ts";
import type { CascadePoint, Scores } from "./strategies.ts";

export interface Spread {
  readonly min: number;
  readonly mean: number;
  readonly max: number;
}

export interface StrategyResult {
  readonly name: string;
  readonly curve: readonly CurvePoint[];
  readonly metrics: RouterMetrics;
  readonly note?: string;
  /** Over fold seeds, for cross-validated strategies. */
  readonly spread?: { readonly seeds: number; readonly apgr: Spread | null; readonly strongShareAt95: Spread | null };
}

export interface CascadeResult {
  readonly name: string;
  readonly point: CascadePoint;
  /** PGR at the cascade's strong-call share; a random router gets PGR = share there. */
  readonly pgr: number;
}

export interface SetResult {
  readonly set: Pick<EvalSet, "name" | "file" | "scoreType" | "strongModel" | "weakModel" | "dropped">;
  readonly rows: number;
  readonly groups: number;
  readonly quality: { readonly strong: number; readonly weak: number };
  readonly random: StrategyResult;
  readonly oracle: StrategyResult;
  readonly strategies: StrategyResult[];
  readonly cascade: CascadeResult | null;
}

const outcomes = (set: EvalSet, scores: Scores) => set.rows.map((r, i) => ({ score: scores[i]!, strong: r.strong, weak: r.weak }));

export function spreadOf(xs: readonly number[]): Spread {
  return { min: Math.min(...xs), mean: xs.reduce((s, x) => s + x, 0) / xs.length, max: Math.max(...xs) };
}

export function strategyResult(set: EvalSet, name: string, scores: Scores, note?: string): StrategyResult {
  const o = outcomes(set, scores);
  const curve = routerCurve(o);
  return { name, curve, metrics: routerMetrics(curve, modelQuality(o)), ...(note ? { note } : {}) };
}

/** A cross-validated strategy: the curve of the first seed, the spread of its metrics over all seeds. */
export function seededResult(set: EvalSet, name: string, scoresBySeed: readonly Scores[], note?: string): StrategyResult {
  const results = scoresBySeed.map((s) => strategyResult(set, name, s));
  const first = results[0]!;
  const at95 = results.map((r) => r.metrics.strongShareAt95);
  return {
    ...first,
    ...(note ? { note } : {}),
    spread: {
      seeds: results.length,
      apgr: results.every((r) => r.metrics.apgr !== null) ? spreadOf(results.map((r) => r.metrics.apgr!)) : null,
      strongShareAt95: at95.every((x): x is number => x !== null) ? spreadOf(at95) : null,
    },
  };
}

export function baseResult(set: EvalSet): Omit<SetResult, "strategies" | "cascade"> {
  const o = outcomes(set, set.rows.map(() => 0));
  const q = modelQuality(o);
  const rc = randomCurve(o), oc = oracleCurve(o);
  return {
    set: { name: set.name, file: set.file, scoreType: set.scoreType, strongModel: set.strongModel, weakModel: set.weakModel, dropped: set.dropped },
    rows: set.rows.length,
    groups: new Set(set.rows.map((r) => r.groupId)).size,
    quality: q,
    random: { name: "random (expected)", curve: rc, metrics: routerMetrics(rc, q) },
    oracle: { name: "oracle", curve: oc, metrics: routerMetrics(oc, q) },
  };
}

export function cascadeResult(name: string, point: CascadePoint, q: { strong: number; weak: number }): CascadeResult {
  return { name, point, pgr: (point.point.quality - q.weak) / (q.strong - q.weak) };
}

/** The curve sampled at fixed strong-call shares, for tables. */
export function sampleCurve(curve: readonly CurvePoint[], shares: readonly number[]): number[] {
  return shares.map((s) => qualityAt(curve, s));
}
