import { describe, expect, it } from "vitest";
import { emptyPipelineState, newRequest, type LlmRequest } from "@costwise/schemas";
import { attributeSavings, baselineUsageOf, buildCostRecord, NO_USAGE, type CallAccount } from "./accounting.ts";
import { catalog, requireModel } from "./catalog.ts";
import { costOf } from "./cost.ts";

const gpt4o = requireModel(catalog, "gpt-4o");
const mini = requireModel(catalog, "gpt-4o-mini");
const usage = { inputTokens: 1_000, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 200 };
const base = (req: Partial<LlmRequest> = {}) =>
  newRequest({ request_id: "r1", tenant: "acme", use_case: "support", messages: [{ role: "user", content: "hi" }], model: "gpt-4o", created_at: 1_000, ...req });

function account(over: Partial<CallAccount> = {}): CallAccount {
  const request = over.request ?? base();
  return { request, status: "OK", errorCode: null, servedBy: "REALTIME", model: gpt4o, usage, mode: "realtime", baselineModel: gpt4o, baselineUsage: baselineUsageOf(request, usage), completedAt: 1_250, ...over };
}

const sum = (s: { cache: number; routing: number; compression: number; batch: number; promptCache: number }) => s.cache + s.routing + s.compression + s.batch + s.promptCache;

