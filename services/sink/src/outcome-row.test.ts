import { describe, expect, it } from "vitest";
import { topics, type LlmOutcome } from "@costwise/schemas";
import { silentLogger, type Envelope } from "@costwise/stream-runtime";
import { outcomeRow, TABLES, type RowWriter } from "@costwise/clickhouse-writer";
import { createSinkProcess } from "./process.ts";

const outcome = (id: string, over: Partial<LlmOutcome> = {}): LlmOutcome => ({
  request_id: id, tenant: "acme", use_case: "support", success: true, score: null, source: "User", created_at: Date.UTC(2026, 10, 26, 8, 0, 0, 250), comment: null, ...over,
});
const env = (value: LlmOutcome): Envelope<LlmOutcome> => ({ value, key: value.request_id, topic: topics.outcomes.name, partition: 0, offset: "0", headers: {}, receivedAt: 0 });
const ctx = { logger: silentLogger, signal: new AbortController().signal };

describe("sink: outcomes", () => {
  it("maps an outcome to an llm_outcomes row: nulls as flags, the source normalised with its rank, the exact time", () => {
    expect(outcomeRow(outcome("o1"), 5)).toEqual({
      request_id: "o1", tenant: "acme", use_case: "support", source: "user", source_rank: 3, success: 1, has_success: 1, score: 0, has_score: 0,
      created_at: "2026-11-26 08:00:00", created_ms: Date.UTC(2026, 10, 26, 8, 0, 0, 250), comment: "", version: 5,
    });
    expect(outcomeRow(outcome("o2", { success: null, score: 0.25, source: "judge:shadow", comment: "off topic" }), 1)).toMatchObject({ source_rank: 1, success: 0, has_success: 0, score: 0.25, has_score: 1, comment: "off topic" });
  });

  it("dead-letters an outcome with a score outside [0, 1] or no verdict, with the reason, and stores the rest", async () => {
    const stored: string[] = [];
    const writer: RowWriter = { insert: async (t, rows) => void stored.push(...rows.map((r) => `${t}:${(r as { request_id: string }).request_id}`)) };
    const batch = [outcome("ok"), outcome("high", { score: 1.2 }), outcome("none", { success: null, score: null }), outcome("unknown-request", { success: false })].map(env);
    const out = await createSinkProcess({ writer, now: () => 1 })(batch, ctx);
    expect(out.map((o) => o.deadLetter ?? null)).toEqual([null, "outcome score 1.2 is outside [0, 1]", "outcome has neither success nor score", null]);
    expect(stored).toEqual([`${TABLES.outcomes}:ok`, `${TABLES.outcomes}:unknown-request`]);
  });

  it("a sub-batch of only bad outcomes inserts nothing", async () => {
    let inserts = 0;
    const writer: RowWriter = { insert: async () => void inserts++ };
    const out = await createSinkProcess({ writer, now: () => 1 })([env(outcome("x", { score: -1 }))], ctx);
    expect(out[0]!.deadLetter).toMatch(/outside/);
    expect(inserts).toBe(0);
  });
});
