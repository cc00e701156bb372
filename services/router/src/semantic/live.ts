import { chooseThreshold, recalibrate, type LiveCalibration } from "./calibration.ts";
import type { ShadowResults } from "./shadow-port.ts";
import type { RouterPolicy } from "../policy.ts";
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

  /** The threshold in force for a semantic use case (null: use the policy's). */
  get(useCase: string): number | null {
    return this.current.get(useCase)?.threshold ?? null;
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
        const next = recalibrate(sem.model.calibration, offline, samples, sem.target, p.quality.minSamples);
        const previous = this.get(uc) ?? sem.threshold;
        if (next.threshold !== previous) this.opts.onChange?.(uc, next, previous);
        this.current.set(uc, next);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
  }
}
