import { describe, expect, it } from "vitest";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import type { LlmResponse } from "@costwise/schemas";
import { silentLogger, type Envelope } from "@costwise/stream-runtime";
import { Registry } from "prom-client";
import { RouterMetrics } from "../metrics.ts";
import type { PolicyFile } from "../policy.ts";
import type { ShadowEntry } from "../route.ts";
import { memoryRouteStore } from "../store.ts";
import { bagOfWordsEmbedder } from "@costwise/embeddings/testing";
import type { ChatPort, TextEmbedder } from "@costwise/judging";
import { policyOf, twoTiers } from "../testing/fixtures.ts";
import type { ShadowWriter } from "./clickhouse.ts";
import { createShadowProcess } from "./process.ts";
import type { FallbackEventRow, ShadowRow } from "./rows.ts";

const usage = { inputTokens: 50, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 20 };
const policy = policyOf({
  version: 1,
  useCases: { chat: { strategy: "rules", tiers: twoTiers(), shadow: { sampleRate: 1, judge: "exact" }, quality: { floor: 0.5, window: 10, minSamples: 3, recoverMargin: 0.1 } } },
} as PolicyFile);

const entry = (id: string, fallback = false): ShadowEntry => ({
  request_id: id, tenant: "acme", use_case: "chat", created_at: 1_700_000_000_000, strategy: "rules", score: 0.1, cheapTier: "small", frontierTier: "frontier",
  cheapModel: "gpt-4o-mini", frontierModel: "gpt-4o", servedModel: fallback ? "gpt-4o" : "gpt-4o-mini", fallback,
  messages: [{ role: "user", content: "Where is my card?" }], maxTokens: 50, temperature: 0,
});

const response = (id: string, content: string | null, model: string, status: "OK" | "ERROR" = "OK"): Envelope<LlmResponse> => ({
  value: {
    request_id: id, tenant: "acme", use_case: "chat", status, content, error: null, error_code: null, model, provider: "openai", served_by: "REALTIME",
    input_tokens: 1, cached_input_tokens: 0, output_tokens: 1, cost_usd: 0, latency_ms: 5, cache_source_request_id: null, created_at: 1,
  },
  key: id, topic: "llm.responses", partition: 0, offset: "0", headers: {}, receivedAt: 0,
});

function harness(answers: Record<string, string>, opts: { policy?: typeof policy; embedder?: TextEmbedder | null; refuse?: string } = {}) {
  const store = memoryRouteStore();
  const rows: ShadowRow[] = [];
  const events: FallbackEventRow[] = [];
  const calls: { model: string; messages: readonly unknown[]; maxTokens?: number | null }[] = [];
  const chat: ChatPort = { chat: async (r) => { calls.push(r); return { content: answers[r.model] ?? "", model: r.model, usage }; } };
  const writer: ShadowWriter = {
    comparisons: async (r) => {
      rows.push(...r.filter((x) => x.request_id !== opts.refuse));
      return r.filter((x) => x.request_id === opts.refuse).map((item) => ({ item, reason: "ClickHouse rejected the row for route_shadow: Cannot parse input" }));
    },
    fallbackEvents: async (e) => (events.push(...e), []),
  };
  const metrics = new RouterMetrics(new Registry());
  const process = createShadowProcess({ policy: opts.policy ?? policy, store, chat, catalog, writer, embedder: opts.embedder ?? null, now: () => 1_700_000_100_000, concurrency: 4, metrics });
  const run = (batch: Envelope<LlmResponse>[]) => process(batch, { logger: silentLogger, signal: new AbortController().signal });
  return { store, rows, events, calls, run, metrics };
}

