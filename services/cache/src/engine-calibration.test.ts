import { describe, expect, it } from "vitest";
import { ScopedAnnIndex } from "./ann.ts";
import { emptyCalibration } from "./decision.ts";
import { createCacheEngine } from "./engine.ts";
import { MemoryCacheStore } from "./memory-store.ts";
import { parsePolicies } from "./policy.ts";
import { answer, bagOfWordsEmbedder, request } from "./testing/fakes.ts";
import type { AnswerVerifier } from "./verifier.ts";

const policies = parsePolicies({
  version: 1,
  use_cases: { "support-chat": { mode: "semantic", max_wrong_rate: 0.05, confidence: 0.9, explore_rate: 0, ttl_seconds: 600 } },
});
/** A judge that finds every pair interchangeable (the paraphrases below are). */
const agreeing: AnswerVerifier = { name: "test", verify: async () => ({ equivalent: true, score: 1, costNanoUsd: 0 }) };
const ref = { tenant: "acme", useCase: "support-chat", embedder: "test:bag-of-words", neighbourhood: "single" as const };

/** One replica: its own index and engine over the shared store. */
function replica(store: MemoryCacheStore, now: () => number) {
  const embedder = bagOfWordsEmbedder();
  const engine = createCacheEngine({
    store, index: new ScopedAnnIndex({ dimensions: embedder.dimensions }), embedder, policies, now, verifier: agreeing, calibrationRefreshMs: 0,
  });
  const teach = async (req: ReturnType<typeof request>) => {
    const r = await engine.lookup(req);
    const p = engine.pendingFor(req, r);
    if (p) await store.putPending(p, 60_000);
    const learned = await engine.learn(answer(req));
    if (learned.verification) await engine.verify(learned.verification);
    return r;
  };
  return { engine, teach };
}

describe("calibration shared through the store", () => {
  it("serves a paraphrase from the first lookup of a fresh replica when the calibration was seeded (warm start), and not without", async () => {
    const now = () => 10_000;
    const cold = replica(new MemoryCacheStore(now), now);
    await cold.teach(request({ request_id: "first", text: "where is my new card" }));
    expect((await cold.engine.lookup(request({ request_id: "p", text: "where is my new card please" }))).decision).toMatchObject({ kind: "near_miss", why: "calibration" });

    const store = new MemoryCacheStore(now);
    const seed = emptyCalibration();
    seed.traffic[70] = seed.labelled[70] = 200; // 200 interchangeable pairs at similarity 0.85–0.855
    await store.addCalibration(ref, seed, { pairs: 200, from: "labelled.jsonl", sha256: "00", at: 1, embeddingNanoUsd: 0 });
    const warm = replica(store, now);
    await warm.teach(request({ request_id: "first", text: "where is my new card" }));
    const r = await warm.engine.lookup(request({ request_id: "p", text: "where is my new card please" }));
    expect(r.similarity).toBeGreaterThan(0.85);
    expect(r.status).toBe("HIT_SEMANTIC");
  });

  it("lets a second replica serve on the evidence the first one verified, and keeps it for a replica started later", async () => {
    const now = () => 10_000;
    const store = new MemoryCacheStore(now);
    const a = replica(store, now);
    const b = replica(store, now);
    const texts = (i: number) => [`where is my new card number ${i} today`, `where is my new card number ${i} today please`];
    // On a: each question is learned, then its paraphrase is a near miss whose answer is judged
    // interchangeable, until the evidence bounds the wrong rate and a starts serving them.
    let nearMisses = 0;
    for (let i = 0; i < 60; i++) {
      const [q, p] = texts(i);
      await a.teach(request({ request_id: `q${i}`, text: q! }));
      if ((await a.teach(request({ request_id: `p${i}`, text: p! }))).status === "MISS") nearMisses++;
    }
    expect(nearMisses).toBeGreaterThan(30);
    expect(nearMisses).toBeLessThan(60);
    const threshold = await a.engine.thresholdFor("acme", "support-chat", "single");
    expect(threshold).toBeLessThan(1);
    expect(await b.engine.thresholdFor("acme", "support-chat", "single")).toBe(threshold);
    await b.teach(request({ request_id: "b1", text: "how do I top up my card with cash" }));
    expect((await b.engine.lookup(request({ request_id: "b2", text: "how do I top up my card with cash please" }))).status).toBe("HIT_SEMANTIC");
    // b's traffic counts reach the store when it flushes; a replica started afterwards reads the lot.
    await b.engine.flushCalibration();
    const later = replica(store, now);
    expect(await later.engine.thresholdFor("acme", "support-chat", "single")).toBe(await b.engine.thresholdFor("acme", "support-chat", "single"));
  });
});
