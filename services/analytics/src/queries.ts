import type { ClickHouseClient } from "@clickhouse/client";
import { sql, sqlIdentifier } from "@costwise/infra";
import type { Filters } from "./filters.ts";
import { toNano, type Nano } from "./money.ts";
import { overheadSource, source, type Grain, type SourceMode } from "./source.ts";

/** Runs one SELECT and returns its rows (JSONEachRow). The only way analytics talks to ClickHouse. */
export type QueryFn = <T>(query: string) => Promise<T[]>;

export function clickhouseQuery(client: ClickHouseClient): QueryFn {
  return async <T>(query: string) => (await client.query({ query, format: "JSONEachRow" })).json<T>();
}

/** Where and how to read: the database, the source and its grain (see source.ts) and the filters. */
export interface Scope {
  readonly database: string;
  readonly mode: SourceMode;
  /** The rollup read and the trend's bucket; the window is widened to whole grains. */
  readonly grain: Grain;
  readonly filters: Filters;
}

type Int = string | number;
const n = (v: Int | null | undefined): number => Number(v ?? 0);

export interface Savings {
  readonly cache: Nano;
  readonly routing: Nano;
  readonly compression: Nano;
  readonly batch: Nano;
  /**
   * Provider prompt caching, cache-write premiums included. Derived as what is left of
   * baseline − cost − overhead after the other four: on every cost record the five parts add up
   * exactly, so the remainder is their sum (and the rollups need no column of their own).
   */
  readonly promptCache: Nano;
}

export interface Totals {
  readonly calls: number;
  readonly errors: number;
  readonly cacheHits: number;
  readonly batchCalls: number;
  readonly inputTokens: number;
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
  readonly cost: Nano;
  /**
   * What costwise itself spent: lookup embeddings, router calls, failed cascade attempts and
   * summaries (on the cost records) plus what it spent after the response (`overheadAfter`).
   */
  readonly overhead: Nano;
  /** Of `overhead`, spent after the response: shadow comparisons and their judges (llm_overhead). */
  readonly overheadAfter: Nano;
  readonly baseline: Nano;
  readonly savings: Savings;
  /** baseline − cost − overhead; equals the sum of `savings` (accounting.ts, less the post-response overhead of each technique). */
  readonly saved: Nano;
  readonly latencyMsSum: number;
}

export interface UseCaseRow extends Totals {
  readonly tenant: string;
  readonly useCase: string;
}

const TOTALS_SELECT = `
  sum(deliveries) AS calls,
  sumIf(deliveries, status = 'ERROR') AS errors,
  sumIf(deliveries, served_by IN ('CACHE_EXACT', 'CACHE_SEMANTIC')) AS cache_hits,
  sumIf(deliveries, served_by = 'BATCH') AS batch_calls,
  sum(input_tokens_sum) AS input_tokens,
  sum(cached_input_tokens_sum) AS cached_input_tokens,
  sum(output_tokens_sum) AS output_tokens,
  sum(cost_nanousd_sum) AS cost,
  sum(overhead_nanousd_sum) AS overhead,
  sum(baseline_nanousd_sum) AS baseline,
  sum(saving_cache_nanousd_sum) AS s_cache,
  sum(saving_routing_nanousd_sum) AS s_routing,
  sum(saving_compression_nanousd_sum) AS s_compression,
  sum(saving_batch_nanousd_sum) AS s_batch,
  sum(latency_ms_sum) AS latency_ms`;

interface TotalsRaw {
  calls: Int; errors: Int; cache_hits: Int; batch_calls: Int; input_tokens: Int; cached_input_tokens: Int; output_tokens: Int;
  cost: Int; overhead: Int; baseline: Int; s_cache: Int; s_routing: Int; s_compression: Int; s_batch: Int; latency_ms: Int;
}

