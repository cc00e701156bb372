import { describe, expect, it } from "vitest";
import { topics, type CostRecord } from "@costwise/schemas";
import { silentLogger, TransientError, type Envelope } from "@costwise/stream-runtime";
import { callRow, chDateTime, RowRejectedError, type RowWriter } from "@costwise/clickhouse-writer";
import { createSinkProcess } from "./process.ts";

const record = (id: string, over: Partial<CostRecord> = {}): CostRecord => ({
  request_id: id, tenant: "acme", use_case: "support", ts: Date.UTC(2026, 10, 26, 8, 30, 5), completed_at: Date.UTC(2026, 10, 26, 8, 30, 6),
  status: "OK", error_code: null, served_by: "REALTIME", model_requested: null, model_used: "gpt-4o-mini", provider: "openai",
  route_tier: null, route_strategy: null, route_score: null, input_tokens: 10, cached_input_tokens: 0, cache_write_input_tokens: 0,
  output_tokens: 5, context_tokens_before: 0, context_tokens_after: 0, compression_strategy: null, cost_nanousd: 4_500, overhead_cost_nanousd: 0,
  baseline_cost_nanousd: 4_500, saving_cache_nanousd: 0, saving_routing_nanousd: 0, saving_compression_nanousd: 0, saving_batch_nanousd: 0,
  price_catalog_version: "v", latency_ms: 1_000, stage_latency_ms: { executor: 900 }, attempts: 1, batch_id: null, queue_delay_ms: 0, cache_source_request_id: null, substituted_from: null,
  reasoning_tokens: 0, cache_write_1h_input_tokens: 0, unpriced: false, saving_prompt_cache_nanousd: 0, ...over,
});
const env = (value: CostRecord): Envelope<CostRecord> => ({ value, key: value.request_id, topic: topics.costRecords.name, partition: 0, offset: "0", headers: {}, receivedAt: 0 });
const ctx = { logger: silentLogger, signal: new AbortController().signal };

describe("sink", () => {
  it("maps a cost record to an llm_calls row: UTC DateTime text, no nulls, stages as parallel arrays", () => {
    const row = callRow(record("r1"), 7);
    expect(row).toMatchObject({ ts: "2026-11-26 08:30:05", model_requested: "", route_score: 0, stage_names: ["executor"], stage_ms: [900], cost_usd: 0.0000045, version: 7 });
    expect(chDateTime(0)).toBe("1970-01-01 00:00:00");
    expect(row.substituted_from).toBe("");
    expect(callRow({ ...record("r2"), model_requested: "claude-sonnet-4-5", model_used: "claude-sonnet-5-5", substituted_from: "claude-sonnet-4-5" }, 1)).toMatchObject({ model_requested: "claude-sonnet-4-5", model_used: "claude-sonnet-5-5", substituted_from: "claude-sonnet-4-5" });
  });

  it("writes a sub-batch in one insert, and isolates rows ClickHouse refuses by bisection", async () => {
    const inserts: string[][] = [];
    const writer: RowWriter = {
      async insert(_t, rows) {
        const ids = rows.map((r) => (r as { request_id: string }).request_id);
        inserts.push(ids);
        if (ids.includes("bad")) throw new RowRejectedError("Cannot parse input");
      },
    };
    const batch = ["a", "b", "bad", "c", "d"].map((id) => env(record(id)));
    const outcomes = await createSinkProcess({ writer, now: () => 1 })(batch, ctx);
    expect(inserts[0]).toEqual(["a", "b", "bad", "c", "d"]);
    expect(outcomes.map((o) => o.deadLetter !== undefined)).toEqual([false, false, true, false, false]);
    expect(outcomes[2]!.deadLetter).toMatch(/ClickHouse rejected the row for llm_calls/);
    const stored = inserts.slice(1).filter((ids) => !ids.includes("bad")).flat();
    expect(stored.sort()).toEqual(["a", "b", "c", "d"]);
  });

  it("lets an unreachable ClickHouse propagate as transient so nothing is committed", async () => {
    const writer: RowWriter = { insert: async () => { throw new TransientError("ECONNREFUSED"); } };
    await expect(createSinkProcess({ writer, now: () => 1 })([env(record("a"))], ctx)).rejects.toBeInstanceOf(TransientError);
  });
});
