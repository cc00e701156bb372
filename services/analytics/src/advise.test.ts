import { describe, expect, it } from "vitest";
import { advise, bandFor, perMonth } from "./advise.ts";
import type { ModelUsageRow, UseCaseRow } from "./queries.ts";
import { costStructure } from "./structure.ts";

const USD = 1_000_000_000n;
const DAY = 86_400;

function useCase(useCase: string, calls: number, costUsd: bigint, extra: Partial<UseCaseRow> = {}): UseCaseRow {
  const cost = costUsd * USD;
  return { tenant: "t", useCase, calls, errors: 0, cacheHits: 0, batchCalls: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, cost, overhead: 0n, overheadAfter: 0n, baseline: cost, savings: { cache: 0n, routing: 0n, compression: 0n, batch: 0n, promptCache: 0n }, saved: 0n, latencyMsSum: 0, ...extra };
}
function usage(useCase: string, model: string, costUsd: bigint, tokens: { input: number; output: number }, batch = false): ModelUsageRow {
  return { tenant: "t", useCase, model, batch, calls: 1, inputTokens: tokens.input, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: tokens.output, cost: costUsd * USD, overhead: 0n };
}

describe("spend bands", () => {
  it("follow the issue's thresholds", () => {
    expect(bandFor(1_999n * USD).id).toBe("build");
    expect(bandFor(2_000n * USD).id).toBe("instrument");
    expect(bandFor(5_000n * USD).id).toBe("cache-route");
    expect(bandFor(20_000n * USD).id).toBe("compress");
    expect(bandFor(100_000n * USD).id).toBe("full");
    expect(bandFor(100_000n * USD).techniques).toEqual(["caching", "routing", "compression", "batch", "distillation"]);
  });

  it("scale a window to a 30-day month exactly", () => {
    expect(perMonth(700n, 7 * DAY)).toBe(3_000n);
    expect(perMonth(1n, 60 * DAY)).toBe(1n); // 0.5 rounds up
  });
});

describe("advise", () => {
  it("finds the band from the run-rate and names where each technique pays most", () => {
    // One week of traffic: $3,000 a week is ~$12.9k a month → caching and routing.
    const useCases = [useCase("chat", 50_000, 2_000n, { cacheHits: 5_000 }), useCase("search", 300_000, 900n), useCase("digest", 1_000, 100n)];
    const rows = [
      usage("chat", "gpt-4o", 2_000n, { input: 100_000_000, output: 100_000_000 }),
      usage("search", "gpt-4o-mini", 900n, { input: 1_000_000_000, output: 1_000_000 }),
      usage("digest", "gpt-4o", 100n, { input: 1_000_000, output: 1_000_000 }, true),
    ];
    const a = advise({ windowSeconds: 7 * DAY, useCases, usage: rows, structure: costStructure(rows) });
    expect(a.monthlyRunRate).toBe(perMonth(3_000n * USD, 7 * DAY));
    expect(a.band.id).toBe("cache-route");
    const by = Object.fromEntries(a.techniques.map((t) => [t.technique, t]));
    expect(by.caching!.recommendedNow).toBe(true);
    expect(by.compression!.recommendedNow).toBe(false);
    expect(by.caching!.candidates.map((c) => c.useCase)).toEqual(["chat", "search", "digest"]);
    // Routing works on spend above the small tier: gpt-4o only.
    expect(by.routing!.candidates.map((c) => c.useCase)).toEqual(["chat", "digest"]);
    expect(by.batch!.candidates.map((c) => c.useCase)).toEqual(["chat", "search"]);
    // 300k calls a week is ~1.29M a month: distillation dominates; 50k a week (~214k) pays.
    expect(a.distillation).toEqual([
      { tenant: "t", useCase: "search", monthlyCalls: 1_285_714, level: "dominates" },
      { tenant: "t", useCase: "chat", monthlyCalls: 214_286, level: "pays" },
    ]);
    expect(by.distillation!.candidates.map((c) => c.useCase)).toEqual(["search", "chat"]);
  });
});
