import { describe, expect, it } from "vitest";
import { DENSE_FEATURES, FEATURE_VERSION } from "../features.ts";
import { ClassifierModelError } from "../errors.ts";
import { seededRandom } from "@costwise/seeded";
import { buildCalibration } from "./calibration.ts";
import { fitOodGuard, guardScore, nearestSimilarity, oodPull, sphericalKMeans } from "./ood.ts";
import { semanticScoreDetail, semanticScoreOf, SEMANTIC_FORMAT, validateSemanticModel, type SemanticModel } from "./model.ts";

const norm = (v: number[]) => { const n = Math.hypot(...v); return Float32Array.from(v, (x) => x / n); };

/** Unit vectors scattered around one direction of 8 dimensions (the "training traffic"). */
function cloud(n: number, axis: number, spread: number, seed: number): Float32Array[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => norm(Array.from({ length: 8 }, (_, d) => (d === axis ? 1 : 0) + spread * (r() - 0.5))));
}

describe("out-of-distribution guard", () => {
  it("finds one centroid per well-separated cluster, the same for the same rows", () => {
    const rows = [...cloud(60, 0, 0.3, 1), ...cloud(60, 3, 0.3, 2)];
    const a = sphericalKMeans(rows, 2), b = sphericalKMeans(rows, 2);
    expect(a.map((c) => Array.from(c))).toEqual(b.map((c) => Array.from(c)));
    const best = (axis: number) => Math.max(...a.map((c) => c[axis]!));
    expect(best(0)).toBeGreaterThan(0.9);
    expect(best(3)).toBeGreaterThan(0.9);
  });

  it("pulls nothing inside the training data, everything beyond the full similarity, in proportion between", () => {
    expect(oodPull({ full: 0.5, none: 0.7 }, 0.8)).toBe(0);
    expect(oodPull({ full: 0.5, none: 0.7 }, 0.4)).toBe(1);
    expect(oodPull({ full: 0.5, none: 0.7 }, 0.6)).toBeCloseTo(0.5, 10);
  });

  it("fits its similarities on held-out folds and sends a request unlike any training row to the strong model", () => {
    const rows = cloud(200, 0, 0.4, 3);
    const folds = rows.map((_, i) => i % 5);
    const g = fitOodGuard(rows, folds, { full: 0.01, none: 0.1 });
    expect(g.full).toBeLessThanOrEqual(g.none);
    expect(g.quantiles).toEqual({ full: 0.01, none: 0.1, rows: 200 });
    // New rows of the same kind are mostly left alone.
    const fresh = cloud(200, 0, 0.4, 4);
    const pulled = fresh.filter((v) => guardScore(g, v, 0.2).pull > 0).length / fresh.length;
    expect(pulled).toBeLessThan(0.25);
    // A request along another axis is far from every centroid: the score becomes 1.
    const far = norm([0, 0, 0, 0, 0, 1, 0, 0]);
    expect(nearestSimilarity(g.centroids, far)).toBeLessThan(g.full);
    expect(guardScore(g, far, 0.2)).toMatchObject({ score: 1, pull: 1 });
  });

  it("is applied by the model's score, and a model whose centroids do not match its embedding is refused", () => {
    const rows = cloud(100, 0, 0.4, 5);
    const ood = fitOodGuard(rows, rows.map((_, i) => i % 5));
    const model: SemanticModel = {
      format: SEMANTIC_FORMAT, version: "ood-v1", embedding: { model: "test:emb", dimensions: 8 }, featureVersion: FEATURE_VERSION,
      bias: -3, embeddingWeights: new Array(8).fill(0),
      dense: { names: [...DENSE_FEATURES], mean: DENSE_FEATURES.map(() => 0), std: DENSE_FEATURES.map(() => 1), weights: DENSE_FEATURES.map(() => 0) },
      hyper: {}, training: { files: [], rowIdsSha256: "x", rowIds: [], rows: 100, groups: 100, positives: 10, trainedAt: "2026-12-01T00:00:00Z" },
      calibration: buildCalibration(Array.from({ length: 50 }, (_, i) => ({ score: i / 50, strong: 1, weak: i < 30 ? 1 : 0, group: `g${i}` }))),
      ood,
    };
    const m = validateSemanticModel(JSON.parse(JSON.stringify(model)), "m.json");
    const dense = new Float64Array(DENSE_FEATURES.length);
    const near = semanticScoreDetail(m, rows[0]!, dense), far = semanticScoreDetail(m, norm([0, 0, 0, 0, 0, 0, 1, 0]), dense);
    expect(near.pull).toBe(0);
    expect(near.score).toBeCloseTo(1 / (1 + Math.exp(3)), 6);
    expect(far.pull).toBe(1);
    expect(semanticScoreOf(m, norm([0, 0, 0, 0, 0, 0, 1, 0]), dense)).toBe(1);
    const broken = { ...model, ood: { ...ood, centroids: [[1, 0, 0]] } };
    expect(() => validateSemanticModel(broken, "m.json")).toThrow(ClassifierModelError);
    expect(() => validateSemanticModel(broken, "m.json")).toThrow(/centroids do not have 8 dimensions/);
  });
});
