import { readFileSync } from "node:fs";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { sqlLiteral } from "@costwise/infra";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertRecords, insertShadowRows, knownRecords, knownShadowRows } from "./testing/known-workload.ts";

interface Panel { title: string; targets: { rawSql: string }[] }
const dashboard = JSON.parse(readFileSync(new URL("../grafana/costwise-dashboard.json", import.meta.url), "utf8")) as { panels: Panel[]; templating: { list: { name: string; query: string }[] } };
const DB = process.env.CLICKHOUSE_DATABASE ?? "costwise";
const tenant = `grafana-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const records = knownRecords(tenant, Date.now());
// A use case whose only spend in the window is post-response (a shadow comparison of a request
// made three hours ago, an hour with no calls): the panels must still show it.
const known = knownShadowRows(records);
const shadowOnly = { ...known[2]!, request_id: `${tenant}-shadow-only`, use_case: "nightly-eval", ts: chTimeAgo(3 * 3_600_000), shadow_cost_nanousd: 7_000, judge_cost_nanousd: 400 };
const shadow = [...known, shadowOnly];
// The redelivered comparison (shadow[1]) is charged once.
const shadowCost = [shadow[0]!, shadow[2]!, shadowOnly].reduce((a, r) => a + r.shadow_cost_nanousd + r.judge_cost_nanousd, 0);

function chTimeAgo(ms: number): string {
  return new Date(Date.now() - ms).toISOString().slice(0, 19).replace("T", " ");
}
let ch: ClickHouseClient;

/** What Grafana's ClickHouse data source sends for the last 7 days and this tenant, all use cases. */
function expand(sqlText: string): string {
  const from = `toDateTime(${Math.floor(Date.now() / 1000) - 7 * 86_400})`;
  const to = `toDateTime(${Math.floor(Date.now() / 1000) + 60})`;
  return sqlText
    .replace(/\$__timeFilter\((\w+)\)/g, (_m, c: string) => `${c} >= ${from} AND ${c} <= ${to}`)
    .replaceAll("$__fromTime", from)
    .replaceAll("$__toTime", to)
    .replaceAll("${tenant:singlequote}", sqlLiteral(tenant))
    .replaceAll("${use_case:singlequote}", "'support-chat', 'weekly-digest', 'nightly-eval'")
    .replaceAll("costwise.", `${DB}.`);
}
const run = async <T>(sqlText: string) => (await ch.query({ query: expand(sqlText), format: "JSONEachRow" })).json<T>();

beforeAll(async () => {
  ch = createClient({ url: process.env.CLICKHOUSE_URL!, request_timeout: 60_000 });
  await insertRecords(ch, DB, records, 1);
  await insertShadowRows(ch, DB, shadow);
});
afterAll(async () => {
  await ch?.close();
});

describe("Grafana dashboard JSON", () => {
  it("every panel and variable query runs on this ClickHouse", async () => {
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    for (const p of dashboard.panels) for (const t of p.targets) await expect(run(t.rawSql), p.title).resolves.toBeInstanceOf(Array);
    for (const v of dashboard.templating.list.filter((x) => x.name !== "datasource")) await expect(run(v.query), v.name).resolves.toBeInstanceOf(Array);
  });

  it("its spend and savings panels show the known workload's figures", async () => {
    const panel = (title: string) => dashboard.panels.find((p) => p.title === title)!.targets[0]!.rawSql;
    const [spend] = await run<{ spend: number }>(panel("Spend"));
    expect(spend!.spend).toBeCloseTo((records.reduce((a, r) => a + r.cost_nanousd + r.overhead_cost_nanousd, 0) + shadowCost) / 1e9, 12);
    const [saved1] = await run<{ saved: number }>(panel("Saved"));
    expect(saved1!.saved).toBeCloseTo((records.reduce((a, r) => a + r.baseline_cost_nanousd - r.cost_nanousd - r.overhead_cost_nanousd, 0) - shadowCost) / 1e9, 12);
    const saved = await run<{ technique: string; saved: number }>(panel("Savings by technique (USD)"));
    expect(saved.map((s) => s.technique)).toEqual(["cache", "routing", "compression", "batch", "prompt_cache"]);
    expect(saved[4]!.saved).toBeCloseTo(records.reduce((a, r) => a + r.saving_prompt_cache_nanousd, 0) / 1e9, 12);
    expect(saved[0]!.saved).toBeCloseTo(records.reduce((a, r) => a + r.saving_cache_nanousd, 0) / 1e9, 12);
    expect(saved[1]!.saved).toBeCloseTo((records.reduce((a, r) => a + r.saving_routing_nanousd, 0) - shadowCost) / 1e9, 12);
    expect(saved.reduce((a, s) => a + s.saved, 0)).toBeCloseTo(saved1!.saved, 9);
    const perUseCase = await run<{ use_case: string; calls: number; saved_usd: number; shadow_overhead_usd: number }>(panel("Cost per use case"));
    expect(perUseCase.reduce((a, r) => a + r.saved_usd, 0)).toBeCloseTo(saved1!.saved, 9);
    expect(perUseCase.every((r) => r.shadow_overhead_usd > 0)).toBe(true);
    const shadowOnlyRow = perUseCase.find((r) => r.use_case === "nightly-eval");
    expect(Number(shadowOnlyRow?.calls)).toBe(0);
    expect(shadowOnlyRow!.saved_usd).toBeCloseTo(-7_400 / 1e9, 12);
    const hourly = await run<{ spend: number; naive_cost: number }>(panel("Spend and naive cost per hour (USD)"));
    expect(hourly.reduce((a, r) => a + r.spend, 0)).toBeCloseTo(spend!.spend, 12);
  });
});
