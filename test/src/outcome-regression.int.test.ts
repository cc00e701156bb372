/**
 * A quality regression on a cheap route is detected from outcomes and backed off within the
 * policy's window: calls of a use case land in ClickHouse as the sink lands them, with users'
 * outcomes (the cheap tier fails users far more often than the frontier tier); the real alerts
 * service finds the regression at its first check, puts the backoff in force and produces a
 * QUALITY_REGRESSION alert to llm.budget-alerts; the real router, which had routed the use case
 * to its cheap tier, sends the next request to the frontier tier; and the report says so.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@clickhouse/client";
import { buildReport, clickhouseQuery, loadAlertsConfig, renderReport, startAlerts, type Scope } from "@costwise/analytics";
import { callRow, clickhouseWriter, outcomeRow } from "@costwise/clickhouse-writer";
import { stackEnv } from "@costwise/infra/testing";
import { redisBackoffStore } from "@costwise/outcomes";
import { baselineUsageOf, buildCostRecord, catalog, requireModel } from "@costwise/pricing";
import { compilePolicy, loadRouterConfig, startRouter, type RouterService } from "@costwise/router";
import { emptyPipelineState, newRequest, topics, type BudgetAlert, type CostRecord, type LlmOutcome, type LlmRequest } from "@costwise/schemas";
import { silentLogger, type RunningService } from "@costwise/stream-runtime";
import { KafkaTestClient } from "@costwise/stream-runtime/testing";

const run = `reg-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const tenant = `regress-${run}`;
const USE_CASE = `it-regress-${run}`;
const BACKOFF_KEY = `cw:outcomes-int:${run}:backoff`;
const WINDOW_HOURS = 1;

describe("a cheap route that fails users is detected from outcomes and backed off", () => {
  const env = stackEnv();
  const db = env.CLICKHOUSE_DATABASE ?? "costwise";
  const routerConfig = loadRouterConfig({
    ...process.env, ...env, GROUP_ID: `costwise-regress-int-${run}`, METRICS_PORT: "0", ROUTER_SHADOW_ENABLED: "false", LOG_LEVEL: "warn",
    ROUTER_REDIS_PREFIX: `cw:regress-int:${run}`, ROUTER_FALLBACK_REFRESH_MS: "200", OUTCOME_BACKOFF_KEY: BACKOFF_KEY,
  });
  const policy = compilePolicy({
    version: 1,
    useCases: {
      [USE_CASE]: {
        strategy: "rules", baseScore: 0,
        tiers: [{ name: "small", models: { openai: "gpt-4o-mini" }, maxScore: 0.5 }, { name: "frontier", models: "caller" }],
        // The shadow window never trips on its own here: only outcomes can back the route off.
        shadow: { sampleRate: 0 },
        quality: { floor: 0, window: 10, minSamples: 5, recoverMargin: 0.1 },
      },
    },
  }, "regress-int", process.cwd(), { catalog });
  const kafka = KafkaTestClient.connect({ KAFKA_BROKERS: env.KAFKA_BROKERS!, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL! }, { clientId: "costwise-regress-int" });
  const ch = createClient({ url: env.CLICKHOUSE_URL!, username: env.CLICKHOUSE_USER ?? "default", password: env.CLICKHOUSE_PASSWORD ?? "", request_timeout: 60_000 });
  const routed = new Map<string, LlmRequest>();
  const alerts: BudgetAlert[] = [];
  let router: RouterService;
  let alertsSvc: RunningService | undefined;
  let dir: string;

  const request = (id: string, created = Date.now()) =>
    newRequest({ request_id: id, tenant, use_case: USE_CASE, model: "gpt-4o", max_tokens: 60, temperature: 0, messages: [{ role: "user", content: `Question ${id}: where is my parcel?` }], created_at: created });

  /** A call as the executor accounts it and the sink lands it: the small tier on gpt-4o-mini, the frontier tier on gpt-4o. */
  const call = (id: string, tier: "small" | "frontier", created: number): CostRecord => {
    const model = requireModel(catalog, tier === "small" ? "gpt-4o-mini" : "gpt-4o");
    const p = emptyPipelineState();
    p.route = { tier, model: model.id, provider: "openai", strategy: "rules", score: 0, reason: "", shadow: false, cascade: null };
    const req = { ...request(id, created), pipeline: p };
    const usage = { inputTokens: 300, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 80 };
    return buildCostRecord({
      request: req, status: "OK", errorCode: null, servedBy: "REALTIME", model, usage, mode: "realtime",
      baselineModel: requireModel(catalog, "gpt-4o"), baselineUsage: baselineUsageOf(req, usage), completedAt: created + 700,
    }, catalog);
  };

  beforeAll(async () => {
    await kafka.subscribe<LlmRequest>(topics.routed, (r) => {
      if (r.key?.startsWith(run)) routed.set(r.value.request_id, r.value);
    }, { groupId: `costwise-regress-int-listen-${run}` });
    await kafka.subscribe<BudgetAlert>(topics.alerts, ({ value }) => void (value.use_case === USE_CASE && alerts.push(value)), { groupId: `costwise-regress-int-alerts-${run}` });
    await kafka.startGroupAtEnd(routerConfig.GROUP_ID!, topics.uncached);
    router = await startRouter(routerConfig, { policy, logger: silentLogger, shadowEmbedder: null });
    const deadline = Date.now() + 60_000;
    while (!router.ready()) {
      if (Date.now() > deadline) throw new Error("router did not join its consumer group within 60 s");
      await new Promise((r) => setTimeout(r, 200));
    }
    dir = await mkdtemp(path.join(tmpdir(), "costwise-regress-"));
  });

  afterAll(async () => {
    await alertsSvc?.stop();
    await router?.stop();
    const store = redisBackoffStore(env.REDIS_URL!, { key: BACKOFF_KEY, timeoutMs: 2_000 });
    await store.clear("route:small", USE_CASE);
    await store.close();
    await kafka.close();
    await ch.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("routes to the cheap tier, detects its regression at the first check, alerts and falls back to frontier", async () => {
    await kafka.produce(topics.uncached, [request(`${run}-before`)]);
    await expect.poll(() => routed.has(`${run}-before`), { timeout: 30_000, interval: 100 }).toBe(true);
    expect(routed.get(`${run}-before`)!.pipeline!.route).toMatchObject({ tier: "small", model: "gpt-4o-mini" });

    // The last half hour: 60 cheap-route calls of which users found 24 useful, 60 frontier calls with 57.
    const now = Date.now();
    const calls: CostRecord[] = [];
    const outcomes: LlmOutcome[] = [];
    for (let i = 0; i < 120; i++) {
      const tier = i % 2 === 0 ? "small" : "frontier";
      const created = now - 30 * 60_000 + i * 10_000;
      const c = call(`${run}-c${i}`, tier, created);
      calls.push(c);
      const k = Math.floor(i / 2);
      const ok = tier === "small" ? k < 24 : k < 57;
      outcomes.push({ request_id: c.request_id, tenant, use_case: USE_CASE, success: ok, score: null, source: "user", created_at: created + 60_000, comment: null });
      // A judge's later contrary verdict on each failure: the user's outcome must still count.
      if (!ok) outcomes.push({ request_id: c.request_id, tenant, use_case: USE_CASE, success: true, score: 0.9, source: "judge:shadow", created_at: created + 120_000, comment: null });
    }
    const writer = clickhouseWriter(ch, db);
    await writer.insert("llm_calls", calls.map((c) => callRow(c, 1)));
    await writer.insert("llm_outcomes", outcomes.map((o) => outcomeRow(o, 1)));

    const budgets = path.join(dir, "budgets.yaml");
    await writeFile(budgets, "budgets: []\n");
    const started = Date.now();
    alertsSvc = await startAlerts(loadAlertsConfig({
      ...process.env, ...env, CLICKHOUSE_DATABASE: db, BUDGETS_FILE: budgets, ALERTS_INTERVAL_MS: "60000", METRICS_PORT: "0", LOG_LEVEL: "silent",
      OUTCOME_BACKOFF_KEY: BACKOFF_KEY, OUTCOME_WINDOW_HOURS: String(WINDOW_HOURS), OUTCOME_MIN_SAMPLES: "30", OUTCOME_MARGIN: "0.05", OUTCOME_ALPHA: "0.05",
    }), silentLogger);

    // The first check (at start; the next would be a minute later) found it.
    await expect.poll(() => alerts.length, { timeout: 20_000, interval: 100 }).toBe(1);
    const [alert] = alerts;
    expect(alert).toMatchObject({ level: "QUALITY_REGRESSION", tenant: "*", use_case: USE_CASE, threshold: 0.05 });
    expect(alert!.message).toMatch(/route:small on .*success 40\.0% vs baseline 95\.0%/);
    expect(alert!.message).toMatch(/route small falls back to the frontier tier/);
    expect(Date.now() - started).toBeLessThan(20_000);

    // Within a refresh of the router's view, the cheap route is off: the next request goes to the frontier tier.
    await expect.poll(() => router.backoffs.routeFallback(USE_CASE, "small") !== null, { timeout: 5_000, interval: 100 }).toBe(true);
    await kafka.produce(topics.uncached, [request(`${run}-after`)]);
    await expect.poll(() => routed.has(`${run}-after`), { timeout: 30_000, interval: 100 }).toBe(true);
    expect(routed.get(`${run}-after`)!.pipeline!.route).toMatchObject({ tier: "frontier", model: "gpt-4o" });
    expect(routed.get(`${run}-after`)!.pipeline!.route!.reason).toMatch(/^fallback: route small/);

    // The report shows the backoff and the cost per successful outcome of the use case.
    const scope: Scope = { database: db, mode: "exact", grain: "hour", filters: { since: new Date(now - 3_600_000), until: new Date(Date.now() + 60_000), tenant } };
    const json = JSON.parse(renderReport(await buildReport(clickhouseQuery(ch), scope), "json")) as { use_cases: Record<string, unknown>[]; backoffs: Record<string, unknown>[] };
    const mine = json.use_cases.find((u) => u.use_case === USE_CASE)!;
    expect(mine).toMatchObject({ outcomes: 120, successes: 81, backed_off: ["route:small"] });
    expect(typeof mine.cost_per_success_usd).toBe("string");
    expect(Number(mine.cost_per_success_usd)).toBeLessThan(Number(mine.naive_cost_per_success_usd));
    expect(json.backoffs.find((b) => b.use_case === USE_CASE)).toMatchObject({ technique: "route:small", samples: 60, success_rate: 0.4, baseline_rate: 0.95 });
  });
});