function savingsOf(r: Pick<TotalsRaw, "s_cache" | "s_routing" | "s_compression" | "s_batch">, saved: Nano): Savings {
  const cache = toNano(r.s_cache);
  const routing = toNano(r.s_routing);
  const compression = toNano(r.s_compression);
  const batch = toNano(r.s_batch);
  return { cache, routing, compression, batch, promptCache: saved - cache - routing - compression - batch };
}

function totalsOf(r: TotalsRaw): Totals {
  const cost = toNano(r.cost);
  const overhead = toNano(r.overhead);
  const baseline = toNano(r.baseline);
  return {
    calls: n(r.calls), errors: n(r.errors), cacheHits: n(r.cache_hits), batchCalls: n(r.batch_calls),
    inputTokens: n(r.input_tokens), cachedInputTokens: n(r.cached_input_tokens), outputTokens: n(r.output_tokens),
    cost, overhead, baseline, overheadAfter: 0n,
    savings: savingsOf(r, baseline - cost - overhead),
    saved: baseline - cost - overhead,
    latencyMsSum: n(r.latency_ms),
  };
}

export const EMPTY_TOTALS: Totals = totalsOf({
  calls: 0, errors: 0, cache_hits: 0, batch_calls: 0, input_tokens: 0, cached_input_tokens: 0, output_tokens: 0,
  cost: 0, overhead: 0, baseline: 0, s_cache: 0, s_routing: 0, s_compression: 0, s_batch: 0, latency_ms: 0,
});


type Technique = keyof Savings;
const TECHNIQUES: readonly Technique[] = ["cache", "routing", "compression", "batch"];
/** A technique named by llm_overhead; anything unknown is charged to routing, where every post-response source belongs today. */
const techniqueOf = (t: string): Technique => ((TECHNIQUES as readonly string[]).includes(t) ? (t as Technique) : "routing");

/** Post-response overhead per technique. */
type PostOverhead = Readonly<Record<Technique, Nano>>;
const NO_POST: PostOverhead = { cache: 0n, routing: 0n, compression: 0n, batch: 0n, promptCache: 0n };

function addPost(into: Map<string, Record<Technique, Nano>>, key: string, technique: string, nano: Nano): void {
  const cur = into.get(key) ?? { ...NO_POST };
  cur[techniqueOf(technique)] += nano;
  into.set(key, cur);
}

/** Post-response overhead in the scope, summed per `keys` (a GROUP BY list of llm_overhead columns) and technique. */
async function postOverhead<K extends string>(q: QueryFn, s: Scope, keys: readonly K[]): Promise<Map<string, Record<Technique, Nano>>> {
  const group = [...keys, "technique"].join(", ");
  const sel = keys.map((k) => (k === "bucket" ? "toUInt32(bucket) AS bucket" : k)).join(", ");
  const rows = await q<Record<K, string | number> & { technique: string; overhead: Int }>(
    `SELECT ${sel ? `${sel}, ` : ""}technique, sum(cost_nanousd) AS overhead FROM ${overheadSource(s.database, s.filters, s.grain)} GROUP BY ${group}`,
  );
  const out = new Map<string, Record<Technique, Nano>>();
  for (const r of rows) addPost(out, keys.map((k) => String(r[k])).join("\u0000"), r.technique, toNano(r.overhead));
  return out;
}

const postTotal = (p: PostOverhead): Nano => p.cache + p.routing + p.compression + p.batch + p.promptCache;

/**
 * Charge post-response overhead to figures read from the cost records: it adds to overhead and
 * comes out of the saving of the technique that caused it, so `saved` (baseline − cost −
 * overhead) still equals the sum of the savings.
 */
export function withPostOverhead<T extends Totals>(t: T, p: PostOverhead): T {
  const total = postTotal(p);
  if (total === 0n) return t;
  return {
    ...t,
    overhead: t.overhead + total,
    overheadAfter: t.overheadAfter + total,
    savings: { cache: t.savings.cache - p.cache, routing: t.savings.routing - p.routing, compression: t.savings.compression - p.compression, batch: t.savings.batch - p.batch, promptCache: t.savings.promptCache - p.promptCache },
    saved: t.saved - total,
  };
}

