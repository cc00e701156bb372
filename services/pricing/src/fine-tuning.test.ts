import { describe, expect, it } from "vitest";
import { catalog, findModel } from "./catalog.ts";
import { costOf } from "./cost.ts";
import { FINE_TUNE_PUBLISHED, fineTunePriceOf, fineTunedModel, formatUsdPerMTok, ruleFineTunePrice, trainingCostNanoUsd, withFineTunePrices } from "./fine-tuning.ts";

const FT = "ft:gpt-4o-mini-2024-07-18:acme:support:AbC123";

describe("fine-tuned model prices", () => {
  it("prices a fine-tuned id at OpenAI's published fine-tuned rates, not the base model's", () => {
    const m = findModel(catalog, FT)!;
    expect(m).toMatchObject({ id: FT, provider: "openai", kind: "chat", inputPerMTok: "0.30", cachedInputPerMTok: "0.15", outputPerMTok: "1.20" });
    expect(findModel(catalog, "gpt-4o-mini")!.inputPerMTok).toBe("0.15");
    // 1,000 input + 500 output tokens: 1000 × $0.30/M + 500 × $1.20/M = $0.0009 (base: $0.00045).
    expect(costOf(m, { inputTokens: 1000, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 500 }).totalNanoUsd).toBe(900_000);
  });

  it("derives a base without a published row by the rule (2x inference, 12.5x input for training)", () => {
    const gpt5mini = findModel(catalog, "gpt-5-mini")!;
    const r = ruleFineTunePrice(gpt5mini);
    expect(r.source).toBe("rule");
    expect(r.inputPerMTok).toBe(formatUsdPerMTok(2n * 250_000n));
    expect(r.trainingPerMTok).toBe("3.125");
    expect(fineTunePriceOf(catalog, "gpt-5-mini")).toEqual(r);
    expect(findModel(catalog, "ft:gpt-5-mini:acme::x1")!.outputPerMTok).toBe(formatUsdPerMTok(2n * BigInt(Number(gpt5mini.outputPerMTok) * 1e6)));
  });

  it("the rule's factors are the medians of the published ratios", () => {
    const ratios = FINE_TUNE_PUBLISHED.map((r) => {
      const base = findModel(catalog, r.base)!;
      return { inference: Number(r.inputPerMTok) / Number(base.inputPerMTok), training: Number(r.trainingPerMTok) / Number(base.inputPerMTok) };
    });
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    expect(median(ratios.map((r) => r.inference))).toBe(2);
    expect(median(ratios.map((r) => r.training))).toBe(12.5);
  });

  it("an override wins over the published row, on a new catalog only", () => {
    const custom = withFineTunePrices(catalog, [{ base: "gpt-4o-mini", trainingPerMTok: "2.00", inputPerMTok: "0.25", cachedInputPerMTok: "0.10", outputPerMTok: "1.00", maxExampleTokens: 32_768 }]);
    expect(fineTunePriceOf(custom, "gpt-4o-mini-2024-07-18")).toMatchObject({ source: "override", trainingPerMTok: "2.00" });
    expect(findModel(custom, FT)!.inputPerMTok).toBe("0.25");
    expect(findModel(catalog, FT)!.inputPerMTok).toBe("0.30");
    expect(() => withFineTunePrices(catalog, [{ base: "gpt-4o", trainingPerMTok: "x", inputPerMTok: "1", cachedInputPerMTok: "1", outputPerMTok: "1", maxExampleTokens: 1 }])).toThrow(/decimal/);
  });

  it("cannot price an id whose base is unknown or not an OpenAI chat model", () => {
    for (const id of ["ft:no-such-model:acme::x", "ft:claude-haiku-4-5:acme::x", "ft:text-embedding-3-small:acme::x", "ft:"]) {
      expect(findModel(catalog, id)).toBeUndefined();
      expect(fineTunedModel(catalog, id)).toBeNull();
    }
    expect(fineTunePriceOf(catalog, "claude-haiku-4-5")).toBeNull();
  });

  it("training cost is trained tokens × the training price, exactly", () => {
    // 1,234,567 tokens × $3.00/M = $3.703701.
    expect(trainingCostNanoUsd(fineTunePriceOf(catalog, "gpt-4o-mini")!, 1_234_567)).toBe(3_703_701_000);
    expect(() => trainingCostNanoUsd(fineTunePriceOf(catalog, "gpt-4o-mini")!, -1)).toThrow();
  });

  it("formats pico-USD per token back to the catalog's decimal strings", () => {
    expect(formatUsdPerMTok(2_500_000n)).toBe("2.50");
    expect(formatUsdPerMTok(1_875_000n)).toBe("1.875");
    expect(formatUsdPerMTok(1n)).toBe("0.000001");
  });
});
