import { describe, expect, it } from "vitest";
import { renderMessages } from "@costwise/schemas";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import { topics, type LlmRequest } from "@costwise/schemas";
import { silentLogger, type ProcessContext } from "@costwise/stream-runtime";
import { Registry } from "prom-client";
import { RouterMetrics } from "./metrics.ts";
import type { PolicyFile } from "./policy.ts";
import { createRouterProcess } from "./process.ts";
import { memoryRouteStore } from "./store.ts";
import { policyOf, request, twoTiers } from "./testing/fixtures.ts";

const ctx = { logger: silentLogger, signal: new AbortController().signal } as unknown as ProcessContext;
const usage = { inputTokens: 200, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1 };
const policy = policyOf({
  version: 1,
  useCases: {
    chat: { strategy: "llm", tiers: twoTiers(), llm: { model: "gpt-4o-mini" }, shadow: { sampleRate: 1, judge: "exact", ttlSeconds: 120 } },
  },
} as PolicyFile);

function make(over: { failStore?: boolean; clock?: number[] } = {}) {
  const store = memoryRouteStore();
  const times = over.clock ?? [10_000, 10_003];
  let t = 0;
  const metrics = new RouterMetrics(new Registry());
  const process = createRouterProcess({
    policy, catalog, renderMessages, fallback: () => null, metrics,
    llm: { chat: async (r) => ({ content: "1", model: r.model, usage }) },
    store: over.failStore ? { rememberShadow: async () => { throw new Error("redis down"); } } : store,
    now: () => times[Math.min(t++, times.length - 1)]!,
  });
  return { process, store, metrics };
}

describe("router process", () => {
  it("emits the request to llm.requests.routed with the route, the router's stage time and its cost added to the overhead", async () => {
    const { process, metrics } = make();
    const req = request({ pipeline: { stage_ms: { cache: 4 }, overhead_cost_nanousd: 500, overhead: { embedding: 500 }, route: null, compression: null, cache_lookup: "miss", embedding: null } });
    const out = await process(req, ctx);
    expect(out.outputs).toHaveLength(1);
    expect(out.outputs[0]!.topic).toBe(topics.routed);
    const routed = out.outputs[0]!.value as LlmRequest;
    const routerCost = costOf(requireModel(catalog, "gpt-4o-mini"), usage).totalNanoUsd;
    expect(routed.pipeline).toEqual({
      stage_ms: { cache: 4, router: 3 },
      overhead: { embedding: 500, router: routerCost },
      overhead_cost_nanousd: 500 + routerCost,
      route: { tier: "small", model: "gpt-4o-mini", provider: "openai", strategy: "llm", score: 0, reason: "llm gpt-4o-mini rated 1/5 → small", shadow: true, cascade: null },
      compression: null,
      cache_lookup: "miss",
      embedding: null,
    });
    expect({ ...routed, pipeline: null }).toEqual({ ...req, pipeline: null });
    const decisions = await metrics.decisions.get();
    expect(decisions.values).toEqual([{ labels: { use_case: "chat", tier: "small", strategy: "llm", kind: "routed" }, value: 1 }]);
    expect((await metrics.overheadNanoUsd.get()).values[0]!.value).toBe(routerCost);
  });

  it("starts the pipeline state of a request that has none", async () => {
    const { process } = make();
    const out = await process(request({ use_case: "other" }), ctx);
    const routed = out.outputs[0]!.value as LlmRequest;
    expect(routed.pipeline).toMatchObject({ stage_ms: { router: 3 }, overhead: {}, overhead_cost_nanousd: 0, route: { strategy: "passthrough", model: "gpt-4o" } });
  });

  it("remembers a shadow sample in the store, with the entry's TTL", async () => {
    const { process, store } = make();
    await process(request({ request_id: "shadow-1" }), ctx);
    const [entry] = await store.pendingShadows(["shadow-1"]);
    expect(entry).toMatchObject({ request_id: "shadow-1", cheapModel: "gpt-4o-mini", frontierModel: "gpt-4o", servedModel: "gpt-4o-mini" });
  });

  it("routes unshadowed when the store is down, rather than failing the request", async () => {
    const { process, metrics } = make({ failStore: true });
    const out = await process(request(), ctx);
    expect((out.outputs[0]!.value as LlmRequest).pipeline!.route).toMatchObject({ tier: "small", shadow: false });
    expect((await metrics.shadowLost.get()).values[0]).toMatchObject({ labels: { reason: "store" }, value: 1 });
  });
});
