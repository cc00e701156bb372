import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { stackEnv } from "@costwise/infra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScopedAnnIndex } from "./ann.ts";
import { CALIBRATION_MAX_TRAFFIC } from "./calibration.ts";
import { emptyCalibration } from "./decision.ts";
import { createCacheEngine } from "./engine.ts";
import { parsePolicies } from "./policy.ts";
import { connectRedisStore } from "./redis-store.ts";
import { answer, bagOfWordsEmbedder, request } from "./testing/fakes.ts";
import { CacheHarness, waitUntil } from "./testing/int-harness.ts";
import type { AnswerVerifier } from "./verifier.ts";

const cli = fileURLToPath(new URL("../tools/cli/main.ts", import.meta.url));
const fixture = fileURLToPath(new URL("./testing/fixtures/banking77-sample.jsonl", import.meta.url));
const policies = parsePolicies({
  version: 1,
  use_cases: { "support-chat": { mode: "semantic", max_wrong_rate: 0.05, confidence: 0.9, explore_rate: 0, ttl_seconds: 600 } },
});
const agreeing: AnswerVerifier = { name: "test", verify: async () => ({ equivalent: true, score: 1, costNanoUsd: 0 }) };

describe("calibration shared through Redis", () => {
  const prefix = `cw:test:cal-${process.pid}-${Date.now().toString(36)}`;
  const url = stackEnv().REDIS_URL!;
  const conns: ReturnType<typeof connectRedisStore>[] = [];
  /** One cache instance: its own Redis connections, index and engine. */
  const instance = async () => {
    const c = connectRedisStore(url, { prefix, timeoutMs: 500 });
    conns.push(c);
    expect(await c.ready(5_000)).toBe(true);
    await waitUntil(() => c.clients.every((x) => x.status === "ready"), 5_000, "redis connections ready");
    const embedder = bagOfWordsEmbedder();
    const engine = createCacheEngine({
      store: c.store, index: new ScopedAnnIndex({ dimensions: embedder.dimensions }), embedder, policies, now: Date.now, verifier: agreeing, calibrationRefreshMs: 0,
    });
    const teach = async (req: ReturnType<typeof request>) => {
      const r = await engine.lookup(req);
      const p = engine.pendingFor(req, r);
      if (p) await c.store.putPending(p, 60_000);
      const learned = await engine.learn(answer(req));
      if (learned.verification) await engine.verify(learned.verification);
      return r;
    };
    return { store: c.store, engine, teach, close: () => c.close() };
  };

  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
  });

  it("adds concurrent increments from two instances atomically, and halves the counts past the bound", async () => {
    const [a, b] = [await instance(), await instance()];
    const ref = { tenant: "atomic", useCase: "support-chat", embedder: "m", neighbourhood: "agree" as const };
    const one = emptyCalibration();
    one.traffic[80] = 1;
    one.labelled[80] = 1;
    await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).store.addCalibration(ref, one)));
    expect((await a.store.readCalibration(ref)).state.labelled[80]).toBe(100);
    const big = emptyCalibration();
    big.traffic[90] = CALIBRATION_MAX_TRAFFIC;
    big.wrong[80] = 3;
    await b.store.addCalibration(ref, big);
    const s = (await a.store.readCalibration(ref)).state;
    expect([s.traffic[80], s.labelled[80], s.wrong[80], s.traffic[90]]).toEqual([50, 50, 2, CALIBRATION_MAX_TRAFFIC / 2]);
  });

  it("lets a second instance serve on the evidence the first verified, and keeps it across a restart", async () => {
    const [a, b] = [await instance(), await instance()];
    for (let i = 0; i < 60; i++) {
      await a.teach(request({ request_id: `${prefix}-q${i}`, tenant: "shared", text: `where is my new card number ${i} today` }));
      await a.teach(request({ request_id: `${prefix}-p${i}`, tenant: "shared", text: `where is my new card number ${i} today please` }));
    }
    const threshold = await a.engine.thresholdFor("shared", "support-chat", "single");
    expect(threshold).toBeLessThan(1);
    expect(await b.engine.thresholdFor("shared", "support-chat", "single")).toBe(threshold);
    await b.teach(request({ request_id: `${prefix}-b1`, tenant: "shared", text: "how do I top up my card with cash" }));
    expect((await b.engine.lookup(request({ request_id: `${prefix}-b2`, tenant: "shared", text: "how do I top up my card with cash please" }))).status).toBe("HIT_SEMANTIC");
    await Promise.all([a.engine.flushCalibration(), b.engine.flushCalibration()]);
    await Promise.all([a.close(), b.close()]);
    const restarted = await instance();
    expect(await restarted.engine.thresholdFor("shared", "support-chat", "single")).toBe(await b.engine.thresholdFor("shared", "support-chat", "single"));
  });
});

