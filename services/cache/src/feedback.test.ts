import { describe, expect, it } from "vitest";
import type { LlmOutcome } from "@costwise/schemas";
import { ScopedAnnIndex } from "./ann.ts";
import { createCacheEngine } from "./engine.ts";
import { createCacheFeedback, memoryHitLedger } from "./feedback.ts";
import { MemoryCacheStore } from "./memory-store.ts";
import { parsePolicies } from "./policy.ts";
import { answer, bagOfWordsEmbedder, request } from "./testing/fakes.ts";

const policies = parsePolicies({ version: 1, use_cases: { "support-chat": { mode: "semantic", threshold: 0.8, ttl_seconds: 600, max_failed_outcomes: 2 } } });
const outcome = (id: string, over: Partial<LlmOutcome> = {}): LlmOutcome => ({ request_id: id, tenant: "acme", use_case: "support-chat", success: false, score: null, source: "user", created_at: 1, comment: null, ...over });

function setup() {
  let now = 10_000;
  const store = new MemoryCacheStore(() => now);
  const embedder = bagOfWordsEmbedder();
  const engine = createCacheEngine({ store, index: new ScopedAnnIndex({ dimensions: embedder.dimensions }), embedder, policies, now: () => now });
  const feedback = createCacheFeedback({ ledger: memoryHitLedger(() => now), store, policies, now: () => now });
  const q = (id: string, text = "how do I reset my card pin") => request({ request_id: id, messages: [{ role: "user", content: text }] });
  /** A lookup as the process does it: a hit is remembered for its outcome. */
  const serve = async (id: string, text?: string) => {
    const r = await engine.lookup(q(id, text));
    if (r.status === "HIT_EXACT" || r.status === "HIT_SEMANTIC") await feedback.served(q(id, text), r);
    return r;
  };
  return { store, engine, feedback, q, serve, advance: (ms: number) => (now += ms) };
}

describe("outcomes close the cache's loop", () => {
  it("counts failed outcomes on hits against the entry, once per request, and invalidates it at the policy's limit", async () => {
    const { store, engine, feedback, q, serve } = setup();
    const first = q("first");
    await store.putPending(engine.pendingFor(first, await engine.lookup(first))!, 60_000);
    await engine.learn(answer(first));

    expect((await serve("h1")).status).toBe("HIT_EXACT");
    expect(await feedback.outcome(outcome("h1", { success: true }))).toBe("ok");
    expect(await feedback.outcome(outcome("h1"))).toBe("counted");
    // The same request again (a repeat, or another source): it already counted.
    expect(await feedback.outcome(outcome("h1", { source: "judge" }))).toBe("repeat");
    expect((await serve("h2")).status).toBe("HIT_EXACT");
    expect(await feedback.outcome(outcome("h2", { success: null, score: 0.1 }))).toBe("invalidated");
    // Gone for everyone.
    expect((await serve("h3")).status).toBe("MISS");
    // Outcomes of requests the cache did not answer, and unusable ones, change nothing.
    expect(await feedback.outcome(outcome("first"))).toBe("not_a_hit");
    expect(await feedback.outcome(outcome("h3", { score: 7 }))).toBe("invalid");
  });

  it("a failed semantic hit is also evidence next to the entry, at its similarity", async () => {
    const { store, engine, feedback, q, serve } = setup();
    const first = q("first");
    await store.putPending(engine.pendingFor(first, await engine.lookup(first))!, 60_000);
    await engine.learn(answer(first));
    const r = await serve("s1", "how do I reset my card pin please");
    expect(r.status).toBe("HIT_SEMANTIC");
    expect(await feedback.outcome(outcome("s1"))).toBe("counted");
    const ref = store.ref("acme", "support-chat", r.entry!.key);
    const [cand] = await store.getCandidates([ref]);
    expect(cand!.outcomes).toBe(`${r.similarity!.toFixed(4)}:0;`);
  });
});
