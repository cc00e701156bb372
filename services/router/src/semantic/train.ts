import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { FEATURE_VERSION } from "../features.ts";
import { strongWins } from "../eval/dataset.ts";
import { cvScores, learn, type EmbeddedSet, type LearnOptions } from "../eval/semantic.ts";
import { groupFolds } from "../eval/folds.ts";
import { buildCalibration, type LabelledScore } from "./calibration.ts";
import { fitOodGuard } from "./ood.ts";
import { scoreWithWeights, SEMANTIC_FORMAT, type SemanticModel } from "./model.ts";
import { encodeVectors, type StackSpec } from "./stack.ts";
import { fitStack, stackedScorer } from "../eval/stacked.ts";

/**
 * The L2 penalty by training size: a few hundred rows of 384-dimensional embeddings overfit at
 * the penalty that suits a few thousand (measured by grouped cross-validation on the dev sets).
 */
export function defaultL2(rows: number): number {
  return Math.max(1e-3, 4 / rows);
}

export const sha256Of = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");

/** Set scores on a common scale (MT-bench judge scores 1–10 → 0..1), so pooled calibration adds like with like. */
export function unitScore(scoreType: string, x: number): number {
  return scoreType === "judge_1_10" ? (x - 1) / 9 : x;
}
const unit = (e: EmbeddedSet, x: number) => unitScore(e.set.scoreType, x);

export interface TrainSemanticOptions extends LearnOptions {
  readonly version: string;
  readonly embedding: { readonly model: string; readonly dimensions: number };
  readonly folds?: number;
  /** Fold assignments whose out-of-fold scores are pooled into the calibration table. */
  readonly calibrationSeeds?: number;
  readonly confidence?: number;
  /** Relative data paths are resolved against it (the working directory by default). */
  readonly repoRoot?: string;
  readonly now?: () => Date;
  /** Held-out similarity quantiles of the out-of-distribution guard (default 0.01 and 0.1), or false for none. */
  readonly ood?: { readonly full?: number; readonly none?: number } | false;
  /** Stacked scoring (regression, kNN vote of k neighbours, length), blend fitted by inner grouped CV; one training file. */
  readonly stacked?: { readonly knnK: number };
}

/**
 * A model file: weights from every row; calibration from out-of-fold scores (grouped k-fold, a
 * few fold seeds), so the per-threshold quality it records is what the model does on groups it
 * did not see, with a bootstrap lower bound.
 */
export function trainSemanticModel(sets: readonly EmbeddedSet[], opts: TrainSemanticOptions): SemanticModel {
  const rows = sets.reduce((n, e) => n + e.set.rows.length, 0);
  const learnOpts: LearnOptions = { l2: opts.l2 ?? defaultL2(rows), ...(opts.tieWeight !== undefined ? { tieWeight: opts.tieWeight } : {}), ...(opts.iterations ? { iterations: opts.iterations } : {}) };
  const weights = learn(sets.map((e) => ({ e, idx: e.set.rows.map((_, i) => i) })), learnOpts);

  const folds = opts.folds ?? 5, seeds = opts.calibrationSeeds ?? 3;
  const labelled: LabelledScore[] = [];
  let stack: StackSpec | undefined;
  if (opts.stacked) {
    // The blend ranks scores within one file's scale; pooling files of different score types would mix scales.
    if (sets.length !== 1) throw new RangeError(`stacked training takes one router file, got ${sets.length}`);
    const e = sets[0]!;
    const so = { learn: learnOpts, knnK: opts.stacked.knnK };
    const all = e.set.rows.map((_, i) => i);
    const fitted = fitStack(e, all, so, 0);
    stack = { weights: { ...fitted.weights }, cdf: { semantic: [...fitted.cdf.semantic], knn: [...fitted.cdf.knn], length: [...fitted.cdf.length] }, knn: { k: opts.stacked.knnK, labels: e.set.rows.map(strongWins), vectors: encodeVectors(e.vectors, opts.embedding.dimensions) } };
    // Calibration from the stacked scorer's own out-of-fold scores (each fold's blend fitted without it).
    for (let seed = 0; seed < seeds; seed++) {
      const oof = cvScores(e, folds, seed, stackedScorer(e, so, seed));
      e.set.rows.forEach((r, i) => labelled.push({ score: oof[i]!, strong: unit(e, r.strong), weak: unit(e, r.weak), group: r.groupId }));
    }
  }
  for (let seed = 0; seed < seeds && !stack; seed++) {
    for (const e of sets) {
      // Each file's folds are scored by a model trained on that file's other folds plus every other file.
      const oof = cvScores(e, folds, seed, (train, test) => {
        const w = learn([{ e, idx: train }, ...sets.filter((o) => o !== e).map((o) => ({ e: o, idx: o.set.rows.map((_, i) => i) }))], learnOpts);
        return test.map((i) => scoreWithWeights(w, e.vectors[i]!, e.dense[i]!));
      });
      e.set.rows.forEach((r, i) => labelled.push({ score: oof[i]!, strong: unit(e, r.strong), weak: unit(e, r.weak), group: r.groupId }));
    }
  }
  const calibration = buildCalibration(labelled, { confidence: opts.confidence ?? 0.95 });
  const ood = opts.ood === false ? undefined : fitOodGuard(sets.flatMap((e) => [...e.vectors]), groupFolds(sets.flatMap((e) => e.set.rows.map((r) => r.groupId)), folds, 0), opts.ood ?? {});
  const root = opts.repoRoot ?? process.cwd();
  const ids = sets.flatMap((e) => e.set.rows.map((r) => r.id)).sort();
  const groups = [...new Set(sets.flatMap((e) => e.set.rows.map((r) => r.groupId)))].sort();
  return {
    format: SEMANTIC_FORMAT,
    version: opts.version,
    embedding: { ...opts.embedding },
    featureVersion: FEATURE_VERSION,
    ...weights,
    hyper: { ...weights.hyper, tieWeight: opts.tieWeight ?? 0.1, ...(stack ? { scorer: "stacked", knnK: stack.knn.k, stackWeights: stack.weights } : { scorer: "semantic" }), label: "1 when the strong model scored higher; weight |strong − weak| on the set's scale, tieWeight for ties" },
    training: {
      files: sets.map((e) => ({ name: `${path.basename(path.dirname(e.set.file))}/${path.basename(e.set.file)}`, path: path.resolve(root, e.set.file), sha256: sha256Of(readFileSync(e.set.file)), rows: e.set.rows.length, strong: e.set.strongModel, weak: e.set.weakModel })),
      rowIdsSha256: sha256Of(ids.join("\n")),
      rowIds: ids,
      groupIds: groups,
      rows,
      groups: groups.length,
      positives: sets.reduce((n, e) => n + e.set.rows.filter((r) => strongWins(r) === 1).length, 0),
      calibration: `out-of-fold scores, ${folds} grouped folds × ${seeds} fold seeds (the bootstrap resamples a group with all its seeds)`,
      trainedAt: (opts.now ?? (() => new Date()))().toISOString(),
    },
    calibration,
    ...(ood ? { ood } : {}),
    ...(stack ? { stack } : {}),
  };
}