describe("cost records and savings attribution", () => {
  it("a plain call costs its catalog price, equals its baseline and saves nothing", () => {
    const rec = buildCostRecord(account());
    expect(rec.cost_nanousd).toBe(costOf(gpt4o, usage).totalNanoUsd);
    expect(rec.cost_nanousd).toBe(4_500_000); // 1000 × $2.50/M + 200 × $10/M = $0.0045
    expect(rec.baseline_cost_nanousd).toBe(rec.cost_nanousd);
    expect([rec.saving_cache_nanousd, rec.saving_routing_nanousd, rec.saving_compression_nanousd, rec.saving_batch_nanousd, rec.saving_prompt_cache_nanousd]).toEqual([0, 0, 0, 0, 0]);
    expect(rec).toMatchObject({ latency_ms: 250, ts: 1_000, model_used: "gpt-4o", provider: "openai", price_catalog_version: catalog.version });
  });

  it("routing + compression + batch + overheads add up exactly to baseline − cost − overhead", () => {
    const p = emptyPipelineState();
    p.compression = { strategy: "extractive", context_tokens_before: 3_000, context_tokens_after: 1_000, per_strategy_tokens: {} };
    p.overhead = { router: 1_234, compression: 777, cache: 55 };
    p.route = { tier: "small", model: "gpt-4o-mini", provider: "openai", strategy: "rules", score: 0.2, reason: "", shadow: false, cascade: null };
    const request = base({ pipeline: p });
    const a = account({ request, model: mini, mode: "batch", baselineUsage: baselineUsageOf(request, usage) });
    const { baseline, cost, overheadTotal, savings } = attributeSavings(a, p.overhead, catalog.version);
    expect(baseline).toBe(costOf(gpt4o, { ...usage, inputTokens: 3_000 }).totalNanoUsd);
    expect(cost).toBe(costOf(mini, usage, "batch").totalNanoUsd);
    expect(overheadTotal).toBe(2_066);
    expect(sum(savings)).toBe(baseline - cost - overheadTotal);
    expect(savings.compression).toBe(costOf(gpt4o, { ...usage, inputTokens: 3_000 }).totalNanoUsd - costOf(gpt4o, usage).totalNanoUsd - 777);
    expect(savings.routing).toBe(costOf(gpt4o, usage).totalNanoUsd - costOf(mini, usage).totalNanoUsd - 1_234);
    expect(savings.batch).toBe(costOf(mini, usage).totalNanoUsd - cost);
    expect(savings.cache).toBe(-55);
    const rec = buildCostRecord(a);
    expect(rec).toMatchObject({ route_tier: "small", context_tokens_before: 3_000, context_tokens_after: 1_000, overhead_cost_nanousd: 2_066 });
  });

  it("prompt caching is its own step: reads at 0.1x less write premiums, and the parts still add up", () => {
    const sonnet = requireModel(catalog, "claude-sonnet-4-5");
    const p = emptyPipelineState();
    p.compression = { strategy: "extractive", context_tokens_before: 2_000, context_tokens_after: 1_000, per_strategy_tokens: {} };
    p.overhead = { compression: 300 };
    const request = base({ model: "claude-sonnet-4-5", pipeline: p });
    // 4,000 prompt tokens: 3,000 read from the cache, 500 written, 500 plain.
    const cachedUsage = { inputTokens: 4_000, cachedInputTokens: 3_000, cacheWriteInputTokens: 500, outputTokens: 100 };
    const plain = { ...cachedUsage, cachedInputTokens: 0, cacheWriteInputTokens: 0 };
    for (const mode of ["realtime", "batch"] as const) {
      const a = account({ request, model: sonnet, baselineModel: sonnet, usage: cachedUsage, mode, baselineUsage: baselineUsageOf(request, cachedUsage) });
      const { baseline, cost, overheadTotal, savings } = attributeSavings(a, p.overhead, catalog.version);
      expect(baseline).toBe(costOf(sonnet, { ...plain, inputTokens: 5_000 }).totalNanoUsd);
      expect(cost).toBe(costOf(sonnet, cachedUsage, mode).totalNanoUsd);
      expect(savings.promptCache).toBe(costOf(sonnet, plain, mode).totalNanoUsd - cost);
      expect(savings.batch).toBe(costOf(sonnet, plain).totalNanoUsd - costOf(sonnet, plain, mode).totalNanoUsd);
      expect(sum(savings)).toBe(baseline - cost - overheadTotal);
    }
    // Realtime by hand: 3,000 × ($3 − $0.30)/M − 500 × ($3.75 − $3)/M = 8,100,000 − 375,000 nano.
    const rec = buildCostRecord(account({ request, model: sonnet, baselineModel: sonnet, usage: cachedUsage, baselineUsage: baselineUsageOf(request, cachedUsage) }));
    expect(rec.saving_prompt_cache_nanousd).toBe(7_725_000);
  });

  it("a cache write that is never read is a negative prompt-cache saving", () => {
    const sonnet = requireModel(catalog, "claude-sonnet-4-5");
    const written = { inputTokens: 2_000, cachedInputTokens: 0, cacheWriteInputTokens: 2_000, outputTokens: 50 };
    const request = base({ model: "claude-sonnet-4-5" });
    const rec = buildCostRecord(account({ request, model: sonnet, baselineModel: sonnet, usage: written, baselineUsage: baselineUsageOf(request, written) }));
    expect(rec.saving_prompt_cache_nanousd).toBe(-1_500_000); // 2,000 × $0.75/M premium
    expect(rec.baseline_cost_nanousd - rec.cost_nanousd).toBe(rec.saving_prompt_cache_nanousd);
  });

  it("flags a call served by a retired model's successor, and only a call a model served", () => {
    const p = emptyPipelineState();
    p.route = { tier: "frontier", model: "claude-sonnet-5-5", provider: "anthropic", strategy: "passthrough", score: null, reason: "", shadow: false, substituted_from: "claude-sonnet-4-5", cascade: null };
    const request = base({ model: "claude-sonnet-4-5", pipeline: p });
    const sonnet55 = requireModel(catalog, "claude-sonnet-5-5");
    const rec = buildCostRecord(account({ request, model: sonnet55, baselineModel: sonnet55 }));
    expect(rec).toMatchObject({ model_requested: "claude-sonnet-4-5", model_used: "claude-sonnet-5-5", substituted_from: "claude-sonnet-4-5", saving_routing_nanousd: 0 });
    expect(buildCostRecord(account({ request, status: "ERROR", model: null, usage: NO_USAGE })).substituted_from).toBeNull();
    expect(buildCostRecord(account()).substituted_from).toBeNull();
  });

  it("a billed but unusable batch line is taken from batching's saving, and the parts still add up", () => {
    const p = emptyPipelineState();
    p.overhead = { batch: 90_000 };
    const request = base({ pipeline: p });
    const a = account({ request, model: mini, mode: "batch", baselineUsage: baselineUsageOf(request, usage) });
    const { baseline, cost, overheadTotal, savings } = attributeSavings(a, p.overhead, catalog.version);
    expect(savings.batch).toBe(costOf(mini, usage).totalNanoUsd - cost - 90_000);
    expect(savings.cache).toBe(0);
    expect(sum(savings)).toBe(baseline - cost - overheadTotal);
    const failed = attributeSavings(account({ request, status: "ERROR", model: null, usage: NO_USAGE }), p.overhead, catalog.version);
    expect(failed.savings.batch).toBe(-90_000);
    expect(sum(failed.savings)).toBe(failed.baseline - failed.cost - failed.overheadTotal);
  });

  it("a cache hit saves the whole baseline less its lookup cost", () => {
    const p = emptyPipelineState();
    p.overhead = { embedding: 20 };
    const request = base({ pipeline: p });
    const rec = buildCostRecord(account({ request, servedBy: "CACHE_SEMANTIC", model: null, cacheSourceRequestId: "r0" }));
    expect(rec.cost_nanousd).toBe(0);
    expect(rec.saving_cache_nanousd).toBe(rec.baseline_cost_nanousd - 20);
    expect(rec.cache_source_request_id).toBe("r0");
  });

  it("an error costs nothing and saves nothing", () => {
    const rec = buildCostRecord(account({ status: "ERROR", errorCode: "UNKNOWN_MODEL", model: null, usage: NO_USAGE, baselineModel: null, baselineUsage: NO_USAGE }));
    expect(rec).toMatchObject({ cost_nanousd: 0, baseline_cost_nanousd: 0, status: "ERROR", error_code: "UNKNOWN_MODEL" });
  });
});
