import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@clickhouse/client";
import { sql, sqlIdentifier } from "@costwise/infra";
import { stackEnv } from "@costwise/infra/testing";
import { renderMessages } from "@costwise/schemas";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import { createProviders } from "@costwise/providers";
import { newRequest, topics, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { ConfigError, silentLogger } from "@costwise/stream-runtime";
import { KafkaTestClient } from "@costwise/stream-runtime/testing";
import { predict } from "./classifier.ts";
import { loadRouterConfig } from "./config.ts";
import { PolicyError } from "./errors.ts";
import { routeInputOf } from "./input.ts";
import { startRouter, type RouterService } from "./service.ts";
import { llmRouterMessages } from "./strategies/llm.ts";
import { policyOf, twoTiers } from "./testing/fixtures.ts";
import { writeSemanticModel } from "./testing/semantic-model.ts";
import { clickhouseShadowResults } from "./semantic/clickhouse-results.ts";
import { encodeVector } from "@costwise/embeddings";
import { emptyPipelineState } from "@costwise/schemas";

const run = `rtr-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
// Its own use case per run: re-calibration reads a route's most recent shadow rows, whatever run wrote them.
const SEMANTIC = `it-semantic-${run}`;

describe("router service on the real stack", () => {
  const env = stackEnv();
  const config = loadRouterConfig({
    ...process.env, ...env, GROUP_ID: `costwise-router-int-${run}`, METRICS_PORT: "0", ROUTER_SHADOW_METRICS_PORT: "0", LOG_LEVEL: "warn",
    ROUTER_REDIS_PREFIX: `cw:router-int:${run}`, ROUTER_FALLBACK_REFRESH_MS: "200", PROVIDER_MAX_ATTEMPTS: "2",
  });
  const policy = policyOf({
    version: 1,
    defaults: { shadow: { sampleRate: 0, judge: "exact", similarity: 0.8, judgeModel: null, ttlSeconds: 600 } },
    useCases: {
      "it-rules": { strategy: "rules", tiers: twoTiers(0.35), baseScore: 0.2, rules: [{ name: "math", keywords: ["integral", "solve"], add: 0.4 }] },
      "it-classifier": { strategy: "classifier", tiers: twoTiers(0.5), classifier: { model: "../models/router-classifier-v1.json" } },
      "it-cascade": { strategy: "cascade", tiers: twoTiers() },
      "it-llm": { strategy: "llm", tiers: [{ name: "nano", models: { openai: "gpt-6-luna" }, maxScore: 0.6 }, { name: "frontier", models: "caller" }], llm: { model: "gpt-6-luna", unparseableScore: 0 } },
      // A semantic route on the test model (score = sigmoid(6·v0 − 2)): no shadow results yet, so it starts on the frontier.
      [SEMANTIC]: { strategy: "semantic", semantic: { model: writeSemanticModel() }, target: { quality: 0.95 }, tiers: [{ name: "small", models: { openai: "gpt-4o-mini" } }, { name: "frontier", models: "caller" }], shadow: { sampleRate: 1, judge: "exact" }, quality: { floor: 0.5, window: 10, minSamples: 3, recoverMargin: 0.1 } },
      "it-shadow": { strategy: "rules", tiers: twoTiers(), baseScore: 0, shadow: { sampleRate: 1, judge: "exact" }, quality: { floor: 0.5, window: 10, minSamples: 3, recoverMargin: 0.1 } },
    },
  });
  const kafka = KafkaTestClient.connect({ KAFKA_BROKERS: env.KAFKA_BROKERS!, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL! }, { clientId: "costwise-router-int" });
  const providers = createProviders(config, { catalog, logger: silentLogger });
  const ch = createClient({ url: env.CLICKHOUSE_URL!, username: env.CLICKHOUSE_USER ?? "default", password: env.CLICKHOUSE_PASSWORD ?? "" });
  const db = env.CLICKHOUSE_DATABASE ?? "costwise";
  const routed = new Map<string, LlmRequest>();
  let svc: RouterService;

  const send = (reqs: LlmRequest[]) => kafka.produce(topics.uncached, reqs);
  const answer = (res: LlmResponse) => kafka.produce(topics.responses, [res]);
  const arrival = async (id: string): Promise<LlmRequest> => {
    await expect.poll(() => routed.has(id), { timeout: 30_000, interval: 100 }).toBe(true);
    return routed.get(id)!;
  };
  const req = (id: string, useCase: string, content: string, over: Partial<LlmRequest> = {}) =>
    newRequest({ request_id: `${run}-${id}`, tenant: "int", use_case: useCase, model: "gpt-4o", max_tokens: 60, temperature: 0, messages: [{ role: "user", content }], ...over });

  beforeAll(async () => {
    await kafka.subscribe<LlmRequest>(topics.routed, (r) => {
      if (r.key?.startsWith(run)) routed.set(r.value.request_id, r.value);
    }, { groupId: `costwise-router-int-listen-${run}` });
    // Fresh groups that start at the topics' end: nothing another run left behind is routed first.
    await kafka.startGroupAtEnd(config.GROUP_ID!, topics.uncached);
    await kafka.startGroupAtEnd(`${config.GROUP_ID}-shadow`, topics.responses);
    svc = await startRouter(config, { policy, logger: silentLogger });
    const deadline = Date.now() + 60_000;
    while (!svc.ready()) {
      if (Date.now() > deadline) throw new Error("router did not join its consumer groups within 60 s");
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  afterAll(async () => {
    await svc?.store.resetRoute({ useCase: "it-shadow", tier: "small" }).catch(() => undefined);
    await svc?.stop();
    await kafka.close();
    await providers.close();
    await ch.close();
  });

  it("routes real Kafka records with each strategy and annotates the pipeline", async () => {
    const math = "Solve the integral of x^2 from 0 to 3.";
    await send([
      req("rules-easy", "it-rules", "What are your opening hours?", { pipeline: { stage_ms: { cache: 3 }, overhead_cost_nanousd: 0, overhead: {}, route: null, compression: null, cache_lookup: "miss", embedding: null } }),
      req("rules-hard", "it-rules", math),
      req("classifier", "it-classifier", math),
      req("cascade", "it-cascade", "Where is my card?", { model: "claude-sonnet-4-5" }),
      req("passthrough", "not-configured", "Hello"),
    ]);
    const easy = await arrival(`${run}-rules-easy`);
    expect(easy.pipeline!.route).toEqual({ tier: "small", model: "gpt-4o-mini", provider: "openai", strategy: "rules", score: expect.closeTo(0.2, 9), reason: "rules (no rule matched) score 0.20 → small", shadow: false, substituted_from: null, cascade: null });
    expect(easy.pipeline!.stage_ms).toMatchObject({ cache: 3, router: expect.any(Number) });
    expect(easy.pipeline!.cache_lookup).toBe("miss");
    expect(easy.messages.map(({ role, content }) => ({ role, content }))).toEqual([{ role: "user", content: "What are your opening hours?" }]);

    expect((await arrival(`${run}-rules-hard`)).pipeline!.route).toMatchObject({ tier: "frontier", model: "gpt-4o", score: expect.closeTo(0.6, 9) });

    const cls = (await arrival(`${run}-classifier`)).pipeline!.route!;
    const p = predict(policy.useCases.get("it-classifier")!.classifier!.model, routeInputOf(req("x", "it-classifier", math)));
    expect(cls).toMatchObject({ strategy: "classifier", tier: p < 0.5 ? "small" : "frontier", score: expect.closeTo(p, 9) });

    // The escalation target and checks travel with the route (Avro round trip), for the executor.
    // claude-sonnet-4-5 retired on 2026-11-30: the escalation goes to its successor, and the route says so.
    expect((await arrival(`${run}-cascade`)).pipeline!.route).toMatchObject({ tier: "small", model: "claude-haiku-4-5", provider: "anthropic", strategy: "cascade", score: null, substituted_from: "claude-sonnet-4-5", cascade: { escalate_tier: "frontier", escalate_model: "claude-sonnet-5-5", escalate_provider: "anthropic" } });
    expect((await arrival(`${run}-passthrough`)).pipeline!.route).toMatchObject({ tier: "frontier", model: "gpt-4o", strategy: "passthrough" });
  });

  it("records the LLM-as-router's own cost in pipeline.overhead", async () => {
    const r = req("llm", "it-llm", "Summarise this contact: my card has not arrived yet.", {
      model: "gpt-4o-mini", pipeline: { stage_ms: {}, overhead_cost_nanousd: 700, overhead: { embedding: 700 }, route: null, compression: null, cache_lookup: "miss", embedding: null },
    });
    await send([r]);
    const out = await arrival(r.request_id);
    // The emulator is deterministic: the same routing call made here costs exactly what the router paid.
    const same = await providers.chat({ model: "gpt-6-luna", messages: llmRouterMessages(routeInputOf(r), 2000), maxTokens: 4, temperature: 0 });
    const cost = costOf(requireModel(catalog, "gpt-6-luna"), same.usage).totalNanoUsd;
    expect(cost).toBeGreaterThan(0);
    expect(out.pipeline!.overhead).toEqual({ embedding: 700, router: cost });
    expect(out.pipeline!.overhead_cost_nanousd).toBe(700 + cost);
    // The emulator does not answer with a digit: the use case's unparseableScore (0) keeps it cheap.
    expect(out.pipeline!.route).toMatchObject({ tier: "nano", model: "gpt-6-luna", strategy: "llm", score: 0 });
  });

  it("shadow samples land in ClickHouse, and the route falls back to the frontier when agreement drops", async () => {
    const ids = ["s1", "s2", "s3"].map((s) => `${run}-${s}`);
    // The id stays out of the first eight words, which the emulator's reply quotes: the heading is
    // then shorter than any reply, so the two models' replies always differ past it.
    await send(ids.map((id) => req(id.slice(run.length + 1), "it-shadow", `When does my new card arrive at my home address, ticket ${id}?`)));
    for (const id of ids) {
      const r = await arrival(id);
      expect(r.pipeline!.route).toMatchObject({ tier: "small", model: "gpt-4o-mini", shadow: true });
      // Play the executor: answer with the routed (cheap) model through the emulator.
      const a = await providers.chat({ model: "gpt-4o-mini", messages: renderMessages(r), maxTokens: 60, temperature: 0 });
      await answer({
        request_id: id, tenant: "int", use_case: "it-shadow", status: "OK", content: a.content, error: null, error_code: null, model: "gpt-4o-mini", provider: "openai",
        served_by: "REALTIME", input_tokens: a.usage.inputTokens, cached_input_tokens: 0, output_tokens: a.usage.outputTokens, cost_usd: 0, latency_ms: 5, cache_source_request_id: null, created_at: r.created_at,
      });
    }
    const table = sqlIdentifier(`${db}.route_shadow`);
    const rows = async () =>
      (await (await ch.query({ query: sql`SELECT request_id, served_model, shadow_model, judge, agreed, decided, shadow_input_tokens, shadow_output_tokens, shadow_cost_nanousd FROM ${table} FINAL WHERE has(${ids}, request_id) ORDER BY request_id`, format: "JSONEachRow" })).json<Record<string, string | number>>());
    await expect.poll(async () => (await rows()).length, { timeout: 40_000, interval: 250 }).toBe(3);
    for (const row of await rows()) {
      // The emulator's answers of two different models differ: the exact judge disagrees.
      expect(row).toMatchObject({ served_model: "gpt-4o-mini", shadow_model: "gpt-4o", judge: "exact", agreed: 0, decided: 1 });
      const usage = { inputTokens: Number(row.shadow_input_tokens), cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: Number(row.shadow_output_tokens) };
      expect(Number(row.shadow_cost_nanousd)).toBe(costOf(requireModel(catalog, "gpt-4o"), usage).totalNanoUsd);
      expect(Number(row.shadow_cost_nanousd)).toBeGreaterThan(0);
    }

    const events = sqlIdentifier(`${db}.route_fallback_events`);
    await expect.poll(async () => (await (await ch.query({ query: sql`SELECT transition, samples FROM ${events} WHERE use_case = 'it-shadow' AND has(${ids}, request_id)`, format: "JSONEachRow" })).json()), { timeout: 20_000, interval: 250 }).toEqual([{ transition: "enter", samples: 3 }]);
    expect(await svc.store.fallbacks()).toEqual(new Map([[JSON.stringify(["it-shadow", "small"]), expect.objectContaining({ agreement: 0, samples: 3, floor: 0.5 })]]));

    // The next request of the use case goes to the frontier tier (the routing path re-reads the state every 200 ms).
    await expect.poll(() => svc.fallbacks.get("it-shadow", "small"), { timeout: 5_000, interval: 100 }).not.toBeNull();
    await send([req("after", "it-shadow", "When does my card arrive?")]);
    const after = (await arrival(`${run}-after`)).pipeline!.route!;
    expect(after).toMatchObject({ tier: "frontier", model: "gpt-4o", shadow: true });
    expect(after.reason).toMatch(/^fallback: route small agreement 0\.00 < floor 0\.50 over 3 comparisons/);

    // An operator reset returns the route to the cheap tier.
    await svc.store.resetRoute({ useCase: "it-shadow", tier: "small" });
    await expect.poll(() => svc.fallbacks.get("it-shadow", "small"), { timeout: 5_000, interval: 100 }).toBeNull();
    await send([req("reset", "it-shadow", "Is my card on its way?")]);
    expect((await arrival(`${run}-reset`)).pipeline!.route).toMatchObject({ tier: "small", model: "gpt-4o-mini" });
  });

  it("a semantic route starts on the frontier and its calibration samples compare the cheap model, landing in ClickHouse without moving the window", async () => {
    const id = `${run}-sem1`;
    const vector = Float32Array.from([0, 0, 1, 0]); // scores 0.12: cheap once a threshold is confirmed
    await send([req("sem1", SEMANTIC, `How many apples are left after giving away three, ticket ${id}?`, { pipeline: { ...emptyPipelineState(), embedding: { model: "test:emb", vector: encodeVector(vector) } } })]);
    const r = await arrival(id);
    expect(r.pipeline!.route).toMatchObject({ tier: "frontier", model: "gpt-4o", strategy: "semantic", shadow: true, score: expect.closeTo(1 / (1 + Math.exp(2)), 6) });
    expect(r.pipeline!.route!.reason).toContain("frontier until shadow samples confirm a threshold");
    // Play the executor: the frontier answers; the shadow consumer asks the cheap model.
    const a = await providers.chat({ model: "gpt-4o", messages: renderMessages(r), maxTokens: 60, temperature: 0 });
    await answer({
      request_id: id, tenant: "int", use_case: SEMANTIC, status: "OK", content: a.content, error: null, error_code: null, model: "gpt-4o", provider: "openai",
      served_by: "REALTIME", input_tokens: a.usage.inputTokens, cached_input_tokens: 0, output_tokens: a.usage.outputTokens, cost_usd: 0, latency_ms: 5, cache_source_request_id: null, created_at: r.created_at,
    });
    const table = sqlIdentifier(`${db}.route_shadow`);
    const rows = async () => (await (await ch.query({ query: sql`SELECT served_model, shadow_model, fallback_active, decided, shadow_cost_nanousd, shadow_input_tokens, shadow_output_tokens FROM ${table} FINAL WHERE request_id = ${id}`, format: "JSONEachRow" })).json<Record<string, string | number>>());
    await expect.poll(async () => (await rows()).length, { timeout: 40_000, interval: 250 }).toBe(1);
    const [row] = await rows();
    expect(row).toMatchObject({ served_model: "gpt-4o", shadow_model: "gpt-4o-mini", fallback_active: 0, decided: 1 });
    const usage = { inputTokens: Number(row!.shadow_input_tokens), cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: Number(row!.shadow_output_tokens) };
    expect(Number(row!.shadow_cost_nanousd)).toBe(costOf(requireModel(catalog, "gpt-4o-mini"), usage).totalNanoUsd);
    // Re-calibration reads it as a sample of the cheap route, with the request's score.
    const samples = await clickhouseShadowResults(ch, db).recent({ useCase: SEMANTIC, tier: "small" }, 10);
    expect(samples).toEqual([{ score: expect.closeTo(1 / (1 + Math.exp(2)), 5), agreed: false }]);
    // A comparison of a frontier-routed request does not count in the cheap route's agreement window.
    expect(await svc.store.window({ useCase: SEMANTIC, tier: "small" })).toEqual([]);
  });

  it("refuses to start on a bad policy or bad settings, saying what is wrong", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "router-policy-"));
    const file = path.join(dir, "policy.yaml");
    writeFileSync(file, "version: 1\nuseCases:\n  chat:\n    strategy: rules\n    tiers:\n      - { name: small, models: { openai: gpt-4o-mimi }, maxScore: 0.5 }\n      - { name: frontier, models: caller }\n");
    const started = Date.now();
    const err = await startRouter({ ...config, ROUTER_POLICY_FILE: file }, { logger: silentLogger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as Error).message).toBe(`invalid router policy ${file}:\n  useCases.chat.tiers[0].models.openai: model "gpt-4o-mimi" is not in price catalog ${catalog.version} (did you mean gpt-4o-mini?)`);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(() => loadRouterConfig({ ROUTER_SHADOW_ENABLED: "maybe", METRICS_PORT: "99999" })).toThrow(ConfigError);
  });
});
