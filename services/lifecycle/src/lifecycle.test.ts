import { describe, expect, it } from "vitest";
import { emptyPipelineState, newRequest, topics, type CostRecord, type LlmResponse, type RouteDecision } from "@costwise/schemas";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import { parseConfig } from "@costwise/stream-runtime";
import { answer, baselineModel, chargeRequest, defaultModelConfigSchema, fail, promptTokenBound, promptTokensIfNeeded, recordStage, reject, targetModel, withDefaultModel } from "./index.ts";

const route: RouteDecision = { tier: "small", model: "gpt-4o-mini", provider: "openai", strategy: "rules", score: null, reason: "short", shadow: false, cascade: null };
const req = newRequest({ request_id: "r1", tenant: "acme", use_case: "support", messages: [{ role: "user", content: "hi" }], created_at: 1_000 });
const usage = { inputTokens: 100, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 20 };

describe("model resolution", () => {
  it("sends to the router's model, else the caller's, else the default; prices the baseline at the caller's", () => {
    expect(targetModel({ ...req, model: "gpt-4o", pipeline: { ...emptyPipelineState(), route } }, "claude-sonnet-4-5")).toBe("gpt-4o-mini");
    expect(targetModel({ ...req, model: "gpt-4o" }, "claude-sonnet-4-5")).toBe("gpt-4o");
    expect(targetModel(req, "claude-sonnet-4-5")).toBe("claude-sonnet-4-5");
    expect(targetModel(req, null)).toBeNull();
    expect(baselineModel({ ...req, model: "gpt-4o" }, catalog, "gpt-4o-mini")?.id).toBe("gpt-4o");
    expect(baselineModel(req, catalog, "no-such-model")).toBeNull();
  });

  it("prices the baseline of a request moved off a retired model at the successor the caller could still call", () => {
    const moved = { ...req, model: "claude-sonnet-4-5", created_at: Date.parse("2026-12-02T10:00:00Z"), pipeline: { ...emptyPipelineState(), route: { ...route, model: "claude-sonnet-5-5", provider: "anthropic", substituted_from: "claude-sonnet-4-5" } } };
    expect(baselineModel(moved, catalog, null)?.id).toBe("claude-sonnet-5-5");
    // A request created just before the date but routed on it still gets the successor.
    expect(baselineModel({ ...moved, created_at: Date.parse("2026-11-29T23:59:59Z") }, catalog, null)?.id).toBe("claude-sonnet-5-5");
    // Nothing substituted: the caller's model, retired or not.
    expect(baselineModel({ ...moved, pipeline: { ...emptyPipelineState(), route } }, catalog, null)?.id).toBe("claude-sonnet-4-5");
  });

  it("reads one default: a stage's own variable, then COSTWISE_DEFAULT_MODEL, then EXECUTOR_DEFAULT_MODEL", () => {
    const read = (env: NodeJS.ProcessEnv, stage?: string) => parseConfig(defaultModelConfigSchema, withDefaultModel(env, stage)).COSTWISE_DEFAULT_MODEL;
    expect(read({})).toBe("gpt-4o");
    expect(read({ EXECUTOR_DEFAULT_MODEL: "claude-sonnet-4-5" })).toBe("claude-sonnet-4-5");
    expect(read({ EXECUTOR_DEFAULT_MODEL: "claude-sonnet-4-5", COSTWISE_DEFAULT_MODEL: "gpt-4o-mini" })).toBe("gpt-4o-mini");
    expect(read({ COSTWISE_DEFAULT_MODEL: "gpt-4o-mini", BATCH_DEFAULT_MODEL: "claude-haiku-4-5" }, "BATCH_DEFAULT_MODEL")).toBe("claude-haiku-4-5");
    expect(read({ BATCH_DEFAULT_MODEL: "claude-haiku-4-5" })).toBe("gpt-4o");
  });
});

describe("stage time and overhead", () => {
  it("adds a stage's time to the pipeline state and charges overhead to its source and the total", () => {
    const once = recordStage(req, "batch", 40);
    const twice = recordStage(chargeRequest(once, "summariser", 300), "batch", 2.4);
    expect(twice.pipeline).toMatchObject({ stage_ms: { batch: 42 }, overhead: { summariser: 300 }, overhead_cost_nanousd: 300 });
    expect(recordStage(req, "x", -5).pipeline!.stage_ms).toEqual({ x: 0 });
    expect(chargeRequest(req, "router", 0)).toBe(req);
  });
});

