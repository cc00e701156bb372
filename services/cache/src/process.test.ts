import { describe, expect, it } from "vitest";
import { decodeVector } from "@costwise/embeddings";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import { renderMessages, topics, type CostRecord, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { silentLogger, type Outcome, type ProcessContext } from "@costwise/stream-runtime";
import { ScopedAnnIndex } from "./ann.ts";
import { createCacheEngine } from "./engine.ts";
import { MemoryCacheStore } from "./memory-store.ts";
import { parsePolicies } from "./policy.ts";
import { createProcess } from "./process.ts";
import { answer, bagOfWordsEmbedder, request } from "./testing/fakes.ts";

const ctxFor = (topic: string) => ({ logger: silentLogger, signal: new AbortController().signal, envelope: { topic } }) as unknown as ProcessContext;
const onRequests = ctxFor(topics.requests.name);
const onResponses = ctxFor(topics.responses.name);
const pick = <T>(o: Outcome, topic: { name: string }) => o.outputs.filter((x) => x.topic.name === topic.name).map((x) => x.value as T);

const policies = parsePolicies({ version: 1, use_cases: { "support-chat": { mode: "semantic", threshold: 0.8, ttl_seconds: 60 } } });

const LOOKUP_MS = 3;

function setup(opts: { embeddingCost?: number; tokens?: number } = {}) {
  let now = 5_000;
  const store = new MemoryCacheStore(() => now);
  const embedder = bagOfWordsEmbedder({ costNanoUsd: opts.embeddingCost ?? 0 });
  const inner = createCacheEngine({ store, index: new ScopedAnnIndex({ dimensions: embedder.dimensions }), embedder, policies, now: () => now });
  // Every lookup takes LOOKUP_MS of the test's clock, so the time the stage reports is known exactly.
  const engine = { ...inner, lookup: async (req: LlmRequest) => {
    const r = await inner.lookup(req);
    now += LOOKUP_MS;
    return r;
  } };
  const counted: { messages: unknown; model: string }[] = [];
  const process = createProcess({
    engine, store, catalog, defaultModel: "gpt-4o", pendingTtlMs: 60_000, now: () => now, embeddingModel: embedder.name,
    countTokens: (messages, model) => {
      counted.push({ messages, model });
      return opts.tokens ?? 40;
    },
  });
  return { process, store, counted, tick: (ms: number) => (now += ms) };
}

/** A request misses, the executor answers, the cache learns it. */
async function learnOne(s: ReturnType<typeof setup>, req: LlmRequest) {
  const miss = await s.process(req, onRequests);
  await s.process(answer(req), onResponses);
  return miss;
}

describe("cache process", () => {
  it("sends a miss on to llm.requests.uncached with the lookup recorded on the pipeline", async () => {
    const s = setup();
    const out = await s.process(request({ request_id: "m1" }), onRequests);
    const [fwd] = pick<LlmRequest>(out, topics.uncached);
    expect(out.outputs).toHaveLength(1);
    expect(fwd!.pipeline).toMatchObject({ cache_lookup: "MISS", overhead_cost_nanousd: 0, overhead: {}, route: null });
    expect(fwd!.pipeline!.stage_ms.cache).toBe(LOOKUP_MS);
    // The router reuses the cache's query vector instead of embedding the query again.
    const emb = fwd!.pipeline!.embedding!;
    expect(emb.model).toBe("test:bag-of-words");
    const v = decodeVector(emb.vector);
    expect(v.length).toBe(64);
    expect(v.reduce((s, x) => s + x * x, 0)).toBeCloseTo(1, 5);
    expect(await s.store.getPending("m1")).toMatchObject({ request_id: "m1", tenant: "acme", semantic: true });
  });

  it.each<[string, Partial<LlmRequest>, string]>([
    ["a bypass flag", { tags: { cache: "off" } }, "BYPASS"],
    ["a sampled request", { temperature: 0.7 }, "BYPASS"],
  ])("forwards %s without a lookup or a pending record", async (_n, over, status) => {
    const s = setup();
    const out = await s.process(request({ request_id: "b1", ...over }), onRequests);
    expect(pick<LlmRequest>(out, topics.uncached)[0]!.pipeline!.cache_lookup).toBe(status);
    expect(await s.store.getPending("b1")).toBeNull();
  });

  it("marks requests of a use case with caching off as OFF", async () => {
    const store = new MemoryCacheStore();
    const embedder = bagOfWordsEmbedder();
    const off = createProcess({
      engine: createCacheEngine({ store, index: new ScopedAnnIndex({ dimensions: 64 }), embedder, policies: parsePolicies({ version: 1, default: { mode: "off" } }), now: Date.now }),
      store, catalog, defaultModel: "gpt-4o", pendingTtlMs: 1_000, now: Date.now, countTokens: () => 1,
    });
    expect(pick<LlmRequest>(await off(request(), onRequests), topics.uncached)[0]!.pipeline!.cache_lookup).toBe("OFF");
  });

  it("answers a repeat from the cache with the cached answer, zero cost and a cost record crediting the avoided call", async () => {
    const s = setup({ tokens: 40 });
    await learnOne(s, request({ request_id: "first" }));
    s.tick(250);
    const out = await s.process(request({ request_id: "second", created_at: 5_100 }), onRequests);
    const [res] = pick<LlmResponse>(out, topics.responses);
    const [rec] = pick<CostRecord>(out, topics.costRecords);
    expect(pick(out, topics.uncached)).toHaveLength(0);
    expect(res).toEqual({
      request_id: "second", tenant: "acme", use_case: "support-chat", status: "OK", content: "answer to first", error: null, error_code: null,
      model: "gpt-4o", provider: "openai", served_by: "CACHE_EXACT", input_tokens: 30, cached_input_tokens: 0, output_tokens: 12,
      cost_usd: 0, latency_ms: 150 + 2 * LOOKUP_MS, cache_source_request_id: "first", created_at: 5_100,
      finish_reason: "stop", tool_calls: [], refusal: null, cache_write_input_tokens: 0, reasoning_tokens: 0,
    });
    const baseline = costOf(requireModel(catalog, "gpt-4o"), { inputTokens: 40, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 12 }).totalNanoUsd;
    expect(rec).toMatchObject({
      request_id: "second", served_by: "CACHE_EXACT", status: "OK", model_used: null, model_requested: "gpt-4o", cost_nanousd: 0,
      baseline_cost_nanousd: baseline, saving_cache_nanousd: baseline, input_tokens: 0, output_tokens: 0, cache_source_request_id: "first",
    });
    expect(rec!.stage_latency_ms.cache).toBe(LOOKUP_MS);
    // The baseline prompt is counted on the messages the executor would have sent, with the caller's model.
    expect(s.counted.at(-1)).toEqual({ messages: renderMessages(request()), model: "gpt-4o" });
  });

  it("serves a paraphrase as CACHE_SEMANTIC and prices the baseline at the default model when the caller names none", async () => {
    const s = setup();
    await learnOne(s, request({ request_id: "first", model: null }));
    const out = await s.process(request({ request_id: "p", model: null, text: "where is my new card please" }), onRequests);
    expect(pick<LlmResponse>(out, topics.responses)[0]).toMatchObject({ served_by: "CACHE_SEMANTIC", cache_source_request_id: "first" });
    expect(pick<CostRecord>(out, topics.costRecords)[0]!.baseline_cost_nanousd).toBeGreaterThan(0);
    expect(s.counted.at(-1)!.model).toBe("gpt-4o");
  });

  it("charges paid lookup embeddings as overhead on misses and hits, against the cache's saving", async () => {
    const s = setup({ embeddingCost: 20 });
    const miss = await learnOne(s, request({ request_id: "first" }));
    expect(pick<LlmRequest>(miss, topics.uncached)[0]!.pipeline).toMatchObject({ overhead: { embedding: 20 }, overhead_cost_nanousd: 20 });
    const out = await s.process(request({ request_id: "p", text: "where is my new card please" }), onRequests);
    const [res] = pick<LlmResponse>(out, topics.responses);
    const [rec] = pick<CostRecord>(out, topics.costRecords);
    expect(res!.cost_usd).toBeCloseTo(20e-9, 15);
    expect(rec!.overhead_cost_nanousd).toBe(20);
    expect(rec!.saving_cache_nanousd).toBe(rec!.baseline_cost_nanousd - 20);
  });

  it("adds its overhead to what earlier stages recorded", async () => {
    const s = setup({ embeddingCost: 5 });
    const req = request({ pipeline: { stage_ms: { gateway: 2 }, overhead_cost_nanousd: 7, overhead: { embedding: 7 }, route: null, compression: null, cache_lookup: null, embedding: null } });
    const [fwd] = pick<LlmRequest>(await s.process(req, onRequests), topics.uncached);
    expect(fwd!.pipeline).toMatchObject({ overhead: { embedding: 12 }, overhead_cost_nanousd: 12, stage_ms: { gateway: 2 } });
  });

  it("learns from llm.responses without producing anything, and never re-learns its own hits", async () => {
    const s = setup();
    await s.process(request({ request_id: "first" }), onRequests);
    const learned = await s.process(answer(request({ request_id: "first" })), onResponses);
    expect(learned).toEqual({ outputs: [], skipped: "learn: stored" });
    const hit = await s.process(request({ request_id: "second" }), onRequests);
    const [res] = pick<LlmResponse>(hit, topics.responses);
    expect(await s.process(res!, onResponses)).toEqual({ outputs: [], skipped: "learn: served_by_cache" });
    expect(await s.process(answer(request({ request_id: "first" })), onResponses)).toEqual({ outputs: [], skipped: "learn: not_pending" });
  });

  it("skips, without failing, a response it cannot store", async () => {
    const s = setup();
    s.store.getPending = async () => {
      throw new Error("Command timed out");
    };
    expect(await s.process(answer(request()), onResponses)).toEqual({ outputs: [], skipped: "learn: store_failed" });
  });
});
