import { readFileSync } from "node:fs";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { clickhouseWriter, outcomeRow } from "@costwise/clickhouse-writer";
import { sqlLiteral } from "@costwise/infra";
import { effectiveOutcome, succeeded } from "@costwise/outcomes";
import type { CostRecord, LlmOutcome } from "@costwise/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeFilters } from "./filters.ts";
import { usdDecimal } from "./money.ts";
import { clickhouseQuery, type Scope } from "./queries.ts";
import { buildReport, renderReport } from "./reports.ts";
import { insertRecords, insertShadowRows, knownRecords, knownShadowRows } from "./testing/known-workload.ts";

/** The outcome queries of docs/analytics.md, in order, as written there. */
function docQueries(markdown: string): string[] {
  const start = markdown.indexOf("### Outcome queries");
  const end = markdown.indexOf("\n## ", start + 1);
  return [...markdown.slice(start, end).matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
}
const DOC = readFileSync(new URL("../../../docs/analytics.md", import.meta.url), "utf8");
const DB = process.env.CLICKHOUSE_DATABASE ?? "costwise";
const tenant = `outc-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const now = Date.now();
const calls = knownRecords(tenant, now);
const shadowRows = knownShadowRows(calls);
/** Post-response overhead per request: the redelivered comparison is charged once. */
const post = new Map<string, number>();
for (const r of [shadowRows[0]!, shadowRows[2]!]) post.set(r.request_id, (post.get(r.request_id) ?? 0) + r.shadow_cost_nanousd + r.judge_cost_nanousd);

// Outcomes with contradictions on purpose, from a fixed seed: several sources per request, each
// possibly several times, late ones and repeats with the same created_at delivered twice.
let seed = 42;
const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
const SOURCES = ["user", "task", "judge", "judge:shadow", "crm"];
interface Delivered { outcome: LlmOutcome; version: number }
const delivered: Delivered[] = [];
const pinned = calls.find((c) => c.request_id.endsWith("-routed-compressed"))!;
// The errored call gets no outcome: calls nobody judged stay out of cost per success. The pinned
// call gets only the two outcomes below.
for (const c of calls.filter((c) => !c.request_id.endsWith("-error") && c !== pinned)) {
  const n = 1 + Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) {
    const source = SOURCES[Math.floor(rand() * SOURCES.length)]!;
    const withScore = rand() < 0.4;
    const outcome: LlmOutcome = {
      request_id: c.request_id, tenant, use_case: c.use_case, source,
      success: withScore && rand() < 0.5 ? null : rand() < 0.6, score: withScore ? Math.round(rand() * 100) / 100 : null,
      created_at: c.ts + Math.floor(rand() * 4) * 60_000, comment: null,
    };
    if (outcome.success === null && outcome.score === null) outcome.success = true;
    delivered.push({ outcome, version: 1 + i });
    // A repeat of the same outcome time with the opposite verdict, delivered later: it wins for its source.
    if (rand() < 0.2) delivered.push({ outcome: { ...outcome, success: !(outcome.success ?? false), score: null }, version: 100 + i });
  }
}
// Both sides of the precedence rule, pinned: a user's early "no" beats a judge's later "yes".
delivered.push({ outcome: { request_id: pinned.request_id, tenant, use_case: pinned.use_case, source: "user", success: false, score: null, created_at: pinned.ts + 1_000, comment: "wrong" }, version: 500 });
delivered.push({ outcome: { request_id: pinned.request_id, tenant, use_case: pinned.use_case, source: "judge:shadow", success: true, score: 0.9, created_at: pinned.ts + 3_600_000, comment: null }, version: 501 });
// Outcomes for requests costwise never recorded: one two hours old, one fresh.
const orphanOld: LlmOutcome = { request_id: `${tenant}-ghost-old`, tenant, use_case: "support-chat", source: "user", success: true, score: null, created_at: now - 2 * 3_600_000, comment: null };
const orphanNew: LlmOutcome = { ...orphanOld, request_id: `${tenant}-ghost-new`, created_at: now - 60_000 };
delivered.push({ outcome: orphanOld, version: 1 }, { outcome: orphanNew, version: 1 });

/** The outcome that counts per request, by the library's rule (the SQL must agree). */
const effective = new Map<string, LlmOutcome>();
for (const id of new Set(delivered.map((d) => d.outcome.request_id))) {
  const mine = delivered.filter((d) => d.outcome.request_id === id);
  effective.set(id, effectiveOutcome(mine.map((d) => d.outcome), (o) => mine.find((d) => d.outcome === o)!.version)!);
}

const techniqueOf = (c: CostRecord) => (c.served_by === "CACHE_EXACT" ? "cache_exact" : c.served_by === "CACHE_SEMANTIC" ? "cache_semantic" : `route:${c.route_tier ?? ""}`);
const spendOf = (c: CostRecord) => BigInt(c.cost_nanousd + c.overhead_cost_nanousd + (post.get(c.request_id) ?? 0));
const judgedCalls = calls.filter((c) => effective.has(c.request_id));
const monday = (ms: number) => {
  const d = new Date(ms);
  const day = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7));
  return day.toISOString().slice(0, 10);
};
const quarterOf = (ms: number) => {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${String(Math.floor(d.getUTCMonth() / 3) * 3 + 1).padStart(2, "0")}-01`;
};