describe("finishing a request", () => {
  const pick = <T>(outputs: readonly { topic: { name: string }; value: unknown }[], name: string) => outputs.find((o) => o.topic.name === name)!.value as T;

  it("answers: the response carries the content and the record the cost against the caller's model", () => {
    const routed = { ...req, model: "gpt-4o", pipeline: { ...emptyPipelineState(), route } };
    const done = answer({ request: routed, servedBy: "REALTIME", catalog, completedAt: 1_500, content: "hello", model: requireModel(catalog, "gpt-4o-mini"), usage, baselineModel: baselineModel(routed, catalog, null), stageMs: { executor: 9 } });
    const res = pick<LlmResponse>(done.outputs, topics.responses.name);
    const rec = pick<CostRecord>(done.outputs, topics.costRecords.name);
    const cost = costOf(requireModel(catalog, "gpt-4o-mini"), usage).totalNanoUsd;
    expect(res).toMatchObject({ status: "OK", content: "hello", model: "gpt-4o-mini", provider: "openai", served_by: "REALTIME", latency_ms: 500, cost_usd: cost / 1e9 });
    expect(rec).toMatchObject({ status: "OK", cost_nanousd: cost, baseline_cost_nanousd: costOf(requireModel(catalog, "gpt-4o"), usage).totalNanoUsd, route_tier: "small", stage_latency_ms: { executor: 9 } });
  });

  it("prices a batch answer at the batch rate", () => {
    const done = answer({ request: req, servedBy: "BATCH", catalog, completedAt: 2_000, content: "x", model: requireModel(catalog, "gpt-4o"), usage, baselineModel: requireModel(catalog, "gpt-4o"), batchId: "b1", attempts: 2 });
    expect(done.record).toMatchObject({ served_by: "BATCH", batch_id: "b1", attempts: 2, cost_nanousd: costOf(requireModel(catalog, "gpt-4o"), usage, "batch").totalNanoUsd });
    expect(done.record.saving_batch_nanousd).toBeGreaterThan(0);
  });

  it("fails with an ERROR response and a zero-cost record; a rejection also dead-letters with the code first", () => {
    const f = { request: req, servedBy: "BATCH" as const, catalog, completedAt: 1_250, code: "INPUT_TOO_LARGE", reason: "too big", model: "gpt-4o" };
    const done = fail(f);
    expect(done.response).toMatchObject({ status: "ERROR", error: "too big", error_code: "INPUT_TOO_LARGE", model: "gpt-4o", content: null, cost_usd: 0, latency_ms: 250, served_by: "BATCH" });
    expect(done.record).toMatchObject({ status: "ERROR", error_code: "INPUT_TOO_LARGE", cost_nanousd: 0, baseline_cost_nanousd: 0 });
    const out = reject(f);
    expect(out.deadLetter).toBe("INPUT_TOO_LARGE: too big");
    expect(out.outputs.map((o) => o.topic.name)).toEqual([topics.responses.name, topics.costRecords.name]);
  });
});

describe("prompt tokens for the window check", () => {
  const price = (contextWindow: number) => ({ id: "gpt-4o", contextWindow }) as Parameters<ReturnType<typeof promptTokensIfNeeded>>[0];

  it("bounds by bytes: 3 per message plus role and content bytes, 3 for the reply", () => {
    expect(promptTokenBound([{ role: "user", content: "héllo" }])).toBe(3 + 3 + 4 + 6);
  });

  it("counts only when the bound does not already fit the window", () => {
    const counted: string[] = [];
    const count = (_m: unknown, model: string) => (counted.push(model), 7);
    const messages = [{ role: "user", content: "hello" }];
    expect(promptTokensIfNeeded(messages, 10, count)(price(1_000))).toBe(promptTokenBound(messages));
    expect(counted).toEqual([]);
    // 14 bytes of bound against 20 − 10 = 10 tokens of room: the exact count decides.
    expect(promptTokensIfNeeded(messages, 10, count)(price(20))).toBe(7);
    expect(counted).toEqual(["gpt-4o"]);
  });
});
