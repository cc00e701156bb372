import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import type { LlmOutcome, LlmResponse } from "@costwise/schemas";
import { silentLogger, type Envelope } from "@costwise/stream-runtime";
import type { PolicyFile } from "../policy.ts";
import { memoryRouteStore } from "../store.ts";
import { policyOf, twoTiers } from "../testing/fixtures.ts";
import type { ShadowWriter } from "./clickhouse.ts";
import { cheapTierOf, createShadowProcess } from "./process.ts";
import type { FallbackEventRow } from "./rows.ts";

// Shadow sampling off: only outcomes move the window here.
const policy = policyOf({
  version: 1,
  useCases: { chat: { strategy: "rules", tiers: twoTiers(), shadow: { sampleRate: 0, judge: "exact" }, quality: { floor: 0.7, window: 10, minSamples: 4, recoverMargin: 0.1 } } },
} as PolicyFile);

const env = <T>(value: T, topic: string, id: string): Envelope<T> => ({ value, key: id, topic, partition: 0, offset: "0", headers: {}, receivedAt: 0 });
const response = (id: string, model: string): Envelope<LlmResponse> => env({
  request_id: id, tenant: "acme", use_case: "chat", status: "OK", content: "answer", error: null, error_code: null, model, provider: "openai", served_by: "REALTIME",
  input_tokens: 1, cached_input_tokens: 0, output_tokens: 1, cost_usd: 0, latency_ms: 5, cache_source_request_id: null, created_at: 1,
}, "llm.responses", id);
const outcome = (id: string, success: boolean | null, over: Partial<LlmOutcome> = {}): Envelope<LlmOutcome> =>
  env({ request_id: id, tenant: "acme", use_case: "chat", success, score: null, source: "user", created_at: 1, comment: null, ...over }, "llm.outcomes", id);

function harness() {
  const store = memoryRouteStore();
  const events: FallbackEventRow[] = [];
  const writer: ShadowWriter = { comparisons: async () => [], fallbackEvents: async (e) => (events.push(...e), []) };
  const process = createShadowProcess({ policy, store, chat: { chat: async () => { throw new Error("no shadow calls here"); } }, catalog, writer, now: () => 1_700_000_100_000, concurrency: 2, outcomeMemorySeconds: 3600 });
  const run = (batch: Envelope<LlmResponse | LlmOutcome>[]) => process(batch, { logger: silentLogger, signal: new AbortController().signal });
  return { store, events, run };
}

describe("outcomes of cheap-route answers in the route's quality window", () => {
  it("knows a cheap tier's answer by its model", () => {
    expect(cheapTierOf(policy, response("a", "gpt-4o-mini").value)).toBe("small");
    expect(cheapTierOf(policy, response("b", "gpt-4o").value)).toBeNull();
    expect(cheapTierOf(policy, { ...response("c", "gpt-4o-mini").value, use_case: "unrouted" })).toBeNull();
  });

  it("counts failed outcomes against the cheap route, once per request, and falls back below the floor", async () => {
    const h = harness();
    await h.run(["c1", "c2", "c3", "c4", "c5"].map((id) => response(id, "gpt-4o-mini")).concat(response("f1", "gpt-4o")));
    const out = await h.run([outcome("c1", true), outcome("c2", false), outcome("c2", true, { source: "judge" }), outcome("f1", false), outcome("c3", null, { score: 3 })]);
    expect(out.map((o) => o.skipped)).toEqual(["outcome counted in small", "outcome counted in small", "outcome: not a cheap-route answer (or counted)", "outcome: not a cheap-route answer (or counted)", "outcome unusable"]);
    expect(await h.store.window({ useCase: "chat", tier: "small" })).toEqual([0, 1]);
    expect((await h.store.fallbacks()).size).toBe(0);
    await h.run([outcome("c3", false), outcome("c4", false)]);
    // 1 of 4 succeeded: under the 0.7 floor with minSamples 4.
    expect(await h.store.window({ useCase: "chat", tier: "small" })).toEqual([0, 0, 0, 1]);
    expect([...(await h.store.fallbacks()).values()]).toMatchObject([{ agreement: 0.25, samples: 4, floor: 0.7 }]);
    expect(h.events).toMatchObject([{ use_case: "chat", tier: "small", transition: "enter", request_id: "c4" }]);
  });
});
