/** The dashboard service: `tsx services/analytics/src/dashboard/main.ts` (DASHBOARD_PORT, default 9480). */
import { createLogger, runMain } from "@costwise/stream-runtime";
import { loadBudgets } from "../budgets.ts";
import { analyticsClient } from "../clickhouse.ts";
import { loadDashboardConfig } from "../config.ts";
import { clickhouseQuery } from "../queries.ts";
import { startDashboard } from "./service.ts";

runMain("dashboard", async () => {
  const config = loadDashboardConfig();
  const logger = createLogger({ service: "dashboard", level: config.LOG_LEVEL });
  await loadBudgets(config.BUDGETS_FILE); // fail at start, not on first page view, when the file is invalid
  const client = analyticsClient(config);
  return startDashboard({
    query: clickhouseQuery(client),
    database: config.CLICKHOUSE_DATABASE,
    defaultSource: config.ANALYTICS_SOURCE,
    budgets: () => loadBudgets(config.BUDGETS_FILE),
    now: () => new Date(),
    refreshMs: config.DASHBOARD_REFRESH_MS,
    logger,
    host: config.DASHBOARD_HOST,
    port: config.DASHBOARD_PORT,
    close: () => client.close(),
  });
});
