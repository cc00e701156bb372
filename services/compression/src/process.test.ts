import { describe, expect, it } from "vitest";
import { baselineUsageOf, buildCostRecord, catalog, requireModel } from "@costwise/pricing";
import { buildAnthropicParams, countChatTokens, countTextTokens } from "@costwise/providers";
import { newRequest, renderMessages, topics, type CostRecord, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { silentLogger, StreamMetrics, type Outcome, type ProcessContext } from "@costwise/stream-runtime";
import { createCompressor, type Compressor } from "./compressor.ts";
import { DEFAULT_POLICY_FILE } from "./config.ts";
import { CompressionMetrics } from "./metrics.ts";
import { loadPolicyFile } from "./policy.ts";
import { createProcess, questionOf } from "./process.ts";
import { xquadSample } from "./sample.ts";
import { createStrategy } from "./strategies/index.ts";
import { tokenMeter } from "./tokens.ts";

const ctx = { logger: silentLogger, signal: new AbortController().signal } as unknown as ProcessContext;
const shipped = loadPolicyFile(DEFAULT_POLICY_FILE);
const realCompressor = createCompressor(shipped, (_u, p) => p.strategies.map((s) => createStrategy(s, { catalog, now: Date.now })));

function make(compress: Compressor = realCompressor, over: { maxContextChars?: number } = {}) {
  const metrics = new CompressionMetrics(new StreamMetrics("compression-test", { defaultMetrics: false }).registry);
  let t = 5_000;
  const process = createProcess({
    compress, catalog, countTokens: countTextTokens, countChatTokens, defaultModel: "gpt-4o",
    dispatch: { minBatchDeadlineMs: 3_600_000 }, maxContextChars: over.maxContextChars ?? 4_000_000, now: () => (t += 3), metrics,
  });
  return { process, metrics };
}

const row = xquadSample()[3]!;
const kb = (over: Partial<LlmRequest> = {}) =>
  newRequest({
    request_id: "kb-1", tenant: "initech", use_case: "kb-answers", model: "claude-sonnet-4-5", max_tokens: 300, created_at: 1_000,
    messages: [{ role: "system", content: "Answer from the provided context only." }, { role: "user", content: row.question }],
    context: row.passages.map((p, k) => ({ id: `x-${k}`, text: p.text, score: 1 - k * 0.1 })),
    ...over,
  });
const only = <T>(o: Outcome, topic: { name: string }) => o.outputs.filter((x) => x.topic.name === topic.name).map((x) => x.value as T);

describe("compression process", () => {
  it("shrinks a kb-answers context, records the figures and stage time, leaves messages alone, and sends it to real time", async () => {
    const { process, metrics } = make();
    const req = kb();
    const out = await process(req, ctx);
    expect(out.outputs).toHaveLength(1);
    const [sent] = only<LlmRequest>(out, topics.ready);
    expect(sent!.messages).toEqual(req.messages);
    expect(sent!.request_id).toBe(req.request_id);
    const c = sent!.pipeline!.compression!;
    const meter = tokenMeter((t) => countTextTokens(t, "claude-sonnet-4-5"));
    expect(c.context_tokens_before).toBe(meter.context(req.context));
    expect(c.context_tokens_after).toBe(meter.context(sent!.context));
    expect(c.context_tokens_after).toBeLessThan(c.context_tokens_before * 0.5);
    expect(c.strategy).toMatch(/extractive/);
    expect(Object.keys(c.per_strategy_tokens)).toEqual(["tighten", "extractive"]);
    expect(sent!.pipeline!.stage_ms.compression).toBe(3);
    expect(sent!.pipeline!.overhead_cost_nanousd).toBe(0);
    const ids = req.context.map((x) => x.id);
    expect(sent!.context.map((x) => ids.indexOf(x.id))).toEqual([...sent!.context.map((x) => ids.indexOf(x.id))].sort((a, b) => a - b));
    expect((await metrics.requests.get()).values).toEqual([expect.objectContaining({ labels: { use_case: "kb-answers", outcome: "compressed" }, value: 1 })]);
  });

  it("compresses only the retrieved context: tool definitions, output schema, tool calls and results pass unchanged", async () => {
    const { process } = make();
    const schema = JSON.stringify({ type: "object", properties: { answer: { type: "string", description: "  keep   these   spaces  " } } });
    const req = kb({
      tools: [{ name: "lookup", description: "Look  up   a term", parameters: schema, strict: true }],
      response_format: { type: "json_schema", name: "answer", schema, strict: true },
      messages: [
        { role: "system", content: "Answer from the provided context only." }, { role: "user", content: "Define it." },
        { role: "assistant", content: "", tool_calls: [{ id: "c1", name: "lookup", arguments: '{"term":  "x"}' }] },
        { role: "tool", content: "A   long\n\n\ntool   result   with   spacing.", tool_call_id: "c1" }, { role: "user", content: row.question },
      ],
    });
    const [sent] = only<LlmRequest>(await process(req, ctx), topics.ready);
    expect(sent!.pipeline!.compression!.context_tokens_after).toBeLessThan(sent!.pipeline!.compression!.context_tokens_before);
    expect(sent!.messages).toEqual(req.messages);
    expect(sent!.tools).toEqual(req.tools);
    expect(sent!.response_format).toEqual(req.response_format);
  });

  it("keeps the provider-cacheable prefix byte-identical: system prompt, tools and earlier turns come before the context", async () => {
    const { process } = make();
    const system = `You are the support assistant.\n\n${"Policy: answer from the context only.  ".repeat(80)}`;
    const req = kb({
      tools: [{ name: "lookup", description: "Look  up   a term", parameters: JSON.stringify({ type: "object", properties: { q: { type: "string" } } }), strict: null }],
      messages: [{ role: "system", content: system }, { role: "user", content: "Earlier   question." }, { role: "assistant", content: "Earlier  answer." }, { role: "user", content: row.question }],
    });
    const [sent] = only<LlmRequest>(await process(req, ctx), topics.ready);
    expect(sent!.pipeline!.compression!.context_tokens_after).toBeLessThan(sent!.pipeline!.compression!.context_tokens_before);
    // The prompt as both providers receive it: everything before the last user turn is unchanged, byte for byte.
    const model = requireModel(catalog, "claude-sonnet-4-5");
    const anthropic = (r: LlmRequest) =>
      buildAnthropicParams({ model: model.id, messages: renderMessages(r), tools: (r.tools ?? []).map((t) => ({ name: t.name, description: t.description, parameters: t.parameters, strict: t.strict ?? null })) }, model);
    const before = anthropic(req);
    const after = anthropic(sent!);
    expect(after.system).toBe(before.system);
    expect(JSON.stringify(after.tools)).toBe(JSON.stringify(before.tools));
    expect(JSON.stringify(after.messages.slice(0, -1))).toBe(JSON.stringify(before.messages.slice(0, -1)));
    expect(JSON.stringify(renderMessages(sent!).slice(0, -1))).toBe(JSON.stringify(renderMessages(req).slice(0, -1)));
    expect(after.messages.at(-1)).not.toEqual(before.messages.at(-1));
  });

  it("gives the cost record the figures and strategy, and a compression saving against the uncompressed prompt", async () => {
    const [sent] = only<LlmRequest>(await make().process(kb(), ctx), topics.ready);
    const c = sent!.pipeline!.compression!;
    const model = requireModel(catalog, "claude-sonnet-4-5");
    const usage = { inputTokens: 40 + c.context_tokens_after, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 50 };
    const rec = buildCostRecord({ request: sent!, status: "OK", errorCode: null, servedBy: "REALTIME", model, usage, mode: "realtime", baselineModel: model, baselineUsage: baselineUsageOf(sent!, usage), completedAt: 9_000 }, catalog);
    expect(rec).toMatchObject({ context_tokens_before: c.context_tokens_before, context_tokens_after: c.context_tokens_after, compression_strategy: c.strategy });
    expect(rec.saving_compression_nanousd).toBe(rec.baseline_cost_nanousd - rec.cost_nanousd);
    expect(rec.saving_compression_nanousd).toBeGreaterThan(0);
  });

  it("keeps what earlier stages put on the pipeline", async () => {
    const route = { tier: "small", model: "gpt-4o-mini", provider: "openai", strategy: "rules", score: null, reason: "short", shadow: false, cascade: null };
    const req = kb({ pipeline: { stage_ms: { cache: 2, router: 1 }, overhead_cost_nanousd: 50, overhead: { embedding: 50 }, route, compression: null, cache_lookup: "MISS", embedding: null } });
    const [sent] = only<LlmRequest>(await make().process(req, ctx), topics.ready);
    expect(sent!.pipeline).toMatchObject({ stage_ms: { cache: 2, router: 1, compression: 3 }, overhead_cost_nanousd: 50, overhead: { embedding: 50 }, route, cache_lookup: "MISS" });
  });

  it("sends BATCH requests with a distant deadline to llm.requests.batch, compressed the same way", async () => {
    const out = await make().process(kb({ latency_class: "BATCH", deadline_ms: 10_000_000 }), ctx);
    const [sent] = only<LlmRequest>(out, topics.batch);
    expect(sent!.pipeline!.compression!.context_tokens_after).toBeLessThan(sent!.pipeline!.compression!.context_tokens_before);
  });

  it("passes a request without context through with compression null", async () => {
    const req = newRequest({ request_id: "n1", tenant: "t", use_case: "kb-answers", messages: [{ role: "user", content: "hi" }], created_at: 1 });
    const [sent] = only<LlmRequest>(await make().process(req, ctx), topics.ready);
    expect(sent).toEqual({ ...req, pipeline: { stage_ms: { compression: 3 }, overhead_cost_nanousd: 0, overhead: {}, route: null, compression: null, cache_lookup: null, embedding: null } });
  });

  it("passes a use case without a policy through with tokens before = after and strategy none", async () => {
    const req = kb({ use_case: "support-chat" });
    const [sent] = only<LlmRequest>(await make().process(req, ctx), topics.ready);
    expect(sent!.context).toEqual(req.context);
    expect(sent!.pipeline!.compression).toMatchObject({ strategy: "none", per_strategy_tokens: {} });
    expect(sent!.pipeline!.compression!.context_tokens_after).toBe(sent!.pipeline!.compression!.context_tokens_before);
  });

  it("rejects a context larger than any model takes with an ERROR response, a cost record and a dead letter", async () => {
    const out = await make(realCompressor, { maxContextChars: 1_000 }).process(kb(), ctx);
    const [res] = only<LlmResponse>(out, topics.responses);
    const [rec] = only<CostRecord>(out, topics.costRecords);
    expect(only(out, topics.ready)).toHaveLength(0);
    expect(res).toMatchObject({ request_id: "kb-1", status: "ERROR", error_code: "INPUT_TOO_LARGE", content: null });
    expect(res!.error).toMatch(/context is \d+ characters; the compression stage accepts at most 1000/);
    expect(rec).toMatchObject({ request_id: "kb-1", status: "ERROR", error_code: "INPUT_TOO_LARGE", cost_nanousd: 0 });
    expect(out.deadLetter).toMatch(/^INPUT_TOO_LARGE: /);
  });

  it("caps the budget by the room the model's window leaves when the context may not fit", async () => {
    const rooms: (number | undefined)[] = [];
    const spy: Compressor = async (i) => (rooms.push(i.roomTokens), { chunks: i.chunks, info: null, overheadNanoUsd: 0, refused: [] });
    const big = Array.from({ length: 1_000 }, (_, k) => ({ id: `d${k}`, text: row.passages[k % row.passages.length]!.text, score: 1 }));
    const req = kb({ model: "gpt-4o-mini", context: big, max_tokens: 1_000 });
    await make(spy).process(req, ctx);
    await make(spy).process(kb(), ctx);
    expect(rooms).toEqual([128_000 - countChatTokens(req.messages, "gpt-4o-mini") - 1_000, undefined]);
  });

  it("records the summariser's spend on the request", async () => {
    const compress: Compressor = async (i) => ({ chunks: i.chunks.slice(0, 1), info: { strategy: "summarise", context_tokens_before: 900, context_tokens_after: 300, per_strategy_tokens: { summarise: 300 } }, overheadNanoUsd: 4_321, refused: [] });
    const req = kb({ pipeline: { stage_ms: {}, overhead_cost_nanousd: 100, overhead: { router: 100 }, route: null, compression: null, cache_lookup: null, embedding: null } });
    const [sent] = only<LlmRequest>(await make(compress).process(req, ctx), topics.ready);
    expect(sent!.pipeline).toMatchObject({ overhead: { router: 100, summariser: 4_321 }, overhead_cost_nanousd: 4_421 });
  });

  it("sends the request on uncompressed when a strategy fails unexpectedly", async () => {
    const { process, metrics } = make(async () => { throw new TypeError("bug"); });
    const req = kb();
    const [sent] = only<LlmRequest>(await process(req, ctx), topics.ready);
    expect(sent!.context).toEqual(req.context);
    expect(sent!.pipeline!.compression).toBeNull();
    expect((await metrics.requests.get()).values[0]).toMatchObject({ labels: { outcome: "failed_open" }, value: 1 });
  });

  it("rethrows on shutdown so the input is redelivered rather than sent on uncompressed", async () => {
    const ac = new AbortController();
    ac.abort();
    const { process } = make(async () => { throw new Error("aborted"); });
    await expect(process(kb(), { ...ctx, signal: ac.signal })).rejects.toThrow("aborted");
  });

  it("takes the question from the last user message", () => {
    expect(questionOf({ messages: [{ role: "user", content: "first" }, { role: "assistant", content: "a" }, { role: "user", content: "second" }, { role: "system", content: "s" }] })).toBe("second");
    expect(questionOf({ messages: [{ role: "system", content: "s" }] })).toBe("");
  });
});