/**
 * Per tenant and use case: traffic, tokens, spend (post-response overhead included), naive
 * baseline and savings by technique; most expensive first. A use case whose only spend in the
 * window is post-response overhead comes last.
 */
export async function useCaseTotals(q: QueryFn, s: Scope): Promise<UseCaseRow[]> {
  const [rows, post] = await Promise.all([
    q<TotalsRaw & { tenant: string; use_case: string }>(
      `SELECT tenant, use_case, ${TOTALS_SELECT} FROM ${source(s.database, s.mode, s.filters, s.grain)} GROUP BY tenant, use_case ORDER BY cost DESC, tenant, use_case`,
    ),
    postOverhead(q, s, ["tenant", "use_case"]),
  ]);
  const key = (tenant: string, useCase: string) => `${tenant}\u0000${useCase}`;
  const out = rows.map((r) => withPostOverhead({ tenant: r.tenant, useCase: r.use_case, ...totalsOf(r) }, post.get(key(r.tenant, r.use_case)) ?? NO_POST));
  const seen = new Set(rows.map((r) => key(r.tenant, r.use_case)));
  for (const [k, p] of [...post].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (seen.has(k)) continue;
    const [tenant, useCase] = k.split("\u0000") as [string, string];
    out.push(withPostOverhead({ tenant, useCase, ...EMPTY_TOTALS }, p));
  }
  return out;
}

/** The same figures over the whole scope. */
export async function overallTotals(q: QueryFn, s: Scope): Promise<Totals> {
  const [[r], post] = await Promise.all([q<TotalsRaw>(`SELECT ${TOTALS_SELECT} FROM ${source(s.database, s.mode, s.filters, s.grain)}`), postOverhead(q, s, [])]);
  return withPostOverhead(r && n(r.calls) > 0 ? totalsOf(r) : EMPTY_TOTALS, post.get("") ?? NO_POST);
}

/** Token sums per model and pricing mode: the input of the cost-structure split (structure.ts). */
export interface ModelUsageRow {
  readonly tenant: string;
  readonly useCase: string;
  readonly model: string;
  readonly batch: boolean;
  readonly calls: number;
  readonly inputTokens: number;
  readonly cachedInputTokens: number;
  readonly cacheWriteInputTokens: number;
  readonly outputTokens: number;
  readonly cost: Nano;
  readonly overhead: Nano;
}

export async function modelUsage(q: QueryFn, s: Scope): Promise<ModelUsageRow[]> {
  const rows = await q<{ tenant: string; use_case: string; model_used: string; batch: number; calls: Int; input_tokens: Int; cached: Int; cache_write: Int; output_tokens: Int; cost: Int; overhead: Int }>(
    `SELECT tenant, use_case, model_used, served_by = 'BATCH' AS batch, sum(deliveries) AS calls,
        sum(input_tokens_sum) AS input_tokens, sum(cached_input_tokens_sum) AS cached, sum(cache_write_input_tokens_sum) AS cache_write,
        sum(output_tokens_sum) AS output_tokens, sum(cost_nanousd_sum) AS cost, sum(overhead_nanousd_sum) AS overhead
      FROM ${source(s.database, s.mode, s.filters, s.grain)}
      GROUP BY tenant, use_case, model_used, batch
      ORDER BY tenant, use_case, model_used, batch`,
  );
  return rows.map((r) => ({
    tenant: r.tenant, useCase: r.use_case, model: r.model_used, batch: Number(r.batch) === 1, calls: n(r.calls),
    inputTokens: n(r.input_tokens), cachedInputTokens: n(r.cached), cacheWriteInputTokens: n(r.cache_write), outputTokens: n(r.output_tokens),
    cost: toNano(r.cost), overhead: toNano(r.overhead),
  }));
}