describe("calibration warm start of the service", () => {
  let h: CacheHarness;

  beforeAll(async () => {
    h = await CacheHarness.create("cache-warm");
  });

  afterAll(async () => {
    await h?.close();
  });

  it("serves a paraphrase under an error bound from the start once `cache calibrate` seeded the use case from labelled queries", async () => {
    const calibrate = (tenant: string) =>
      promisify(execFile)(process.execPath, ["--import", "tsx", cli, "calibrate", "--tenant", tenant, "--use-case", "bounded", "--from", fixture, "--model", "all-MiniLM-L6-v2", "--policy-file", h.env.CACHE_POLICY_FILE!], {
        env: { ...process.env, ...h.env }, timeout: 120_000,
      });
    const { stdout } = await calibrate("warm");
    const summary = JSON.parse(stdout.trim().split("\n").at(-1)!) as { pairs: number; threshold: { agree: number | null }; model: string };
    expect(summary.model).toBe("local:all-MiniLM-L6-v2");
    expect(summary.pairs).toBeGreaterThan(200);
    expect(summary.threshold.agree).not.toBeNull();
    const show = await promisify(execFile)(process.execPath, ["--import", "tsx", cli, "calibration", "--tenant", "warm", "--use-case", "bounded", "--model", "all-MiniLM-L6-v2", "--policy-file", h.env.CACHE_POLICY_FILE!], {
      env: { ...process.env, ...h.env }, timeout: 60_000,
    });
    expect(show.stdout).toContain(`pairs from banking77-sample.jsonl`);
    expect(show.stdout).toContain(`threshold at δ=0.01, confidence 0.9: ${summary.threshold.agree!.toFixed(3)}`);

    await h.startService();
    // Two questions whose answers the judge finds interchangeable: a paraphrase between them falls in an "agree" neighbourhood.
    const first = h.request("How long will it take for my new card to arrive?", { tenant: "warm", use_case: "bounded" });
    await h.teach(first);
    await h.teach(h.request("When will my new card arrive?", { tenant: "warm", use_case: "bounded" }));
    const para = h.request("How long will it take for my new card to get here?", { tenant: "warm", use_case: "bounded" });
    h.unanswered.add(para.request_id);
    // The exploration budget may send the very first would-be hit to the model; the next one is served.
    let out = await h.ask(para);
    if (out.kind === "uncached") out = await h.ask(h.request("How long will it take for my new card to get here?", { tenant: "warm", use_case: "bounded" }));
    expect(out).toMatchObject({ kind: "hit", response: { served_by: "CACHE_SEMANTIC", cache_source_request_id: first.request_id } });
    // Another tenant's calibration was not seeded: the same paraphrase is not served there.
    await h.teach(h.request("How long will it take for my new card to arrive?", { tenant: "cold", use_case: "bounded" }));
    await h.teach(h.request("When will my new card arrive?", { tenant: "cold", use_case: "bounded" }));
    const coldPara = h.request("How long will it take for my new card to get here?", { tenant: "cold", use_case: "bounded" });
    h.unanswered.add(coldPara.request_id);
    expect((await h.ask(coldPara)).kind).toBe("uncached");
  });
});
