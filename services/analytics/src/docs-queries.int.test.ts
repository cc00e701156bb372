import { readFileSync } from "node:fs";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { sqlLiteral } from "@costwise/infra";
import type { CostRecord } from "@costwise/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertRecords, insertShadowRows, knownRecords, knownShadowRows } from "./testing/known-workload.ts";

/** The ten example queries of docs/analytics.md, in order, as written there. */
function docQueries(markdown: string): string[] {
  const start = markdown.indexOf("## Ten example queries");
  const end = markdown.indexOf("\n## ", start + 1);
  const section = markdown.slice(start, end);
  return [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
}

const DOC = readFileSync(new URL("../../../docs/analytics.md", import.meta.url), "utf8");
const README = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
/** The statements of the README's "Querying costs in ClickHouse" block. */
function readmeQueries(): string[] {
  const start = README.indexOf("## Querying costs in ClickHouse");
  const block = /```sql\n([\s\S]*?)```/.exec(README.slice(start))![1]!;
  return block.split(/;\s*\n/).map((q) => q.replace(/^--.*\n/gm, "").trim()).filter(Boolean);
}
const DB = process.env.CLICKHOUSE_DATABASE ?? "costwise";
const tenant = `docs-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const now = Date.now();
const unique = knownRecords(tenant, now);
// One replayed delivery of the first call: llm_calls FINAL keeps one row, the rollups count two.
const replayed = [unique[0]!];
const delivered = [...unique, ...replayed];
// Shadow comparisons of two routed calls (one delivered twice): post-response overhead, charged once.
const shadowRows = knownShadowRows(unique);
const shadowCharges = [shadowRows[0]!, shadowRows[2]!];
/** Post-response overhead charged to the records `rs` (by request id). */
const post = (rs: readonly CostRecord[]) => shadowCharges.filter((x) => rs.some((r) => r.request_id === x.request_id)).reduce((a, x) => a + BigInt(x.shadow_cost_nanousd + x.judge_cost_nanousd), 0n);

let ch: ClickHouseClient;

async function run<T>(n: number): Promise<T[]> {
  const text = docQueries(DOC)[n - 1]!.replaceAll("'acme-bank'", sqlLiteral(tenant)).replaceAll("costwise.", `${DB}.`);
  return (await ch.query({ query: text, format: "JSONEachRow" })).json<T>();
}

const big = (v: string | number) => BigInt(v);
const sum = (rs: readonly CostRecord[], f: (r: CostRecord) => number) => rs.reduce((a, r) => a + BigInt(f(r)), 0n);
const day = (r: CostRecord) => new Date(r.ts).toISOString().slice(0, 10);
const hour = (r: CostRecord) => `${new Date(r.ts).toISOString().slice(0, 13).replace("T", " ")}:00:00`;
const groupBy = <K extends string>(rs: readonly CostRecord[], key: (r: CostRecord) => K) => {
  const m = new Map<K, CostRecord[]>();
  for (const r of rs) m.set(key(r), [...(m.get(key(r)) ?? []), r]);
  return m;
};
const modelCall = (r: CostRecord) => r.served_by === "REALTIME" || r.served_by === "BATCH";

beforeAll(async () => {
  ch = createClient({ url: process.env.CLICKHOUSE_URL!, request_timeout: 60_000 });
  await insertRecords(ch, DB, unique, 1);
  await insertRecords(ch, DB, replayed, 2);
  await insertShadowRows(ch, DB, shadowRows);
});
afterAll(async () => {
  await ch?.close();
});

describe("the ten example queries of docs/analytics.md, on a known workload", () => {
  it("the document holds exactly ten queries", () => {
    expect(docQueries(DOC)).toHaveLength(10);
  });

  it("1. spend per use case with baseline and saving is exact despite the replay", async () => {
    const rows = await run<{ use_case: string; calls: string; cost: string; overhead: string; baseline: string; saved: string }>(1);
    const expected = [...groupBy(unique, (r) => r.use_case)].map(([uc, rs]) => ({
      use_case: uc, calls: BigInt(rs.length), cost: sum(rs, (r) => r.cost_nanousd), overhead: sum(rs, (r) => r.overhead_cost_nanousd) + post(rs), baseline: sum(rs, (r) => r.baseline_cost_nanousd),
    }));
    expected.sort((a, b) => (a.cost === b.cost ? a.use_case.localeCompare(b.use_case) : a.cost > b.cost ? -1 : 1));
    expect(rows.map((r) => ({ use_case: r.use_case, calls: big(r.calls), cost: big(r.cost), overhead: big(r.overhead), baseline: big(r.baseline) }))).toEqual(expected);
    for (const r of rows) expect(big(r.saved)).toBe(big(r.baseline) - big(r.cost) - big(r.overhead));
    expect(expected.every((e) => e.cost > 0n && e.baseline > e.cost)).toBe(true);
    // Both use cases carry shadow overhead in this workload: the query must charge it.
    expect([...groupBy(unique, (r) => r.use_case).values()].every((rs) => post(rs) > 0n)).toBe(true);
  });

  it("2. the savings by technique add up exactly to baseline − cost − overhead", async () => {
    const [r] = await run<Record<string, string>>(2);
    expect(big(r!.cache_saved!)).toBe(sum(unique, (x) => x.saving_cache_nanousd));
    expect(big(r!.routing_saved!)).toBe(sum(unique, (x) => x.saving_routing_nanousd) - post(unique));
    expect(big(r!.compression_saved!)).toBe(sum(unique, (x) => x.saving_compression_nanousd));
    expect(big(r!.batch_saved!)).toBe(sum(unique, (x) => x.saving_batch_nanousd));
    expect(big(r!.prompt_cache_saved!)).toBe(sum(unique, (x) => x.saving_prompt_cache_nanousd));
    expect(big(r!.total_saved!)).toBe(big(r!.baseline_minus_spend!));
    expect(big(r!.baseline_minus_spend!)).toBe(sum(unique, (x) => x.baseline_cost_nanousd - x.cost_nanousd - x.overhead_cost_nanousd) - post(unique));
    expect(post(unique)).toBe(7_300n);
    // Every technique contributed in this workload.
    for (const k of ["cache_saved", "routing_saved", "compression_saved", "batch_saved", "prompt_cache_saved"]) expect(big(r![k]!)).toBeGreaterThan(0n);
  });

  it("3. tokens and cost per model and path", async () => {
    const rows = await run<{ model_used: string; served_by: string; calls: string; input_tok: string; cached_tok: string; output_tok: string; cost: string }>(3);
    const expected = [...groupBy(unique, (r) => `${r.model_used ?? ""}|${r.served_by}`)].map(([k, rs]) => ({
      model_used: k.split("|")[0], served_by: k.split("|")[1], calls: BigInt(rs.length), input_tok: sum(rs, (r) => r.input_tokens), cached_tok: sum(rs, (r) => r.cached_input_tokens), output_tok: sum(rs, (r) => r.output_tokens), cost: sum(rs, (r) => r.cost_nanousd),
    }));
    const key = (x: { model_used?: string; served_by?: string }) => `${x.model_used}|${x.served_by}`;
    expect(rows.map((r) => ({ model_used: r.model_used, served_by: r.served_by, calls: big(r.calls), input_tok: big(r.input_tok), cached_tok: big(r.cached_tok), output_tok: big(r.output_tok), cost: big(r.cost) })).sort((a, b) => key(a).localeCompare(key(b))))
      .toEqual(expected.sort((a, b) => key(a).localeCompare(key(b))));
    expect(rows.map((r) => big(r.cost))).toEqual([...rows.map((r) => big(r.cost))].sort((a, b) => (a === b ? 0 : a > b ? -1 : 1)));
  });

  it("4. the daily rollup counts every delivery, the replay included", async () => {
    const rows = await run<{ day: string; calls: string; spend: string; baseline: string }>(4);
    const expected = [...groupBy(delivered, day)].map(([d, rs]) => ({ day: d, calls: BigInt(rs.length), spend: sum(rs, (r) => r.cost_nanousd + r.overhead_cost_nanousd) + post(unique.filter((u) => day(u) === d)), baseline: sum(rs, (r) => r.baseline_cost_nanousd) })).sort((a, b) => a.day.localeCompare(b.day));
    expect(rows.map((r) => ({ day: r.day, calls: big(r.calls), spend: big(r.spend), baseline: big(r.baseline) }))).toEqual(expected);
  });

  it("5. hourly traffic and mean latency over the last 24 hours leave out the call from 26 hours ago", async () => {
    const rows = await run<{ hour: string; use_case: string; calls: string; mean_latency_ms: number }>(5);
    const recent = delivered.filter((r) => r.ts >= now - 24 * 3_600_000);
    expect(recent.length).toBe(delivered.length - 1);
    const expected = [...groupBy(recent, (r) => `${hour(r)}|${r.use_case}`)].map(([k, rs]) => ({ hour: k.split("|")[0], use_case: k.split("|")[1], calls: rs.length, mean: Number(sum(rs, (r) => r.latency_ms)) / rs.length })).sort((a, b) => `${a.hour}${a.use_case}`.localeCompare(`${b.hour}${b.use_case}`));
    expect(rows.map((r) => ({ hour: r.hour, use_case: r.use_case, calls: Number(r.calls), mean: r.mean_latency_ms }))).toEqual(expected);
  });

  it("6. cache hit rate and net cache saving per use case", async () => {
    const rows = await run<{ use_case: string; reqs: string; hits_exact: string; hits_semantic: string; hit_rate: number; cache_saved: string }>(6);
    const support = delivered.filter((r) => r.use_case === "support-chat");
    const s = rows.find((r) => r.use_case === "support-chat")!;
    expect(big(s.reqs)).toBe(BigInt(support.length));
    expect(big(s.hits_exact)).toBe(1n);
    expect(big(s.hits_semantic)).toBe(1n);
    expect(s.hit_rate).toBeCloseTo(2 / support.length, 12);
    expect(big(s.cache_saved)).toBe(sum(support, (r) => r.saving_cache_nanousd));
    const d = rows.find((r) => r.use_case === "weekly-digest")!;
    expect(d.hit_rate).toBe(0);
    expect(big(d.cache_saved)).toBe(sum(delivered.filter((r) => r.use_case === "weekly-digest"), (r) => r.saving_cache_nanousd));
  });

  it("7. traffic share, error rate and routing saving per route", async () => {
    const rows = await run<{ route_tier: string; model_used: string; routed_calls: string; share: number; errors_ratio: number; routing_saved: string }>(7);
    const routed = delivered.filter(modelCall);
    const groups = groupBy(routed, (r) => `${r.route_tier ?? ""}|${r.model_used ?? ""}`);
    expect(rows).toHaveLength(groups.size);
    for (const r of rows) {
      const rs = groups.get(`${r.route_tier}|${r.model_used}`)!;
      expect(Number(r.routed_calls)).toBe(rs.length);
      expect(r.share).toBeCloseTo(rs.length / routed.length, 12);
      expect(r.errors_ratio).toBeCloseTo(rs.filter((x) => x.status === "ERROR").length / rs.length, 12);
      expect(big(r.routing_saved)).toBe(sum(rs, (x) => x.saving_routing_nanousd) - post(rs));
    }
    expect(rows.reduce((a, r) => a + r.share, 0)).toBeCloseTo(1, 12);
  });

  it("8. context tokens kept and compression saving per strategy", async () => {
    const rows = await run<{ compression_strategy: string; compressed_calls: string; tok_before: string; tok_after: string; kept: number; compression_saved: string }>(8);
    expect(rows.map((r) => r.compression_strategy)).toEqual(["extractive", "summary"]);
    for (const r of rows) {
      const rs = delivered.filter((x) => modelCall(x) && x.compression_strategy === r.compression_strategy);
      expect(Number(r.compressed_calls)).toBe(rs.length);
      expect(big(r.tok_before)).toBe(sum(rs, (x) => x.context_tokens_before));
      expect(big(r.tok_after)).toBe(sum(rs, (x) => x.context_tokens_after));
      expect(r.kept).toBeCloseTo(Number(sum(rs, (x) => x.context_tokens_after)) / Number(sum(rs, (x) => x.context_tokens_before)), 12);
      expect(big(r.compression_saved)).toBe(sum(rs, (x) => x.saving_compression_nanousd));
    }
  });

  it("9. batch share, batch saving and queue delay are exact", async () => {
    const [r] = await run<{ batched: string; model_calls: string; batch_share: number; batch_saved: string; mean_queue_ms: number }>(9);
    const calls = unique.filter(modelCall);
    const batch = calls.filter((x) => x.served_by === "BATCH");
    expect(Number(r!.batched)).toBe(batch.length);
    expect(Number(r!.model_calls)).toBe(calls.length);
    expect(r!.batch_share).toBeCloseTo(batch.length / calls.length, 12);
    expect(big(r!.batch_saved)).toBe(sum(batch, (x) => x.saving_batch_nanousd));
    expect(r!.mean_queue_ms).toBeCloseTo(Number(sum(batch, (x) => x.queue_delay_ms)) / batch.length, 9);
    expect(big(r!.batch_saved)).toBeGreaterThan(0n);
  });

  it("10. rollup drift shows exactly the one replayed delivery", async () => {
    const rows = await run<{ day: string; deliveries: string; requests: string; replayed: string }>(10);
    const expected = [...groupBy(delivered, day)].map(([d, rs]) => ({ day: d, deliveries: BigInt(rs.length), requests: BigInt(unique.filter((r) => day(r) === d).length) })).sort((a, b) => a.day.localeCompare(b.day));
    expect(rows.map((r) => ({ day: r.day, deliveries: big(r.deliveries), requests: big(r.requests) }))).toEqual(expected);
    expect(rows.reduce((a, r) => a + big(r.replayed), 0n)).toBe(1n);
  });

  it("the README's spend-and-saving query is net of every overhead, post-response included", async () => {
    const [first, ...rest] = readmeQueries();
    const rows = await (await ch.query({ query: first!.replaceAll("costwise.", `${DB}.`), format: "JSONEachRow" })).json<{ tenant: string; use_case: string; requests: string; spend_usd: number; naive_usd: number; saved: number }>();
    const thisMonth = unique.filter((r) => new Date(r.ts).getUTCMonth() === new Date().getUTCMonth());
    for (const [uc, rs] of groupBy(thisMonth, (r) => r.use_case)) {
      const row = rows.find((r) => r.tenant === tenant && r.use_case === uc)!;
      const spend = sum(rs, (r) => r.cost_nanousd + r.overhead_cost_nanousd) + post(rs);
      expect(Number(row.requests)).toBe(rs.length);
      expect(row.spend_usd).toBeCloseTo(Number(spend) / 1e9, 12);
      expect(row.saved).toBeCloseTo(1 - Number(spend) / Number(sum(rs, (r) => r.baseline_cost_nanousd)), 9);
    }
    expect(rest).toHaveLength(1);
    for (const q of rest) expect(await (await ch.query({ query: q.replaceAll("costwise.", `${DB}.`), format: "JSONEachRow" })).json()).toBeInstanceOf(Array);
  });
});
