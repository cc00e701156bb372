import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { stackEnv } from "@costwise/infra/testing";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import { countTextTokens, createProviders } from "@costwise/providers";
import { newRequest, topics, type CostRecord, type LlmRequest, type LlmResponse, type TopicSpec } from "@costwise/schemas";
import { silentLogger, type RunningService } from "@costwise/stream-runtime";
import { KafkaTestClient } from "@costwise/stream-runtime/testing";
import { DEFAULT_POLICY_FILE, loadCompressionConfig } from "./config.ts";
import { loadPolicyFile, parsePolicy, policyFor } from "./policy.ts";
import { xquadSample } from "./sample.ts";
import { startCompression } from "./service.ts";
import { summaryMaxTokens, SUMMARY_INSTRUCTIONS } from "./strategies/summarise.ts";

const run = `cmp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const SUMMARISE = `int-summarise-${run}`;
const BOILERPLATE = `int-boilerplate-${run}`;
const DISCLAIMER = "Initech accepts no liability for decisions taken on the basis of this knowledge-base article.";

describe("compression service on the real stack", () => {
  const env = stackEnv();
  const config = loadCompressionConfig({ ...process.env, ...env, GROUP_ID: "costwise-compression-int", METRICS_PORT: "0", LOG_LEVEL: "warn", COMPRESSION_MAX_CONTEXT_CHARS: "200000" });
  const policy = parsePolicy({
    version: 1,
    use_cases: {
      "kb-answers": policyFor(loadPolicyFile(DEFAULT_POLICY_FILE), "kb-answers"),
      [SUMMARISE]: { floor_tokens: 50, strategies: [{ name: "summarise", model: "gpt-4o-mini", min_chunk_tokens: 100, max_summary_tokens: 60 }] },
      [BOILERPLATE]: { floor_tokens: 10, strategies: [{ name: "boilerplate", min_requests: 5, min_share: 0.6 }] },
    },
  });
  const client = KafkaTestClient.connect({ KAFKA_BROKERS: env.KAFKA_BROKERS!, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL! }, { clientId: "costwise-compression-int" });
  const got = new Map<string, { topic: string; value: unknown }>();
  let svc: RunningService;

  const listen = (topic: TopicSpec) =>
    client.subscribe<unknown>(topic, ({ key, value }) => {
      if (key?.includes(run)) got.set(`${topic.name}:${key}`, { topic: topic.name, value });
    }, { groupId: `costwise-int-${topic.name}-${run}` });

  const send = (reqs: LlmRequest[]) => client.produce(topics.routed, reqs);
  const arrival = async <T>(topic: TopicSpec, id: string, timeout = 30_000): Promise<T> => {
    await expect.poll(() => got.has(`${topic.name}:${id}`), { timeout, interval: 100 }).toBe(true);
    return got.get(`${topic.name}:${id}`)!.value as T;
  };

  beforeAll(async () => {
    await Promise.all([topics.ready, topics.batch, topics.responses, topics.costRecords, topics.deadLetters].map(listen));
    svc = await startCompression(config, { policy, logger: silentLogger });
    const deadline = Date.now() + 30_000;
    while (!svc.ready()) {
      if (Date.now() > deadline) throw new Error("compression did not join its consumer group within 30 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    await svc?.stop();
    await client.close();
  });

  it("consumes routed kb-answers requests and emits them compressed with the token figures, to real time or batch", async () => {
    const rows = xquadSample().slice(0, 3);
    const reqs = rows.map((row, i) =>
      newRequest({
        request_id: `${run}-kb-${i}`, tenant: "initech", use_case: "kb-answers", model: "claude-sonnet-4-5", max_tokens: 300, created_at: Date.now(),
        messages: [{ role: "system", content: "Answer from the provided context only." }, { role: "user", content: row.question }],
        context: row.passages.map((p, k) => ({ id: `${i}-${k}`, text: p.text, score: 1 - k * 0.1 })),
        ...(i === 2 ? { latency_class: "BATCH" as const, deadline_ms: Date.now() + 24 * 3_600_000 } : {}),
      }),
    );
    const bare = newRequest({ request_id: `${run}-bare`, tenant: "initech", use_case: "kb-answers", messages: [{ role: "user", content: "Hello?" }], created_at: Date.now() });
    await send([...reqs, bare]);

    for (const [i, req] of reqs.entries()) {
      const out = await arrival<LlmRequest>(i === 2 ? topics.batch : topics.ready, req.request_id);
      expect(out.messages).toEqual(req.messages);
      const c = out.pipeline!.compression!;
      expect(c.context_tokens_before).toBeGreaterThan(500);
      expect(c.context_tokens_after).toBeLessThanOrEqual(Math.ceil(c.context_tokens_before * 0.35));
      expect(c.strategy).toMatch(/extractive/);
      expect(c.per_strategy_tokens.extractive).toBe(c.context_tokens_after);
      expect(out.pipeline!.stage_ms).toHaveProperty("compression");
      const order = out.context.map((x) => req.context.findIndex((y) => y.id === x.id));
      expect(order.every((o) => o >= 0)).toBe(true);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    expect(got.has(`${topics.ready.name}:${reqs[2]!.request_id}`)).toBe(false);
    const passed = await arrival<LlmRequest>(topics.ready, bare.request_id);
    expect(passed.pipeline!.compression).toBeNull();
  });

  it("records the summariser's cost, priced from the emulator's usage, on the request", async () => {
    const passage = xquadSample()[5]!.passages[0]!.text;
    const question = "What is this paragraph about?";
    const req = newRequest({
      request_id: `${run}-sum`, tenant: "initech", use_case: SUMMARISE, model: "gpt-4o", created_at: Date.now(),
      messages: [{ role: "user", content: question }], context: [{ id: "long", text: passage, score: 1 }],
    });
    await send([req]);
    const out = await arrival<LlmRequest>(topics.ready, req.request_id);

    // The emulator answers the same call the same way: replay it to know what it billed.
    const providers = createProviders(config, { catalog, logger: silentLogger });
    const replay = await providers.chat({
      model: "gpt-4o-mini",
      messages: [{ role: "system", content: SUMMARY_INSTRUCTIONS }, { role: "user", content: `Question: ${question}\n\nDocument:\n${passage}` }],
      maxTokens: summaryMaxTokens({ target_ratio: 0.35, max_summary_tokens: 60 }, countTextTokens(passage, "gpt-4o")), temperature: 0,
    });
    await providers.close();
    const expected = costOf(requireModel(catalog, "gpt-4o-mini"), replay.usage).totalNanoUsd;
    expect(expected).toBeGreaterThan(0);
    expect(out.pipeline!.overhead).toEqual({ summariser: expected });
    expect(out.pipeline!.overhead_cost_nanousd).toBe(expected);
    expect(out.context).toEqual([{ id: "long", text: replay.content.trim(), score: 1 }]);
    expect(out.pipeline!.compression).toMatchObject({ strategy: "summarise" });
    expect(out.pipeline!.compression!.context_tokens_after).toBeLessThan(out.pipeline!.compression!.context_tokens_before);
  });

  it("learns boilerplate from the use case's traffic in Redis and removes it from later requests", async () => {
    const mk = (i: number) =>
      newRequest({
        request_id: `${run}-bp-${i}`, tenant: "initech", use_case: BOILERPLATE, created_at: Date.now(),
        messages: [{ role: "user", content: `Question ${i}?` }],
        context: [{ id: `doc-${i}`, text: `Article ${i} explains topic number ${"abcdefghij"[i]} in detail.\n${DISCLAIMER}`, score: 1 }],
      });
    const training = Array.from({ length: 6 }, (_, i) => mk(i));
    await send(training);
    for (const r of training) await arrival<LlmRequest>(topics.ready, r.request_id);
    const later = mk(7);
    await send([later]);
    const out = await arrival<LlmRequest>(topics.ready, later.request_id);
    expect(out.context).toEqual([{ id: "doc-7", text: "Article 7 explains topic number h in detail.", score: 1 }]);
    expect(out.pipeline!.compression!.strategy).toBe("boilerplate");

    const redis = new Redis(env.REDIS_URL!);
    const keys = await redis.keys(`costwise:compression:boilerplate:${BOILERPLATE}:*`);
    expect(keys.length).toBeGreaterThan(0);
    const seen = await Promise.all(keys.map(async (k) => Number(await redis.hget(k, "_n"))));
    expect(seen.reduce((a, b) => a + b, 0)).toBe(7);
    for (const k of keys) expect(await redis.pttl(k)).toBeGreaterThan(0);
    await redis.quit();
  });

  it("rejects a context larger than the stage accepts with an ERROR response, a cost record and a dead letter", async () => {
    const req = newRequest({
      request_id: `${run}-huge`, tenant: "initech", use_case: "kb-answers", model: "gpt-4o", created_at: Date.now(),
      messages: [{ role: "user", content: "Summarise." }], context: [{ id: "big", text: "lorem ipsum dolor sit amet. ".repeat(10_000), score: 1 }],
    });
    await send([req]);
    const res = await arrival<LlmResponse>(topics.responses, req.request_id);
    expect(res).toMatchObject({ status: "ERROR", error_code: "INPUT_TOO_LARGE" });
    expect(await arrival<CostRecord>(topics.costRecords, req.request_id)).toMatchObject({ status: "ERROR", error_code: "INPUT_TOO_LARGE", cost_nanousd: 0 });
    await arrival(topics.deadLetters, req.request_id);
    expect(got.has(`${topics.ready.name}:${req.request_id}`)).toBe(false);
  });
});
