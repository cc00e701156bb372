import { describe, expect, it } from "vitest";
import { newRequest, topics, type CostRecord, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { catalog, costOf, requireModel, withUnpricedPolicy } from "@costwise/pricing";
import { PoisonMessageError, silentLogger, TransientError, type Outcome, type ProcessContext } from "@costwise/stream-runtime";
import { createProcess, type ChatPort } from "./process.ts";
import { renderMessages } from "@costwise/schemas";

const ctx = { logger: silentLogger, signal: new AbortController().signal } as unknown as ProcessContext;
const usage = { inputTokens: 120, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 40 };

function chatting(impl?: ChatPort["chat"]): ChatPort & { calls: Parameters<ChatPort["chat"]>[0][] } {
  const calls: Parameters<ChatPort["chat"]>[0][] = [];
  return {
    calls,
    chat: async (req) => {
      calls.push(req);
      return impl ? impl(req) : { content: "an answer", model: req.model, usage, finishReason: "stop", attempts: 1, latencyMs: 5, fellBackFrom: null };
    },
  };
}

function make(providers: ChatPort, tokens = 100) {
  return createProcess({ providers, catalog, countTokens: () => tokens, defaultModel: "gpt-4o", now: () => 2_000 });
}

const req = (over: Partial<LlmRequest> = {}) =>
  newRequest({ request_id: "r1", tenant: "acme", use_case: "support", messages: [{ role: "user", content: "Where is my card?" }], model: "gpt-4o-mini", created_at: 1_000, ...over });

const pick = <T>(o: Outcome, topic: { name: string }) => o.outputs.filter((x) => x.topic.name === topic.name).map((x) => x.value as T);

describe("executor process", () => {
  it("passes tools, format and sampling options to the provider and returns its tool calls", async () => {
    const tool = { name: "get_weather", description: null, parameters: '{"type":"object","properties":{"city":{"type":"string"}}}', strict: null };
    const p = chatting(async (r) => ({ content: "", toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }], model: r.model, usage, finishReason: "tool_calls", attempts: 1, latencyMs: 1, fellBackFrom: null }));
    const out = await make(p)(req({ tools: [tool], tool_choice: { mode: "required", name: null }, stop: ["END"], seed: 4, top_p: 0.5, user: "u" }), ctx);
    expect(p.calls[0]).toMatchObject({ tools: [tool], toolChoice: { mode: "required", name: null }, stop: ["END"], seed: 4, topP: 0.5, user: "u", responseFormat: null });
    const [res] = pick<LlmResponse>(out, topics.responses);
    expect(res).toMatchObject({ status: "OK", finish_reason: "tool_calls", tool_calls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }], refusal: null });
  });

  it("asks for prompt-cache breakpoints from the first request only for the use cases configured so", async () => {
    const p = chatting();
    const run = createProcess({ providers: p, catalog, countTokens: () => 100, defaultModel: "gpt-4o", now: () => 2_000, promptCacheAlways: new Set(["agents"]) });
    await run(req({ use_case: "agents" }), ctx);
    await run(req({ use_case: "support" }), ctx);
    expect(p.calls[0]).toMatchObject({ promptCache: "always" });
    expect(p.calls[1]).not.toHaveProperty("promptCache");
  });

  it("rejects a tool result that answers no call, with a dead letter and no provider call", async () => {
    const p = chatting();
    const out = await make(p)(req({ messages: [{ role: "user", content: "hi" }, { role: "tool", content: "42", tool_call_id: "nope" }] }), ctx);
    const [res] = pick<LlmResponse>(out, topics.responses);
    expect(res).toMatchObject({ status: "ERROR", error_code: "UNMATCHED_TOOL_RESULT" });
    expect(out.deadLetter).toMatch(/^UNMATCHED_TOOL_RESULT: /);
    expect(p.calls).toHaveLength(0);
  });

  it("answers with the requested model and a cost record priced from the catalog", async () => {
    const p = chatting();
    const out = await make(p)(req(), ctx);
    const [res] = pick<LlmResponse>(out, topics.responses);
    const [rec] = pick<CostRecord>(out, topics.costRecords);
    expect(out.deadLetter).toBeUndefined();
    expect(p.calls[0]).toMatchObject({ model: "gpt-4o-mini", requestId: "r1" });
    expect(res).toMatchObject({ status: "OK", content: "an answer", model: "gpt-4o-mini", provider: "openai", served_by: "REALTIME", input_tokens: 120, output_tokens: 40, latency_ms: 1_000 });
    const expected = costOf(requireModel(catalog, "gpt-4o-mini"), usage).totalNanoUsd;
    expect(rec!.cost_nanousd).toBe(expected);
    expect(rec!.baseline_cost_nanousd).toBe(expected);
    expect(res!.cost_usd).toBeCloseTo(expected / 1e9, 12);
  });

  it("uses the router's model when the request was routed, and prices the baseline at the caller's model", async () => {
    const p = chatting();
    const routed = req({ model: "gpt-4o", pipeline: { stage_ms: { router: 1 }, overhead_cost_nanousd: 0, overhead: {}, compression: null, cache_lookup: null, embedding: null, route: { tier: "small", model: "gpt-4o-mini", provider: "openai", strategy: "rules", score: null, reason: "short", shadow: false, cascade: null } } });
    const out = await make(p)(routed, ctx);
    const [rec] = pick<CostRecord>(out, topics.costRecords);
    expect(p.calls[0]!.model).toBe("gpt-4o-mini");
    expect(rec!.baseline_cost_nanousd).toBe(costOf(requireModel(catalog, "gpt-4o"), usage).totalNanoUsd);
    expect(rec!.saving_routing_nanousd).toBe(rec!.baseline_cost_nanousd - rec!.cost_nanousd);
    expect(rec!.stage_latency_ms).toEqual({ router: 1, executor: 0 });
  });

  it.each([
    ["an unknown model", req({ model: "gpt-17-ultra" }), "UNKNOWN_MODEL", /unknown model 'gpt-17-ultra'/],
    ["empty messages", req({ messages: [] }), "EMPTY_MESSAGES", /messages is empty/],
    ["blank messages", req({ messages: [{ role: "user", content: "  " }] }), "EMPTY_MESSAGES", /empty content/],
    ["a bad role", req({ messages: [{ role: "wizard", content: "hi" }] }), "INVALID_ROLE", /role 'wizard'/],
    ["max_tokens beyond the model", req({ max_tokens: 10_000_000 }), "INVALID_PARAMETER", /max_tokens/],
  ])("rejects %s with an ERROR response, a reason and a dead-letter, without calling a provider", async (_n, request, code, reason) => {
    const p = chatting();
    const out = await make(p)(request, ctx);
    const [res] = pick<LlmResponse>(out, topics.responses);
    const [rec] = pick<CostRecord>(out, topics.costRecords);
    expect(p.calls).toHaveLength(0);
    expect(res).toMatchObject({ status: "ERROR", error_code: code, content: null });
    expect(res!.error).toMatch(reason);
    expect(out.deadLetter).toMatch(new RegExp(`^${code}: `));
    expect(rec).toMatchObject({ status: "ERROR", error_code: code, cost_nanousd: 0 });
  });

  it("rejects oversize input before calling the provider", async () => {
    const p = chatting();
    // 150 kB: more bytes than gpt-4o-mini's window has tokens, so the count decides.
    const out = await make(p, 200_000)(req({ messages: [{ role: "user", content: "word ".repeat(30_000) }] }), ctx);
    expect(p.calls).toHaveLength(0);
    expect(pick<LlmResponse>(out, topics.responses)[0]).toMatchObject({ status: "ERROR", error_code: "INPUT_TOO_LARGE" });
    expect(pick<LlmResponse>(out, topics.responses)[0]!.error).toMatch(/input is 200000 tokens; gpt-4o-mini accepts 128000/);
  });

  it("turns a provider's refusal into an ERROR response but lets transient failures propagate for retry", async () => {
    const refused = await make(chatting(async () => { throw new PoisonMessageError("400 bad temperature"); }))(req(), ctx);
    expect(pick<LlmResponse>(refused, topics.responses)[0]).toMatchObject({ status: "ERROR", error: "provider rejected the request: 400 bad temperature" });
    await expect(make(chatting(async () => { throw new TransientError("503"); }))(req(), ctx)).rejects.toThrow("503");
  });

  it("cascade: a cheap answer that fails the check is escalated, the cheap attempt charged to routing", async () => {
    const p = chatting(async (r) => ({ content: r.model === "gpt-4o-mini" ? "I'm not sure." : "A confident answer.", model: r.model, usage, finishReason: "stop", attempts: 1, latencyMs: 1, fellBackFrom: null }));
    const route = { tier: "small", model: "gpt-4o-mini", provider: "openai", strategy: "cascade", score: null, reason: "cheap first", shadow: false, cascade: null };
    const frontier = { ...route, tier: "frontier", model: "gpt-4o", reason: "escalated" };
    const escalations: string[] = [];
    const proc = createProcess({
      providers: p, catalog, countTokens: () => 100, defaultModel: "gpt-4o", now: () => 2_000,
      cascade: { escalation: (_r, answer) => { escalations.push(answer.content); return /not sure/.test(answer.content) ? frontier : null; } },
    });
    const out = await proc(req({ model: "gpt-4o", pipeline: { stage_ms: {}, overhead_cost_nanousd: 0, overhead: {}, compression: null, cache_lookup: null, embedding: null, route } }), ctx);
    const [res] = pick<LlmResponse>(out, topics.responses);
    const [rec] = pick<CostRecord>(out, topics.costRecords);
    expect(p.calls.map((c) => c.model)).toEqual(["gpt-4o-mini", "gpt-4o"]);
    expect(escalations).toEqual(["I'm not sure."]);
    expect(res).toMatchObject({ content: "A confident answer.", model: "gpt-4o" });
    const cheapCost = costOf(requireModel(catalog, "gpt-4o-mini"), usage).totalNanoUsd;
    expect(rec).toMatchObject({ route_tier: "frontier", overhead_cost_nanousd: cheapCost, cost_nanousd: costOf(requireModel(catalog, "gpt-4o"), usage).totalNanoUsd });
    expect(rec!.saving_routing_nanousd).toBe(-cheapCost);
    // a confident cheap answer is kept: one call
    const q = chatting();
    const kept = await createProcess({ providers: q, catalog, countTokens: () => 100, defaultModel: "gpt-4o", now: () => 2_000, cascade: { escalation: () => null } })(req({ model: "gpt-4o", pipeline: { stage_ms: {}, overhead_cost_nanousd: 0, overhead: {}, compression: null, cache_lookup: null, embedding: null, route } }), ctx);
    expect(q.calls).toHaveLength(1);
    expect(pick<CostRecord>(kept, topics.costRecords)[0]!.route_tier).toBe("small");
  });

  it("renders retrieved context with chunk ids in front of the question", () => {
    const msgs = renderMessages(req({ messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "What fee?" }], context: [{ id: "doc-7", text: "The fee is $3.", score: 0.9 }] }));
    expect(msgs[0]).toEqual({ role: "system", content: "Be brief." });
    expect(msgs[1]!.content).toMatch(/\[doc-7\] The fee is \$3\.[\s\S]*Question: What fee\?$/);
  });

  describe("a model missing from the price catalog", () => {
    it("is served under the serve policy: tokens kept, cost zero, flagged unpriced, counted", async () => {
      const seen: string[] = [];
      const p = chatting();
      const serve = createProcess({ providers: p, catalog: withUnpricedPolicy(catalog, "serve"), countTokens: () => 10, defaultModel: "gpt-4o", now: () => 2_000, onUnpriced: (m) => seen.push(m) });
      const out = await serve(req({ model: "gpt-7-turbo" }), ctx);
      const [res] = pick<LlmResponse>(out, topics.responses);
      const [rec] = pick<CostRecord>(out, topics.costRecords);
      expect(out.deadLetter).toBeUndefined();
      expect(p.calls[0]).toMatchObject({ model: "gpt-7-turbo" });
      expect(res).toMatchObject({ status: "OK", model: "gpt-7-turbo", provider: "openai" });
      expect(rec).toMatchObject({ status: "OK", model_used: "gpt-7-turbo", unpriced: true, cost_nanousd: 0, input_tokens: 120, output_tokens: 40 });
      expect(seen).toEqual(["gpt-7-turbo"]);
    });

    it("is refused under the reject policy, and a priced model is never flagged", async () => {
      const out = await make(chatting())(req({ model: "gpt-7-turbo" }), ctx);
      expect(pick<LlmResponse>(out, topics.responses)[0]).toMatchObject({ status: "ERROR", error_code: "UNKNOWN_MODEL" });
      const ok = await make(chatting())(req(), ctx);
      expect(pick<CostRecord>(ok, topics.costRecords)[0]).toMatchObject({ unpriced: false });
    });
  });
});