export interface TrendPoint {
  /** Start of the bucket, epoch ms (UTC). */
  readonly t: number;
  readonly calls: number;
  readonly cost: Nano;
  readonly overhead: Nano;
  readonly baseline: Nano;
  readonly savings: Savings;
}

/** Spend and savings per grain (hour or day), post-response overhead included; oldest first (grains without traffic are absent). */
export async function trend(q: QueryFn, s: Scope): Promise<TrendPoint[]> {
  const [points, post] = await Promise.all([trendOfRecords(q, s), postOverhead(q, s, ["bucket"])]);
  const byT = new Map(points.map((p) => [p.t, p]));
  for (const [k, p] of post) {
    const t = Number(k) * 1000;
    const cur = byT.get(t) ?? { t, calls: 0, cost: 0n, overhead: 0n, baseline: 0n, savings: { cache: 0n, routing: 0n, compression: 0n, batch: 0n, promptCache: 0n } };
    byT.set(t, {
      ...cur,
      overhead: cur.overhead + postTotal(p),
      savings: { cache: cur.savings.cache - p.cache, routing: cur.savings.routing - p.routing, compression: cur.savings.compression - p.compression, batch: cur.savings.batch - p.batch, promptCache: cur.savings.promptCache - p.promptCache },
    });
  }
  return [...byT.values()].sort((a, b) => a.t - b.t);
}

async function trendOfRecords(q: QueryFn, s: Scope): Promise<TrendPoint[]> {
  const rows = await q<{ t: number; calls: Int; cost: Int; overhead: Int; baseline: Int; s_cache: Int; s_routing: Int; s_compression: Int; s_batch: Int }>(
    `SELECT toUInt32(bucket) AS t, sum(deliveries) AS calls, sum(cost_nanousd_sum) AS cost, sum(overhead_nanousd_sum) AS overhead,
        sum(baseline_nanousd_sum) AS baseline, sum(saving_cache_nanousd_sum) AS s_cache, sum(saving_routing_nanousd_sum) AS s_routing,
        sum(saving_compression_nanousd_sum) AS s_compression, sum(saving_batch_nanousd_sum) AS s_batch
      FROM ${source(s.database, s.mode, s.filters, s.grain)} GROUP BY t ORDER BY t`,
  );
  return rows.map((r) => ({
    t: n(r.t) * 1000, calls: n(r.calls), cost: toNano(r.cost), overhead: toNano(r.overhead), baseline: toNano(r.baseline),
    savings: savingsOf(r, toNano(r.baseline) - toNano(r.cost) - toNano(r.overhead)),
  }));
}

export interface CacheRow {
  readonly tenant: string;
  readonly useCase: string;
  readonly requests: number;
  readonly exactHits: number;
  readonly semanticHits: number;
  readonly hitRate: number | null;
  /** Net of lookup costs; negative when lookups cost more than the hits saved. */
  readonly saving: Nano;
}

export async function cacheEffectiveness(q: QueryFn, s: Scope): Promise<CacheRow[]> {
  const rows = await q<{ tenant: string; use_case: string; requests: Int; exact_hits: Int; semantic_hits: Int; saving: Int }>(
    `SELECT tenant, use_case, sum(deliveries) AS requests, sumIf(deliveries, served_by = 'CACHE_EXACT') AS exact_hits,
        sumIf(deliveries, served_by = 'CACHE_SEMANTIC') AS semantic_hits, sum(saving_cache_nanousd_sum) AS saving
      FROM ${source(s.database, s.mode, s.filters, s.grain)} GROUP BY tenant, use_case ORDER BY requests DESC, tenant, use_case`,
  );
  return rows.map((r) => {
    const requests = n(r.requests);
    const hits = n(r.exact_hits) + n(r.semantic_hits);
    return { tenant: r.tenant, useCase: r.use_case, requests, exactHits: n(r.exact_hits), semanticHits: n(r.semantic_hits), hitRate: requests ? hits / requests : null, saving: toNano(r.saving) };
  });
}

