import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { semanticScoreOf } from "../semantic/model.ts";
import { trainSemanticModel } from "../semantic/train.ts";
import { routeInputFromTurns } from "../input.ts";
import { rng } from "../semantic/calibration.ts";
import type { EvalSet } from "./dataset.ts";
import { strategyResult } from "./evaluate.ts";
import { cvScores, withFeatures } from "./semantic.ts";
import { cdfOf, fitStack, simplex, stackedScorer } from "./stacked.ts";
import { lengthScores } from "./strategies.ts";

/**
 * 300 rows in 150 groups: the weak model fails exactly on rows whose embedding points along the
 * first axis (kNN and the learned scorer can see it); prompt length is random noise.
 */
function synthetic(): ReturnType<typeof withFeatures> {
  const rand = rng(42);
  const rows: EvalSet["rows"][number][] = [];
  const vectors: Float32Array[] = [];
  for (let i = 0; i < 300; i++) {
    const hard = rand() < 0.35;
    const v = Float32Array.from({ length: 8 }, (_, d) => (d === 0 ? (hard ? 1 : -1) : 0) + (rand() - 0.5) * 0.8);
    const norm = Math.hypot(...v);
    vectors.push(v.map((x) => x / norm));
    const text = "word ".repeat(1 + Math.floor(rand() * 60));
    rows.push({ id: `r${i}`, groupId: `g${Math.floor(i / 2)}`, category: null, input: routeInputFromTurns([text]), strong: 1, weak: hard ? 0 : 1, weakResponse: null, responseChars: { strong: null, weak: null }, contaminated: false });
  }
  const set: EvalSet = { name: "synthetic", benchmark: "test", file: "synthetic.jsonl", scoreType: "binary_correct", strongModel: "s", weakModel: "w", pairNamed: true, rows, dropped: { contaminated: 0, unscored: 0 } };
  return withFeatures(set, vectors);
}

describe("stacked router", () => {
  it("ranks a score among reference scores, ties counted half", () => {
    expect(cdfOf([1, 2, 3, 4], 0)).toBe(0);
    expect(cdfOf([1, 2, 3, 4], 5)).toBe(1);
    expect(cdfOf([1, 2, 2, 4], 2)).toBe(0.5);
    expect(cdfOf([], 3)).toBe(0.5);
  });

  it("searches the whole simplex", () => {
    const grid = simplex(0.5);
    expect(grid).toHaveLength(6);
    for (const w of grid) expect(w.semantic + w.knn + w.length).toBeCloseTo(1, 12);
  });

  it("weights the signals that predict the outcome and leaves out the noise, from the training rows alone", () => {
    const e = synthetic();
    const train = e.set.rows.map((_, i) => i).filter((i) => i % 5 !== 0);
    const stack = fitStack(e, train, { learn: { l2: 0.01 }, knnK: 10 });
    expect(stack.weights.length).toBeLessThanOrEqual(0.2);
    expect(stack.weights.semantic + stack.weights.knn).toBeGreaterThanOrEqual(0.8);
    expect(stack.innerApgr).toBeGreaterThan(0.8);
  });

  it("beats the length baseline under grouped cross-validation on data where length is noise", () => {
    const e = synthetic();
    const stacked = strategyResult(e.set, "stacked", cvScores(e, 5, 0, stackedScorer(e, { learn: { l2: 0.01 }, knnK: 10 }))).metrics.apgr!;
    const length = strategyResult(e.set, "length", lengthScores(e.set)).metrics.apgr!;
    expect(stacked).toBeGreaterThan(0.8);
    expect(stacked).toBeGreaterThan(length + 0.2);
  });

  it("a model file trained with stacked scoring scores a request as the evaluation's stacked scorer fitted on the same rows", () => {
    const e0 = synthetic();
    const file = path.join(mkdtempSync(path.join(tmpdir(), "stacked-")), "dev.jsonl");
    writeFileSync(file, "synthetic rows\n");
    const e = { ...e0, set: { ...e0.set, file } };
    const opts = { learn: { l2: 0.01 }, knnK: 10 };
    const model = trainSemanticModel([e], { version: "stacked-test", embedding: { model: "test:emb", dimensions: 8 }, l2: 0.01, calibrationSeeds: 1, ood: false, stacked: { knnK: 10 } });
    expect(model.stack?.knn.labels).toHaveLength(300);
    const all = e.set.rows.map((_, i) => i);
    const expected = stackedScorer(e, opts)(all, all.slice(0, 20));
    all.slice(0, 20).forEach((i, j) => expect(semanticScoreOf(model, e.vectors[i]!, e.dense[i]!)).toBeCloseTo(expected[j]!, 5));
    expect(() => trainSemanticModel([e, e], { version: "x", embedding: { model: "test:emb", dimensions: 8 }, stacked: { knnK: 10 } })).toThrow(/one router file/);
  });
});
