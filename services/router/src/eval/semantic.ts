import { denseFeatures } from "../features.ts";
import { knnScore } from "../semantic/knn.ts";
import { scoreWithWeights, trainSemantic, type SemanticExample, type SemanticTrainOptions, type SemanticWeights } from "../semantic/model.ts";
import { strongWins, type EvalRow, type EvalSet } from "./dataset.ts";
import { groupFolds } from "./folds.ts";
import type { Scores } from "./strategies.ts";

/** A set's rows with their embedding (of the text the router embeds) and dense features. */
export interface EmbeddedSet {
  readonly set: EvalSet;
  readonly vectors: readonly Float32Array[];
  readonly dense: readonly Float64Array[];
}

export function withFeatures(set: EvalSet, vectors: readonly Float32Array[]): EmbeddedSet {
  return { set, vectors, dense: set.rows.map((r) => denseFeatures(r.input)) };
}

/** Score spread of the set's scale (binary: 1, MT-bench judge: 9), so row weights are comparable across sets. */
function scale(set: EvalSet): number {
  return set.scoreType === "judge_1_10" ? 9 : 1;
}

export interface LearnOptions extends SemanticTrainOptions {
  /** Weight of a row where both models score the same (it does not change the routed quality). */
  readonly tieWeight?: number;
}

/**
 * Training examples: label "strong wins", weighted by how much routing this row changes its
 * score. Rows where both models tie still count a little (tieWeight), as "the weak one will do".
 */
export function examplesOf(e: EmbeddedSet, idx: readonly number[], opts: LearnOptions = {}): SemanticExample[] {
  const s = scale(e.set), tie = opts.tieWeight ?? 0.1;
  return idx.map((i) => {
    const r = e.set.rows[i]!;
    const gain = Math.abs(r.strong - r.weak) / s;
    return { vector: e.vectors[i]!, dense: e.dense[i]!, label: strongWins(r), weight: gain === 0 ? tie : gain };
  });
}

export function learn(parts: readonly { e: EmbeddedSet; idx: readonly number[] }[], opts: LearnOptions = {}): SemanticWeights {
  return trainSemantic(parts.flatMap((p) => examplesOf(p.e, p.idx, opts)), opts);
}

const all = (e: EmbeddedSet) => e.set.rows.map((_, i) => i);

/** Out-of-fold scores by group: each fold scored by a model trained on the others. */
export function cvScores(e: EmbeddedSet, folds: number, seed: number, score: (train: readonly number[], test: readonly number[]) => number[]): Scores {
  const f = groupFolds(e.set.rows.map((r: EvalRow) => r.groupId), folds, seed);
  const out = new Array<number>(e.set.rows.length).fill(0);
  for (let k = 0; k < folds; k++) {
    const train = all(e).filter((i) => f[i] !== k), test = all(e).filter((i) => f[i] === k);
    score(train, test).forEach((s, j) => (out[test[j]!] = s));
  }
  return out;
}

export function learnedScorer(e: EmbeddedSet, opts: LearnOptions = {}) {
  return (train: readonly number[], test: readonly number[]) => {
    const w = learn([{ e, idx: train }], opts);
    return test.map((i) => scoreWithWeights(w, e.vectors[i]!, e.dense[i]!));
  };
}

export function knnScorer(e: EmbeddedSet, k: number) {
  return (train: readonly number[], test: readonly number[]) => {
    const index = { vectors: train.map((i) => e.vectors[i]!), labels: train.map((i) => strongWins(e.set.rows[i]!)) };
    return test.map((i) => knnScore(index, e.vectors[i]!, k));
  };
}

/** kNN over a fixed labelled pool (the rows a shipped model was trained on). */
export function knnFrom(pool: readonly EmbeddedSet[], k: number, target: EmbeddedSet): Scores {
  const index = { vectors: pool.flatMap((p) => [...p.vectors]), labels: pool.flatMap((p) => p.set.rows.map(strongWins)) };
  return target.vectors.map((v) => knnScore(index, v, k));
}

/** The rows of a set at the given indices, as a set of their own (calibration checks on group halves). */
export function subset(e: EmbeddedSet, idx: readonly number[]): EmbeddedSet {
  return { set: { ...e.set, rows: idx.map((i) => e.set.rows[i]!) }, vectors: idx.map((i) => e.vectors[i]!), dense: idx.map((i) => e.dense[i]!) };
}
