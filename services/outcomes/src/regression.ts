import { CACHE_TECHNIQUE, routeTechnique, type Backoff } from "./backoff.ts";
import { regressionTest, type Proportion, type RegressionPolicy, type RegressionTest } from "./stats.ts";

/**
 * Outcomes of one use case's calls on one serving path in the policy's window: `cache_exact`,
 * `cache_semantic`, or `route:<tier>` for calls that reached a model (the tier is '' for calls
 * the router did not route).
 */
export interface PathOutcomes extends Proportion {
  readonly useCase: string;
  readonly path: string;
}

export interface OutcomePolicy extends RegressionPolicy {
  /** The window of calls (by request time) whose outcomes are compared. */
  readonly windowHours: number;
  /** How long a backoff lasts once decided; renewed while the regression stands. */
  readonly backoffHours: number;
  /** The route tier that is every cheap route's baseline (the last tier of the router's use cases). */
  readonly frontierTier: string;
}

export const DEFAULT_OUTCOME_POLICY: OutcomePolicy = { margin: 0.05, alpha: 0.05, minSamples: 30, windowHours: 168, backoffHours: 24, frontierTier: "frontier" };

export interface Comparison {
  readonly useCase: string;
  /** The backoff technique: `cache` or `route:<tier>`. */
  readonly technique: string;
  /** The paths compared: e.g. cache_semantic vs misses, route:small vs route:frontier. */
  readonly path: string;
  readonly baselinePath: string;
  readonly technique_outcomes: Proportion;
  readonly baseline_outcomes: Proportion;
  readonly test: RegressionTest;
}

const sum = (rows: readonly PathOutcomes[]): Proportion => rows.reduce((a, r) => ({ successes: a.successes + r.successes, trials: a.trials + r.trials }), { successes: 0, trials: 0 });

/**
 * Every technique-versus-baseline comparison the outcomes allow: per use case, semantic cache
 * hits against the calls that reached a model (the cache's misses), and each cheap route tier
 * against the frontier tier. The regressed ones are the backoffs to put in force.
 */
export function compareTechniques(rows: readonly PathOutcomes[], policy: OutcomePolicy): Comparison[] {
  const byUseCase = new Map<string, PathOutcomes[]>();
  for (const r of rows) byUseCase.set(r.useCase, [...(byUseCase.get(r.useCase) ?? []), r]);
  const out: Comparison[] = [];
  for (const [useCase, list] of [...byUseCase].sort(([a], [b]) => a.localeCompare(b))) {
    const models = list.filter((r) => r.path.startsWith("route:"));
    const semantic = sum(list.filter((r) => r.path === "cache_semantic"));
    if (semantic.trials > 0) {
      const misses = sum(models);
      out.push({ useCase, technique: CACHE_TECHNIQUE, path: "cache_semantic", baselinePath: "misses", technique_outcomes: semantic, baseline_outcomes: misses, test: regressionTest(semantic, misses, policy) });
    }
    const frontierPath = routeTechnique(policy.frontierTier);
    const frontier = sum(models.filter((r) => r.path === frontierPath));
    for (const r of models) {
      if (r.path === frontierPath || r.path === "route:") continue;
      out.push({ useCase, technique: r.path, path: r.path, baselinePath: frontierPath, technique_outcomes: r, baseline_outcomes: frontier, test: regressionTest(r, frontier, policy) });
    }
  }
  return out;
}

/** The backoff a regressed comparison puts in force. */
export function backoffFor(c: Comparison, policy: OutcomePolicy, now: number): Backoff {
  return {
    technique: c.technique, use_case: c.useCase, since: now, until: now + policy.backoffHours * 3_600_000,
    success_rate: c.test.techniqueRate ?? 0, baseline_rate: c.test.baselineRate ?? 0,
    samples: c.technique_outcomes.trials, baseline_samples: c.baseline_outcomes.trials, p_value: c.test.pValue ?? 1,
    reason: `${c.path} on ${c.useCase}: ${c.test.reason} (${c.baselinePath} is the baseline)`,
  };
}
