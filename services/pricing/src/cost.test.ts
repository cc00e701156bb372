import { describe, expect, it } from "vitest";
import { catalog, findModel, requireModel } from "./catalog.ts";
import { costOf, usageFromAnthropic, usageFromOpenAI, type Usage } from "./cost.ts";
import { InvalidUsageError, UnknownModelError } from "./errors.ts";
import type { ModelPrice } from "./types.ts";

const usage = (inputTokens: number, outputTokens: number, cachedInputTokens = 0, cacheWriteInputTokens = 0): Usage => ({
  inputTokens,
  cachedInputTokens,
  cacheWriteInputTokens,
  outputTokens,
});

/** A model with an arbitrary input price, for exercising rounding below one nano-USD. */
const customPrice = (inputPerMTok: string): ModelPrice => ({
  id: "test-model",
  provider: "openai",
  aliases: [],
  kind: "chat",
  tier: "small",
  inputPerMTok,
  cachedInputPerMTok: null,
  cacheWritePerMTok: null,
  outputPerMTok: inputPerMTok,
  batchDiscount: "0.5",
  contextWindow: 1,
  maxOutputTokens: 1,
});

describe("costOf worked examples", () => {
  it("gpt-4o-mini, 1,000 in / 500 out", () => {
    // 1,000 × $0.15/MTok = $0.00015 = 150,000 nano; 500 × $0.60/MTok = $0.0003 = 300,000 nano.
    expect(costOf(requireModel(catalog, "gpt-4o-mini"), usage(1_000, 500))).toEqual({
      model: "gpt-4o-mini",
      provider: "openai",
      mode: "realtime",
      catalogVersion: catalog.version,
      uncachedInputNanoUsd: 150_000,
      cachedInputNanoUsd: 0,
      cacheWriteNanoUsd: 0,
      outputNanoUsd: 300_000,
      batchDiscountNanoUsd: 0,
      totalNanoUsd: 450_000,
      tier: "standard",
    });
  });

  it("OpenAI: cached tokens are counted inside prompt_tokens", () => {
    const u = usageFromOpenAI({
      prompt_tokens: 10_000,
      completion_tokens: 1_000,
      prompt_tokens_details: { cached_tokens: 8_000 },
    });
    expect(u).toEqual(usage(10_000, 1_000, 8_000, 0));
    // gpt-4.1: 2,000 uncached × $2 + 8,000 cached × $0.50 + 1,000 out × $8, per MTok.
    const cost = costOf(requireModel(catalog, "gpt-4.1"), u);
    expect(cost.uncachedInputNanoUsd).toBe(4_000_000);
    expect(cost.cachedInputNanoUsd).toBe(4_000_000);
    expect(cost.cacheWriteNanoUsd).toBe(0);
    expect(cost.outputNanoUsd).toBe(8_000_000);
    expect(cost.totalNanoUsd).toBe(16_000_000);
    // The same call without the cache hit: 10,000 × $2 + 1,000 × $8 = $0.028.
    expect(costOf(requireModel(catalog, "gpt-4.1"), usage(10_000, 1_000)).totalNanoUsd).toBe(28_000_000);
  });

  it("OpenAI: missing or null prompt_tokens_details means no cached tokens", () => {
    expect(usageFromOpenAI({ prompt_tokens: 7, completion_tokens: 3 })).toEqual(usage(7, 3));
    expect(usageFromOpenAI({ prompt_tokens: 7, completion_tokens: 3, prompt_tokens_details: null })).toEqual(usage(7, 3));
    expect(
      usageFromOpenAI({ prompt_tokens: 7, completion_tokens: 3, prompt_tokens_details: { cached_tokens: null } }),
    ).toEqual(usage(7, 3));
  });

  it("Anthropic: cache read and cache write are separate input classes", () => {
    const u = usageFromAnthropic({
      input_tokens: 500,
      cache_read_input_tokens: 20_000,
      cache_creation_input_tokens: 4_000,
      output_tokens: 800,
    });
    expect(u).toEqual(usage(24_500, 800, 20_000, 4_000));
    // claude-sonnet-4-5: 500 × $3 + 20,000 × $0.30 + 4,000 × $3.75 + 800 × $15, per MTok.
    expect(costOf(requireModel(catalog, "claude-sonnet-4-5-20250929"), u)).toMatchObject({
      model: "claude-sonnet-4-5",
      provider: "anthropic",
      uncachedInputNanoUsd: 1_500_000,
      cachedInputNanoUsd: 6_000_000,
      cacheWriteNanoUsd: 15_000_000,
      outputNanoUsd: 12_000_000,
      totalNanoUsd: 34_500_000,
    });
  });

  it("Anthropic: absent cache fields mean zero", () => {
    expect(usageFromAnthropic({ input_tokens: 12, output_tokens: 4 })).toEqual(usage(12, 4));
    expect(
      usageFromAnthropic({ input_tokens: 12, output_tokens: 4, cache_read_input_tokens: null, cache_creation_input_tokens: null }),
    ).toEqual(usage(12, 4));
  });

  it("embeddings bill input only", () => {
    // 10,000 × $0.13/MTok = $0.0013.
    const cost = costOf(requireModel(catalog, "text-embedding-3-large"), usage(10_000, 0));
    expect(cost.totalNanoUsd).toBe(1_300_000);
  });

  it("bills cached tokens at the input price when the model has no cached price", () => {
    const m = requireModel(catalog, "text-embedding-3-small");
    expect(costOf(m, usage(1_000, 0, 400)).totalNanoUsd).toBe(costOf(m, usage(1_000, 0)).totalNanoUsd);
    expect(costOf(m, usage(1_000, 0, 400)).cachedInputNanoUsd).toBe(8_000);
  });
});

