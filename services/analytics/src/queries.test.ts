import { describe, expect, it } from "vitest";
import { overallTotals, routeQuality, routeTraffic, spendSince, trend, useCaseTotals, type QueryFn, type Savings, type Scope } from "./queries.ts";

const scope: Scope = { database: "costwise", mode: "rollup", grain: "hour", filters: { since: new Date("2025-06-14T00:00:00Z"), until: new Date("2025-06-15T00:00:00Z"), tenant: "acme" } };

function fake(tables: Record<string, string[]>, rows: object[] = []): { q: QueryFn; seen: string[] } {
  const seen: string[] = [];
  const q = (async (query: string) => {
    seen.push(query);
    if (query.includes("FROM system.tables")) return [{ c: Object.keys(tables).some((t) => query.includes(`name = '${t}'`)) ? "1" : "0" }];
    if (query.includes("FROM system.columns")) return (Object.values(tables)[0] ?? []).map((name) => ({ name, type: "String" }));
    return rows;
  }) as QueryFn;
  return { q, seen };
}

describe("route quality from the router's route_shadow table", () => {
  it("is unavailable, with the reason, when the table is missing or lacks columns", async () => {
    expect(await routeQuality(fake({}).q, scope)).toEqual({ available: false, reason: "no costwise.route_shadow table (the router's shadow mode writes it)" });
    expect(await routeQuality(fake({ route_shadow: ["ts", "tenant", "use_case", "agreement"] }).q, scope)).toEqual({ available: false, reason: "costwise.route_shadow lacks column(s) cheap_tier, agreed, decided" });
  });

  it("averages judged comparisons per cheap tier, deduplicated and filtered", async () => {
    const { q, seen } = fake({ route_shadow: ["ts", "tenant", "use_case", "cheap_tier", "agreement", "agreed", "decided"] }, [{ tier: "small", samples: "4", mean_agreement: 0.8, agreed_rate: 0.75 }]);
    expect(await routeQuality(q, scope)).toEqual({ available: true, rows: [{ tier: "small", samples: 4, agreement: 0.8, agreedRate: 0.75 }] });
    expect(seen.at(-1)).toContain("FROM `costwise`.`route_shadow` FINAL");
    expect(seen.at(-1)).toContain("decided = 1 AND tenant = 'acme'");
  });
});

describe("post-response overhead (llm_overhead) in every saved figure", () => {
  const raw = {
    calls: "10", errors: "0", cache_hits: "0", batch_calls: "0", input_tokens: "0", cached_input_tokens: "0", output_tokens: "0",
    cost: "300", overhead: "20", baseline: "1000", s_cache: "0", s_routing: "500", s_compression: "180", s_batch: "0", latency_ms: "0",
  };
  /** Cost-record queries get `records`, llm_overhead queries get `post`. */
  function split(records: object[], post: object[]): { q: QueryFn; seen: string[] } {
    const seen: string[] = [];
    const q = (async (query: string) => (seen.push(query), query.includes("llm_overhead") ? post : records)) as QueryFn;
    return { q, seen };
  }
  const sumSavings = (t: { savings: Savings }) => t.savings.cache + t.savings.routing + t.savings.compression + t.savings.batch + t.savings.promptCache;

  it("adds to overhead, comes out of the routing saving, and saved still equals the sum of the savings", async () => {
    const { q, seen } = split([raw], [{ technique: "routing", overhead: "70" }]);
    const t = await overallTotals(q, scope);
    expect(t).toMatchObject({ cost: 300n, overhead: 90n, overheadAfter: 70n, baseline: 1000n, saved: 610n, savings: { routing: 430n, compression: 180n } });
    expect(t.saved).toBe(t.baseline - t.cost - t.overhead);
    expect(sumSavings(t)).toBe(t.saved);
    expect(seen.find((x) => x.includes("llm_overhead"))).toContain("FROM `costwise`.`llm_overhead` WHERE ts >= toDateTime('2025-06-14 00:00:00', 'UTC') AND ts < toDateTime('2025-06-15 00:00:00', 'UTC') AND tenant = 'acme'");
  });

  it("per use case: charged to its own use case; a use case with only post-response spend still appears", async () => {
    const { q } = split([{ tenant: "acme", use_case: "chat", ...raw }], [
      { tenant: "acme", use_case: "chat", technique: "routing", overhead: "70" },
      { tenant: "acme", use_case: "digest", technique: "routing", overhead: "5" },
    ]);
    const rows = await useCaseTotals(q, scope);
    expect(rows.map((r) => [r.useCase, r.overhead, r.saved])).toEqual([["chat", 90n, 610n], ["digest", 5n, -5n]]);
    for (const r of rows) expect(sumSavings(r)).toBe(r.baseline - r.cost - r.overhead);
  });

  it("trend: charged to the grain of the request", async () => {
    const t = Date.parse("2025-06-14T10:00:00Z") / 1000;
    const { q } = split([{ t, calls: "10", cost: "300", overhead: "20", baseline: "1000", s_cache: "0", s_routing: "500", s_compression: "180", s_batch: "0" }], [{ bucket: t, technique: "routing", overhead: "70" }]);
    expect(await trend(q, scope)).toEqual([{ t: t * 1000, calls: 10, cost: 300n, overhead: 90n, baseline: 1000n, savings: { cache: 0n, routing: 430n, compression: 180n, batch: 0n, promptCache: 0n } }]);
  });

  it("budgets count it as spend", async () => {
    const { q } = split([{ tenant: "acme", use_case: "chat", spend: "320" }], [{ tenant: "acme", use_case: "chat", technique: "routing", overhead: "70" }]);
    expect(await spendSince(q, "costwise", "rollup", new Date("2025-06-01T00:00:00Z"), new Date("2025-06-15T00:00:00Z"))).toEqual([{ tenant: "acme", useCase: "chat", spend: 390n }]);
  });

  it("routes: the serving route's saving is net of its shadow overhead", async () => {
    const { q } = split([{ tier: "small", strategy: "rules", model: "gpt-4o-mini", calls: "10", errors: "0", score: 1, cost: "300", saving: "500" }], [
      { route_tier: "small", route_strategy: "rules", served_model: "gpt-4o-mini", technique: "routing", overhead: "70" },
      { route_tier: "", route_strategy: "", served_model: "gpt-4o", technique: "routing", overhead: "9" },
    ]);
    const rows = await routeTraffic(q, scope);
    expect(rows.map((r) => [r.tier, r.model, r.calls, r.saving])).toEqual([["small", "gpt-4o-mini", 10, 430n], ["", "gpt-4o", 0, -9n]]);
  });
});
