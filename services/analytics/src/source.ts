import { sql, sqlIdentifier } from "@costwise/infra";
import type { Filters } from "./filters.ts";

/**
 * Where figures come from.
 * - `rollup`: the `calls_hourly` materialized view (migration 0004). Thousands of rows for
 *   months of traffic, so reports stay well under a second; it counts every delivery, so after a
 *   Kafka replay it over-counts the replayed calls until rebuilt (docs/analytics.md).
 * - `exact`: `llm_calls FINAL`, one row per request whatever was replayed; reads every call in
 *   the window, so it is slower on large windows.
 * Both present the same columns, so every query below is written once.
 */
export type SourceMode = "rollup" | "exact";
export const SOURCE_MODES: readonly SourceMode[] = ["rollup", "exact"];

/** The rollup is hourly: every window is widened to whole hours (UTC) in both modes, so they agree. */
export function hourFloor(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 3_600_000) * 3_600_000);
}

/** The hours a window covers: [start of the hour of `since`, end of the hour before `until`). */
export function hourWindow(f: Filters): { start: Date; end: Date } {
  return { start: hourFloor(f.since), end: new Date(hourFloor(new Date(f.until.getTime() - 1)).getTime() + 3_600_000) };
}

/** Columns of calls_hourly; the exact source computes the same names per call. */
const EXACT_COLUMNS = `
  toStartOfHour(ts) AS hour, tenant, use_case, model_requested, model_used, provider, served_by, status,
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
 * A parenthesised subquery with the calls_hourly columns, restricted to the filters. Use it as
 * `FROM ${source(...)}` and always aggregate: rollup rows are partial sums until merged.
 */
export function source(database: string, mode: SourceMode, f: Filters): string {
  const { start, end } = hourWindow(f);
  const dims: string[] = [];
  if (f.tenant !== undefined) dims.push(sql` AND tenant = ${f.tenant}`);
  if (f.useCase !== undefined) dims.push(sql` AND use_case = ${f.useCase}`);
  if (mode === "exact") {
    const table = sqlIdentifier(`${database}.llm_calls`);
    return `(SELECT ${EXACT_COLUMNS} FROM ${table.text} FINAL WHERE ${sql`ts >= ${start} AND ts < ${end}`}${dims.join("")})`;
  }
  const table = sqlIdentifier(`${database}.calls_hourly`);
  return `(SELECT * FROM ${table.text} WHERE ${sql`hour >= ${start} AND hour < ${end}`}${dims.join("")})`;
}
