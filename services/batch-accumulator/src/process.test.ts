import { describe, expect, it } from "vitest";
import { newRequest, topics, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { catalog } from "@costwise/pricing";
import { silentLogger, type ProcessContext } from "@costwise/stream-runtime";
import type { AddStatus, Pending } from "./accumulator.ts";
import { ATTEMPT_HEADER } from "./outcomes.ts";
import { createProcess } from "./process.ts";
import { decodeStored } from "./stored.ts";

const policy = { turnaroundMs: 3_600_000, realtimeBudgetMs: 60_000, maxBatchAttempts: 2 };
const NOW = 1_000_000;

function batcher(status: AddStatus = "held", fits = true) {
  const offered: Pending[] = [];
  return { offered, fits: () => fits, offer: async (p: Pending) => (offered.push(p), status) };
}
const ctx = (headers: Record<string, string> = {}) =>
  ({ logger: silentLogger, signal: new AbortController().signal, envelope: { topic: topics.batch.name, partition: 4, offset: "123", headers } }) as unknown as ProcessContext;
const req = (over: Partial<LlmRequest> = {}) =>
  newRequest({ request_id: "r1", tenant: "acme", use_case: "report", latency_class: "BATCH", messages: [{ role: "user", content: "Summarise" }], model: "gpt-4o-mini", created_at: NOW - 10, ...over });
const make = (b: ReturnType<typeof batcher>) => createProcess({ batcher: b, catalog, countTokens: () => 50, defaultModel: "gpt-4o", policy, now: () => NOW });

describe("batch intake", () => {
  it("holds a valid request in an open batch, with its source offset, line and stored copy", async () => {
    const b = batcher();
    const out = await make(b)(req({ deadline_ms: NOW + 2 * 3_600_000 }), ctx({ [ATTEMPT_HEADER]: "2" }));
    expect(out).toEqual({ outputs: [], held: "accumulating" });
    const p = b.offered[0]!;
    expect(p).toMatchObject({ requestId: "r1", customId: "r1", provider: "openai", model: "gpt-4o-mini", attempt: 2, deadline: NOW + 2 * 3_600_000, acceptedAt: NOW, source: { topic: "llm.requests.batch", partition: 4, offset: 123 } });
    expect(JSON.parse(p.line).body.model).toBe("gpt-4o-mini");
    expect(decodeStored(p.stored)).toMatchObject({ attempt: 2, acceptedAt: NOW, request: { request_id: "r1" } });
  });

  it("batches on the router's model when the request was routed", async () => {
    const b = batcher();
    const routed = req({ pipeline: { stage_ms: {}, overhead_cost_nanousd: 0, overhead: {}, compression: null, cache_lookup: null, embedding: null, route: { tier: "small", model: "claude-haiku-4-5", provider: "anthropic", strategy: "rules", score: null, reason: "", shadow: false, cascade: null } } });
    await make(b)(routed, ctx());
    expect(b.offered[0]).toMatchObject({ provider: "anthropic", model: "claude-haiku-4-5" });
  });

  it("sends a request whose deadline no batch can meet to the real-time path", async () => {
    const b = batcher();
    const out = await make(b)(req({ deadline_ms: NOW + 3_599_000 }), ctx());
    expect(b.offered).toHaveLength(0);
    expect(out.outputs.map((o) => o.topic)).toEqual([topics.ready]);
    expect((out.outputs[0]!.value as LlmRequest).pipeline!.stage_ms).toEqual({ batch: 0 });
  });

  it("sends a request too large for any batch to real time", async () => {
    const out = await make(batcher("held", false))(req(), ctx());
    expect(out.outputs.map((o) => o.topic)).toEqual([topics.ready]);
  });

  it("counts tokens exactly only when the cheap bound cannot show that the prompt fits", async () => {
    const counted: string[] = [];
    const b = batcher();
    const proc = createProcess({ batcher: b, catalog, countTokens: (_m, model) => (counted.push(model), 200_000), defaultModel: "gpt-4o", policy, now: () => NOW });
    await proc(req(), ctx());
    expect(counted).toEqual([]);
    const huge = "word ".repeat(30_000); // 150 kB: the bound exceeds gpt-4o-mini's window, the count decides
    const out = await proc(req({ messages: [{ role: "user", content: huge }] }), ctx());
    expect(counted).toEqual(["gpt-4o-mini"]);
    expect(out.outputs[0]!.value as LlmResponse).toMatchObject({ status: "ERROR", error_code: "INPUT_TOO_LARGE" });
  });

  it("rejects an invalid request with an ERROR response, a cost record and a dead letter", async () => {
    const b = batcher();
    const out = await make(b)(req({ messages: [] }), ctx());
    expect(b.offered).toHaveLength(0);
    expect(out.deadLetter).toMatch(/^EMPTY_MESSAGES: /);
    expect(out.outputs.map((o) => o.topic)).toEqual([topics.responses, topics.costRecords]);
    expect(out.outputs[0]!.value as LlmResponse).toMatchObject({ status: "ERROR", error_code: "EMPTY_MESSAGES", served_by: "BATCH" });
  });

  it("skips another copy of a request that is already accumulating", async () => {
    expect((await make(batcher("duplicate"))(req(), ctx())).skipped).toMatch(/already accumulating/);
  });
});
