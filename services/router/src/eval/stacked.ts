import { knnScore } from "../semantic/knn.ts";
import { blend, cdfOf, STACK_BASES, type Stack as BlendStack, type StackBase } from "../semantic/stack.ts";
import { scoreWithWeights } from "../semantic/model.ts";
import { strongWins, type EvalSet } from "./dataset.ts";
import { strategyResult } from "./evaluate.ts";
import { groupFolds } from "./folds.ts";
import { learn, type EmbeddedSet, type LearnOptions } from "./semantic.ts";
import { lengthScores, type Scores } from "./strategies.ts";

/**
 * Stacking: the learned scorer, the kNN vote and prompt length are three views of "hard for the
 * weak model" that win on different sets (kNN on MT-bench, length on GSM8K, the learned scorer on
 * MMLU). Each is put on a common scale — its empirical CDF over out-of-fold scores of the training
 * rows — and blended with simplex weights chosen to maximise APGR on those out-of-fold scores.
 * Nothing about the rows being scored is used: the weights and CDFs come from the training rows'
 * own inner cross-validation.
 */
export { STACK_BASES, blend, cdfOf, type StackBase } from "../semantic/stack.ts";

export interface StackOptions {
  readonly learn: LearnOptions;
  readonly knnK: number;
  readonly innerFolds?: number;
  /** Weight grid step on the simplex (0.1: 66 candidate blends). */
  readonly step?: number;
}

export interface Stack extends BlendStack {
  /** APGR of the chosen blend on the training rows' out-of-fold scores. */
  readonly innerApgr: number;
}

/** Every weight vector on the simplex with the given step. */
export function simplex(step: number): Record<StackBase, number>[] {
  const n = Math.round(1 / step), out: Record<StackBase, number>[] = [];
  for (let a = 0; a <= n; a++) for (let b = 0; b <= n - a; b++) out.push({ semantic: a / n, knn: b / n, length: (n - a - b) / n });
  return out;
}

const pick = (set: EvalSet, idx: readonly number[]): EvalSet => ({ ...set, rows: idx.map((i) => set.rows[i]!) });

/** Base scores of `test` rows from scorers fitted on `train` rows (both index into e). */
export function baseScores(e: EmbeddedSet, train: readonly number[], test: readonly number[], opts: StackOptions): Record<StackBase, number[]> {
  const w = learn([{ e, idx: train }], opts.learn);
  const index = { vectors: train.map((i) => e.vectors[i]!), labels: train.map((i) => strongWins(e.set.rows[i]!)) };
  const len = lengthScores(e.set);
  return {
    semantic: test.map((i) => scoreWithWeights(w, e.vectors[i]!, e.dense[i]!)),
    knn: test.map((i) => knnScore(index, e.vectors[i]!, opts.knnK)),
    length: test.map((i) => len[i]!),
  };
}

/** Fit the blend on the training rows alone: inner grouped CV for out-of-fold base scores, then the best simplex weights. */
export function fitStack(e: EmbeddedSet, train: readonly number[], opts: StackOptions, seed = 0): Stack {
  const k = opts.innerFolds ?? 5;
  const f = groupFolds(train.map((i) => e.set.rows[i]!.groupId), k, 7919 + seed);
  const oof: Record<StackBase, number[]> = { semantic: new Array(train.length).fill(0), knn: new Array(train.length).fill(0), length: new Array(train.length).fill(0) };
  for (let fold = 0; fold < k; fold++) {
    const inTrain = train.filter((_, j) => f[j] !== fold), pos = train.flatMap((_, j) => (f[j] === fold ? [j] : []));
    const s = baseScores(e, inTrain, pos.map((j) => train[j]!), opts);
    for (const b of STACK_BASES) pos.forEach((j, m) => (oof[b][j] = s[b][m]!));
  }
  const cdf = Object.fromEntries(STACK_BASES.map((b) => [b, [...oof[b]].sort((x, y) => x - y)])) as Record<StackBase, number[]>;
  const sub = pick(e.set, train);
  const ranks = Object.fromEntries(STACK_BASES.map((b) => [b, oof[b].map((x) => cdfOf(cdf[b], x))])) as Record<StackBase, number[]>;
  const scored = simplex(opts.step ?? 0.1).map((weights) => {
    const scores = train.map((_, j) => STACK_BASES.reduce((s, b) => s + weights[b] * ranks[b][j]!, 0));
    return { weights, apgr: strategyResult(sub, "stack", scores).metrics.apgr ?? -Infinity };
  });
  // Blends within a hair of the best are as good on these rows; the most even of them generalises
  // better than whichever extreme corner happened to win by noise.
  const top = Math.max(...scored.map((c) => c.apgr));
  const evenness = (w: Record<StackBase, number>) => -STACK_BASES.reduce((s, b) => s + (w[b] > 0 ? w[b] * Math.log(w[b]) : 0), 0);
  const chosen = scored.filter((c) => c.apgr >= top - TIE_APGR).sort((a, b) => evenness(b.weights) - evenness(a.weights))[0]!;
  return { weights: chosen.weights, cdf, innerApgr: chosen.apgr };
}

/** APGR differences below this on the inner out-of-fold scores count as ties. */
export const TIE_APGR = 0.002;

/** A fold scorer for cvScores: fit the blend on the training folds, score the held-out fold. */
export function stackedScorer(e: EmbeddedSet, opts: StackOptions, seed = 0, seen?: (s: Stack) => void) {
  return (train: readonly number[], test: readonly number[]): Scores => {
    const stack = fitStack(e, train, opts, seed);
    seen?.(stack);
    const s = baseScores(e, train, test, opts);
    return test.map((_, m) => blend(stack, { semantic: s.semantic[m]!, knn: s.knn[m]!, length: s.length[m]! }));
  };
}
