import { describe, expect, it } from "vitest";
import { ScopedAnnIndex } from "./ann.ts";
import { createCacheEngine } from "./engine.ts";
import { MemoryCacheStore } from "./memory-store.ts";
import { parsePolicies } from "./policy.ts";
import type { CacheStore } from "./store.ts";
import { answer, bagOfWordsEmbedder, request } from "./testing/fakes.ts";

const policies = parsePolicies({
  version: 1,
  use_cases: {
    "support-chat": { mode: "semantic", threshold: 0.8, ttl_seconds: 60 },
    "exact-only": { mode: "exact", ttl_seconds: 60 },
  },
});

function setup(opts: { store?: CacheStore; failEmbed?: () => boolean } = {}) {
  let now = 10_000;
  const store = opts.store ?? new MemoryCacheStore(() => now);
  const embedder = bagOfWordsEmbedder(opts.failEmbed ? { fail: opts.failEmbed } : {});
  const index = new ScopedAnnIndex({ dimensions: embedder.dimensions });
  const engine = createCacheEngine({ store, index, embedder, policies, now: () => now });
  /** Miss, leave the pending record, answer: what the pipeline does for a new question. */
  const teach = async (req: ReturnType<typeof request>) => {
    const r = await engine.lookup(req);
    const p = engine.pendingFor(req, r);
    if (p) await store.putPending(p, 60_000);
    return (await engine.learn(answer(req))).result;
  };
  return { store, index, engine, embedder, teach, advance: (ms: number) => (now += ms) };
}