export interface RouteRow {
  readonly tier: string;
  readonly strategy: string;
  readonly model: string;
  readonly calls: number;
  /** Of the calls that reached a model in the scope. */
  readonly share: number | null;
  readonly errors: number;
  readonly meanScore: number | null;
  readonly cost: Nano;
  readonly saving: Nano;
}

/** Traffic per route (tier, strategy, model) among calls that reached a model; the saving is net of the route's shadow overhead. */
export async function routeTraffic(q: QueryFn, s: Scope): Promise<RouteRow[]> {
  const rows = await q<{ tier: string; strategy: string; model: string; calls: Int; errors: Int; score: number; cost: Int; saving: Int }>(
    `SELECT route_tier AS tier, route_strategy AS strategy, model_used AS model, sum(deliveries) AS calls,
        sumIf(deliveries, status = 'ERROR') AS errors, sum(route_score_sum) AS score, sum(cost_nanousd_sum) AS cost,
        sum(saving_routing_nanousd_sum) AS saving
      FROM ${source(s.database, s.mode, s.filters, s.grain)} WHERE served_by IN ('REALTIME', 'BATCH')
      GROUP BY tier, strategy, model ORDER BY calls DESC, tier, strategy, model`,
  );
  // Shadow comparisons and their judges are paid out of the routing saving of the route that served the request.
  const post = await postOverhead(q, s, ["route_tier", "route_strategy", "served_model"]);
  const key = (tier: string, strategy: string, model: string) => [tier, strategy, model].join("\u0000");
  const total = rows.reduce((a, r) => a + n(r.calls), 0);
  const out: RouteRow[] = rows.map((r) => {
    const calls = n(r.calls);
    const charged = postTotal(post.get(key(r.tier, r.strategy, r.model)) ?? NO_POST);
    return { tier: r.tier, strategy: r.strategy, model: r.model, calls, share: total ? calls / total : null, errors: n(r.errors), meanScore: calls ? Number(r.score) / calls : null, cost: toNano(r.cost), saving: toNano(r.saving) - charged };
  });
  // Charges whose route has no call in the window (e.g. the distiller's, on no route): a row of their own, so the routes still add up.
  const seen = new Set(rows.map((r) => key(r.tier, r.strategy, r.model)));
  for (const [k, p] of post) {
    if (seen.has(k)) continue;
    const [tier, strategy, model] = k.split("\u0000") as [string, string, string];
    out.push({ tier, strategy, model, calls: 0, share: total ? 0 : null, errors: 0, meanScore: null, cost: 0n, saving: -postTotal(p) });
  }
  return out;
}

export interface CompressionRow {
  /** '' for calls sent uncompressed. */
  readonly strategy: string;
  readonly calls: number;
  readonly tokensBefore: number;
  readonly tokensAfter: number;
  /** after / before: the share of context tokens kept (1 = nothing removed). */
  readonly keptRatio: number | null;
  readonly saving: Nano;
}

export async function compressionEffectiveness(q: QueryFn, s: Scope): Promise<CompressionRow[]> {
  const rows = await q<{ strategy: string; calls: Int; before: Int; after: Int; saving: Int }>(
    `SELECT compression_strategy AS strategy, sum(deliveries) AS calls, sum(context_tokens_before_sum) AS before,
        sum(context_tokens_after_sum) AS after, sum(saving_compression_nanousd_sum) AS saving
      FROM ${source(s.database, s.mode, s.filters, s.grain)} WHERE served_by IN ('REALTIME', 'BATCH')
      GROUP BY strategy ORDER BY calls DESC, strategy`,
  );
  return rows.map((r) => {
    const before = n(r.before);
    return { strategy: r.strategy, calls: n(r.calls), tokensBefore: before, tokensAfter: n(r.after), keptRatio: before ? n(r.after) / before : null, saving: toNano(r.saving) };
  });
}

