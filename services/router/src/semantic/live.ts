import { chooseThreshold, FRONTIER_ONLY, recalibrate, type LiveCalibration } from "./calibration.ts";
import type { ShadowResults } from "./shadow-port.ts";
import type { RouterPolicy, UseCasePolicy } from "../policy.ts";
import { PeriodicRefresh } from "@costwise/route-state";

/**
 * Thresholds of the semantic routes, re-derived from shadow results every `refreshMs` (one query
 * per route). Routing reads the last value and never waits; until enough shadow samples exist, or
 * when the results cannot be read, the model file's calibrated threshold stays in force.
 */
export class LiveThresholds extends PeriodicRefresh {
  private current = new Map<string, LiveCalibration>();

  constructor(
    private readonly policy: RouterPolicy,
    private readonly results: ShadowResults,
    private readonly opts: { refreshMs: number; onChange?: (useCase: string, next: LiveCalibration, previous: number) => void; onError?: (err: unknown) => void },
  ) {
    super(opts.refreshMs);
  }

  /**
   * The threshold in force for a semantic use case (null: use the policy's). A use case that starts
   * on the frontier stays there until a refresh has confirmed a threshold, also when the shadow
   * results cannot be read.
   */
  get(useCase: string): number | null {
    const live = this.current.get(useCase)?.threshold;
    if (live !== undefined) return live;
    const uc = this.policy.useCases.get(useCase);
    return uc && startsOnFrontier(uc) ? FRONTIER_ONLY : null;
  }

  snapshot(): ReadonlyMap<string, LiveCalibration> {
    return this.current;
  }

  async refresh(): Promise<void> {
    for (const [uc, p] of this.policy.useCases) {
      const sem = p.semantic;
      if (!sem) continue;
      const offline = chooseThreshold(sem.model.calibration, sem.target);
      if (!("threshold" in offline)) continue;
      try {
        const samples = await this.results.recent({ useCase: uc, tier: p.tiers[0]!.name }, p.quality.window * 5);
        const next = recalibrate(offline, samples, sem.target, p.quality.minSamples, liveStart(p));
        const previous = this.get(uc) ?? sem.threshold;
        if (next.threshold !== previous) this.opts.onChange?.(uc, next, previous);
        this.current.set(uc, next);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
  }
}

/**
 * Which routed requests the router shadow-samples: those sent to the cheap tier (their answer is
 * compared with the frontier's) and, on a semantic route with a quality target, those sent to the
 * frontier too (compared with the cheap model's answer), so that re-calibration sees a uniform
 * draw of the route's traffic rather than only the requests below the current threshold.
 */
export function shadowsRoute(uc: UseCasePolicy, side: "cheap" | "frontier"): boolean {
  if (uc.shadow.sampleRate <= 0) return false;
  return side === "cheap" || (uc.semantic !== null && uc.semantic.target.quality !== undefined);
}

/**
 * The start a route's re-calibration uses: its policy's, except that a route without shadow
 * sampling can never confirm a threshold, so it keeps the model file's (the only evidence it has).
 */
export function liveStart(uc: UseCasePolicy): "frontier" | "model" {
  return uc.semantic?.start === "frontier" && shadowsRoute(uc, "frontier") ? "frontier" : "model";
}

const startsOnFrontier = (uc: UseCasePolicy) => uc.semantic !== null && uc.semantic.target.quality !== undefined && liveStart(uc) === "frontier";
