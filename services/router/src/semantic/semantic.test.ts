import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import { encodeVector } from "@costwise/embeddings";
import { emptyPipelineState, renderMessages } from "@costwise/schemas";
import { PolicyError } from "../errors.ts";
import { compilePolicy } from "../policy.ts";
import { decideRoute } from "../route.ts";
import { request } from "../testing/fixtures.ts";
import { ladder, writeSemanticModel } from "../testing/semantic-model.ts";
import { buildCalibration, chooseThreshold } from "./calibration.ts";
import { knnScore } from "./knn.ts";
import { semanticScoreOf, SEMANTIC_FORMAT, trainSemantic, validateSemanticModel, type SemanticModel } from "./model.ts";

const unit = (dims: number, i: number) => Float32Array.from({ length: dims }, (_, d) => (d === i ? 1 : 0));

const modelFile = (over: Partial<SemanticModel> = {}, calibration = buildCalibration(ladder(200))) => writeSemanticModel(calibration, over);

const semanticPolicy = (file: string, target: Record<string, number>) => ({
  version: 1,
  useCases: { chat: { strategy: "semantic", semantic: { model: file }, target, tiers: [{ name: "small", models: { openai: "gpt-4o-mini" } }, { name: "frontier", models: "caller" }], defaultModel: "gpt-4o" } },
});

describe("calibration", () => {
  it("keeps quality above the chosen threshold's lower bound and picks the fewest frontier calls that meet it", () => {
    const cal = buildCalibration(ladder(400));
    // Every point's lower bound is at most its estimate; the all-frontier end keeps full quality.
    for (const p of cal.points) expect(p.qualityLower).toBeLessThanOrEqual(p.quality + 1e-12);
    expect(cal.points[0]).toMatchObject({ strongShare: 1, quality: 1 });
    const choice = chooseThreshold(cal, { quality: 0.95 });
    if (!("threshold" in choice)) throw new Error(choice.reason);
    expect(choice.point.qualityLower).toBeGreaterThanOrEqual(0.95);
    // Weak fails on the top 40% of scores: the 95% target needs most of those on the frontier, not all traffic.
    expect(choice.point.strongShare).toBeGreaterThan(0.3);
    expect(choice.point.strongShare).toBeLessThan(0.45);
    const capped = chooseThreshold(cal, { strong_share_max: 0.2 });
    expect("threshold" in capped && capped.point.strongShare).toBeLessThanOrEqual(0.2);
  });

  it("says why when no threshold meets the target, or only all-frontier does", () => {
    const cal = buildCalibration(ladder(200));
    expect(chooseThreshold(cal, { quality: 1.2 })).toMatchObject({ reason: expect.stringMatching(/no threshold reaches quality 1.2/) });
    expect(chooseThreshold(cal, { quality: 0.99, strong_share_max: 0.1 })).toMatchObject({ reason: expect.stringMatching(/cannot both hold/) });
    // A model whose scores are noise: 95% quality only by sending everything to the frontier.
    const noise = buildCalibration(Array.from({ length: 200 }, (_, i) => ({ score: (i * 37) % 200 / 200, strong: 1, weak: i % 2, group: `g${i}` })));
    expect(chooseThreshold(noise, { quality: 0.999 })).toMatchObject({ reason: expect.stringMatching(/only sending every request to the frontier|no threshold/) });
  });
});

describe("semantic model", () => {
  it("learns which embedding direction needs the strong model", () => {
    const examples = Array.from({ length: 60 }, (_, i) => ({ vector: unit(3, i % 3), dense: [0, 0], label: (i % 3 === 0 ? 1 : 0) as 0 | 1, weight: 1 }));
    const w = trainSemantic(examples, { iterations: 300 });
    expect(w.embeddingWeights[0]!).toBeGreaterThan(w.embeddingWeights[1]!);
    const m = { ...w, embedding: { model: "x", dimensions: 3 } } as unknown as SemanticModel;
    expect(semanticScoreOf(m, unit(3, 0), [0, 0])).toBeGreaterThan(0.5);
    expect(semanticScoreOf(m, unit(3, 1), [0, 0])).toBeLessThan(0.5);
  });

  it("refuses a malformed file", () => {
    expect(() => validateSemanticModel({ format: SEMANTIC_FORMAT }, "bad.json")).toThrow(/semantic router model bad.json is malformed/);
  });

  it("kNN: the nearest labelled neighbours vote", () => {
    const index = { vectors: [unit(2, 0), unit(2, 0), unit(2, 1)], labels: [1, 1, 0] };
    expect(knnScore(index, unit(2, 0), 2)).toBeCloseTo(1, 5);
    expect(knnScore(index, unit(2, 1), 1)).toBeCloseTo(0, 5);
  });
});

