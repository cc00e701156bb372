import { budgetStatus, monthOf, type Budget } from "../budgets.ts";
import { makeFilters } from "../filters.ts";
import { usdDecimal } from "../money.ts";
import {
  batchShare,
  cacheEffectiveness,
  compressionEffectiveness,
  dimensions,
  routeQuality,
  routeTraffic,
  spendSince,
  type QueryFn,
  type Scope,
} from "../queries.ts";
import { buildReport, SAVINGS_COLUMNS, STRUCTURE_COLUMNS, TREND_COLUMNS, USE_CASE_COLUMNS } from "../reports.ts";
import { toJsonRows } from "../render.ts";
import { techniqueOutcomes } from "../outcomes.ts";
import { grainFor, type SourceMode } from "../source.ts";

/** Query-string filters of every API call: ?since=24h&tenant=acme&use_case=support&source=exact */
export interface ApiParams {
  readonly since?: string | undefined;
  readonly tenant?: string | undefined;
  readonly use_case?: string | undefined;
  readonly source?: string | undefined;
}

export interface ApiDeps {
  readonly query: QueryFn;
  readonly database: string;
  readonly defaultSource: SourceMode;
  readonly budgets: () => Promise<readonly Budget[]>;
  readonly now: () => Date;
}

const blank = (v: string | undefined) => (v === undefined || v === "" ? undefined : v);

export function scopeOf(p: ApiParams, deps: ApiDeps): Scope {
  const mode: SourceMode = p.source === "exact" ? "exact" : p.source === "rollup" ? "rollup" : deps.defaultSource;
  const filters = makeFilters({ since: blank(p.since), tenant: blank(p.tenant), useCase: blank(p.use_case) }, deps.now(), "24h");
  return { database: deps.database, mode, grain: grainFor(filters), filters };
}

const ratio = (v: number | null) => (v === null ? null : Number(v.toFixed(6)));

/** Everything the page shows, from the same queries and column definitions as the CLI. */
export async function dashboardData(p: ApiParams, deps: ApiDeps) {
  const s = scopeOf(p, deps);
  const now = deps.now();
  const month = monthOf(now);
  const [report, cache, routes, quality, compression, batch, dims, budgets, monthSpend, techniques] = await Promise.all([
    buildReport(deps.query, s),
    cacheEffectiveness(deps.query, s),
    routeTraffic(deps.query, s),
    routeQuality(deps.query, s),
    compressionEffectiveness(deps.query, s),
    batchShare(deps.query, s),
    dimensions(deps.query, s),
    deps.budgets(),
    // Budgets are per calendar month whatever window the page shows.
    spendSince(deps.query, deps.database, s.mode, month.start, s.filters.until),
    techniqueOutcomes(deps.query, s),
  ]);
  const perSuccess = (v: bigint | null) => (v === null ? null : usdDecimal(v));
  const t = report.totals;
  const compressed = compression.filter((c) => c.strategy !== "");
  const before = compressed.reduce((a, c) => a + c.tokensBefore, 0);
  const after = compressed.reduce((a, c) => a + c.tokensAfter, 0);
  const statuses = budgetStatus(budgets, monthSpend, now).filter((b) => (s.filters.tenant === undefined || b.budget.tenant === s.filters.tenant) && (s.filters.useCase === undefined || b.budget.useCase === null || b.budget.useCase === s.filters.useCase));
  return {
    window: report.window,
    generated_at: now.toISOString(),
    kpis: {
      calls: t.calls,
      spend_usd: usdDecimal(t.cost + t.overhead),
      cost_usd: usdDecimal(t.cost),
      overhead_usd: usdDecimal(t.overhead),
      baseline_usd: usdDecimal(t.baseline),
      saved_usd: usdDecimal(t.saved),
      saved_ratio: t.baseline > 0n ? ratio(Number((t.saved * 1_000_000n) / t.baseline) / 1_000_000) : null,
      cache_hit_rate: t.calls ? ratio(t.cacheHits / t.calls) : null,
      batch_share: ratio(batch.share),
      compression_kept_ratio: before ? ratio(after / before) : null,
    },
    savings: toJsonRows(SAVINGS_COLUMNS, [{ ...t, tenant: "total", useCase: "" }])[0],
    use_cases: toJsonRows(USE_CASE_COLUMNS, report.useCases),
    structure: toJsonRows(STRUCTURE_COLUMNS, report.structure),
    trend: { bucket: report.bucket, points: toJsonRows(TREND_COLUMNS, report.trend.map((x) => ({ ...x, bucket: report.bucket }))).map((row, i) => ({ ...row, t_ms: report.trend[i]!.t })) },
    cache: cache.map((c) => ({ tenant: c.tenant, use_case: c.useCase, requests: c.requests, exact_hits: c.exactHits, semantic_hits: c.semanticHits, hit_rate: ratio(c.hitRate), saving_usd: usdDecimal(c.saving) })),
    routes: {
      traffic: routes.map((r) => ({ tier: r.tier, strategy: r.strategy, model: r.model, calls: r.calls, share: ratio(r.share), errors: r.errors, mean_score: ratio(r.meanScore), cost_usd: usdDecimal(r.cost), saving_usd: usdDecimal(r.saving) })),
      quality: quality.available ? { available: true, tiers: quality.rows.map((q) => ({ tier: q.tier, samples: q.samples, agreement: ratio(q.agreement), agreed_rate: ratio(q.agreedRate) })) } : { available: false, reason: quality.reason },
    },
    compression: compression.map((c) => ({ strategy: c.strategy, calls: c.calls, tokens_before: c.tokensBefore, tokens_after: c.tokensAfter, kept_ratio: ratio(c.keptRatio), saving_usd: usdDecimal(c.saving) })),
    batch: { model_calls: batch.modelCalls, batch_calls: batch.batchCalls, share: ratio(batch.share), batch_cost_usd: usdDecimal(batch.batchCost), realtime_cost_usd: usdDecimal(batch.realtimeCost), saving_usd: usdDecimal(batch.saving), mean_queue_delay_ms: batch.meanQueueDelayMs },
    budgets: statuses.map((b) => ({
      tenant: b.budget.tenant,
      use_case: b.budget.useCase,
      month: b.month,
      budget_usd: usdDecimal(b.budget.monthly),
      spent_usd: usdDecimal(b.spent),
      projected_usd: usdDecimal(b.projected),
      level: b.level,
      threshold: b.crossed,
      message: b.message,
    })),
    // Cost per successful outcome (calls with an outcome only) and success by technique.
    outcomes: {
      use_cases: report.outcomes.map((o) => ({
        tenant: o.tenant, use_case: o.useCase, outcomes: o.outcomes, successes: o.successes, success_rate: ratio(o.successRate),
        cost_per_success_usd: perSuccess(o.costPerSuccess), naive_cost_per_success_usd: perSuccess(o.naiveCostPerSuccess),
      })),
      techniques: techniques.map((t) => ({ use_case: t.useCase, technique: t.technique, outcomes: t.outcomes, successes: t.successes, success_rate: ratio(t.successRate), cost_per_success_usd: perSuccess(t.costPerSuccess) })),
      backoffs: report.backoffs.map((b) => ({ use_case: b.useCase, technique: b.technique, until: b.until, reason: b.reason })),
    },
    filters: {
      tenants: [...new Set(dims.map((d) => d.tenant))],
      use_cases: dims.map((d) => ({ tenant: d.tenant, use_case: d.useCase })),
    },
  };
}

export type DashboardData = Awaited<ReturnType<typeof dashboardData>>;
