import { z } from "zod";
import { baseConfigSchema, parseConfig } from "@costwise/stream-runtime";
import { DEFAULT_BUDGETS_FILE } from "./budgets.ts";

/** How analytics reaches ClickHouse; shared by the CLI, the dashboard and the alert loop. */
export const clickhouseConfigSchema = z.object({
  CLICKHOUSE_URL: z.string().url().default("http://127.0.0.1:18123"),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default("costwise"),
  CLICKHOUSE_USER: z.string().default("default"),
  CLICKHOUSE_PASSWORD: z.string().default(""),
  /** rollup (calls_hourly, fast) or exact (llm_calls FINAL); see source.ts. */
  ANALYTICS_SOURCE: z.enum(["rollup", "exact"]).default("rollup"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});
export type ClickhouseConfig = z.infer<typeof clickhouseConfigSchema>;

export const dashboardConfigSchema = clickhouseConfigSchema.extend({
  DASHBOARD_PORT: z.coerce.number().int().min(0).max(65535).default(9480),
  DASHBOARD_HOST: z.string().default("127.0.0.1"),
  /** How often the page refreshes its figures. */
  DASHBOARD_REFRESH_MS: z.coerce.number().int().min(1_000).default(10_000),
  BUDGETS_FILE: z.string().default(DEFAULT_BUDGETS_FILE),
});
export type DashboardConfig = z.infer<typeof dashboardConfigSchema>;

export const alertsConfigSchema = baseConfigSchema.merge(clickhouseConfigSchema).extend({
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9407),
  BUDGETS_FILE: z.string().default(DEFAULT_BUDGETS_FILE),
  ALERTS_INTERVAL_MS: z.coerce.number().int().min(1_000).default(60_000),
  // Quality regressions from outcomes (@costwise/outcomes): a technique whose success rate is more
  // than OUTCOME_MARGIN below its baseline's, one-sided at OUTCOME_ALPHA, over the calls of the
  // last OUTCOME_WINDOW_HOURS, each side with OUTCOME_MIN_SAMPLES outcomes, backs off for that use
  // case for OUTCOME_BACKOFF_HOURS (renewed while the regression stands).
  OUTCOME_MARGIN: z.coerce.number().min(0).max(1).default(0.05),
  OUTCOME_ALPHA: z.coerce.number().gt(0).lt(0.5).default(0.05),
  OUTCOME_MIN_SAMPLES: z.coerce.number().int().positive().default(30),
  OUTCOME_WINDOW_HOURS: z.coerce.number().positive().default(168),
  OUTCOME_BACKOFF_HOURS: z.coerce.number().positive().default(24),
  /** The route tier every cheap tier is compared with (the last tier of the router's use cases). */
  OUTCOME_FRONTIER_TIER: z.string().min(1).default("frontier"),
  /** off: no regression checks (budgets only). */
  OUTCOME_REGRESSIONS: z.enum(["on", "off"]).default("on"),
  REDIS_URL: z.string().url().default("redis://127.0.0.1:16379"),
  /** The Redis hash the cache and the router read backoffs from (their OUTCOME_BACKOFF_KEY). */
  OUTCOME_BACKOFF_KEY: z.string().regex(/^[A-Za-z0-9:_.-]+$/).default("cw:outcomes:backoff"),
});
export type AlertsConfig = z.infer<typeof alertsConfigSchema>;

export const loadClickhouseConfig = (env: NodeJS.ProcessEnv = process.env): ClickhouseConfig => parseConfig(clickhouseConfigSchema, env);
export const loadDashboardConfig = (env: NodeJS.ProcessEnv = process.env): DashboardConfig => parseConfig(dashboardConfigSchema, env);
export const loadAlertsConfig = (env: NodeJS.ProcessEnv = process.env): AlertsConfig => parseConfig(alertsConfigSchema, env);
