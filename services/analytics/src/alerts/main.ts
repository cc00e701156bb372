/**
 * The budget-alert loop: every ALERTS_INTERVAL_MS, project each budget's month from ClickHouse and
 * produce a BudgetAlert to llm.budget-alerts for each new threshold crossing. /metrics and /health
 * on METRICS_PORT (default 9407).
 */
import { createLogger, runMain } from "@costwise/stream-runtime";
import { loadAlertsConfig } from "../config.ts";
import { startAlerts } from "./service.ts";

runMain("alerts", async () => {
  const config = loadAlertsConfig();
  return startAlerts(config, createLogger({ service: "alerts", level: config.LOG_LEVEL }));
});