export interface BatchRow {
  /** Calls that reached a model (real time or batch). */
  readonly modelCalls: number;
  readonly batchCalls: number;
  readonly share: number | null;
  readonly batchCost: Nano;
  readonly realtimeCost: Nano;
  readonly saving: Nano;
  readonly meanQueueDelayMs: number | null;
}

export async function batchShare(q: QueryFn, s: Scope): Promise<BatchRow> {
  const [r] = await q<{ model_calls: Int; batch_calls: Int; batch_cost: Int; realtime_cost: Int; saving: Int; queue: Int }>(
    `SELECT sum(deliveries) AS model_calls, sumIf(deliveries, served_by = 'BATCH') AS batch_calls,
        sumIf(cost_nanousd_sum, served_by = 'BATCH') AS batch_cost, sumIf(cost_nanousd_sum, served_by = 'REALTIME') AS realtime_cost,
        sum(saving_batch_nanousd_sum) AS saving, sumIf(queue_delay_ms_sum, served_by = 'BATCH') AS queue
      FROM ${source(s.database, s.mode, s.filters, s.grain)} WHERE served_by IN ('REALTIME', 'BATCH')`,
  );
  const modelCalls = n(r?.model_calls);
  const batchCalls = n(r?.batch_calls);
  return {
    modelCalls, batchCalls, share: modelCalls ? batchCalls / modelCalls : null,
    batchCost: toNano(r?.batch_cost), realtimeCost: toNano(r?.realtime_cost), saving: toNano(r?.saving),
    meanQueueDelayMs: batchCalls ? n(r?.queue) / batchCalls : null,
  };
}

/** Tenants and use cases with traffic in the scope's window (the dashboard's filter lists). */
export async function dimensions(q: QueryFn, s: Scope): Promise<{ tenant: string; useCase: string }[]> {
  const unfiltered: Filters = { since: s.filters.since, until: s.filters.until };
  const rows = await q<{ tenant: string; use_case: string }>(
    `SELECT DISTINCT tenant, use_case FROM ${source(s.database, s.mode, unfiltered, s.grain)} ORDER BY tenant, use_case`,
  );
  return rows.map((r) => ({ tenant: r.tenant, useCase: r.use_case }));
}

/** Does `database.table` exist? (optional tables owned by other services, e.g. route_shadow). */
export async function tableExists(q: QueryFn, database: string, table: string): Promise<boolean> {
  const rows = await q<{ c: Int }>(sql`SELECT count() AS c FROM system.tables WHERE database = ${database} AND name = ${table}`);
  return n(rows[0]?.c) > 0;
}

export async function tableColumns(q: QueryFn, database: string, table: string): Promise<Map<string, string>> {
  const rows = await q<{ name: string; type: string }>(sql`SELECT name, type FROM system.columns WHERE database = ${database} AND table = ${table}`);
  return new Map(rows.map((r) => [r.name, r.type]));
}

/** Route quality measured in shadow (the router's `route_shadow` table), per cheap route tier. */
export interface RouteQualityRow {
  readonly tier: string;
  /** Shadow comparisons the judge decided. */
  readonly samples: number;
  /** Mean agreement of the cheap route's answers with the frontier model's, in [0, 1]. */
  readonly agreement: number | null;
  /** Share of comparisons the judge counted as agreeing. */
  readonly agreedRate: number | null;
}

export type RouteQuality =
  | { readonly available: true; readonly rows: readonly RouteQualityRow[] }
  | { readonly available: false; readonly reason: string };

/** Columns read from route_shadow (the router's table, migration 0002). */
export const ROUTE_SHADOW_COLUMNS = ["ts", "tenant", "use_case", "cheap_tier", "agreement", "agreed", "decided"] as const;

