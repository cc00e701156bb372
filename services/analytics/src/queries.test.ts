import { describe, expect, it } from "vitest";
import { routeQuality, type QueryFn, type Scope } from "./queries.ts";

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
