import { describe, expect, it } from "vitest";
import { catalog, findModel, providerOfModelId, requireModel, unpricedModel, withUnpricedPolicy } from "./catalog.ts";
import { costOf, usageFromAnthropic, usageFromOpenAI } from "./cost.ts";
import { InvalidUsageError, UnknownModelError } from "./errors.ts";
import type { ModelPrice } from "./types.ts";

const sonnet = () => requireModel(catalog, "claude-sonnet-4-5");

describe("1-hour cache writes", () => {
  it("bill at 2x base input on Anthropic, apart from 5-minute writes at 1.25x", () => {
    // 1,000 uncached × $3 = 3,000,000 nano; 600 5m writes × $3.75 = 2,250,000; 400 1h writes × $6 = 2,400,000.
    const c = costOf(sonnet(), { inputTokens: 2_000, cachedInputTokens: 0, cacheWriteInputTokens: 1_000, cacheWrite1hInputTokens: 400, outputTokens: 0 });
    expect(c.uncachedInputNanoUsd).toBe(3_000_000);
    expect(c.cacheWriteNanoUsd).toBe(2_250_000 + 2_400_000);
    expect(c.totalNanoUsd).toBe(7_650_000);
  });

  it("take the model's own 1-hour price when it has one", () => {
    const own: ModelPrice = { ...sonnet(), cacheWrite1hPerMTok: "5.00" };
    const c = costOf(own, { inputTokens: 100, cachedInputTokens: 0, cacheWriteInputTokens: 100, cacheWrite1hInputTokens: 100, outputTokens: 0 });
    expect(c.cacheWriteNanoUsd).toBe(500_000);
  });

  it("are read from Anthropic's cache_creation split", () => {
    const u = usageFromAnthropic({
      input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 20, cache_creation_input_tokens: 30,
      cache_creation: { ephemeral_5m_input_tokens: 12, ephemeral_1h_input_tokens: 18 },
    });
    expect(u).toMatchObject({ inputTokens: 60, cachedInputTokens: 20, cacheWriteInputTokens: 30, cacheWrite1hInputTokens: 18 });
  });

  it("count only the split when the total is absent", () => {
    const u = usageFromAnthropic({ input_tokens: 1, output_tokens: 1, cache_creation: { ephemeral_5m_input_tokens: 2, ephemeral_1h_input_tokens: 3 } });
    expect(u).toMatchObject({ inputTokens: 6, cacheWriteInputTokens: 5, cacheWrite1hInputTokens: 3 });
  });

  it("cannot exceed the cache writes", () => {
    expect(() => costOf(sonnet(), { inputTokens: 10, cachedInputTokens: 0, cacheWriteInputTokens: 2, cacheWrite1hInputTokens: 3, outputTokens: 0 })).toThrow(InvalidUsageError);
  });

  it("get the batch discount like every other class", () => {
    const u = { inputTokens: 1_000, cachedInputTokens: 0, cacheWriteInputTokens: 1_000, cacheWrite1hInputTokens: 1_000, outputTokens: 0 };
    const rt = costOf(sonnet(), u);
    const batch = costOf(sonnet(), u, "batch");
    expect(rt.cacheWriteNanoUsd).toBe(6_000_000);
    expect(batch.totalNanoUsd).toBe(3_000_000);
  });
});

describe("reasoning tokens", () => {
  it("are priced once, as the output they are part of", () => {
    const mini = requireModel(catalog, "gpt-5-mini");
    const plain = costOf(mini, { inputTokens: 100, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1_000 });
    const reasoned = costOf(mini, { inputTokens: 100, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1_000, reasoningTokens: 800 });
    expect(reasoned).toEqual(plain);
  });

  it("are read from completion_tokens_details without adding them to the output", () => {
    const u = usageFromOpenAI({ prompt_tokens: 50, completion_tokens: 900, completion_tokens_details: { reasoning_tokens: 700 } });
    expect(u).toMatchObject({ inputTokens: 50, outputTokens: 900, reasoningTokens: 700 });
  });

  it("cannot exceed the output tokens", () => {
    expect(() => costOf(requireModel(catalog, "o3"), { inputTokens: 1, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 5, reasoningTokens: 6 })).toThrow(InvalidUsageError);
  });
});

describe("long-context tiers", () => {
  const tiered: ModelPrice = {
    ...sonnet(),
    longContext: { aboveInputTokens: 200_000, inputPerMTok: "6.00", cachedInputPerMTok: "0.60", cacheWritePerMTok: "7.50", outputPerMTok: "22.50" },
  };

  it("leave a call at the boundary at standard prices", () => {
    const c = costOf(tiered, { inputTokens: 200_000, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1_000 });
    expect(c.tier).toBe("standard");
    expect(c.totalNanoUsd).toBe(200_000 * 3_000 + 1_000 * 15_000);
  });

  it("bill every token of a longer call at the tier's prices", () => {
    const c = costOf(tiered, { inputTokens: 200_001, cachedInputTokens: 100_000, cacheWriteInputTokens: 1, cacheWrite1hInputTokens: 1, outputTokens: 1_000 });
    expect(c.tier).toBe("long_context");
    expect(c.uncachedInputNanoUsd).toBe(100_000 * 6_000);
    expect(c.cachedInputNanoUsd).toBe(100_000 * 600);
    // The tier has no 1-hour price of its own: 2x its base input.
    expect(c.cacheWriteNanoUsd).toBe(12_000);
    expect(c.outputNanoUsd).toBe(1_000 * 22_500);
  });
});

describe("models missing from the catalog", () => {
  it("are rejected by default", () => {
    expect(findModel(catalog, "gpt-7-turbo")).toBeUndefined();
    expect(() => requireModel(catalog, "gpt-7-turbo")).toThrow(UnknownModelError);
  });

  it("are served unpriced under the serve policy, with the provider taken from the id", () => {
    const serving = withUnpricedPolicy(catalog, "serve");
    expect(serving.version).toBe(catalog.version);
    const m = requireModel(serving, "gpt-7-turbo");
    expect(m).toMatchObject({ id: "gpt-7-turbo", provider: "openai", kind: "chat", unpriced: true });
    expect(requireModel(serving, "claude-opus-9")).toMatchObject({ provider: "anthropic", unpriced: true });
    const c = costOf(m, { inputTokens: 1_000, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1_000 });
    expect(c.totalNanoUsd).toBe(0);
    // Known models keep their prices.
    expect(requireModel(serving, "gpt-4o-mini").unpriced).toBeUndefined();
  });

  it("are refused when no provider claims the id", () => {
    const serving = withUnpricedPolicy(catalog, "serve");
    expect(() => requireModel(serving, "llama-4-maverick")).toThrow(UnknownModelError);
    expect(unpricedModel("gpt 5; drop table")).toBeUndefined();
    expect(providerOfModelId("o9-pro")).toBe("openai");
    expect(providerOfModelId("text-embedding-4")).toBe("openai");
    expect(unpricedModel("text-embedding-4")?.kind).toBe("embedding");
  });

  it("keep the policy apart from the shared catalog", () => {
    withUnpricedPolicy(catalog, "serve");
    expect(catalog.unpriced).toBeUndefined();
    expect(withUnpricedPolicy(catalog, "reject")).toBe(catalog);
  });
});
