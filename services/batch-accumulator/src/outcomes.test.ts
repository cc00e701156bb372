import { describe, expect, it } from "vitest";
import { newRequest, topics, type CostRecord, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import { billedOpenAIUsage, parseOpenAIChat } from "@costwise/providers";
import { ATTEMPT_HEADER, decide, WASTED_LINE, type BatchContext, type Decision } from "./outcomes.ts";
import type { LineFailure } from "./results.ts";
import { decodeStored, encodeStored, type StoredRequest } from "./stored.ts";

const price = requireModel(catalog, "gpt-4o-mini");
const policy = { turnaroundMs: 3_600_000, realtimeBudgetMs: 60_000, maxBatchAttempts: 2 };
const deps = { catalog, defaultModel: "gpt-4o", policy, parse: parseOpenAIChat, billed: billedOpenAIUsage };
const ctx: BatchContext = { batchId: "cwb_1", providerBatchId: "batch_abc", price, submittedAt: 5_000, cancelDisposition: null };
const NOW = 60_000;

const stored = (over: Partial<LlmRequest> = {}, attempt = 1): StoredRequest =>
  decodeStored(encodeStored({
    request: newRequest({ request_id: "r1", tenant: "acme", use_case: "report", messages: [{ role: "user", content: "Hi" }], model: "gpt-4o", created_at: 1_000, ...over }),
    acceptedAt: 2_000, attempt, source: { topic: "llm.requests.batch", partition: 1, offset: 7 },
  }));
const body = { choices: [{ message: { content: "Hello" }, finish_reason: "stop" }], usage: { prompt_tokens: 1_000, completion_tokens: 200, prompt_tokens_details: { cached_tokens: 0 } } };
const fail = (over: Partial<LineFailure> = {}): LineFailure => ({ customId: "r1", ok: false, retryable: true, kind: "error", code: "server_error", message: "boom", ...over });
const pick = <T>(d: Decision, topic: { name: string }) => d.outputs.filter((o) => o.topic.name === topic.name).map((o) => o.value as T);

describe("decide", () => {
  it("answers a successful line at the batch price and attributes the discount to batching", () => {
    const d = decide({ customId: "r1", ok: true, body }, stored(), ctx, deps, NOW);
    const [res] = pick<LlmResponse>(d, topics.responses);
    const [rec] = pick<CostRecord>(d, topics.costRecords);
    const usage = { inputTokens: 1_000, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 200 };
    expect(d).toMatchObject({ kind: "ok", claim: null, deadLetter: null, requestId: "r1" });
    expect(res).toMatchObject({ status: "OK", content: "Hello", served_by: "BATCH", model: "gpt-4o-mini", provider: "openai", input_tokens: 1_000, output_tokens: 200, latency_ms: 59_000 });
    expect(rec!.cost_nanousd).toBe(costOf(price, usage, "batch").totalNanoUsd);
    expect(rec!.saving_batch_nanousd).toBe(costOf(price, usage, "realtime").totalNanoUsd - rec!.cost_nanousd);
    // Caller asked for gpt-4o: the rest of the saving is routing's.
    expect(rec!.baseline_cost_nanousd).toBe(costOf(requireModel(catalog, "gpt-4o"), usage).totalNanoUsd);
    expect(rec).toMatchObject({ served_by: "BATCH", batch_id: "batch_abc", queue_delay_ms: 3_000, attempts: 1 });
    expect(rec!.stage_latency_ms).toEqual({ batch: 58_000 });
  });

  it("answers a line that called tools with its tool calls and finish reason, keeping the request's tools in the store", () => {
    const tools = [{ name: "get_weather", description: null, parameters: '{"type":"object"}', strict: null }];
    const s = stored({ tools, tool_choice: { mode: "required", name: null } });
    expect(s.request.tools).toEqual(tools);
    const toolBody = { ...body, choices: [{ message: { content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{}" } }] }, finish_reason: "tool_calls" }] };
    const [res] = pick<LlmResponse>(decide({ customId: "r1", ok: true, body: toolBody }, s, ctx, deps, NOW), topics.responses);
    expect(res).toMatchObject({ status: "OK", content: "", finish_reason: "tool_calls", tool_calls: [{ id: "call_1", name: "get_weather", arguments: "{}" }] });
  });

  it("sends a failed line back for another batch with the next attempt, and moves its claim to that attempt", () => {
    const d = decide(fail(), stored(), ctx, deps, NOW);
    expect(d).toMatchObject({ kind: "batch", claim: "retry:2" });
    expect(d.outputs).toHaveLength(1);
    expect(d.outputs[0]!.topic).toBe(topics.batch);
    expect(d.outputs[0]!.headers).toEqual({ [ATTEMPT_HEADER]: "2" });
    expect((d.outputs[0]!.value as LlmRequest).pipeline!.stage_ms).toEqual({ batch: 58_000 });
  });

  it("sends a line to real time after its last batch attempt, or when the batch was cancelled", () => {
    expect(decide(fail(), stored({}, 2), ctx, deps, NOW)).toMatchObject({ kind: "realtime", claim: "rt" });
    const cancelled = decide(fail({ kind: "cancelled" }), stored(), { ...ctx, cancelDisposition: "realtime" }, deps, NOW);
    expect(cancelled.kind).toBe("realtime");
    expect(cancelled.outputs[0]!.topic).toBe(topics.ready);
  });

  it("fails a line with DEADLINE_EXCEEDED when not even real time can make the deadline", () => {
    const d = decide(fail({ kind: "expired", code: "batch_expired" }), stored({ deadline_ms: NOW + 10_000 }), ctx, deps, NOW);
    const [res] = pick<LlmResponse>(d, topics.responses);
    expect(d).toMatchObject({ kind: "error", deadLetter: null, claim: null });
    expect(res).toMatchObject({ status: "ERROR", error_code: "DEADLINE_EXCEEDED", served_by: "BATCH" });
    expect(res!.error).toMatch(/batch batch_abc: expired \(batch_expired\)/);
    expect(pick<CostRecord>(d, topics.costRecords)[0]).toMatchObject({ status: "ERROR", cost_nanousd: 0, batch_id: "batch_abc" });
  });

  it("fails a line the provider rejected, dead-letters it, and fails cancelled lines when the operator asked so", () => {
    const rejected = decide(fail({ retryable: false, code: "invalid_request_error", message: "temperature: too high" }), stored(), ctx, deps, NOW);
    expect(rejected.deadLetter).toMatch(/^INVALID_PARAMETER: provider rejected the request: temperature: too high/);
    expect(pick<LlmResponse>(rejected, topics.responses)[0]!.error_code).toBe("INVALID_PARAMETER");
    const unknown = decide(fail({ retryable: false, code: "model_not_found", message: "The model does not exist" }), stored(), ctx, deps, NOW);
    expect(pick<LlmResponse>(unknown, topics.responses)[0]).toMatchObject({ error_code: "UNKNOWN_MODEL", error: expect.stringMatching(/^unknown model '.+': the provider does not serve it/) });
    expect(unknown.deadLetter).toMatch(/^UNKNOWN_MODEL: /);
    const cancelled = decide(fail({ kind: "cancelled" }), stored(), { ...ctx, cancelDisposition: "error" }, deps, NOW);
    expect(pick<LlmResponse>(cancelled, topics.responses)[0]!.error_code).toBe("BATCH_CANCELLED");
    expect(cancelled.deadLetter).toBeNull();
  });

  it("treats a success whose body cannot be read as a failed line", () => {
    expect(decide({ customId: "r1", ok: true, body: { choices: [] } }, stored(), ctx, deps, NOW).kind).toBe("batch");
  });

  it("charges the usage of a billed but unusable line to the request it sends on, at the batch price", () => {
    const unusable = { choices: [], usage: body.usage };
    const wasted = costOf(price, { inputTokens: 1_000, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 200 }, "batch").totalNanoUsd;
    const retried = decide({ customId: "r1", ok: true, body: unusable }, stored(), ctx, deps, NOW);
    const again = retried.outputs[0]!.value as LlmRequest;
    expect(again.pipeline!.overhead).toEqual({ [WASTED_LINE]: wasted });
    expect(again.pipeline!.overhead_cost_nanousd).toBe(wasted);
    // After its last attempt it goes real time, still carrying the charge.
    const rt = decide({ customId: "r1", ok: true, body: unusable }, stored({}, 2), ctx, deps, NOW);
    expect((rt.outputs[0]!.value as LlmRequest).pipeline!.overhead[WASTED_LINE]).toBe(wasted);
    // With no time left it fails, and the failure's cost record shows the loss.
    const failed = decide({ customId: "r1", ok: true, body: unusable }, stored({ deadline_ms: NOW + 10_000 }), ctx, deps, NOW);
    expect(pick<CostRecord>(failed, topics.costRecords)[0]).toMatchObject({ status: "ERROR", overhead_cost_nanousd: wasted, saving_batch_nanousd: -wasted });
    // A body that states no usage was not billed.
    const unbilled = decide({ customId: "r1", ok: true, body: { choices: [] } }, stored(), ctx, deps, NOW);
    expect((unbilled.outputs[0]!.value as LlmRequest).pipeline?.overhead_cost_nanousd ?? 0).toBe(0);
  });

  it("charges nothing for lines the provider did not bill (errors, expiry)", () => {
    const d = decide(fail({ kind: "expired", code: "batch_expired" }), stored(), ctx, deps, NOW);
    expect((d.outputs[0]!.value as LlmRequest).pipeline!.overhead_cost_nanousd).toBe(0);
  });
});
