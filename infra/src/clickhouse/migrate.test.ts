import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isRepeatedAddColumn, loadMigrations, MIGRATIONS_DIR, MigrationError, parseMigration, renderStatements, splitStatements } from "./migrate.ts";

describe("splitStatements", () => {
  it("splits on ';' at line ends and drops comment-only chunks", () => {
    const text = "-- header\nCREATE DATABASE IF NOT EXISTS x;\n\n-- a table\nCREATE TABLE t\n(\n  a String\n)\nENGINE = Memory;  \n-- trailing comment\n";
    expect(splitStatements(text)).toEqual(["CREATE DATABASE IF NOT EXISTS x", "CREATE TABLE t\n(\n  a String\n)\nENGINE = Memory"]);
  });

  it("does not split on a ';' inside a line", () => {
    expect(splitStatements("SELECT 'a;b' AS v;\nSELECT 2;")).toEqual(["SELECT 'a;b' AS v", "SELECT 2"]);
  });

  it("accepts a last statement without ';' and CRLF line ends", () => {
    expect(splitStatements("SELECT 1;\r\nSELECT 2")).toEqual(["SELECT 1", "SELECT 2"]);
  });
});

describe("parseMigration", () => {
  it("reads the version and name from NNNN_name.sql and checksums the text", () => {
    const m = parseMigration("0007_add_things.sql", "SELECT 1;\n");
    expect(m.version).toBe(7);
    expect(m.name).toBe("add_things");
    expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(parseMigration("0007_add_things.sql", "SELECT 2;\n").checksum).not.toBe(m.checksum);
  });

  it("rejects badly named or empty files", () => {
    expect(() => parseMigration("7_x.sql", "SELECT 1;")).toThrow(MigrationError);
    expect(() => parseMigration("0001-x.sql", "SELECT 1;")).toThrow(MigrationError);
    expect(() => parseMigration("0001_x.sql", "-- nothing\n")).toThrow(MigrationError);
  });

  it("renders the target database as a backquoted identifier and refuses unsafe names", () => {
    const m = parseMigration("0001_x.sql", "CREATE TABLE IF NOT EXISTS {{database}}.t (a String) ENGINE = Memory;\n");
    expect(renderStatements(m, "costwise_test")).toEqual(["CREATE TABLE IF NOT EXISTS `costwise_test`.t (a String) ENGINE = Memory"]);
    expect(() => renderStatements(m, "x`; DROP")).toThrow();
  });
});

const LLM_CALLS_COLUMNS =
  "request_id String, tenant String, use_case String, ts DateTime, completed_at DateTime, status String, error_code String, served_by String, model_requested String, model_used String, provider String, route_tier String, route_strategy String, route_score Float64, input_tokens UInt32, cached_input_tokens UInt32, cache_write_input_tokens UInt32, output_tokens UInt32, context_tokens_before UInt32, context_tokens_after UInt32, compression_strategy String, cost_nanousd Int64, overhead_cost_nanousd Int64, baseline_cost_nanousd Int64, saving_cache_nanousd Int64, saving_routing_nanousd Int64, saving_compression_nanousd Int64, saving_batch_nanousd Int64, cost_usd Float64, baseline_cost_usd Float64, price_catalog_version String, latency_ms UInt32, stage_names Array(String), stage_ms Array(UInt32), attempts UInt16, batch_id String, queue_delay_ms UInt32, cache_source_request_id String, version UInt64";
const LLM_RESPONSES_COLUMNS =
  "request_id String, tenant String, use_case String, ts DateTime, status String, content String, error String, error_code String, model String, provider String, served_by String, input_tokens UInt32, cached_input_tokens UInt32, output_tokens UInt32, cost_usd Float64, latency_ms UInt32, cache_source_request_id String, version UInt64";

/** Column list of `CREATE TABLE ... <table> ( ... ) ENGINE` as "name Type, ...". */
function columnsOf(statement: string): string {
  const body = /\(\s*([\s\S]*?)\s*\)\s*ENGINE/.exec(statement)?.[1] ?? "";
  return body.split(/,\s*\n/).map((l) => l.trim().replace(/\s+/g, " ")).join(", ");
}

describe("a repeated ADD COLUMN", () => {
  it("counts as done only for ALTER … ADD COLUMN failing because the column exists", () => {
    const exists = new Error("Cannot add column b: column with this name already exists");
    expect(isRepeatedAddColumn("ALTER TABLE `db`.t ADD COLUMN b String DEFAULT '' AFTER a", exists)).toBe(true);
    expect(isRepeatedAddColumn("CREATE TABLE `db`.t (b String) ENGINE = Memory", exists)).toBe(false);
    expect(isRepeatedAddColumn("ALTER TABLE `db`.t ADD COLUMN b String", new Error("Table db.t doesn't exist"))).toBe(false);
  });
});

describe("the shipped migrations", () => {
  it("each parse, starting at 0001, with unique ascending versions", async () => {
    const versions = (await loadMigrations()).map((m) => m.version);
    expect(versions[0]).toBe(1);
    expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
  });

  it("0001 creates costwise.llm_calls and llm_responses with the agreed columns, engine and keys", async () => {
    const [first] = await loadMigrations();
    const stmts = renderStatements(first!, "costwise");
    expect(stmts[0]).toBe("CREATE DATABASE IF NOT EXISTS `costwise`");
    const calls = stmts.find((s) => s.includes("`costwise`.llm_calls"))!;
    const responses = stmts.find((s) => s.includes("`costwise`.llm_responses"))!;
    expect(columnsOf(calls)).toBe(LLM_CALLS_COLUMNS);
    expect(columnsOf(responses)).toBe(LLM_RESPONSES_COLUMNS);
    for (const s of [calls, responses]) {
      expect(s).toMatch(/^CREATE TABLE IF NOT EXISTS /);
      expect(s).toContain("ENGINE = ReplacingMergeTree(version)\nPARTITION BY toYYYYMM(ts)\nORDER BY (tenant, use_case, request_id)");
    }
  });

  it("use nothing ClickHouse 18.16 lacks", async () => {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith(".sql"));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      const text = await readFile(path.join(MIGRATIONS_DIR, name), "utf8");
      const code = text.split("\n").filter((l) => !/^\s*--/.test(l)).join("\n");
      expect(code).not.toMatch(/DateTime64|\bMap\(|\bTTL\b|LowCardinality|\{[a-z_]+:[A-Za-z]/);
    }
  });
});