describe("shadow consumer", () => {
  it("compares a shadowed answer with the frontier's and lands the row with the shadow call's cost", async () => {
    const h = harness({ "gpt-4o": "Your card arrives Tuesday." });
    await h.store.rememberShadow(entry("s1"), 60);
    const out = await h.run([response("s1", "your card arrives tuesday", "gpt-4o-mini"), response("other", "x", "gpt-4o")]);
    expect(out).toEqual([{ outputs: [], skipped: "shadow agree" }, { outputs: [], skipped: "not shadowed" }]);
    expect(h.calls).toEqual([expect.objectContaining({ model: "gpt-4o", messages: [{ role: "user", content: "Where is my card?" }], maxTokens: 50, temperature: 0, requestId: "s1" })]);
    expect(h.rows).toEqual([expect.objectContaining({
      request_id: "s1", use_case: "chat", ts: "2023-11-14 22:13:20", judged_at: "2023-11-14 22:15:00", cheap_tier: "small", served_model: "gpt-4o-mini", shadow_model: "gpt-4o",
      judge: "exact", agreement: 1, agreed: 1, decided: 1, fallback_active: 0, shadow_input_tokens: 50, shadow_output_tokens: 20,
      shadow_cost_nanousd: costOf(requireModel(catalog, "gpt-4o"), usage).totalNanoUsd, judge_cost_nanousd: 0, price_catalog_version: catalog.version,
    })]);
    expect(await h.store.window({ useCase: "chat", tier: "small" })).toEqual([1]);
  });

  it("dead-letters the input whose row ClickHouse refuses and stores the others, instead of retrying the batch forever", async () => {
    const h = harness({ "gpt-4o": "Your card arrives Tuesday." }, { refuse: "bad" });
    for (const id of ["ok", "bad"]) await h.store.rememberShadow(entry(id), 60);
    const out = await h.run([response("ok", "your card arrives tuesday", "gpt-4o-mini"), response("bad", "your card arrives tuesday", "gpt-4o-mini")]);
    expect(out).toEqual([{ outputs: [], skipped: "shadow agree" }, { outputs: [], deadLetter: "ClickHouse rejected the row for route_shadow: Cannot parse input" }]);
    expect(h.rows.map((r) => r.request_id)).toEqual(["ok"]);
  });

  it("falls back when agreement drops below the floor, and recovers when it climbs back", async () => {
    const h = harness({ "gpt-4o": "frontier answer", "gpt-4o-mini": "cheap answer" });
    for (const id of ["d1", "d2", "d3"]) await h.store.rememberShadow(entry(id), 60);
    await h.run(["d1", "d2", "d3"].map((id) => response(id, "cheap answer", "gpt-4o-mini")));
    expect(h.rows.map((r) => r.agreed)).toEqual([0, 0, 0]);
    expect(await h.store.fallbacks()).toEqual(new Map([[JSON.stringify(["chat", "small"]), { since: 1_700_000_100_000, agreement: 0, samples: 3, floor: 0.5 }]]));
    expect(h.events).toEqual([{ ts: "2023-11-14 22:15:00", use_case: "chat", tier: "small", transition: "enter", agreement: 0, samples: 3, floor: 0.5, request_id: "d3" }]);
    expect((await h.metrics.fallbackTransitions.get()).values).toEqual([{ labels: { use_case: "chat", tier: "small", transition: "enter" }, value: 1 }]);

    // In fallback the frontier serves; the shadow asks the cheap model, which now agrees.
    h.calls.length = 0;
    const ids = ["a1", "a2", "a3", "a4", "a5"];
    for (const id of ids) await h.store.rememberShadow(entry(id, true), 60);
    await h.run(ids.map((id) => response(id, "Cheap answer.", "gpt-4o")));
    expect(h.calls.every((c) => c.model === "gpt-4o-mini")).toBe(true);
    expect(h.rows.slice(3).every((r) => r.agreed === 1 && r.fallback_active === 1 && r.shadow_model === "gpt-4o-mini")).toBe(true);
    // 5 of 8 agree = 0.625 ≥ floor 0.5 + margin 0.1.
    expect((await h.store.fallbacks()).size).toBe(0);
    expect(h.events.map((e) => [e.transition, e.samples])).toEqual([["enter", 3], ["recover", 8]]);
  });

  it("a redelivered answer is neither compared nor counted again", async () => {
    const h = harness({ "gpt-4o": "a" });
    await h.store.rememberShadow(entry("r1"), 60);
    await h.run([response("r1", "a", "gpt-4o-mini"), response("r1", "a", "gpt-4o-mini")]);
    await h.run([response("r1", "a", "gpt-4o-mini")]);
    expect(h.calls).toHaveLength(1);
    expect(await h.store.window({ useCase: "chat", tier: "small" })).toEqual([1]);
  });

  it("a calibration sample of a frontier-routed request calls the cheap model, lands its row, and leaves the agreement window alone", async () => {
    const h = harness({ "gpt-4o-mini": "something else" });
    await h.store.rememberShadow({ ...entry("c1"), score: 0.9, servedModel: "gpt-4o", calibration: true }, 60);
    const out = await h.run([response("c1", "Your card arrives Tuesday.", "gpt-4o")]);
    expect(out[0]!.skipped).toBe("shadow disagree");
    expect(h.calls.map((c) => c.model)).toEqual(["gpt-4o-mini"]);
    expect(h.rows[0]).toMatchObject({ request_id: "c1", route_score: 0.9, served_model: "gpt-4o", shadow_model: "gpt-4o-mini", fallback_active: 0, decided: 1, agreed: 0 });
    expect(h.rows[0]!.shadow_cost_nanousd).toBe(costOf(requireModel(catalog, "gpt-4o-mini"), usage).totalNanoUsd);
    // Hard requests the route keeps off the cheap model do not push the route into fallback.
    expect(await h.store.window({ useCase: "chat", tier: "small" })).toEqual([]);
    expect(await h.store.pendingShadows(["c1"])).toEqual([null]);
  });

  it("an error answer consumes the sample without a comparison", async () => {
    const h = harness({ "gpt-4o": "a" });
    await h.store.rememberShadow(entry("e1"), 60);
    const out = await h.run([response("e1", null, "gpt-4o-mini", "ERROR")]);
    expect(out[0]!.skipped).toBe("shadow served answer is an error");
    expect(h.calls).toHaveLength(0);
    expect(h.rows).toHaveLength(0);
    expect(await h.store.pendingShadows(["e1"])).toEqual([null]);
  });

  it("a transient provider failure fails the batch (the runtime retries) and keeps the sample pending", async () => {
    const store = memoryRouteStore();
    await store.rememberShadow(entry("t1"), 60);
    const process = createShadowProcess({
      policy, store, catalog, now: () => 0, concurrency: 1,
      chat: { chat: async () => { throw new Error("503 upstream"); } },
      writer: { comparisons: async () => [], fallbackEvents: async () => [] },
    });
    await expect(process([response("t1", "a", "gpt-4o-mini")], { logger: silentLogger, signal: new AbortController().signal })).rejects.toThrow("503 upstream");
    expect((await store.pendingShadows(["t1"]))[0]).not.toBeNull();
  });

  it("embedding judge: the sentence embedder decides, and what it cost (an embedder billed by API) is the judge's cost", async () => {
    const embeddingPolicy = policyOf({
      version: 1,
      useCases: { chat: { strategy: "rules", tiers: twoTiers(), shadow: { sampleRate: 1, judge: "embedding", similarity: 0.7 }, quality: { floor: 0.5, window: 10, minSamples: 3, recoverMargin: 0.1 } } },
    } as PolicyFile);
    const embedder = bagOfWordsEmbedder({ costNanoUsd: 3 });
    const h = harness({ "gpt-4o": "Your card arrives on Tuesday at the latest." }, { policy: embeddingPolicy, embedder });
    await h.store.rememberShadow(entry("m1"), 60);
    await h.store.rememberShadow(entry("m2"), 60);
    await h.run([response("m1", "your card arrives on tuesday at the latest", "gpt-4o-mini"), response("m2", "Transfers to other banks take one day.", "gpt-4o-mini")]);
    expect(embedder.calls).toHaveLength(1); // m1 is the same text up to case: no model run
    expect(h.rows.map((r) => [r.request_id, r.judge, r.agreed, r.decided, r.judge_cost_nanousd])).toEqual([["m1", "embedding", 1, 1, 0], ["m2", "embedding", 0, 1, 6]]);
  });

  it("embedding judge without an embedder: the comparison is undecided and not counted, the shadow call still charged", async () => {
    const embeddingPolicy = policyOf({ version: 1, useCases: { chat: { strategy: "rules", tiers: twoTiers(), shadow: { sampleRate: 1, judge: "embedding" } } } } as PolicyFile);
    const h = harness({ "gpt-4o": "a" }, { policy: embeddingPolicy, embedder: null });
    await h.store.rememberShadow(entry("n1"), 60);
    await h.run([response("n1", "b", "gpt-4o-mini")]);
    expect(h.rows).toEqual([expect.objectContaining({ decided: 0, judge_error: "no sentence embedder for the embedding judge", shadow_cost_nanousd: costOf(requireModel(catalog, "gpt-4o"), usage).totalNanoUsd })]);
    expect(await h.store.window({ useCase: "chat", tier: "small" })).toEqual([]);
  });

  it("a judge that fails after the paid shadow call: the retry judges the kept answer instead of calling again", async () => {
    const embeddingPolicy = policyOf({
      version: 1,
      useCases: { chat: { strategy: "rules", tiers: twoTiers(), shadow: { sampleRate: 1, judge: "embedding", similarity: 0.7 }, quality: { floor: 0.5, window: 10, minSamples: 3, recoverMargin: 0.1 } } },
    } as PolicyFile);
    const words = bagOfWordsEmbedder();
    let failures = 1;
    const flaky: TextEmbedder = { embed: async (t) => { if (failures-- > 0) throw new Error("embedding model busy"); return words.embed(t); } };
    const h = harness({ "gpt-4o": "Transfers to other banks take one day." }, { policy: embeddingPolicy, embedder: flaky });
    await h.store.rememberShadow(entry("j1"), 60);
    const batch = [response("j1", "Your card arrives on Tuesday.", "gpt-4o-mini")];
    await expect(h.run(batch)).rejects.toThrow("embedding model busy");
    expect(await h.run(batch)).toEqual([{ outputs: [], skipped: "shadow disagree" }]);
    expect(h.calls).toHaveLength(1);
    expect(h.rows).toEqual([expect.objectContaining({ request_id: "j1", decided: 1, shadow_cost_nanousd: costOf(requireModel(catalog, "gpt-4o"), usage).totalNanoUsd })]);
    // Completing the comparison forgets the kept answer.
    expect(await h.store.shadowAnswer("j1")).toBeNull();
  });
});
