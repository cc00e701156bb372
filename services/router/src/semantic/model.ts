import { readFileSync } from "node:fs";
import { z } from "zod";
import { ClassifierModelError } from "../errors.ts";
import { DENSE_FEATURES, denseFeatures, FEATURE_VERSION } from "../features.ts";
import type { RouteInput } from "../input.ts";
import { guardScore, oodSchema } from "./ood.ts";
import { stackedScore, stackIndex, stackSchema } from "./stack.ts";

/**
 * The semantic router: logistic regression over the request's sentence embedding (the vector
 * the cache computed) plus the shape features, P(the strong model answers better). The file also
 * carries its calibration (out-of-fold scores and the quality each threshold kept) and what it
 * was trained on, so a threshold can be derived from a quality target and an evaluation can refuse
 * to score a file the model has seen.
 */
export const SEMANTIC_FORMAT = "costwise-router-semantic";

const calibrationPointSchema = z.object({
  threshold: z.number(),
  /** Share of requests whose score is ≥ threshold (sent to the strong model). */
  strongShare: z.number(),
  /** Mean routed quality / strong-only quality, out of fold. */
  quality: z.number(),
  /** A one-sided lower confidence bound of `quality` (bootstrap over groups). */
  qualityLower: z.number(),
});
export type CalibrationPoint = z.infer<typeof calibrationPointSchema>;

export const calibrationSchema = z.object({
  /** Out-of-fold rows the table was computed from. */
  rows: z.number().int().positive(),
  groups: z.number().int().positive(),
  confidence: z.number().gt(0).lt(1),
  strongQuality: z.number(),
  weakQuality: z.number(),
  /** Ordered by threshold, ascending (strong share descending). */
  points: z.array(calibrationPointSchema).min(2),
});
export type Calibration = z.infer<typeof calibrationSchema>;

export const trainingRecordSchema = z.object({
  files: z.array(z.object({ name: z.string(), path: z.string().optional(), sha256: z.string(), rows: z.number().int(), strong: z.string(), weak: z.string() })),
  /** sha256 over the sorted row ids, so an evaluation can tell a model that saw its rows. */
  rowIdsSha256: z.string(),
  rowIds: z.array(z.string()),
  rows: z.number().int(),
  groups: z.number().int(),
  positives: z.number().int(),
  trainedAt: z.string(),
}).passthrough();
export type TrainingRecord = z.infer<typeof trainingRecordSchema>;

export const semanticModelSchema = z.object({
  format: z.literal(SEMANTIC_FORMAT),
  version: z.string().min(1),
  embedding: z.object({ model: z.string().min(1), dimensions: z.number().int().positive() }),
  featureVersion: z.number().int(),
  bias: z.number(),
  embeddingWeights: z.array(z.number()),
  dense: z.object({ names: z.array(z.string()), mean: z.array(z.number()), std: z.array(z.number().positive()), weights: z.array(z.number()) }),
  hyper: z.record(z.unknown()).default({}),
  training: trainingRecordSchema,
  calibration: calibrationSchema,
  /** Out-of-distribution guard (absent in files trained before it existed: scores are then the regression's alone). */
  ood: oodSchema.optional(),
  /** Stacked scoring (regression, kNN vote and length blended by rank; absent: the regression's p alone). */
  stack: stackSchema.optional(),
});
export type SemanticModel = z.infer<typeof semanticModelSchema>;

export function validateSemanticModel(raw: unknown, source: string): SemanticModel {
  const parsed = semanticModelSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new ClassifierModelError(`semantic router model ${source} is malformed: ${issues}`);
  }
  const m = parsed.data;
  if (m.featureVersion !== FEATURE_VERSION) throw new ClassifierModelError(`semantic router model ${source} uses feature version ${m.featureVersion}, this router computes ${FEATURE_VERSION}: retrain it with npm run train:router`);
  if (m.embeddingWeights.length !== m.embedding.dimensions) throw new ClassifierModelError(`semantic router model ${source}: ${m.embeddingWeights.length} embedding weights for ${m.embedding.dimensions} dimensions`);
  if (m.dense.names.join(",") !== DENSE_FEATURES.join(",")) throw new ClassifierModelError(`semantic router model ${source}: dense features do not match this router's`);
  if (m.ood && m.ood.centroids.some((c) => c.length !== m.embedding.dimensions)) throw new ClassifierModelError(`semantic router model ${source}: out-of-distribution centroids do not have ${m.embedding.dimensions} dimensions`);
  if (m.stack) {
    try {
      stackIndex(m.stack, m.embedding.dimensions);
    } catch (err) {
      throw new ClassifierModelError(`semantic router model ${source}: ${(err as Error).message}`, { cause: err });
    }
  }
  return m;
}

export function loadSemanticModel(path: string): SemanticModel {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ClassifierModelError(`cannot read semantic router model ${path}: ${(err as Error).message}`, { cause: err });
  }
  return validateSemanticModel(raw, path);
}

/** The length base of a stack is the shape feature log1p(user text characters). */
const LOG_USER_CHARS = DENSE_FEATURES.indexOf("log_chars_user");

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * P(strong needed) from a precomputed embedding and the unscaled dense features, raised towards 1
 * by the model's out-of-distribution guard when the request is far from its training data.
 */
export function semanticScoreOf(m: SemanticModel, vector: ArrayLike<number>, dense: ArrayLike<number>): number {
  return semanticScoreDetail(m, vector, dense).score;
}

