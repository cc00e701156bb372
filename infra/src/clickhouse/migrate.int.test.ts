import { randomBytes } from "node:crypto";
import { createClient } from "@clickhouse/client";
import { afterAll, describe, expect, it } from "vitest";
import { loadStackConfig } from "../config.ts";
import { loadMigrations, migrate } from "./migrate.ts";
import { sql, sqlIdentifier } from "./sql.ts";

const config = loadStackConfig();
const client = createClient({ url: config.clickhouse.url, username: config.clickhouse.username, password: config.clickhouse.password });
// A database of its own: the test applies migrations from scratch without touching `costwise`.
const database = `costwise_it_${randomBytes(4).toString("hex")}`;

afterAll(async () => {
  await client.command({ query: sql`DROP DATABASE IF EXISTS ${sqlIdentifier(database)}` });
  await client.close();
});

async function columns(table: string): Promise<string[]> {
  // DESCRIBE lists columns in table order on every version (18.16's system.columns has no position).
  const rs = await client.query({ query: sql`DESCRIBE TABLE ${sqlIdentifier(`${database}.${table}`)}`, format: "JSONEachRow" });
  return (await rs.json<{ name: string; type: string }>()).map((c) => `${c.name} ${c.type}`);
}

async function engine(table: string): Promise<string> {
  const rs = await client.query({ query: sql`SELECT engine FROM system.tables WHERE database = ${database} AND name = ${table}`, format: "JSONEachRow" });
  return (await rs.json<{ engine: string }>())[0]?.engine ?? "";
}

describe("ClickHouse migrations on the real server", () => {
  it("apply once, then again as a no-op", async () => {
    const versions = (await loadMigrations()).map((m) => m.version);
    const first = await migrate(client, { database });
    expect(first).toEqual({ applied: versions, alreadyApplied: [] });
    const second = await migrate(client, { database });
    expect(second).toEqual({ applied: [], alreadyApplied: versions });
  });

  it("re-run every statement without error when the ledger is lost (IF NOT EXISTS everywhere)", async () => {
    await client.command({ query: sql`DROP TABLE ${sqlIdentifier(`${database}.schema_migrations`)}` });
    const again = await migrate(client, { database });
    expect(again.applied).toEqual((await loadMigrations()).map((m) => m.version));
  });

  it("create llm_calls with exactly the agreed columns, as a ReplacingMergeTree", async () => {
    expect(await columns("llm_calls")).toEqual([
      "request_id String", "tenant String", "use_case String", "ts DateTime", "completed_at DateTime", "status String",
      "error_code String", "served_by String", "model_requested String", "model_used String", "provider String",
      "route_tier String", "route_strategy String", "route_score Float64", "input_tokens UInt32", "cached_input_tokens UInt32",
      "cache_write_input_tokens UInt32", "output_tokens UInt32", "context_tokens_before UInt32", "context_tokens_after UInt32",
      "compression_strategy String", "cost_nanousd Int64", "overhead_cost_nanousd Int64", "baseline_cost_nanousd Int64",
      "saving_cache_nanousd Int64", "saving_routing_nanousd Int64", "saving_compression_nanousd Int64",
      "saving_batch_nanousd Int64", "cost_usd Float64", "baseline_cost_usd Float64", "price_catalog_version String",
      "latency_ms UInt32", "stage_names Array(String)", "stage_ms Array(UInt32)", "attempts UInt16", "batch_id String",
      "queue_delay_ms UInt32", "cache_source_request_id String", "substituted_from String", "reasoning_tokens UInt32",
      "cache_write_1h_input_tokens UInt32", "unpriced UInt8", "saving_prompt_cache_nanousd Int64", "version UInt64",
    ]);
    expect(await engine("llm_calls")).toBe("ReplacingMergeTree");
  });

  it("create llm_responses with exactly the agreed columns, as a ReplacingMergeTree", async () => {
    expect(await columns("llm_responses")).toEqual([
      "request_id String", "tenant String", "use_case String", "ts DateTime", "status String", "content String",
      "error String", "error_code String", "model String", "provider String", "served_by String", "input_tokens UInt32",
      "cached_input_tokens UInt32", "output_tokens UInt32", "cost_usd Float64", "latency_ms UInt32",
      "cache_source_request_id String", "finish_reason String", "tool_calls String", "refusal String", "version UInt64",
    ]);
    expect(await engine("llm_responses")).toBe("ReplacingMergeTree");
  });

  it("collapse a replayed request to the row with the highest version", async () => {
    const table = sqlIdentifier(`${database}.llm_responses`);
    for (const [version, content] of [[1, "first"], [2, "replayed"]] as const) {
      await client.insert({
        table: `${database}.llm_responses`,
        format: "JSONEachRow",
        values: [{ request_id: "r1", tenant: "t", use_case: "u", ts: "2024-05-01 10:00:00", status: "OK", content, version }],
      });
    }
    const rs = await client.query({ query: sql`SELECT content FROM ${table} FINAL WHERE request_id = ${"r1"}`, format: "JSONEachRow" });
    expect(await rs.json()).toEqual([{ content: "replayed" }]);
  });
});
