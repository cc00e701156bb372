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
});
export type AlertsConfig = z.infer<typeof alertsConfigSchema>;

export const loadClickhouseConfig = (env: NodeJS.ProcessEnv = process.env): ClickhouseConfig => parseConfig(clickhouseConfigSchema, env);
export const loadDashboardConfig = (env: NodeJS.ProcessEnv = process.env): DashboardConfig => parseConfig(dashboardConfigSchema, env);
export const loadAlertsConfig = (env: NodeJS.ProcessEnv = process.env): AlertsConfig => parseConfig(alertsConfigSchema, env);