/** The score with what the guard did: the regression's own p, the nearest-centroid similarity and the pull (0: none, 1: all strong). */
export function semanticScoreDetail(m: SemanticModel, vector: ArrayLike<number>, dense: ArrayLike<number>): { score: number; p: number; similarity: number | null; pull: number } {
  const r = regressionScore(m, vector, dense);
  const p = m.stack ? stackedScore(m.stack, m.embedding.dimensions, r, vector, dense[LOG_USER_CHARS]!) : r;
  if (!m.ood) return { score: p, p, similarity: null, pull: 0 };
  const g = guardScore(m.ood, vector, p);
  return { score: g.score, p, similarity: g.similarity, pull: g.pull };
}

function regressionScore(m: Pick<SemanticModel, "bias" | "embeddingWeights" | "dense" | "embedding">, vector: ArrayLike<number>, dense: ArrayLike<number>): number {
  if (vector.length !== m.embedding.dimensions) throw new RangeError(`embedding has ${vector.length} dimensions, the model expects ${m.embedding.dimensions}`);
  let z = m.bias;
  const w = m.embeddingWeights;
  for (let i = 0; i < w.length; i++) z += w[i]! * vector[i]!;
  const d = m.dense;
  for (let j = 0; j < d.weights.length; j++) z += d.weights[j]! * ((dense[j]! - d.mean[j]!) / d.std[j]!);
  return sigmoid(z);
}

export function semanticScore(m: SemanticModel, vector: ArrayLike<number>, input: RouteInput): number {
  return semanticScoreOf(m, vector, denseFeatures(input));
}

export interface SemanticExample {
  readonly vector: ArrayLike<number>;
  readonly dense: ArrayLike<number>;
  readonly label: 0 | 1;
  readonly weight: number;
}

export interface SemanticTrainOptions {
  readonly l2?: number;
  readonly iterations?: number;
  readonly learningRate?: number;
}

export type SemanticWeights = Pick<SemanticModel, "bias" | "embeddingWeights" | "dense"> & { readonly hyper: Record<string, unknown> };

/**
 * Full-batch Adam on the weighted, L2-regularised log loss: deterministic, so the same rows give
 * the same file. Weights are per example (the trainer weights a row by how much the choice of
 * model changes its score: a row both models get right teaches nothing about routing).
 */
export function trainSemantic(examples: readonly SemanticExample[], opts: SemanticTrainOptions = {}): SemanticWeights {
  if (examples.length === 0) throw new RangeError("no training examples");
  const l2 = opts.l2 ?? 1e-3, iterations = opts.iterations ?? 200, lr = opts.learningRate ?? 0.05;
  const de = examples[0]!.vector.length, nd = examples[0]!.dense.length;
  const mean = new Array<number>(nd).fill(0), std = new Array<number>(nd).fill(0);
  for (const e of examples) for (let j = 0; j < nd; j++) mean[j]! += e.dense[j]! / examples.length;
  for (const e of examples) for (let j = 0; j < nd; j++) std[j]! += (e.dense[j]! - mean[j]!) ** 2 / examples.length;
  for (let j = 0; j < nd; j++) std[j] = Math.max(Math.sqrt(std[j]!), 1e-5);
  const n = 1 + de + nd;
  const x = examples.map((e) => {
    const row = new Float64Array(n);
    row[0] = 1;
    for (let i = 0; i < de; i++) row[1 + i] = e.vector[i]!;
    for (let j = 0; j < nd; j++) row[1 + de + j] = (e.dense[j]! - mean[j]!) / std[j]!;
    return row;
  });
  const totalW = examples.reduce((s, e) => s + e.weight, 0) || 1;
  const w = new Float64Array(n), m1 = new Float64Array(n), m2 = new Float64Array(n), g = new Float64Array(n);
  const pos = examples.reduce((s, e) => s + e.label * e.weight, 0);
  w[0] = Math.log((pos + 1) / (totalW - pos + 1));
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  for (let it = 1; it <= iterations; it++) {
    g.fill(0);
    for (let k = 0; k < x.length; k++) {
      const row = x[k]!;
      let z = 0;
      for (let i = 0; i < n; i++) z += w[i]! * row[i]!;
      const r = (examples[k]!.weight / totalW) * (sigmoid(z) - examples[k]!.label);
      if (r !== 0) for (let i = 0; i < n; i++) g[i]! += r * row[i]!;
    }
    for (let i = 1; i < n; i++) g[i]! += l2 * w[i]!;
    for (let i = 0; i < n; i++) {
      m1[i] = b1 * m1[i]! + (1 - b1) * g[i]!;
      m2[i] = b2 * m2[i]! + (1 - b2) * g[i]! * g[i]!;
      w[i]! -= (lr * (m1[i]! / (1 - b1 ** it))) / (Math.sqrt(m2[i]! / (1 - b2 ** it)) + eps);
    }
  }
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  return {
    bias: round(w[0]!),
    embeddingWeights: Array.from(w.subarray(1, 1 + de), round),
    dense: { names: [...DENSE_FEATURES], mean: mean.map(round), std: std.map((s) => Math.max(round(s), 1e-5)), weights: Array.from(w.subarray(1 + de), round) },
    hyper: { l2, iterations, learningRate: lr },
  };
}

/** Score with bare weights (cross-validation folds, before a model file exists). */
export function scoreWithWeights(w: SemanticWeights, vector: ArrayLike<number>, dense: ArrayLike<number>): number {
  if (vector.length !== w.embeddingWeights.length) throw new RangeError(`embedding has ${vector.length} dimensions, the weights expect ${w.embeddingWeights.length}`);
  return regressionScore({ ...w, embedding: { model: "", dimensions: vector.length } }, vector, dense);
}
