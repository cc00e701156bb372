import { describe, expect, it } from "vitest";
import { routeInputFromTurns } from "../input.ts";
import { rng } from "../semantic/calibration.ts";
import type { EvalSet } from "./dataset.ts";
import { strategyResult } from "./evaluate.ts";
import { chooseKnn, tunedKnnScorer, vote } from "./knn-tuned.ts";
import { cvScores, knnScorer, withFeatures } from "./semantic.ts";

/**
 * 400 rows in tight clusters of 4 along 100 random directions; a cluster is hard (the weak model
 * fails) or easy as a whole. Only the few nearest rows share a row's outcome, so a large
 * neighbourhood dilutes the vote with unrelated clusters.
 */
function clustered(): ReturnType<typeof withFeatures> {
  const rand = rng(7);
  const rows: EvalSet["rows"][number][] = [];
  const vectors: Float32Array[] = [];
  for (let c = 0; c < 100; c++) {
    const centre = Array.from({ length: 16 }, () => rand() - 0.5);
    const hard = rand() < 0.3;
    for (let j = 0; j < 4; j++) {
      const v = Float32Array.from(centre, (x) => x + (rand() - 0.5) * 0.05);
      const n = Math.hypot(...v);
      vectors.push(v.map((x) => x / n));
      const i = rows.length;
      rows.push({ id: `r${i}`, groupId: `g${i}`, category: null, input: routeInputFromTurns(["word ".repeat(1 + Math.floor(rand() * 40))]), strong: 1, weak: hard ? 0 : 1, weakResponse: null, responseChars: { strong: null, weak: null }, contaminated: false });
    }
  }
  const set: EvalSet = { name: "clustered", benchmark: "test", file: "clustered.jsonl", scoreType: "binary_correct", strongModel: "s", weakModel: "w", pairNamed: true, rows, dropped: { contaminated: 0, unscored: 0 } };
  return withFeatures(set, vectors);
}

describe("kNN with an inner-CV neighbourhood", () => {
  it("votes by similarity, linearly or sharpened by a temperature", () => {
    const top = [{ s: 0.9, y: 1 }, { s: 0.5, y: 0 }, { s: 0.4, y: 0 }];
    expect(vote(top, 1, 0)).toBe(1);
    expect(vote(top, 3, 0)).toBeCloseTo(0.9 / 1.8, 5);
    // A cold softmax listens to the nearest neighbour only.
    expect(vote(top, 3, 0.01)).toBeGreaterThan(0.99);
    expect(vote([], 5, 0)).toBe(0.5);
  });

  it("chooses a small neighbourhood when only the nearest rows share the outcome, and beats k = 40 on unseen groups", () => {
    const e = clustered();
    const train = e.set.rows.map((_, i) => i).filter((i) => i % 5 !== 0);
    const c = chooseKnn(e, train, { ks: [5, 40], temperatures: [0] });
    expect(c.k).toBe(5);
    const tuned = strategyResult(e.set, "tuned", cvScores(e, 5, 0, tunedKnnScorer(e, { ks: [5, 40], temperatures: [0] }))).metrics.apgr!;
    const wide = strategyResult(e.set, "wide", cvScores(e, 5, 0, knnScorer(e, 40))).metrics.apgr!;
    expect(tuned).toBeGreaterThan(wide + 0.05);
  });
});