describe("batch mode", () => {
  it("halves gpt-4o-mini and reports the saving", () => {
    const cost = costOf(requireModel(catalog, "gpt-4o-mini"), usage(1_000, 500), "batch");
    expect(cost).toMatchObject({
      mode: "batch",
      uncachedInputNanoUsd: 150_000,
      outputNanoUsd: 300_000,
      batchDiscountNanoUsd: 225_000,
      totalNanoUsd: 225_000,
    });
  });

  it("discounts cache reads and cache writes too", () => {
    const u = usage(24_500, 800, 20_000, 4_000);
    const model = requireModel(catalog, "claude-sonnet-4-5");
    const realtime = costOf(model, u, "realtime");
    const batch = costOf(model, u, "batch");
    expect(batch.batchDiscountNanoUsd).toBe(17_250_000);
    expect(batch.totalNanoUsd).toBe(17_250_000);
    expect(batch.totalNanoUsd + batch.batchDiscountNanoUsd).toBe(realtime.totalNanoUsd);
  });
});

describe("rounding", () => {
  it("rounds each line half-up once, not per token", () => {
    // $0.0005/MTok = 500 pico-USD per token = 0.5 nano.
    const price = customPrice("0.0005");
    expect(costOf(price, usage(1, 0)).uncachedInputNanoUsd).toBe(1); // 0.5 → 1
    expect(costOf(price, usage(3, 0)).uncachedInputNanoUsd).toBe(2); // 1.5 → 2, not 3 × 1
    expect(costOf(customPrice("0.0004"), usage(1, 0)).uncachedInputNanoUsd).toBe(0); // 0.4 → 0
  });

  it("rounds the batch discount as its own line and keeps total = lines - discount", () => {
    // gpt-5-nano cached input is $0.005/MTok = 5 nano per token; half of 5 is 2.5 → 3.
    const cost = costOf(requireModel(catalog, "gpt-5-nano"), usage(1, 0, 1), "batch");
    expect(cost.cachedInputNanoUsd).toBe(5);
    expect(cost.batchDiscountNanoUsd).toBe(3);
    expect(cost.totalNanoUsd).toBe(2);
  });

  it("computes the discount from the exact total, not from rounded lines", () => {
    // Two lines of 0.5 nano each: each rounds to 1, exact total is 1 nano, half of it 0.5 → 1.
    const cost = costOf(customPrice("0.0005"), usage(1, 1), "batch");
    expect(cost.uncachedInputNanoUsd + cost.outputNanoUsd).toBe(2);
    expect(cost.batchDiscountNanoUsd).toBe(1);
    expect(cost.totalNanoUsd).toBe(1);
  });
});

describe("large token counts", () => {
  it("stay exact", () => {
    // 123,456,789,012 cached gpt-4o-mini tokens × 75,000 pico = 9,259,259,175,900,000 pico.
    const cost = costOf(requireModel(catalog, "gpt-4o-mini"), usage(123_456_789_012, 0, 123_456_789_012));
    expect(cost.cachedInputNanoUsd).toBe(9_259_259_175_900);
    // 1 pico per token × MAX_SAFE_INTEGER tokens = 9,007,199,254,740.991 nano → ...741.
    expect(costOf(customPrice("0.000001"), usage(Number.MAX_SAFE_INTEGER, 0)).totalNanoUsd).toBe(9_007_199_254_741);
  });

  it("throw rather than lose precision when the cost leaves the safe-integer range", () => {
    // 1e12 output tokens × $75/MTok = $75,000,000 = 7.5e16 nano > 2^53.
    expect(() => costOf(requireModel(catalog, "claude-opus-4-1"), usage(0, 1e12))).toThrow(RangeError);
  });
});

describe("invalid usage", () => {
  const model = requireModel(catalog, "gpt-5");

  it("rejects cached + cache-write tokens beyond the input tokens", () => {
    expect(() => costOf(model, usage(100, 0, 80, 30))).toThrow(InvalidUsageError);
  });

  it.each([
    ["negative", usage(-1, 0)],
    ["fractional", usage(1.5, 0)],
    ["NaN", usage(0, Number.NaN)],
    ["unsafe", usage(2 ** 53, 0)],
  ])("rejects %s token counts", (_what, u) => {
    expect(() => costOf(model, u)).toThrow(InvalidUsageError);
  });
});

describe("model lookup", () => {
  it("finds models by id or alias, case-insensitively", () => {
    expect(findModel(catalog, "GPT-4o-2024-08-06")?.id).toBe("gpt-4o");
    expect(findModel(catalog, "claude-3-5-haiku-latest")?.id).toBe("claude-3-5-haiku");
    expect(findModel(catalog, " o3 ")?.id).toBe("o3");
  });

  it("does not price a snapshot at another snapshot's rates", () => {
    expect(findModel(catalog, "gpt-4o-2024-05-13")).toBeUndefined();
  });

  it("throws UnknownModelError for a model it cannot price", () => {
    let caught: unknown;
    try {
      requireModel(catalog, "gpt-9-ultra");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UnknownModelError);
    expect(caught).toMatchObject({ name: "UnknownModelError", model: "gpt-9-ultra" });
  });

  it("stamps the catalog version given, defaulting to the current one", () => {
    const model = requireModel(catalog, "gpt-5-mini");
    expect(costOf(model, usage(1, 1)).catalogVersion).toBe(catalog.version);
    expect(costOf(model, usage(1, 1), "realtime", "2025-01-01").catalogVersion).toBe("2025-01-01");
  });
});