/**
 * Shadow-measured quality per cheap route tier, deduplicated (FINAL). The table belongs to the
 * router (issue 4): when it is missing or lacks a column, quality is reported unavailable with
 * the reason, never as an error.
 */
export async function routeQuality(q: QueryFn, s: Scope): Promise<RouteQuality> {
  if (!(await tableExists(q, s.database, "route_shadow"))) {
    return { available: false, reason: `no ${s.database}.route_shadow table (the router's shadow mode writes it)` };
  }
  const cols = await tableColumns(q, s.database, "route_shadow");
  const missing = ROUTE_SHADOW_COLUMNS.filter((c) => !cols.has(c));
  if (missing.length > 0) return { available: false, reason: `${s.database}.route_shadow lacks column(s) ${missing.join(", ")}` };
  const f = s.filters;
  const where = [sql`ts >= ${f.since} AND ts < ${f.until} AND decided = 1`];
  if (f.tenant !== undefined) where.push(sql`tenant = ${f.tenant}`);
  if (f.useCase !== undefined) where.push(sql`use_case = ${f.useCase}`);
  const rows = await q<{ tier: string; samples: Int; mean_agreement: number; agreed_rate: number }>(
    `SELECT cheap_tier AS tier, count() AS samples, avg(agreement) AS mean_agreement, avg(agreed) AS agreed_rate
      FROM ${sqlIdentifier(`${s.database}.route_shadow`).text} FINAL
      WHERE ${where.join(" AND ")} GROUP BY tier ORDER BY tier`,
  );
  return {
    available: true,
    rows: rows.map((r) => ({ tier: r.tier, samples: n(r.samples), agreement: n(r.samples) ? Number(r.mean_agreement) : null, agreedRate: n(r.samples) ? Number(r.agreed_rate) : null })),
  };
}

/** Month-to-date spend (cost + overhead, post-response overhead included) per tenant and use case since `monthStart` (budgets). */
export async function spendSince(q: QueryFn, database: string, mode: SourceMode, monthStart: Date, until: Date): Promise<{ tenant: string; useCase: string; spend: Nano }[]> {
  // Daily grain: a month starts at midnight UTC, so nothing is widened.
  const filters = { since: monthStart, until };
  const [rows, post] = await Promise.all([
    q<{ tenant: string; use_case: string; spend: Int }>(
      `SELECT tenant, use_case, sum(cost_nanousd_sum) + sum(overhead_nanousd_sum) AS spend
        FROM ${source(database, mode, filters, "day")} GROUP BY tenant, use_case`,
    ),
    postOverhead(q, { database, mode, grain: "day", filters }, ["tenant", "use_case"]),
  ]);
  const spend = new Map(rows.map((r) => [`${r.tenant}\u0000${r.use_case}`, toNano(r.spend)]));
  for (const [k, p] of post) spend.set(k, (spend.get(k) ?? 0n) + postTotal(p));
  return [...spend].map(([k, v]) => {
    const [tenant, useCase] = k.split("\u0000") as [string, string];
    return { tenant, useCase, spend: v };
  });
}

/** Calls answered this period by models the price catalog does not list (cost recorded as 0, tokens kept). */
export async function unpricedSince(q: QueryFn, database: string, since: Date, until: Date): Promise<{ tenant: string; useCase: string; model: string; calls: number; tokens: number }[]> {
  const table = sqlIdentifier(`${database}.llm_calls`);
  const rows = await q<{ tenant: string; use_case: string; model: string; calls: Int; tokens: Int }>(
    sql`SELECT tenant, use_case, model_used AS model, count() AS calls, sum(input_tokens + output_tokens) AS tokens
      FROM ${table} FINAL WHERE unpriced = 1 AND ts >= ${since} AND ts < ${until} GROUP BY tenant, use_case, model_used ORDER BY tenant, use_case, model`,
  );
  return rows.map((r) => ({ tenant: r.tenant, useCase: r.use_case, model: r.model, calls: n(r.calls), tokens: n(r.tokens) }));
}