let ch: ClickHouseClient;
async function run<T>(n: number): Promise<T[]> {
  const text = docQueries(DOC)[n - 1]!.replaceAll("'acme-bank'", sqlLiteral(tenant)).replaceAll("costwise.", `${DB}.`);
  return (await ch.query({ query: text, format: "JSONEachRow" })).json<T>();
}

beforeAll(async () => {
  ch = createClient({ url: process.env.CLICKHOUSE_URL!, request_timeout: 60_000 });
  await insertRecords(ch, DB, calls, 1);
  // A replayed call row: FINAL keeps one, so the call is counted once.
  await insertRecords(ch, DB, [calls[0]!], 2);
  await insertShadowRows(ch, DB, shadowRows);
  const writer = clickhouseWriter(ch, DB);
  // Delivered in a shuffled order, in several inserts, as Kafka partitions would.
  const order = [...delivered].sort(() => rand() - 0.5);
  for (let i = 0; i < order.length; i += 7) await writer.insert("llm_outcomes", order.slice(i, i + 7).map((d) => outcomeRow(d.outcome, d.version)));
});
afterAll(async () => {
  await ch?.close();
});

describe("outcomes in ClickHouse: the queries of docs/analytics.md on a known workload", () => {
  it("the document holds four outcome queries", () => {
    expect(docQueries(DOC)).toHaveLength(4);
  });

  it("3. the outcome that counts is the library's: latest per source, user beats task beats judge", async () => {
    const rows = await run<{ request_id: string; source: string; succeeded: number; sources: string }>(3);
    const expected = [...effective].map(([id, o]) => ({ request_id: id, source: o.source, succeeded: succeeded(o) ? 1 : 0, sources: new Set(delivered.filter((d) => d.outcome.request_id === id).map((d) => d.outcome.source)).size }))
      .sort((a, b) => a.request_id.localeCompare(b.request_id));
    expect(rows.map((r) => ({ ...r, succeeded: Number(r.succeeded), sources: Number(r.sources) }))).toEqual(expected);
    // The pinned contradiction: the user's "no" wins over the later judge's "yes".
    expect(rows.find((r) => r.request_id === pinned.request_id)).toMatchObject({ source: "user", succeeded: 0 });
    // The workload really has contradictions: some request heard from three or more sources.
    expect(expected.some((e) => e.sources >= 3)).toBe(true);
  });

  it("1. cost per successful outcome and its naive counterpart per use case, this quarter", async () => {
    const rows = await run<{ use_case: string; judged: string; succeeded: string; success_rate: number; spend: string; baseline: string; cost_per_success: string | null; naive_cost_per_success: string | null }>(1);
    const q = quarterOf(now);
    const byUc = new Map<string, CostRecord[]>();
    for (const c of judgedCalls.filter((c) => quarterOf(c.ts) === q)) byUc.set(c.use_case, [...(byUc.get(c.use_case) ?? []), c]);
    const expected = [...byUc].sort(([a], [b]) => a.localeCompare(b)).map(([uc, cs]) => {
      const ok = cs.filter((c) => succeeded(effective.get(c.request_id)!)).length;
      const spend = cs.reduce((a, c) => a + spendOf(c), 0n);
      const baseline = cs.reduce((a, c) => a + BigInt(c.baseline_cost_nanousd), 0n);
      return { use_case: uc, judged: cs.length, succeeded: ok, spend, baseline, cps: ok ? spend / BigInt(ok) : null, naive: ok ? baseline / BigInt(ok) : null };
    });
    expect(rows.map((r) => ({ use_case: r.use_case, judged: Number(r.judged), succeeded: Number(r.succeeded), spend: BigInt(r.spend), baseline: BigInt(r.baseline), cps: r.cost_per_success === null ? null : BigInt(r.cost_per_success), naive: r.naive_cost_per_success === null ? null : BigInt(r.naive_cost_per_success) })))
      .toEqual(expected);
    for (const r of rows) expect(r.success_rate).toBeCloseTo(Number(r.succeeded) / Number(r.judged), 9);
    // costwise made each success cheaper than the naive path in this workload.
    for (const e of expected) if (e.cps !== null) expect(e.cps).toBeLessThan(e.naive!);
  });

  it("2. success and cost per success by technique and week", async () => {
    const rows = await run<{ week: string; use_case: string; technique: string; judged: string; succeeded: string; cost_per_success: string | null }>(2);
    const groups = new Map<string, CostRecord[]>();
    for (const c of judgedCalls) {
      const k = [monday(c.ts), c.use_case, techniqueOf(c)].join("|");
      groups.set(k, [...(groups.get(k) ?? []), c]);
    }
    const expected = [...groups].map(([k, cs]) => {
      const [week, use_case, technique] = k.split("|") as [string, string, string];
      const ok = cs.filter((c) => succeeded(effective.get(c.request_id)!)).length;
      const spend = cs.reduce((a, c) => a + spendOf(c), 0n);
      return { week, use_case, technique, judged: cs.length, succeeded: ok, cps: ok ? spend / BigInt(ok) : null };
    }).sort((a, b) => `${a.week}|${a.use_case}|${a.technique}`.localeCompare(`${b.week}|${b.use_case}|${b.technique}`));
    expect(rows.map((r) => ({ week: r.week, use_case: r.use_case, technique: r.technique, judged: Number(r.judged), succeeded: Number(r.succeeded), cps: r.cost_per_success === null ? null : BigInt(r.cost_per_success) })))
      .toEqual(expected);
    expect(new Set(expected.map((e) => e.technique))).toEqual(new Set(["cache_exact", "cache_semantic", "route:frontier", "route:small", "route:"]));
  });

  it("4. outcomes for unknown requests are kept, and reported once an hour has passed", async () => {
    const rows = await run<{ request_id: string; use_case: string; source: string; age_seconds: string }>(4);
    expect(rows.map((r) => r.request_id)).toEqual([orphanOld.request_id]);
    expect(Number(rows[0]!.age_seconds)).toBeGreaterThanOrEqual(7_200 - 5);
    const [kept] = await (await ch.query({ query: `SELECT count() AS c FROM ${DB}.outcomes_effective WHERE request_id = ${sqlLiteral(orphanNew.request_id)}`, format: "JSONEachRow" })).json<{ c: string }>();
    expect(Number(kept!.c)).toBe(1);
  });
});