describe("semantic policy", () => {
  it("derives the cheap tier's maxScore from the target", () => {
    const p = compilePolicy(semanticPolicy(modelFile(), { quality: 0.95 }), "p.yaml", "/", { catalog, embeddingModel: "test:emb" });
    const uc = p.useCases.get("chat")!;
    expect(uc.tiers[0]!.maxScore).toBe(uc.semantic!.threshold);
    expect(uc.semantic!.expected.qualityLower).toBeGreaterThanOrEqual(0.95);
  });

  it("rejects a model trained on another embedding, and a target nothing meets, naming the use case", () => {
    const file = modelFile();
    expect(() => compilePolicy(semanticPolicy(file, { quality: 0.95 }), "p.yaml", "/", { catalog, embeddingModel: "local:all-MiniLM-L6-v2" })).toThrow(/trained on embedding test:emb, but the router embeds with local:all-MiniLM-L6-v2/);
    let msg = "";
    try {
      compilePolicy(semanticPolicy(file, { quality: 1.3 }), "p.yaml", "/", { catalog, embeddingModel: "test:emb" });
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyError);
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/useCases\.chat\.target: use case chat cannot meet its target: no threshold reaches quality 1.3/);
  });

  it("routes with the cache's embedding when it is of the model's embedder, and never embeds again", async () => {
    const p = compilePolicy(semanticPolicy(modelFile(), { quality: 0.95 }), "p.yaml", "/", { catalog, embeddingModel: "test:emb" });
    let embedded = 0;
    const deps = {
      catalog, llm: null, fallback: () => null, renderMessages,
      embedder: { name: "test:emb", embed: async () => { embedded++; return { vector: unit(4, 1), costNanoUsd: 0 }; } },
    };
    const withVector = (v: Float32Array, model = "test:emb") => request({ request_id: "r-sem", pipeline: { ...emptyPipelineState(), embedding: { model, vector: encodeVector(v) } } });
    const hard = await decideRoute(withVector(unit(4, 0)), p, deps);
    const easy = await decideRoute(withVector(unit(4, 2)), p, deps);
    expect(hard.route).toMatchObject({ tier: "frontier", strategy: "semantic" });
    expect(easy.route).toMatchObject({ tier: "small", model: "gpt-4o-mini" });
    expect(embedded).toBe(0);
    // Another embedder's vector is not comparable: the router embeds the text itself, once.
    const other = await decideRoute(withVector(unit(4, 0), "openai:text-embedding-3-small:1536"), p, deps);
    expect(embedded).toBe(1);
    expect(other.route?.tier).toBe("small");
    expect(other.embedding?.model).toBe("test:emb");
  });
});

describe("stacked semantic model", () => {
  it("scores by the blend of its bases' ranks, and refuses a kNN index that does not match its rows", async () => {
    const { encodeVectors } = await import("./stack.ts");
    const { loadSemanticModel } = await import("./model.ts");
    const { denseFeatures } = await import("../features.ts");
    const { routeInputFromTurns } = await import("../input.ts");
    // Length only: the score is the request's rank among the training rows' log lengths.
    const stack = { weights: { semantic: 0, knn: 0, length: 1 }, cdf: { semantic: [0.5], knn: [0.5], length: [1, 2, 3, 4] }, knn: { k: 1, labels: [1 as const], vectors: encodeVectors([unit(4, 0)], 4) } };
    const m = loadSemanticModel(writeSemanticModel(undefined, { stack }));
    const short = routeInputFromTurns(["hi"]), long = routeInputFromTurns(["x".repeat(40)]);
    expect(semanticScoreOf(m, unit(4, 1), denseFeatures(short))).toBeCloseTo(0.25, 9); // log1p(2) ≈ 1.1: above one of four
    expect(semanticScoreOf(m, unit(4, 1), denseFeatures(long))).toBeCloseTo(0.75, 9); // log1p(40) ≈ 3.7
    // kNN only: the one labelled neighbour needed the strong model.
    const knnOnly = loadSemanticModel(writeSemanticModel(undefined, { stack: { ...stack, weights: { semantic: 0, knn: 1, length: 0 }, cdf: { ...stack.cdf, knn: [0.2, 0.4, 0.6, 0.8] } } }));
    expect(semanticScoreOf(knnOnly, unit(4, 0), denseFeatures(short))).toBe(1);
    expect(() => loadSemanticModel(writeSemanticModel(undefined, { stack: { ...stack, knn: { ...stack.knn, labels: [1, 0] } } }))).toThrow(/kNN index holds 4 floats for 2 rows of 4/);
  });
});

