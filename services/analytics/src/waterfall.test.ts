import { describe, expect, it } from "vitest";
import { overallTotals, type QueryFn, type Scope } from "./queries.ts";
import { knownRecords, knownShadowRows } from "./testing/known-workload.ts";

/**
 * The waterfall with shadowing on: cost records built by the real accounting (buildCostRecord),
 * shadow comparisons charged after the response, and the totals analytics reports from them.
 */
describe("the savings waterfall adds up with shadowing on", () => {
  const now = Date.parse("2025-06-14T12:00:00Z");
  const records = knownRecords("acme", now);
  const shadow = knownShadowRows(records);
  // route_shadow is a ReplacingMergeTree read FINAL: the redelivered comparison (version 2) replaces the first.
  const charges = [...new Map(shadow.map((r) => [r.request_id, r])).values()];
  const post = charges.reduce((a, r) => a + BigInt(r.shadow_cost_nanousd + r.judge_cost_nanousd), 0n);
  const sum = (f: (r: (typeof records)[number]) => number) => records.reduce((a, r) => a + BigInt(f(r)), 0n);
  const scope: Scope = { database: "costwise", mode: "exact", grain: "day", filters: { since: new Date(now - 3 * 86_400_000), until: new Date(now + 60_000) } };
  /** What ClickHouse would answer for these rows: the cost records' sums, and the post-response charges by technique. */
  const q = (async (query: string) => {
    if (query.includes("llm_overhead")) return [{ technique: "routing", overhead: post.toString() }];
    return [{
      calls: records.length, errors: records.filter((r) => r.status === "ERROR").length, cache_hits: 2, batch_calls: 2, input_tokens: 0, cached_input_tokens: 0, output_tokens: 0,
      cost: sum((r) => r.cost_nanousd).toString(), overhead: sum((r) => r.overhead_cost_nanousd).toString(), baseline: sum((r) => r.baseline_cost_nanousd).toString(),
      s_cache: sum((r) => r.saving_cache_nanousd).toString(), s_routing: sum((r) => r.saving_routing_nanousd).toString(),
      s_compression: sum((r) => r.saving_compression_nanousd).toString(), s_batch: sum((r) => r.saving_batch_nanousd).toString(), latency_ms: 0,
    }];
  }) as QueryFn;

  it("per record: the five savings are baseline − cost − overhead", () => {
    for (const r of records) {
      expect(r.saving_cache_nanousd + r.saving_routing_nanousd + r.saving_compression_nanousd + r.saving_batch_nanousd + r.saving_prompt_cache_nanousd, r.request_id).toBe(r.baseline_cost_nanousd - r.cost_nanousd - r.overhead_cost_nanousd);
    }
  });

  it("the workload has provider prompt caching, and its saving is the records' own", async () => {
    expect(records.some((r) => r.saving_prompt_cache_nanousd !== 0)).toBe(true);
    const t = await overallTotals(q, scope);
    expect(t.savings.promptCache).toBe(sum((r) => r.saving_prompt_cache_nanousd));
  });

  it("in total: the shadow calls and judges are overhead, come out of routing, and the parts still add up", async () => {
    expect(post).toBe(7_300n);
    const t = await overallTotals(q, scope);
    expect(t.overheadAfter).toBe(post);
    expect(t.overhead).toBe(sum((r) => r.overhead_cost_nanousd) + post);
    expect(t.saved).toBe(sum((r) => r.baseline_cost_nanousd - r.cost_nanousd - r.overhead_cost_nanousd) - post);
    expect(t.saved).toBe(t.baseline - t.cost - t.overhead);
    expect(t.savings.cache + t.savings.routing + t.savings.compression + t.savings.batch + t.savings.promptCache).toBe(t.saved);
    expect(t.savings.routing).toBe(sum((r) => r.saving_routing_nanousd) - post);
    expect(t.savings.cache).toBe(sum((r) => r.saving_cache_nanousd));
  });
});
