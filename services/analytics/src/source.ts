import { sql, sqlIdentifier } from "@costwise/infra";
import type { Filters } from "./filters.ts";

/**
 * Where figures come from.
 * - `rollup`: the `calls_hourly` / `calls_daily` materialized views (migration 0004). Thousands
 *   of rows for months of traffic, so reports stay fast; they count every delivery, so after a
 *   Kafka replay they over-count the replayed calls until rebuilt (docs/analytics.md).
 * - `exact`: `llm_calls FINAL`, one row per request whatever was replayed; reads every call in
 *   the window, so it is slower on large windows.
 * Both present the same columns, so every query below is written once.
 */
export type SourceMode = "rollup" | "exact";
export const SOURCE_MODES: readonly SourceMode[] = ["rollup", "exact"];

/** Rollup granularity: `calls_hourly` or `calls_daily`. Windows are widened to whole grains (UTC) in both modes, so they agree. */
export type Grain = "hour" | "day";

const GRAIN_MS: Record<Grain, number> = { hour: 3_600_000, day: 86_400_000 };

/** Hourly up to two days, daily beyond: a month of traffic is then a few thousand rollup rows. */
export function grainFor(f: Filters): Grain {
  // `until` is one second past now (filters.ts), so "--since 2d" is 2 days and 1 second long.
  return f.until.getTime() - f.since.getTime() <= 2 * 86_400_000 + 60_000 ? "hour" : "day";
}

export function floorTo(d: Date, grain: Grain): Date {
  return new Date(Math.floor(d.getTime() / GRAIN_MS[grain]) * GRAIN_MS[grain]);
}

/** The grains a window covers: [start of the grain of `since`, end of the grain before `until`). */
export function grainWindow(f: Filters, grain: Grain): { start: Date; end: Date } {
  return { start: floorTo(f.since, grain), end: new Date(floorTo(new Date(f.until.getTime() - 1), grain).getTime() + GRAIN_MS[grain]) };
}

/** Columns of the rollups; the exact source computes the same names per call. */
const EXACT_COLUMNS = `
  tenant, use_case, model_requested, model_used, provider, served_by, status,
  route_tier, route_strategy, compression_strategy,
  toUInt64(1) AS deliveries,
  toUInt64(input_tokens) AS input_tokens_sum,
  toUInt64(cached_input_tokens) AS cached_input_tokens_sum,
  toUInt64(cache_write_input_tokens) AS cache_write_input_tokens_sum,
  toUInt64(output_tokens) AS output_tokens_sum,
  toUInt64(context_tokens_before) AS context_tokens_before_sum,
  toUInt64(context_tokens_after) AS context_tokens_after_sum,
  cost_nanousd AS cost_nanousd_sum,
  overhead_cost_nanousd AS overhead_nanousd_sum,
  baseline_cost_nanousd AS baseline_nanousd_sum,
  saving_cache_nanousd AS saving_cache_nanousd_sum,
  saving_routing_nanousd AS saving_routing_nanousd_sum,
  saving_compression_nanousd AS saving_compression_nanousd_sum,
  saving_batch_nanousd AS saving_batch_nanousd_sum,
  toUInt64(latency_ms) AS latency_ms_sum,
  toUInt64(queue_delay_ms) AS queue_delay_ms_sum,
  route_score AS route_score_sum`;

/**
 * A parenthesised subquery with the rollup columns plus `bucket` (start of the grain, DateTime),
 * restricted to the filters. Use it as `FROM ${source(...)}` and always aggregate: rollup rows
 * are partial sums until merged.
 */
export function source(database: string, mode: SourceMode, f: Filters, grain: Grain = grainFor(f)): string {
  const { start, end } = grainWindow(f, grain);
  const dims: string[] = [];
  if (f.tenant !== undefined) dims.push(sql` AND tenant = ${f.tenant}`);
  if (f.useCase !== undefined) dims.push(sql` AND use_case = ${f.useCase}`);
  if (mode === "exact") {
    const table = sqlIdentifier(`${database}.llm_calls`);
    const bucket = grain === "hour" ? "toStartOfHour(ts)" : "toDateTime(toDate(ts))";
    return `(SELECT ${bucket} AS bucket, ${EXACT_COLUMNS} FROM ${table.text} FINAL WHERE ${sql`ts >= ${start} AND ts < ${end}`}${dims.join("")})`;
  }
  if (grain === "hour") {
    const table = sqlIdentifier(`${database}.calls_hourly`);
    return `(SELECT *, hour AS bucket FROM ${table.text} WHERE ${sql`hour >= ${start} AND hour < ${end}`}${dims.join("")})`;
  }
  const table = sqlIdentifier(`${database}.calls_daily`);
  const day = (d: Date) => d.toISOString().slice(0, 10);
  return `(SELECT *, toDateTime(day) AS bucket FROM ${table.text} WHERE ${sql`day >= toDate(${day(start)}) AND day < toDate(${day(end)})`}${dims.join("")})`;
}

/**
 * Overhead spent after the response (the router's shadow calls and judges, the distiller's
 * candidate calls and judges): the `llm_overhead` view (migration 0011), one row per charge,
 * dated by the request's time like llm_calls, so it lands in the same grains as the request it
 * is charged to. Always exact (the view reads its tables FINAL); a parenthesised subquery with
 * `bucket`, restricted to the filters.
 */
export function overheadSource(database: string, f: Filters, grain: Grain = grainFor(f)): string {
  const { start, end } = grainWindow(f, grain);
  const dims: string[] = [];
  if (f.tenant !== undefined) dims.push(sql` AND tenant = ${f.tenant}`);
  if (f.useCase !== undefined) dims.push(sql` AND use_case = ${f.useCase}`);
  const bucket = grain === "hour" ? "toStartOfHour(ts)" : "toDateTime(toDate(ts))";
  const view = sqlIdentifier(`${database}.llm_overhead`);
  return `(SELECT ${bucket} AS bucket, tenant, use_case, technique, source, route_tier, route_strategy, served_model, model, cost_nanousd FROM ${view.text} WHERE ${sql`ts >= ${start} AND ts < ${end}`}${dims.join("")})`;
}
