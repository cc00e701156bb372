import { rng, type ShadowOutcome } from "../semantic/calibration.ts";
import { LiveThresholds } from "../semantic/live.ts";
import type { ShadowResults } from "../semantic/shadow-port.ts";
import type { RouterPolicy } from "../policy.ts";

/**
 * Streaming calibration check: a labelled file is replayed request by request, in a seeded order,
 * through the router's own re-calibration (`LiveThresholds` over an in-memory `ShadowResults`),
 * so what is measured is the mechanism that runs in production, not a copy of it. Shadow samples
 * are drawn at the use case's rate from the requests the router shadows, each graded from the
 * file's labels instead of a judge, and every shadow call is charged at its model's price.
 */

export interface StreamRow {
  /** The router's score for the request. */
  readonly score: number;
  /** Quality of each model's answer, on a common 0..1 scale. */
  readonly strong: number;
  readonly weak: number;
  /** Whether a judge comparing the two answers would call them in agreement (from the labels). */
  readonly agreed: boolean;
  /** Price of the request on each tier (any unit, the same for every row). */
  readonly frontierCost: number;
  readonly cheapCost: number;
}

export interface StreamOptions {
  readonly policy: RouterPolicy;
  readonly useCase: string;
  readonly seed: number;
  /** Share of shadowed requests that get a shadow comparison (the policy's shadow.sampleRate by default). */
  readonly sampleRate: number;
  /** Re-calibrate after every this many requests (production: every ROUTER_CALIBRATION_REFRESH_MS). */
  readonly refreshEvery: number;
  /** false: the model file's threshold throughout (no re-calibration). */
  readonly live: boolean;
  /** Which requests production shadows: the ones routed to the cheap tier, or every one (then a frontier-routed sample calls the cheap model). */
  readonly shadows: (route: "cheap" | "frontier") => boolean;
}

export interface StreamRun {
  readonly requests: number;
  /** Routed quality / strong-only quality over the whole stream. */
  readonly quality: number;
  readonly strongShare: number;
  /** (served + shadow cost) / always-frontier cost. */
  readonly cost: number;
  /** The shadow calls' part of `cost`. */
  readonly shadowCost: number;
  readonly samples: number;
  readonly finalThreshold: number;
  readonly thresholdChanges: number;
}

/** Seeded Fisher–Yates order of n items. */
export function shuffledOrder(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** An in-memory shadow store: the most recent comparisons first, like the route_shadow query. */
class MemoryShadowResults implements ShadowResults {
  readonly rows: ShadowOutcome[] = [];
  async recent(_route: { useCase: string; tier: string }, limit: number): Promise<ShadowOutcome[]> {
    return this.rows.slice(-Math.max(1, Math.floor(limit))).reverse();
  }
}

export async function streamCalibration(rows: readonly StreamRow[], o: StreamOptions): Promise<StreamRun> {
  const uc = o.policy.useCases.get(o.useCase);
  if (!uc?.semantic) throw new RangeError(`use case ${o.useCase} has no semantic route`);
  const store = new MemoryShadowResults();
  let changes = 0;
  const live = new LiveThresholds(o.policy, store, { refreshMs: 0, onChange: () => changes++ });
  const order = shuffledOrder(rows.length, o.seed);
  const sample = rng(o.seed * 7919 + 101);
  let routed = 0, strongOnly = 0, strongCalls = 0, served = 0, shadow = 0, frontier = 0;
  if (o.live) await live.refresh();
  for (let k = 0; k < order.length; k++) {
    if (o.live && k > 0 && k % o.refreshEvery === 0) await live.refresh();
    const r = rows[order[k]!]!;
    // The same rule as the route decision: scores at or above the threshold in force go to the frontier.
    const threshold = (o.live ? live.get(o.useCase) : null) ?? uc.semantic.threshold;
    const up = r.score >= threshold;
    routed += up ? r.strong : r.weak;
    strongOnly += r.strong;
    frontier += r.frontierCost;
    served += up ? r.frontierCost : r.cheapCost;
    if (up) strongCalls++;
    const side = up ? "frontier" : "cheap";
    if (o.shadows(side) && sample() < o.sampleRate) {
      // The shadow call is the other tier's answer to the same request.
      shadow += up ? r.cheapCost : r.frontierCost;
      store.rows.push({ score: r.score, agreed: r.agreed });
    }
  }
  const final = (o.live ? live.get(o.useCase) : null) ?? uc.semantic.threshold;
  return {
    requests: rows.length,
    quality: strongOnly === 0 ? 1 : routed / strongOnly,
    strongShare: strongCalls / rows.length,
    cost: (served + shadow) / frontier,
    shadowCost: shadow / frontier,
    samples: store.rows.length,
    finalThreshold: final,
    thresholdChanges: changes,
  };
}

/**
 * Label grading of a shadow comparison, standing in for the judge: two answers of the same
 * correctness agree (both right, or both wrong: an answer-agreement judge cannot tell a wrong
 * cheap answer from a right one by itself, and counting "both wrong" as agreement is the reading
 * that does not penalise the cheap tier for the frontier's mistakes); on a graded scale the cheap
 * answer agrees when it scores at least as well.
 */
export function labelAgreement(scoreType: string, strong: number, weak: number): boolean {
  return scoreType === "binary_correct" ? strong === weak : weak >= strong;
}
