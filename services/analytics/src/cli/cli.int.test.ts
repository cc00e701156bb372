import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import type { CostRecord } from "@costwise/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatUsd, usdDecimal } from "../money.ts";
import { clickhouseQuery } from "../queries.ts";
import { insertRecords, knownRecords } from "../testing/known-workload.ts";
import { runCli, type CliDeps } from "./program.ts";

const DB = process.env.CLICKHOUSE_DATABASE ?? "costwise";
const tenant = `cli-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const unique = knownRecords(tenant, Date.now());
const delivered = [...unique, unique[2]!]; // one replayed delivery, counted by the rollups only
let ch: ClickHouseClient;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const deps: CliDeps = {
    connect: async () => ({ query: clickhouseQuery(ch), close: async () => undefined }),
    database: DB,
    defaultSource: "rollup",
    now: () => new Date(),
    out: (t) => (out += t),
    err: (t) => (err += t),
  };
  const code = await runCli(argv, deps);
  return { code, out, err };
}

const sum = (rs: readonly CostRecord[], f: (r: CostRecord) => number) => rs.reduce((a, r) => a + BigInt(f(r)), 0n);
const of = (rs: readonly CostRecord[], uc: string) => rs.filter((r) => r.use_case === uc);

beforeAll(async () => {
  ch = createClient({ url: process.env.CLICKHOUSE_URL!, request_timeout: 60_000 });
  await insertRecords(ch, DB, unique, 1);
  await insertRecords(ch, DB, [unique[2]!], 2);
});
afterAll(async () => {
  await ch?.close();
});

describe("costwise report", () => {
  it("--format json gives per-use-case and total figures equal to the cost records (rollup: every delivery)", async () => {
    const { code, out } = await cli("report", "--since", "2d", "--tenant", tenant, "--format", "json");
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j.window).toMatchObject({ tenant, use_case: null, source: "rollup", grain: "hour" });
    expect(j.totals.calls).toBe(delivered.length);
    expect(j.totals.cost_usd).toBe(usdDecimal(sum(delivered, (r) => r.cost_nanousd)));
    expect(j.totals.baseline_usd).toBe(usdDecimal(sum(delivered, (r) => r.baseline_cost_nanousd)));
    expect(j.use_cases.map((u: { use_case: string }) => u.use_case).sort()).toEqual(["support-chat", "weekly-digest"]);
    for (const u of j.use_cases) {
      const rs = of(delivered, u.use_case);
      expect(u).toMatchObject({ tenant, calls: rs.length, errors: rs.filter((r) => r.status === "ERROR").length, cost_usd: usdDecimal(sum(rs, (r) => r.cost_nanousd)), overhead_usd: usdDecimal(sum(rs, (r) => r.overhead_cost_nanousd)) });
      expect(u.saved_usd).toBe(usdDecimal(sum(rs, (r) => r.baseline_cost_nanousd - r.cost_nanousd - r.overhead_cost_nanousd)));
    }
    // The cost structure splits exactly what was recorded.
    for (const s of j.structure) {
      const rs = of(delivered, s.use_case);
      const lines = ["input_usd", "cached_input_usd", "cache_write_usd", "output_usd", "unpriced_usd", "overhead_usd"].reduce((a, k) => a + BigInt(s[k].replace(".", "")), 0n);
      expect(lines).toBe(sum(rs, (r) => r.cost_nanousd + r.overhead_cost_nanousd));
      expect(s.batch_usd).toBe(usdDecimal(sum(rs.filter((r) => r.served_by === "BATCH"), (r) => r.cost_nanousd)));
    }
    expect(j.trend.bucket).toBe("hour");
    expect(j.trend.points.reduce((a: number, p: { calls: number }) => a + p.calls, 0)).toBe(delivered.length);
  });

  it("--exact reads llm_calls FINAL: the replayed delivery counts once", async () => {
    const { code, out } = await cli("report", "--since", "2d", "--tenant", tenant, "--format", "json", "--exact");
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j.window.source).toBe("exact");
    expect(j.totals.calls).toBe(unique.length);
    expect(j.totals.cost_usd).toBe(usdDecimal(sum(unique, (r) => r.cost_nanousd)));
  });

  it("--format csv is one RFC 4180 row per use case with the same figures", async () => {
    const { code, out } = await cli("report", "--since", "2d", "--tenant", tenant, "--use-case", "weekly-digest", "--format", "csv");
    expect(code).toBe(0);
    const lines = out.trimEnd().split("\r\n");
    expect(lines).toHaveLength(2);
    const head = lines[0]!.split(",");
    const row = Object.fromEntries(lines[1]!.split(",").map((v, i) => [head[i], v]));
    const rs = of(delivered, "weekly-digest");
    expect(row).toMatchObject({ tenant, use_case: "weekly-digest", calls: String(rs.length), cost_usd: usdDecimal(sum(rs, (r) => r.cost_nanousd)), structure_batch_usd: usdDecimal(sum(rs.filter((r) => r.served_by === "BATCH"), (r) => r.cost_nanousd)) });
  });

  it("--format table prints the use cases with their cost, structure and trend", async () => {
    const { code, out } = await cli("report", "--since", "2d", "--tenant", tenant);
    expect(code).toBe(0);
    expect(out).toContain(`tenant ${tenant}`);
    expect(out).toContain("Cost per use case");
    expect(out).toContain("Cost structure");
    expect(out).toContain("Trend per hour");
    expect(out).toContain(formatUsd(sum(of(delivered, "support-chat"), (r) => r.cost_nanousd), 4));
    expect(out).toContain(formatUsd(sum(delivered, (r) => r.baseline_cost_nanousd), 4));
  });

  it("the installed executable prints the same CSV as the program", async () => {
    const bin = fileURLToPath(new URL("../../../cli/bin/costwise.js", import.meta.url));
    const inProcess = await cli("savings", "--since", "2d", "--tenant", tenant, "--format", "csv");
    const { stdout } = await promisify(execFile)(process.execPath, [bin, "savings", "--since", "2d", "--tenant", tenant, "--format", "csv"], { env: { ...process.env, CLICKHOUSE_DATABASE: DB } });
    expect(stdout).toBe(inProcess.out);
  });
});

describe("costwise savings", () => {
  it("splits the saving by technique per use case, adding up to the total", async () => {
    const { code, out } = await cli("savings", "--since", "2d", "--tenant", tenant, "--format", "json", "--exact");
    expect(code).toBe(0);
    const j = JSON.parse(out);
    const nano = (s: string) => BigInt(s.replace(".", ""));
    for (const u of j.use_cases) {
      const rs = of(unique, u.use_case);
      expect(nano(u.saving_cache_usd)).toBe(sum(rs, (r) => r.saving_cache_nanousd));
      expect(nano(u.saving_routing_usd)).toBe(sum(rs, (r) => r.saving_routing_nanousd));
      expect(nano(u.saving_compression_usd)).toBe(sum(rs, (r) => r.saving_compression_nanousd));
      expect(nano(u.saving_batch_usd)).toBe(sum(rs, (r) => r.saving_batch_nanousd));
      expect(nano(u.saving_prompt_cache_usd)).toBe(sum(rs, (r) => r.saving_prompt_cache_nanousd));
      expect(nano(u.saving_cache_usd) + nano(u.saving_routing_usd) + nano(u.saving_compression_usd) + nano(u.saving_batch_usd) + nano(u.saving_prompt_cache_usd)).toBe(nano(u.saved_usd));
    }
    expect(nano(j.totals.saved_usd)).toBe(sum(unique, (r) => r.baseline_cost_nanousd - r.cost_nanousd - r.overhead_cost_nanousd));
    // Most saved first.
    expect(nano(j.use_cases[0].saved_usd)).toBeGreaterThanOrEqual(nano(j.use_cases[1].saved_usd));
  });

  it("table output names every technique with its share of the saving", async () => {
    const { code, out } = await cli("savings", "--since", "2d", "--tenant", tenant, "--exact");
    expect(code).toBe(0);
    expect(out).toMatch(/cache \$[\d.,]+ \(\d+(\.\d)?% of the saving\), routing \$[\d.,]+ \(\d+(\.\d)?% of the saving\), compression/);
    expect(out).toContain(`saved ${formatUsd(sum(unique, (r) => r.baseline_cost_nanousd - r.cost_nanousd - r.overhead_cost_nanousd))}`);
  });
});

describe("costwise advise", () => {
  it("gives the band of the run-rate and names use cases per technique", async () => {
    const { code, out } = await cli("advise", "--since", "2d", "--tenant", tenant, "--format", "json");
    expect(code).toBe(0);
    const j = JSON.parse(out);
    expect(j.band.id).toBe("build"); // cents a day are far below $2k a month
    expect(j.distillation).toEqual([]);
    const routing = j.techniques.find((t: { technique: string }) => t.technique === "routing");
    // Spend above the small tier (gpt-4o): support-chat pays more of it than weekly-digest.
    expect(routing.candidates.map((c: { use_case: string }) => c.use_case)).toEqual(["support-chat", "weekly-digest"]);
    const csv = await cli("advise", "--since", "2d", "--tenant", tenant, "--format", "csv");
    expect(csv.out.split("\r\n")[0]).toBe("technique,recommended_now,tenant,use_case,monthly,unit,why");
  });
});

describe("usage errors", () => {
  it("a bad --since or --format exits 2 with the reason", async () => {
    const bad = await cli("report", "--since", "yesterday");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('invalid --since "yesterday"');
    const fmt = await cli("report", "--format", "xml");
    expect(fmt.code).toBe(2);
    expect(fmt.err).toContain("Allowed choices are table, json, csv");
  });
});
