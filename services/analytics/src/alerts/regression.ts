import { backoffFor, compareTechniques, type Backoff, type BackoffStore, type Comparison, type OutcomePolicy, type PathOutcomes } from "@costwise/outcomes";
import type { BudgetAlert } from "@costwise/schemas";
import type { Logger } from "@costwise/stream-runtime";
import { monthOf } from "../budgets.ts";

export interface RegressionCheckerDeps {
  /** Outcomes per use case and serving path of the calls made in [since, until). */
  readonly outcomes: (since: Date, until: Date) => Promise<readonly PathOutcomes[]>;
  /** Where the serving services read backoffs from (Redis). */
  readonly backoffs: BackoffStore;
  /** Durable record of each backoff decided or renewed, for reports (ClickHouse outcome_backoffs). */
  readonly record?: (backoffs: readonly Backoff[], now: Date) => Promise<void>;
  readonly publish: (alerts: readonly BudgetAlert[]) => Promise<void>;
  readonly policy: OutcomePolicy;
  readonly now: () => Date;
  readonly logger: Logger;
}

export interface RegressionCheck {
  readonly comparisons: readonly Comparison[];
  /** Backoffs put in force or renewed by this check. */
  readonly backoffs: readonly Backoff[];
  readonly produced: readonly BudgetAlert[];
}

const WHAT: Record<string, string> = { cache: "the cache serves it exact matches only" };
const actionOf = (technique: string) => WHAT[technique] ?? `route ${technique.slice("route:".length)} falls back to the frontier tier`;

/** A QUALITY_REGRESSION alert: per use case (every tenant: routes and cache policies are per use case), tenant "*". */
export function regressionAlert(b: Backoff, policy: OutcomePolicy, now: Date): BudgetAlert {
  return {
    alert_id: `*/${b.use_case}/${b.technique}/regression/${b.since}`,
    tenant: "*",
    use_case: b.use_case,
    month: monthOf(now).label,
    budget_nanousd: 0,
    spent_nanousd: 0,
    projected_nanousd: 0,
    threshold: policy.margin,
    level: "QUALITY_REGRESSION",
    message: `${b.reason}; backed off until ${new Date(b.until).toISOString()}: ${actionOf(b.technique)}`,
    created_at: now.getTime(),
  };
}

/**
 * One regression check over the policy's window: compare each technique's success rate with its
 * baseline (semantic cache hits vs misses, cheap routes vs the frontier tier); for each
 * significant regression put a backoff in force (or renew it, keeping when it started) and, the
 * first time, publish a QUALITY_REGRESSION alert. The backoff is written before the alert, so an
 * alert always describes a backoff in force.
 */
export function createRegressionChecker(deps: RegressionCheckerDeps): { check(): Promise<RegressionCheck> } {
  return {
    async check() {
      const now = deps.now();
      const t = now.getTime();
      const since = new Date(t - deps.policy.windowHours * 3_600_000);
      const comparisons = compareTechniques(await deps.outcomes(since, new Date(t + 1000)), deps.policy);
      const active = new Map((await deps.backoffs.active(t)).map((b) => [`${b.technique}\u0000${b.use_case}`, b]));
      const backoffs: Backoff[] = [];
      const fresh: Backoff[] = [];
      for (const c of comparisons.filter((x) => x.test.regressed)) {
        const prev = active.get(`${c.technique}\u0000${c.useCase}`);
        const b = { ...backoffFor(c, deps.policy, t), ...(prev ? { since: prev.since } : {}) };
        if (await deps.backoffs.set(b, t)) fresh.push(b);
        backoffs.push(b);
      }
      if (backoffs.length) await deps.record?.(backoffs, now);
      const produced = fresh.map((b) => regressionAlert(b, deps.policy, now));
      if (produced.length) {
        await deps.publish(produced);
        for (const a of produced) deps.logger.warn({ alert_id: a.alert_id, level: a.level, use_case: a.use_case }, a.message);
      }
      return { comparisons, backoffs, produced };
    },
  };
}
