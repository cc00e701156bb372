import { sql, sqlIdentifier } from "@costwise/infra";
import { AnalyticsInputError } from "../errors.ts";
import { toNano, type Nano } from "../money.ts";
import { cacheEffectiveness, routeQuality, routeTraffic, tableExists, type CacheRow, type QueryFn, type RouteQuality, type RouteRow, type Scope } from "../queries.ts";
import { techniqueOutcomes, type TechniqueOutcomes } from "../outcomes.ts";
import { buildAdvice, buildReport, type AdviceReport, type Report } from "../reports.ts";
import { source } from "../source.ts";

/** A calendar quarter in UTC: 2026Q4 is [2026-10-01, 2027-01-01). */
export interface Quarter {
  readonly label: string;
  readonly start: Date;
  readonly end: Date;
}

export function parseQuarter(text: string): Quarter {
  const m = /^(\d{4})Q([1-4])$/.exec(text.trim());
  if (!m) throw new AnalyticsInputError(`--quarter ${JSON.stringify(text)}: expected YYYYQn, e.g. 2026Q4`);
  const year = Number(m[1]);
  const q = Number(m[2]);
  return { label: `${year}Q${q}`, start: new Date(Date.UTC(year, (q - 1) * 3, 1)), end: new Date(Date.UTC(year, q * 3, 1)) };
}

export function nextQuarter(q: Quarter): Quarter {
  const year = q.end.getUTCFullYear();
  return parseQuarter(`${year}Q${Math.floor(q.end.getUTCMonth() / 3) + 1}`);
}

/** One week of cost per successful outcome against the naive baseline (all use cases of the scope). */
export interface OutcomeWeek {
  /** Monday, YYYY-MM-DD. */
  readonly week: string;
  readonly outcomes: number;
  readonly successes: number;
  readonly costPerSuccess: Nano | null;
  readonly naiveCostPerSuccess: Nano | null;
}

export interface CompressionUseCase {
  readonly tenant: string;
  readonly useCase: string;
  readonly calls: number;
  readonly tokensBefore: number;
  readonly tokensAfter: number;
  readonly saving: Nano;
}

export interface Review {
  readonly quarter: Quarter;
  /** The part of the quarter read: its start to now when the quarter is not over. */
  readonly until: Date;
  readonly complete: boolean;
  readonly report: Report;
  readonly advice: AdviceReport;
  readonly cache: readonly CacheRow[];
  readonly routes: readonly RouteRow[];
  readonly routeQuality: RouteQuality;
  readonly techniques: readonly TechniqueOutcomes[];
  readonly weeks: readonly OutcomeWeek[];
  readonly compression: readonly CompressionUseCase[];
  readonly next: Quarter;
  readonly generatedAt: Date;
}

type Int = string | number;

async function outcomeWeeks(q: QueryFn, database: string, since: Date, until: Date, tenant?: string): Promise<OutcomeWeek[]> {
  if (!(await tableExists(q, database, "outcome_calls"))) return [];
  const where = [sql`ts >= ${since} AND ts < ${until}`, ...(tenant === undefined ? [] : [sql`tenant = ${tenant}`])].join(" AND ");
  const rows = await q<{ week: string; outcomes: Int; successes: Int; spend: Int; baseline: Int }>(
    `SELECT toString(toMonday(ts)) AS week, count() AS outcomes, sum(succeeded) AS successes, sum(call_spend_nanousd) AS spend, sum(call_baseline_nanousd) AS baseline
      FROM ${sqlIdentifier(`${database}.outcome_calls`).text} WHERE ${where} GROUP BY week ORDER BY week`,
  );
  return rows.map((r) => {
    const ok = Number(r.successes);
    return { week: r.week, outcomes: Number(r.outcomes), successes: ok, costPerSuccess: ok ? toNano(r.spend) / BigInt(ok) : null, naiveCostPerSuccess: ok ? toNano(r.baseline) / BigInt(ok) : null };
  });
}

async function compressionPerUseCase(q: QueryFn, s: Scope): Promise<CompressionUseCase[]> {
  const rows = await q<{ tenant: string; use_case: string; calls: Int; before: Int; after: Int; saving: Int }>(
    `SELECT tenant, use_case, sum(deliveries) AS calls, sum(context_tokens_before_sum) AS before, sum(context_tokens_after_sum) AS after, sum(saving_compression_nanousd_sum) AS saving
      FROM ${source(s.database, s.mode, s.filters, s.grain)} WHERE served_by IN ('REALTIME', 'BATCH') GROUP BY tenant, use_case ORDER BY before DESC, tenant, use_case`,
  );
  return rows.map((r) => ({ tenant: r.tenant, useCase: r.use_case, calls: Number(r.calls), tokensBefore: Number(r.before), tokensAfter: Number(r.after), saving: toNano(r.saving) }));
}

/**
 * Everything the quarterly review shows, read exactly (llm_calls FINAL, daily grain) over the
 * quarter, or over its part so far when it is not over.
 */
export async function buildReview(q: QueryFn, opts: { database: string; quarter: Quarter; now: Date; tenant?: string }): Promise<Review> {
  const until = opts.now < opts.quarter.end ? new Date(Math.floor(opts.now.getTime() / 1000) * 1000 + 1000) : opts.quarter.end;
  if (until <= opts.quarter.start) throw new AnalyticsInputError(`quarter ${opts.quarter.label} has not started`);
  const scope: Scope = { database: opts.database, mode: "exact", grain: "day", filters: { since: opts.quarter.start, until, ...(opts.tenant === undefined ? {} : { tenant: opts.tenant }) } };
  const [report, advice, cache, routes, quality, techniques, weeks, compression] = await Promise.all([
    buildReport(q, scope), buildAdvice(q, scope), cacheEffectiveness(q, scope), routeTraffic(q, scope), routeQuality(q, scope), techniqueOutcomes(q, scope),
    outcomeWeeks(q, opts.database, opts.quarter.start, until, opts.tenant), compressionPerUseCase(q, scope),
  ]);
  return { quarter: opts.quarter, until, complete: until >= opts.quarter.end, report, advice, cache, routes, routeQuality: quality, techniques, weeks, compression, next: nextQuarter(opts.quarter), generatedAt: opts.now };
}