describe("costwise report --format json: cost per successful outcome per use case", () => {
  it("gives cost_per_success_usd and naive_cost_per_success_usd next to the existing keys", async () => {
    const scope: Scope = { database: DB, mode: "exact", grain: "day", filters: makeFilters({ since: "30d", tenant }, new Date()) };
    const json = JSON.parse(renderReport(await buildReport(clickhouseQuery(ch), scope), "json")) as { use_cases: Record<string, unknown>[]; totals: Record<string, unknown> };
    for (const u of json.use_cases) {
      const cs = judgedCalls.filter((c) => c.use_case === u.use_case);
      const ok = cs.filter((c) => succeeded(effective.get(c.request_id)!)).length;
      const spend = cs.reduce((a, c) => a + spendOf(c), 0n);
      const baseline = cs.reduce((a, c) => a + BigInt(c.baseline_cost_nanousd), 0n);
      expect(u).toMatchObject({
        outcomes: cs.length, successes: ok,
        cost_per_success_usd: ok ? usdDecimal(spend / BigInt(ok)) : null, naive_cost_per_success_usd: ok ? usdDecimal(baseline / BigInt(ok)) : null,
      });
      // The keys the report had before are all still there.
      for (const k of ["tenant", "use_case", "calls", "cost_usd", "baseline_usd", "saved_usd", "saved_ratio"]) expect(u).toHaveProperty(k);
    }
    expect(json.use_cases.map((u) => u.use_case).sort()).toEqual(["support-chat", "weekly-digest"]);
    expect(json.totals.outcomes).toBe(judgedCalls.length);
  });
});
