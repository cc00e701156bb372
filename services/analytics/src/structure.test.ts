import { catalog, costOf, requireModel } from "@costwise/pricing";
import { describe, expect, it } from "vitest";
import type { ModelUsageRow } from "./queries.ts";
import { costStructure } from "./structure.ts";

const row = (over: Partial<ModelUsageRow>): ModelUsageRow => ({ tenant: "t", useCase: "u", model: "gpt-4o", batch: false, calls: 1, inputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 0, cost: 0n, overhead: 0n, ...over });

describe("cost structure", () => {
  it("splits recorded cost by token class at catalog weights, adding up exactly", () => {
    const usage = { inputTokens: 3_000, cachedInputTokens: 1_000, cacheWriteInputTokens: 0, outputTokens: 500 };
    const b = costOf(requireModel(catalog, "gpt-4o"), usage);
    const [s] = costStructure([row({ ...usage, cost: BigInt(b.totalNanoUsd), overhead: 77n })]);
    expect(s).toMatchObject({ inputCost: BigInt(b.uncachedInputNanoUsd), cachedInputCost: BigInt(b.cachedInputNanoUsd), outputCost: BigInt(b.outputNanoUsd), overhead: 77n, realtimeCost: BigInt(b.totalNanoUsd), batchCost: 0n });
    expect(s!.total).toBe(BigInt(b.totalNanoUsd) + 77n);
  });

  it("apportions a batch-discounted cost, and keeps unknown models apart", () => {
    const rows = [row({ batch: true, inputTokens: 1_000, outputTokens: 1_000, cost: 6_251n }), row({ model: "in-house-llm", inputTokens: 5, cost: 999n })];
    const [s] = costStructure(rows);
    expect(s!.inputCost + s!.outputCost).toBe(6_251n);
    expect(s!.outputCost).toBe(5_001n); // $10 vs $2.50 per MTok: 4/5 of the cost, remainder to the larger part
    expect(s!.unpricedCost).toBe(999n);
    expect(s).toMatchObject({ batchCost: 6_251n, realtimeCost: 999n, total: 7_250n });
  });
});