describe("shadow samples of a semantic route", () => {
  it("samples both sides of the threshold: a frontier-routed request is compared with the cheap model, except in fallback", async () => {
    const doc = semanticPolicy(modelFile(), { quality: 0.95 });
    const p = compilePolicy({ ...doc, useCases: { chat: { ...doc.useCases.chat, shadow: { sampleRate: 1 } } } }, "p.yaml", "/", { catalog, embeddingModel: "test:emb" });
    const deps = { catalog, llm: null, fallback: () => null, renderMessages };
    const at = (v: Float32Array, id: string) => request({ request_id: id, pipeline: { ...emptyPipelineState(), embedding: { model: "test:emb", vector: encodeVector(v) } } });
    const hard = await decideRoute(at(unit(4, 0), "r-hard"), p, deps);
    expect(hard.route).toMatchObject({ tier: "frontier", shadow: true });
    expect(hard.shadow).toMatchObject({ calibration: true, fallback: false, cheapTier: "small", cheapModel: "gpt-4o-mini", servedModel: "gpt-4o", score: hard.route!.score });
    const easy = await decideRoute(at(unit(4, 2), "r-easy"), p, deps);
    expect(easy.shadow).toMatchObject({ fallback: false, servedModel: "gpt-4o-mini" });
    expect(easy.shadow?.calibration).toBeUndefined();
    const inFallback = await decideRoute(at(unit(4, 0), "r-hard"), p, { ...deps, fallback: () => ({ since: 0, agreement: 0.1, floor: 0.8, samples: 50 }) });
    expect(inFallback.shadow).toBeNull();
  });
});

describe("out-of-distribution guard in routing", () => {
  it("sends a request far from every training centroid to the frontier and says why", async () => {
    // Training traffic lies along dimensions 1 and 2; dimension 3 is a kind of request the model never saw.
    const ood = { centroids: [[0, 1, 0, 0], [0, 0, 1, 0]], full: 0.5, none: 0.8, quantiles: { full: 0.01, none: 0.1, rows: 200 } };
    const p = compilePolicy(semanticPolicy(modelFile({ ood }), { quality: 0.95 }), "p.yaml", "/", { catalog, embeddingModel: "test:emb" });
    const deps = { catalog, llm: null, fallback: () => null, renderMessages };
    const at = (v: Float32Array) => request({ request_id: "r-ood", pipeline: { ...emptyPipelineState(), embedding: { model: "test:emb", vector: encodeVector(v) } } });
    const known = await decideRoute(at(unit(4, 2)), p, deps);
    expect(known.route).toMatchObject({ tier: "small" });
    expect(known.route?.reason).not.toContain("out of distribution");
    const unknown = await decideRoute(at(unit(4, 3)), p, deps);
    expect(unknown.route).toMatchObject({ tier: "frontier", strategy: "semantic" });
    expect(unknown.route?.reason).toMatch(/p\(strong needed\)=1\.00 \(raised from 0\.12: nearest training centroid similarity 0\.000 < 0\.800, out of distribution\)/);
  });
});

describe("re-calibration from shadow results", () => {
  const offlineOf = () => {
    const offline = chooseThreshold(buildCalibration(ladder(400)), { quality: 0.95 });
    if (!("threshold" in offline)) throw new Error(offline.reason);
    return offline;
  };
  // A uniform draw of the route's traffic: the cheap answer disagrees with the frontier's above `hardFrom`.
  const traffic = (n: number, hardFrom: number) => Array.from({ length: n }, (_, i) => ({ score: i / n, agreed: i / n < hardFrom }));

  it("picks the fewest frontier calls whose lower bound meets the target, on either side of the model file's threshold", async () => {
    const { recalibrate, FRONTIER_ONLY } = await import("./calibration.ts");
    const offline = offlineOf();
    // Harder traffic than the model was calibrated on: the threshold moves down, below the disagreements' scores.
    const harder = recalibrate(offline, traffic(1000, 0.3), { quality: 0.95 }, 50);
    expect(harder.source).toBe("shadow");
    // Up to the target's slack of disagreeing answers may stay cheap (a few %), no more.
    expect(harder.threshold).toBeGreaterThan(0.3);
    expect(harder.threshold).toBeLessThan(0.35);
    expect(harder.threshold).toBeLessThan(offline.threshold);
    expect(harder.lower).toBeGreaterThanOrEqual(0.95);
    // Easier traffic: more of it goes cheap than the model file would send.
    const easier = recalibrate(offline, traffic(1000, 0.97), { quality: 0.95 }, 50);
    expect(easier.threshold).toBeGreaterThan(offline.threshold);
    expect(easier.lower).toBeGreaterThanOrEqual(0.95);
    // Every cheap answer agrees: nothing needs the frontier.
    expect(recalibrate(offline, traffic(200, 2), { quality: 0.95 }, 50).threshold).toBe(2);
    // Nothing below "everything to the frontier" keeps the bound: the route stays on the frontier.
    expect(recalibrate(offline, traffic(60, 0), { quality: 0.95 }, 50)).toMatchObject({ threshold: FRONTIER_ONLY, source: "unconfirmed" });
  });

  it("starts on the frontier until enough samples confirm a threshold, or on the model file's threshold when asked", async () => {
    const { recalibrate, FRONTIER_ONLY } = await import("./calibration.ts");
    const offline = offlineOf();
    const few = traffic(40, 0.9);
    expect(recalibrate(offline, few, { quality: 0.95 }, 50)).toMatchObject({ threshold: FRONTIER_ONLY, source: "unconfirmed", samples: 40 });
    expect(recalibrate(offline, few, { quality: 0.95 }, 50, "model")).toMatchObject({ threshold: offline.threshold, source: "offline" });
    // Enough samples, but too few to bound 95% above the target anywhere: still the frontier.
    expect(recalibrate(offline, traffic(50, 0.99), { quality: 0.99 }, 50).source).toBe("unconfirmed");
    // A strong-share cap is not re-calibrated.
    expect(recalibrate(offline, few, { strong_share_max: 0.3 }, 10).source).toBe("offline");
  });
});

