import { describe, expect, it } from "vitest";
import { BackoffView, memoryBackoffStore } from "./backoff.ts";
import { backoffFor, compareTechniques, DEFAULT_OUTCOME_POLICY } from "./regression.ts";

const policy = { ...DEFAULT_OUTCOME_POLICY, minSamples: 30 };

describe("technique comparisons", () => {
  it("compares semantic hits with misses and cheap tiers with the frontier tier, per use case", () => {
    const rows = [
      { useCase: "support", path: "cache_semantic", successes: 20, trials: 50 },
      { useCase: "support", path: "route:small", successes: 85, trials: 100 },
      { useCase: "support", path: "route:frontier", successes: 90, trials: 100 },
      { useCase: "triage", path: "route:nano", successes: 40, trials: 100 },
      { useCase: "triage", path: "route:frontier", successes: 95, trials: 100 },
      { useCase: "triage", path: "route:", successes: 1, trials: 1 },
    ];
    const c = compareTechniques(rows, policy);
    expect(c.map((x) => [x.useCase, x.technique, x.baselinePath, x.test.regressed])).toEqual([
      ["support", "cache", "misses", true],
      ["support", "route:small", "route:frontier", false],
      ["triage", "route:nano", "route:frontier", true],
    ]);
    expect(c[0]!.baseline_outcomes).toEqual({ successes: 175, trials: 200 });
  });

  it("a regressed route backs off in the router's terms, and lifts when the backoff expires", async () => {
    const [c] = compareTechniques([
      { useCase: "triage", path: "route:nano", successes: 40, trials: 100 },
      { useCase: "triage", path: "route:frontier", successes: 95, trials: 100 },
    ], policy);
    let now = 1_000_000;
    const store = memoryBackoffStore();
    expect(await store.set(backoffFor(c!, policy, now), now)).toBe(true);
    expect(await store.set(backoffFor(c!, policy, now + 1), now + 1)).toBe(false);
    const view = new BackoffView(store, { refreshMs: 60_000, now: () => now });
    await view.refresh();
    expect(view.routeFallback("triage", "nano")).toMatchObject({ agreement: 0.4, floor: 0.95, samples: 100 });
    expect(view.routeFallback("triage", "frontier")).toBeNull();
    expect(view.cacheExactOnly("triage")).toBeNull();
    now += policy.backoffHours * 3_600_000 + 2;
    expect(view.routeFallback("triage", "nano")).toBeNull();
  });
});