describe("cache engine", () => {
  it("stores answers that call tools only where the use case allows it, and serves them with their calls", async () => {
    const tools = [{ name: "track_card", description: null, parameters: '{"type":"object"}', strict: null }];
    const calls = [{ id: "call_1", name: "track_card", arguments: "{}" }];
    const run = async (p: typeof policies, id: string) => {
      let now = 10_000;
      const store = new MemoryCacheStore(() => now);
      const embedder = bagOfWordsEmbedder();
      const engine = createCacheEngine({ store, index: new ScopedAnnIndex({ dimensions: embedder.dimensions }), embedder, policies: p, now: () => now });
      const req = request({ request_id: id, tools });
      const pending = engine.pendingFor(req, await engine.lookup(req));
      if (pending) await store.putPending(pending, 60_000);
      const result = (await engine.learn(answer(req, { content: "", tool_calls: calls, finish_reason: "tool_calls" }))).result;
      now += 1;
      return { result, again: await engine.lookup(request({ request_id: `${id}-again`, tools })), other: await engine.lookup(request({ request_id: `${id}-x` })) };
    };
    expect((await run(policies, "a")).result).toBe("tool_calls");
    const allowing = parsePolicies({ version: 1, use_cases: { "support-chat": { mode: "semantic", threshold: 0.8, ttl_seconds: 60, cache_tool_calls: true } } });
    const ok = await run(allowing, "b");
    expect(ok.result).toBe("stored");
    expect(ok.again.entry?.answer).toMatchObject({ tool_calls: calls, finish_reason: "tool_calls" });
    // The same question without the tools is another scope: neither exact nor semantic.
    expect(ok.other.status).toBe("MISS");
  });

  it("serves an identical request exactly, with the answer of the request that taught it", async () => {
    const { engine, teach } = setup();
    expect(await teach(request({ request_id: "first" }))).toBe("stored");
    const r = await engine.lookup(request({ request_id: "second" }));
    expect(r.status).toBe("HIT_EXACT");
    expect(r.entry).toMatchObject({ source_request_id: "first", answer: { content: "answer to first", model: "gpt-4o", output_tokens: 12 } });
  });

  it("serves a paraphrase above the threshold and misses below it", async () => {
    const { engine, teach } = setup();
    await teach(request({ request_id: "first", text: "where is my new card" }));
    const near = await engine.lookup(request({ request_id: "p", text: "where is my new card please" }));
    expect(near.status).toBe("HIT_SEMANTIC");
    expect(near.similarity).toBeGreaterThan(0.8);
    expect((await engine.lookup(request({ request_id: "q", text: "how do I change my pin" }))).status).toBe("MISS");
  });

  it("refuses a close paraphrase whose salient details differ, and serves the candidate whose details agree", async () => {
    const { engine, teach } = setup();
    await teach(request({ request_id: "o456", text: "please refund order 456 today" }));
    const refused = await engine.lookup(request({ request_id: "x", text: "please refund order 123 today" }));
    expect(refused).toMatchObject({ status: "MISS", guardRefusals: 1, reason: "guard: query has number:123; cached query has number:456" });
    await teach(request({ request_id: "o123", text: "refund order 123 today please" }));
    const served = await engine.lookup(request({ request_id: "y", text: "please refund order 123 today" }));
    expect(served.status).toBe("HIT_SEMANTIC");
    expect(served.entry!.source_request_id).toBe("o123");
  });

  it("never serves another tenant's answer, even for the same text", async () => {
    const { engine, teach } = setup();
    await teach(request({ request_id: "acme-1", tenant: "acme" }));
    expect((await engine.lookup(request({ request_id: "g", tenant: "globex" }))).status).toBe("MISS");
    expect((await engine.lookup(request({ request_id: "g2", tenant: "globex", text: "where is my new card please" }))).status).toBe("MISS");
  });

  it("does not embed for exact-only use cases and serves them only exactly", async () => {
    const { engine, teach, embedder } = setup();
    await teach(request({ request_id: "e1", use_case: "exact-only" }));
    expect((await engine.lookup(request({ request_id: "e2", use_case: "exact-only" }))).status).toBe("HIT_EXACT");
    expect((await engine.lookup(request({ request_id: "e3", use_case: "exact-only", text: "where is my new card please" }))).status).toBe("MISS");
    expect(embedder.calls).toEqual([]);
  });

  it("expires entries with the use case's TTL", async () => {
    const { engine, teach, advance } = setup();
    await teach(request({ request_id: "first" }));
    advance(59_000);
    expect((await engine.lookup(request({ request_id: "a" }))).status).toBe("HIT_EXACT");
    advance(2_000);
    expect((await engine.lookup(request({ request_id: "b" }))).status).toBe("MISS");
    expect((await engine.lookup(request({ request_id: "c", text: "where is my new card please" }))).status).toBe("MISS");
  });

  it("learns once: a replayed response, an error and a cache-served response change nothing", async () => {
    const { engine, store, index } = setup();
    const req = request({ request_id: "first" });
    const r = await engine.lookup(req);
    await store.putPending(engine.pendingFor(req, r)!, 60_000);
    expect((await engine.learn(answer(req))).result).toBe("stored");
    expect((await engine.learn(answer(req))).result).toBe("not_pending");
    expect((await engine.learn(answer(request({ request_id: "never-asked" })))).result).toBe("not_pending");
    expect((await engine.learn(answer(req, { served_by: "CACHE_EXACT" }))).result).toBe("served_by_cache");
    expect((await engine.learn(answer(req, { status: "ERROR", content: null }))).result).toBe("not_ok");
    expect(index.size).toBe(1);
  });

  it("stores the first of two concurrent misses with the same key and keeps it", async () => {
    const { engine, store } = setup();
    const a = request({ request_id: "a" });
    const b = request({ request_id: "b" });
    for (const q of [a, b]) await store.putPending(engine.pendingFor(q, await engine.lookup(q))!, 60_000);
    expect((await engine.learn(answer(a))).result).toBe("stored");
    expect((await engine.learn(answer(b))).result).toBe("exists");
    expect((await engine.lookup(request({ request_id: "c" }))).entry!.source_request_id).toBe("a");
  });

  it("does not store an answer to a request asked before its tenant was invalidated", async () => {
    const { engine, store, advance } = setup();
    const req = request({ request_id: "late" });
    await store.putPending(engine.pendingFor(req, await engine.lookup(req))!, 60_000);
    advance(10);
    await store.invalidate({ tenant: "acme" }, 10_005);
    expect((await engine.learn(answer(req))).result).toBe("invalidated");
    expect((await engine.lookup(request({ request_id: "again" }))).status).toBe("MISS");
  });

  it("passes bypassed, sampled and off requests without a lookup", async () => {
    const { engine, embedder } = setup();
    expect((await engine.lookup(request({ tags: { cache: "off" } }))).status).toBe("BYPASS");
    expect((await engine.lookup(request({ temperature: 0.9 }))).status).toBe("BYPASS");
    expect(engine.pendingFor(request({ temperature: 0.9 }), await engine.lookup(request({ temperature: 0.9 })))).toBeNull();
    expect(embedder.calls).toEqual([]);
  });

  it("degrades to a miss, with the cause, when the store fails", async () => {
    const failing = new MemoryCacheStore();
    failing.get = async () => {
      throw new Error("Command timed out");
    };
    const { engine } = setup({ store: failing });
    const r = await engine.lookup(request());
    expect(r).toMatchObject({ status: "DEGRADED", reason: "cache store unavailable: Error: Command timed out" });
    expect(engine.pendingFor(request(), r)).not.toBeNull();
  });

  it("falls back to exact-only when the embedder fails, and still learns for exact hits", async () => {
    let broken = true;
    const { engine, teach } = setup({ failEmbed: () => broken });
    expect(await teach(request({ request_id: "first" }))).toBe("stored");
    expect((await engine.lookup(request({ request_id: "same" }))).status).toBe("HIT_EXACT");
    const paraphrase = await engine.lookup(request({ request_id: "p", text: "where is my new card please" }));
    expect(paraphrase).toMatchObject({ status: "DEGRADED", reason: "embedding failed, exact only: Error: model crashed" });
    broken = false;
    expect((await engine.lookup(request({ request_id: "p2", text: "where is my new card please" }))).status).toBe("MISS");
  });
});

describe("cache engine under a quality backoff", () => {
  it("serves a backed-off use case exact matches only, and semantic hits again once the backoff lifts", async () => {
    let backedOff: string | null = null;
    let now = 10_000;
    const store = new MemoryCacheStore(() => now);
    const embedder = bagOfWordsEmbedder();
    const engine = createCacheEngine({ store, index: new ScopedAnnIndex({ dimensions: embedder.dimensions }), embedder, policies, now: () => now, exactOnly: () => backedOff });
    const first = request({ request_id: "first", messages: [{ role: "user", content: "how do I reset my card pin" }] });
    const r0 = await engine.lookup(first);
    await store.putPending(engine.pendingFor(first, r0)!, 60_000);
    expect((await engine.learn(answer(first))).result).toBe("stored");
    const near = request({ request_id: "near", messages: [{ role: "user", content: "how do I reset my card pin please" }] });
    expect((await engine.lookup(near)).status).toBe("HIT_SEMANTIC");
    backedOff = "cache_semantic on support-chat: success 40% vs baseline 90%";
    const r = await engine.lookup(near);
    expect(r.status).toBe("MISS");
    expect(r.reason).toMatch(/^exact only: semantic hits backed off/);
    expect((await engine.lookup({ ...first, request_id: "again" })).status).toBe("HIT_EXACT");
    backedOff = null;
    now += 1;
    expect((await engine.lookup(near)).status).toBe("HIT_SEMANTIC");
  });
});
