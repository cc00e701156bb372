import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import { encodeVector } from "@costwise/embeddings";
import { emptyPipelineState, renderMessages } from "@costwise/schemas";
import { DENSE_FEATURES, FEATURE_VERSION } from "../features.ts";
import { PolicyError } from "../errors.ts";
import { compilePolicy } from "../policy.ts";
import { decideRoute } from "../route.ts";
import { request } from "../testing/fixtures.ts";
import { buildCalibration, chooseThreshold, type LabelledScore } from "./calibration.ts";
import { knnScore } from "./knn.ts";
import { semanticScoreOf, SEMANTIC_FORMAT, trainSemantic, validateSemanticModel, type SemanticModel } from "./model.ts";

/** Rows where a higher score means the strong model is needed more: strong always right, weak right below 0.6. */
function ladder(n: number): LabelledScore[] {
  return Array.from({ length: n }, (_, i) => {
    const score = i / n;
    return { score, strong: 1, weak: score < 0.6 ? 1 : 0, group: `g${i}` };
  });
}

const unit = (dims: number, i: number) => Float32Array.from({ length: dims }, (_, d) => (d === i ? 1 : 0));

function modelFile(over: Partial<SemanticModel> = {}, calibration = buildCalibration(ladder(200))): string {
  const dims = 4;
  const model: SemanticModel = {
    format: SEMANTIC_FORMAT, version: "test-v1", embedding: { model: "test:emb", dimensions: dims }, featureVersion: FEATURE_VERSION,
    // Only dimension 0 matters: a request embedded along it needs the frontier.
    bias: -2, embeddingWeights: [6, 0, 0, 0],
    dense: { names: [...DENSE_FEATURES], mean: DENSE_FEATURES.map(() => 0), std: DENSE_FEATURES.map(() => 1), weights: DENSE_FEATURES.map(() => 0) },
    hyper: {}, training: { files: [], rowIdsSha256: "x", rowIds: [], rows: 200, groups: 200, positives: 80, trainedAt: "2026-12-01T00:00:00Z" },
    calibration, ...over,
  };
  const dir = mkdtempSync(path.join(tmpdir(), "semantic-"));
  const file = path.join(dir, "m.json");
  writeFileSync(file, JSON.stringify(model));
  return file;
}

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
  it("keeps the threshold while shadow agreement supports it, and lowers it when the cheap answers disagree", async () => {
    const { recalibrate } = await import("./calibration.ts");
    const cal = buildCalibration(ladder(400));
    const offline = chooseThreshold(cal, { quality: 0.95 });
    if (!("threshold" in offline)) throw new Error(offline.reason);
    const agreeing = Array.from({ length: 300 }, (_, i) => ({ score: (i / 300) * offline.threshold, agreed: true }));
    const kept = recalibrate(cal, offline, agreeing, { quality: 0.95 }, 50);
    expect(kept).toMatchObject({ source: "shadow", threshold: offline.threshold });
    // The upper half of the cheap-routed scores disagree: the threshold moves down, below those scores.
    const mixed = agreeing.map((s) => ({ ...s, agreed: s.score < offline.threshold / 2 }));
    const lowered = recalibrate(cal, offline, mixed, { quality: 0.95 }, 50);
    expect(lowered.threshold).toBeLessThan(offline.threshold);
    expect(lowered.lower).toBeGreaterThanOrEqual(0.95);
    // Too few samples: the offline calibration stands.
    expect(recalibrate(cal, offline, mixed.slice(0, 10), { quality: 0.95 }, 50).source).toBe("offline");
  });
});

describe("live thresholds", () => {
  it("routing follows the threshold re-derived from shadow results, and the policy's until there are enough", async () => {
    const { LiveThresholds } = await import("./live.ts");
    const p = compilePolicy(semanticPolicy(modelFile(), { quality: 0.95 }), "p.yaml", "/", { catalog, embeddingModel: "test:emb" });
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
