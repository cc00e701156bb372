import { topics, type BudgetAlert } from "@costwise/schemas";
import { errorMessage, output, startOpsServer, startOutputProducer, StreamMetrics, type Logger, type RunningService } from "@costwise/stream-runtime";
import { Counter, Gauge } from "prom-client";
import { loadBudgets } from "../budgets.ts";
import { analyticsClient } from "../clickhouse.ts";
import type { AlertsConfig } from "../config.ts";
import { clickhouseQuery, spendSince, unpricedSince } from "../queries.ts";
import { redisBackoffStore, type Backoff, type OutcomePolicy } from "@costwise/outcomes";
import { sqlIdentifier } from "@costwise/infra";
import { chDateTime } from "@costwise/clickhouse-writer";
import { pathOutcomes } from "../outcomes.ts";
import { createAlertChecker } from "./checker.ts";
import { createRegressionChecker } from "./regression.ts";

export const outcomePolicyOf = (c: AlertsConfig): OutcomePolicy => ({
  margin: c.OUTCOME_MARGIN, alpha: c.OUTCOME_ALPHA, minSamples: c.OUTCOME_MIN_SAMPLES, windowHours: c.OUTCOME_WINDOW_HOURS,
  backoffHours: c.OUTCOME_BACKOFF_HOURS, frontierTier: c.OUTCOME_FRONTIER_TIER,
});

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
  const regressionsOn = config.OUTCOME_REGRESSIONS === "on";
  const backoffs = regressionsOn ? redisBackoffStore(config.REDIS_URL, { key: config.OUTCOME_BACKOFF_KEY, timeoutMs: 2_000, onError: (err) => logger.debug({ err: errorMessage(err) }, "redis error") }) : null;
  const regressionChecks = new Counter({ name: "costwise_quality_checks_total", help: "Quality regression checks run, by outcome", labelNames: ["outcome"], registers: [metrics.registry] });
  const backedOff = new Gauge({ name: "costwise_techniques_backed_off", help: "Techniques backed off for a use case after a quality regression", registers: [metrics.registry] });
  const backoffTable = sqlIdentifier(`${config.CLICKHOUSE_DATABASE}.outcome_backoffs`).text;
  const regression = backoffs
    ? createRegressionChecker({
        outcomes: (since, until) => pathOutcomes(query, config.CLICKHOUSE_DATABASE, since, until),
        backoffs,
        record: async (list: readonly Backoff[], now: Date) => {
          const values = list.map((b) => ({
            ts: chDateTime(now.getTime()), use_case: b.use_case, technique: b.technique, since: chDateTime(b.since), until: chDateTime(b.until),
            success_rate: b.success_rate, baseline_rate: b.baseline_rate, samples: b.samples, baseline_samples: b.baseline_samples, p_value: b.p_value, reason: b.reason,
          }));
          await client.insert({ table: backoffTable, values, format: "JSONEachRow" });
        },
        publish: (alerts: readonly BudgetAlert[]) => producer.send(alerts.map((a) => output(topics.alerts, a))),
        policy: outcomePolicyOf(config),
        now: () => new Date(),
        logger,
      })
    : null;
  const regressionTick = async () => {
    if (!regression) return;
    try {
      const r = await regression.check();
      regressionChecks.inc({ outcome: "ok" });
      backedOff.set(r.backoffs.length);
    } catch (err) {
      // A failed quality check never stops the budget checks; the next interval tries again.
      regressionChecks.inc({ outcome: "failed" });
      logger.error({ err: errorMessage(err) }, "quality regression check failed");
    }
  };

  let healthy = false;
  let running: Promise<void> | undefined;
  const tick = () =>
    (running ??= Promise.all([checker.check(), regressionTick()])
      .then(([r]) => r)
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
        await backoffs?.close();
        await client.close();
        await ops.close();
      })()),
  };
}
