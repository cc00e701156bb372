import { topics, type BudgetAlert } from "@costwise/schemas";
import { errorMessage, output, startOpsServer, startOutputProducer, StreamMetrics, type Logger, type RunningService } from "@costwise/stream-runtime";
import { Counter, Gauge } from "prom-client";
import { loadBudgets } from "../budgets.ts";
import { analyticsClient } from "../clickhouse.ts";
import type { AlertsConfig } from "../config.ts";
import { clickhouseQuery, spendSince, unpricedSince } from "../queries.ts";
import { createAlertChecker } from "./checker.ts";

/** Start the loop (first check at once). Budgets are re-read every check, so edits apply without a restart. */
export async function startAlerts(config: AlertsConfig, logger: Logger): Promise<RunningService> {
  await loadBudgets(config.BUDGETS_FILE); // an invalid file fails the start, naming the bad entries
  const client = analyticsClient(config);
  const metrics = new StreamMetrics("alerts");
  const producer = await startOutputProducer({ name: "alerts", config, topics: [topics.alerts], logger, metrics });
  const checks = new Counter({ name: "costwise_budget_checks_total", help: "Budget checks run, by outcome", labelNames: ["outcome"], registers: [metrics.registry] });
  const over = new Gauge({ name: "costwise_budgets_over_threshold", help: "Budgets whose projected month is over an alert threshold", registers: [metrics.registry] });
  const query = clickhouseQuery(client);
  const checker = createAlertChecker({
    spend: (start, until) => spendSince(query, config.CLICKHOUSE_DATABASE, config.ANALYTICS_SOURCE, start, until),
    budgets: () => loadBudgets(config.BUDGETS_FILE),
    unpriced: (start, until) => unpricedSince(query, config.CLICKHOUSE_DATABASE, start, until),
    publish: (alerts: readonly BudgetAlert[]) => producer.send(alerts.map((a) => output(topics.alerts, a))),
    now: () => new Date(),
    logger,
  });

  let healthy = false;
  let running: Promise<void> | undefined;
  const tick = () =>
    (running ??= checker
      .check()
      .then((r) => {
        healthy = true;
        checks.inc({ outcome: "ok" });
        over.set(r.statuses.filter((s) => s.level !== null).length);
      })
      .catch((err: unknown) => {
        // ClickHouse or Kafka unavailable: report unhealthy and try again next interval.
        healthy = false;
        checks.inc({ outcome: "failed" });
        logger.error({ err: errorMessage(err) }, "budget check failed");
      })
      .finally(() => {
        running = undefined;
      }));
  const ops = await startOpsServer({ port: config.METRICS_PORT, registry: metrics.registry, ready: () => healthy, service: "alerts" });
  await tick();
  const timer = setInterval(() => void tick(), config.ALERTS_INTERVAL_MS);
  logger.info({ ops: ops.url, intervalMs: config.ALERTS_INTERVAL_MS, budgets: config.BUDGETS_FILE }, "alerts started");

  let stopping: Promise<void> | undefined;
  return {
    name: "alerts",
    opsUrl: ops.url,
    metrics,
    ready: () => healthy,
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(timer);
        await running;
        await producer.close();
        await client.close();
        await ops.close();
      })()),
  };
}
