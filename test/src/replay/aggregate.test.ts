import type { LlmResponse } from "@costwise/schemas";
import { describe, expect, it } from "vitest";
import { AccountingError, summarise, summariseAll, type CallRow, type Graded } from "./aggregate.ts";
import { readDataFile } from "./data.ts";
import { buildItem } from "./workload.ts";

const jsonl = (...rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
const cacheItems = readDataFile("d/cache_b/dev.jsonl", jsonl({ id: "b:1", text: "Where is my card?", intent: "card_arrival" }, { id: "b:2", text: "Card not here", intent: "card_arrival" }))
  .map((r, i) => buildItem(r, `c-${i}`, 0));
const kbItems = readDataFile("d/compress_x/dev.jsonl", jsonl({ id: "x:1", question: "Who?", answers: ["Rollo"], passages: [{ title: "N", text: "Rollo." }] }))
  .map((r) => buildItem(r, "x-0", 0));

function call(over: Partial<CallRow>): CallRow {
  return {
    request_id: "r", status: "OK", served_by: "REALTIME", model_used: "gpt-4o", cost_nanousd: "100", overhead_cost_nanousd: "0", baseline_cost_nanousd: "100",
    saving_cache_nanousd: "0", saving_routing_nanousd: "0", saving_compression_nanousd: "0", saving_batch_nanousd: "0", context_tokens_before: 0, context_tokens_after: 0, ...over,
  };
}
const ok = { status: "OK", content: "x" } as LlmResponse;

describe("replay summary", () => {
  const rows: Graded[] = [
    { item: cacheItems[0]!, response: ok, call: call({}), grade: { grade: 1, recognised: true } },
    // A cache hit that served a wrong answer: the whole naive cost saved, less the lookup's overhead.
    { item: cacheItems[1]!, response: ok, call: call({ served_by: "CACHE_SEMANTIC", model_used: null, cost_nanousd: "0", overhead_cost_nanousd: "5", saving_cache_nanousd: "95" }), grade: { grade: 0, recognised: true } },
    { item: kbItems[0]!, response: ok, call: call({ model_used: "claude-sonnet-4-5", baseline_cost_nanousd: "300", cost_nanousd: "120", saving_compression_nanousd: "180", context_tokens_before: 400, context_tokens_after: 150 }), grade: { grade: 1, recognised: true } },
  ];

  it("adds costs, overhead and savings exactly and states quality next to the naive deployment", () => {
    const s = summarise(rows);
    expect(s.requests).toBe(3);
    expect(s.naive_cost_usd).toBeCloseTo(500e-9, 15);
    expect(s.cost_usd).toBeCloseTo(220e-9, 15);
    expect(s.overhead_usd).toBeCloseTo(5e-9, 15);
    expect(s.cost_cut).toBeCloseTo((500 - 220 - 5) / 500);
    expect(s.saving_usd.cache + s.saving_usd.compression).toBeCloseTo(275e-9, 15);
    expect(s.naive_quality).toBe(1);
    expect(s.quality).toBeCloseTo(2 / 3);
    expect(s.quality_ratio).toBeCloseTo(2 / 3);
    expect(s.cache_hits).toBe(1);
    expect(s.cache_wrong_answer_rate).toBe(1);
    expect(s.strong_call_share).toBe(1);
    expect(s.context_tokens_removed).toBe(250);
    expect(s.answers_retained).toBe(1);
  });

  it("counts batched answers and their saving apart", () => {
    const batched: Graded = { item: kbItems[0]!, response: ok, call: call({ served_by: "BATCH", baseline_cost_nanousd: "200", cost_nanousd: "100", saving_batch_nanousd: "100" }), grade: { grade: 1, recognised: true } };
    const s = summarise([rows[0]!, batched]);
    expect(s.batched).toBe(1);
    expect(s.saving_usd.batch).toBeCloseTo(100e-9, 15);
    expect(summarise(rows).batched).toBe(0);
  });

  it("counts the provider prompt-cache saving in the sum that must add up", () => {
    const cachedCall: Graded = { item: kbItems[0]!, response: ok, call: call({ baseline_cost_nanousd: "300", cost_nanousd: "120", saving_prompt_cache_nanousd: "180" }), grade: { grade: 1, recognised: true } };
    const s = summarise([rows[0]!, cachedCall]);
    expect(s.saving_usd.prompt_cache).toBeCloseTo(180e-9, 15);
    expect(() => summarise([{ ...cachedCall, call: { ...cachedCall.call, saving_prompt_cache_nanousd: "0" } }])).toThrow(/do not add up/);
  });

  it("splits by data kind", () => {
    const { total, byKind } = summariseAll(rows);
    expect(Object.keys(byKind)).toEqual(["cache_b", "compress_x"]);
    expect(byKind.cache_b!.use_case).toBe("support-chat");
    expect(byKind.cache_b!.requests + byKind.compress_x!.requests).toBe(total.requests);
  });

  it("refuses savings that do not add up to naive − cost − overhead", () => {
    const bad = [{ ...rows[1]!, call: call({ served_by: "CACHE_EXACT", cost_nanousd: "0", saving_cache_nanousd: "100", overhead_cost_nanousd: "5" }) }];
    expect(() => summarise(bad)).toThrow(AccountingError);
  });
});