describe("live thresholds", () => {
  it("keeps a route on the frontier until shadow samples confirm a threshold; start: model, or no sampling, keeps the model file's", async () => {
    const { LiveThresholds } = await import("./live.ts");
    const { FRONTIER_ONLY } = await import("./calibration.ts");
    const file = modelFile();
    const withStart = (start: string | undefined, sampleRate = 0.05) => {
      const doc = semanticPolicy(file, { quality: 0.95 });
      const chat = { ...doc.useCases.chat, semantic: { model: file, ...(start ? { start } : {}) }, shadow: { sampleRate } };
      return compilePolicy({ ...doc, useCases: { chat } }, "p.yaml", "/", { catalog, embeddingModel: "test:emb" });
    };
    const failing = { recent: async () => { throw new Error("clickhouse down"); } };
    const conservative = new LiveThresholds(withStart(undefined), failing, { refreshMs: 60_000 });
    expect(conservative.get("chat")).toBe(FRONTIER_ONLY);
    await conservative.refresh();
    expect(conservative.get("chat")).toBe(FRONTIER_ONLY);
    const fromModel = new LiveThresholds(withStart("model"), failing, { refreshMs: 60_000 });
    expect(fromModel.get("chat")).toBeNull();
    const unsampled = new LiveThresholds(withStart(undefined, 0), { recent: async () => [] }, { refreshMs: 60_000 });
    await unsampled.refresh();
    expect(unsampled.get("chat")).toBe(withStart(undefined, 0).useCases.get("chat")!.semantic!.threshold);
  });

  it("routing follows the threshold re-derived from shadow results, and the policy's until there are enough", async () => {
    const { LiveThresholds } = await import("./live.ts");
    const doc = semanticPolicy(modelFile(), { quality: 0.95 });
    const p = compilePolicy({ ...doc, useCases: { chat: { ...doc.useCases.chat, semantic: { ...doc.useCases.chat.semantic, start: "model" } } } }, "p.yaml", "/", { catalog, embeddingModel: "test:emb" });
    const offline = p.useCases.get("chat")!.semantic!.threshold;
    let samples: { score: number; agreed: boolean }[] = [];
    const live = new LiveThresholds(p, { recent: async () => samples }, { refreshMs: 60_000 });
    await live.refresh();
    expect(live.get("chat")).toBe(offline);
    // Cheap answers scoring in the upper half of the cheap range disagree with the frontier.
    samples = Array.from({ length: 400 }, (_, i) => ({ score: (i / 400) * offline, agreed: i < 200 }));
    await live.refresh();
    expect(live.get("chat")!).toBeLessThan(offline);
    const deps = { catalog, llm: null, fallback: () => null, renderMessages, semanticThreshold: (uc: string) => live.get(uc) };
    // A score between the new and the old threshold now goes to the frontier.
    const between = (live.get("chat")! + offline) / 2;
    const z = Math.log(between / (1 - between)) + 2; // the test model's score is sigmoid(6·v0 − 2)
    const v = Float32Array.from([z / 6, 0, 0, 0]);
    const out = await decideRoute(request({ request_id: "r-live", pipeline: { ...emptyPipelineState(), embedding: { model: "test:emb", vector: encodeVector(v) } } }), p, deps);
    expect(out.route?.tier).toBe("frontier");
    expect(out.route?.reason).toContain("re-calibrated from shadow results");
  });
});
