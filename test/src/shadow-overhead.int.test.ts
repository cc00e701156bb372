/**
 * Overhead spent after the response reaches every saved figure: a request routed by the real
 * router to its cheap tier and shadowed, answered through the emulator, its cost record landed as
 * the sink lands it, its shadow comparison (frontier call + pairwise LLM judge, two calls) made
 * by the real shadow consumer — and the analytics figures for its tenant charge both, with the
 * waterfall still adding up.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@clickhouse/client";
import { clickhouseQuery, overallTotals, useCaseTotals, type Scope } from "@costwise/analytics";
import { sql, sqlIdentifier } from "@costwise/infra";
import { stackEnv } from "@costwise/infra/testing";
import { baselineUsageOf, buildCostRecord, catalog, costOf, requireModel } from "@costwise/pricing";
import { createProviders } from "@costwise/providers";
import { compilePolicy, loadRouterConfig, startRouter, type RouterService } from "@costwise/router";
import { newRequest, renderMessages, topics, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { callRow, clickhouseWriter } from "@costwise/clickhouse-writer";
import { silentLogger } from "@costwise/stream-runtime";
import { KafkaTestClient } from "@costwise/stream-runtime/testing";

const run = `ovh-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const tenant = `overhead-${run}`;
const USE_CASE = "it-overhead";

describe("post-response overhead through the real router shadow path", () => {
  const env = stackEnv();
  const config = loadRouterConfig({
    ...process.env, ...env, GROUP_ID: `costwise-overhead-int-${run}`, METRICS_PORT: "0", ROUTER_SHADOW_METRICS_PORT: "0", LOG_LEVEL: "warn",
    ROUTER_REDIS_PREFIX: `cw:overhead-int:${run}`, PROVIDER_MAX_ATTEMPTS: "2",
  });
  const policy = compilePolicy({
    version: 1,
    useCases: {
      [USE_CASE]: {
        strategy: "rules", baseScore: 0,
        tiers: [{ name: "small", models: { openai: "gpt-4o-mini" }, maxScore: 0.5 }, { name: "frontier", models: "caller" }],
        shadow: { sampleRate: 1, judge: "llm", judgeModel: "gpt-4o-mini" },
        quality: { floor: 0, window: 10, minSamples: 5, recoverMargin: 0.1 },
      },
    },
  }, "overhead-int", process.cwd(), { catalog });
  const kafka = KafkaTestClient.connect({ KAFKA_BROKERS: env.KAFKA_BROKERS!, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL! }, { clientId: "costwise-overhead-int" });
  const providers = createProviders(config, { catalog, logger: silentLogger });
  const ch = createClient({ url: env.CLICKHOUSE_URL!, username: env.CLICKHOUSE_USER ?? "default", password: env.CLICKHOUSE_PASSWORD ?? "" });
  const db = env.CLICKHOUSE_DATABASE ?? "costwise";
  const routed = new Map<string, LlmRequest>();
  let svc: RouterService;

  beforeAll(async () => {
    await kafka.subscribe<LlmRequest>(topics.routed, (r) => {
      if (r.key?.startsWith(run)) routed.set(r.value.request_id, r.value);
    }, { groupId: `costwise-overhead-int-listen-${run}` });
    // Fresh groups that start at the topics' end: nothing another run left behind is routed first.
    await kafka.startGroupAtEnd(config.GROUP_ID!, topics.uncached);
    await kafka.startGroupAtEnd(`${config.GROUP_ID}-shadow`, topics.responses);
    svc = await startRouter(config, { policy, logger: silentLogger, shadowEmbedder: null });
    const deadline = Date.now() + 60_000;
    while (!svc.ready()) {
      if (Date.now() > deadline) throw new Error("router did not join its consumer groups within 60 s");
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  afterAll(async () => {
    await svc?.stop();
    await kafka.close();
    await providers.close();
    await ch.close();
  });

  it("charges the shadow call and its judge to the request, and the saved figures stay net and add up", async () => {
    const id = `${run}-1`;
    const request = newRequest({
      request_id: id, tenant, use_case: USE_CASE, model: "gpt-4o", max_tokens: 60, temperature: 0, messages: [{ role: "user", content: "When does my new card arrive?" }],
      pipeline: { stage_ms: {}, overhead_cost_nanousd: 40, overhead: { embedding: 40 }, route: null, compression: null, cache_lookup: "miss", embedding: null },
    });
    await kafka.produce(topics.uncached, [request]);
    await expect.poll(() => routed.has(id), { timeout: 30_000, interval: 100 }).toBe(true);
    const r = routed.get(id)!;
    expect(r.pipeline!.route).toMatchObject({ tier: "small", model: "gpt-4o-mini", shadow: true });

    // Play the executor and the sink: answer with the routed model, land its cost record.
    const mini = requireModel(catalog, "gpt-4o-mini");
    const a = await providers.chat({ model: "gpt-4o-mini", messages: renderMessages(r), maxTokens: 60, temperature: 0 });
    const record = buildCostRecord({
      request: r, status: "OK", errorCode: null, servedBy: "REALTIME", model: mini, usage: a.usage, mode: "realtime",
      baselineModel: requireModel(catalog, "gpt-4o"), baselineUsage: baselineUsageOf(r, a.usage), completedAt: r.created_at + 500,
    }, catalog);
    await clickhouseWriter(ch, db).insert("llm_calls", [callRow(record, 1)]);
    await kafka.produce<LlmResponse>(topics.responses, [{
        request_id: id, tenant, use_case: USE_CASE, status: "OK", content: a.content, error: null, error_code: null, model: "gpt-4o-mini", provider: "openai",
        served_by: "REALTIME", input_tokens: a.usage.inputTokens, cached_input_tokens: 0, output_tokens: a.usage.outputTokens, cost_usd: 0, latency_ms: 5, cache_source_request_id: null, created_at: r.created_at,
      }]);

    // The shadow consumer calls the frontier model and the judge (both orders), and records what they cost.
    const table = sqlIdentifier(`${db}.route_shadow`);
    const shadowRows = async () => (await ch.query({ query: sql`SELECT shadow_input_tokens, shadow_output_tokens, shadow_cost_nanousd, judge_cost_nanousd, judge FROM ${table} FINAL WHERE request_id = ${id}`, format: "JSONEachRow" })).json<Record<string, string | number>>();
    await expect.poll(async () => (await shadowRows()).length, { timeout: 40_000, interval: 250 }).toBe(1);
    const [row] = await shadowRows();
    const shadowCost = Number(row!.shadow_cost_nanousd), judgeCost = Number(row!.judge_cost_nanousd);
    const shadowUsage = { inputTokens: Number(row!.shadow_input_tokens), cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: Number(row!.shadow_output_tokens) };
    expect(shadowCost).toBe(costOf(requireModel(catalog, "gpt-4o"), shadowUsage).totalNanoUsd);
    expect(shadowCost).toBeGreaterThan(0);
    // Two judge calls of at least a few hundred prompt tokens each on gpt-4o-mini.
    expect(judgeCost).toBeGreaterThan(2 * costOf(mini, { inputTokens: 100, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 0 }).totalNanoUsd);
    expect(row!.judge).toBe("llm");

    const scope: Scope = { database: db, mode: "exact", grain: "hour", filters: { since: new Date(r.created_at - 3_600_000), until: new Date(Date.now() + 60_000), tenant } };
    const q = clickhouseQuery(ch);
    const t = await overallTotals(q, scope);
    const post = BigInt(shadowCost + judgeCost);
    expect(t.calls).toBe(1);
    expect(t.overheadAfter).toBe(post);
    expect(t.overhead).toBe(BigInt(record.overhead_cost_nanousd) + post);
    expect(t.cost).toBe(BigInt(record.cost_nanousd));
    expect(t.baseline).toBe(BigInt(record.baseline_cost_nanousd));
    expect(t.saved).toBe(t.baseline - t.cost - t.overhead);
    expect(t.savings.cache + t.savings.routing + t.savings.compression + t.savings.batch + t.savings.promptCache).toBe(t.saved);
    expect(t.savings.routing).toBe(BigInt(record.saving_routing_nanousd) - post);
    const [uc] = await useCaseTotals(q, scope);
    expect(uc).toMatchObject({ tenant, useCase: USE_CASE, overhead: t.overhead, overheadAfter: post, saved: t.saved });
  });
});
