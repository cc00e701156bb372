import { readFileSync } from "node:fs";
import { z } from "zod";
import { ClassifierModelError } from "./errors.ts";
import { DENSE_FEATURES, extractFeatures, FEATURE_VERSION, type Features } from "./features.ts";
import type { RouteInput } from "./input.ts";

/**
 * A logistic-regression router: P(the strong model is needed | request features). Trained by
 * `npm run train:router`, stored as a versioned JSON file under services/router/models/.
 */
export const classifierModelSchema = z.object({
  format: z.literal("costwise-router-classifier"),
  version: z.string().min(1),
  featureVersion: z.number().int(),
  hashBits: z.number().int().min(4).max(20),
  bias: z.number(),
  hashedWeights: z.array(z.number()),
  dense: z.object({
    names: z.array(z.string()),
    mean: z.array(z.number()),
    std: z.array(z.number().positive()),
    weights: z.array(z.number()),
  }),
  training: z.record(z.unknown()).default({}),
});
export type ClassifierModel = z.infer<typeof classifierModelSchema>;

export function validateClassifierModel(raw: unknown, source: string): ClassifierModel {
  const parsed = classifierModelSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new ClassifierModelError(`classifier model ${source} is malformed: ${issues}`);
  }
  const m = parsed.data;
  if (m.featureVersion !== FEATURE_VERSION) {
    throw new ClassifierModelError(`classifier model ${source} was trained on feature version ${m.featureVersion}, this router computes version ${FEATURE_VERSION}: retrain it with npm run train:router`);
  }
  if (m.hashedWeights.length !== 1 << m.hashBits) throw new ClassifierModelError(`classifier model ${source}: hashedWeights has ${m.hashedWeights.length} entries, expected 2^${m.hashBits}`);
  const d = m.dense;
  if (d.names.join(",") !== DENSE_FEATURES.join(",") || d.mean.length !== d.names.length || d.std.length !== d.names.length || d.weights.length !== d.names.length) {
    throw new ClassifierModelError(`classifier model ${source}: dense features do not match this router's (${DENSE_FEATURES.length} expected)`);
  }
  return m;
}

export function loadClassifierModel(path: string): ClassifierModel {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ClassifierModelError(`cannot read classifier model ${path}: ${(err as Error).message}`, { cause: err });
  }
  return validateClassifierModel(raw, path);
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

function logit(m: ClassifierModel, f: Features): number {
  let z = m.bias;
  const hw = m.hashedWeights;
  for (const i of f.bag.indices) z += hw[i]! * f.bag.value;
  const d = m.dense;
  for (let j = 0; j < f.dense.length; j++) z += d.weights[j]! * ((f.dense[j]! - d.mean[j]!) / d.std[j]!);
  return z;
}

export function predictFeatures(m: ClassifierModel, f: Features): number {
  return sigmoid(logit(m, f));
}

/** P(strong model needed) for one request. */
export function predict(m: ClassifierModel, input: RouteInput): number {
  return predictFeatures(m, extractFeatures(input, m.hashBits));
}

export interface TrainingExample {
  readonly input: RouteInput;
  /** 1: the strong model was better; 0: the weak one was as good. */
  readonly label: 0 | 1;
  readonly weight?: number;
}

export interface TrainOptions {
  readonly hashBits?: number;
  /** L2 penalty on every weight but the bias, per example. */
  readonly l2?: number;
  readonly iterations?: number;
  readonly learningRate?: number;
  readonly version?: string;
  readonly training?: Record<string, unknown>;
  readonly onIteration?: (i: number, loss: number) => void;
}

/**
 * Full-batch Adam on the L2-regularised weighted log loss. Deterministic (no sampling), so the
 * same data gives the same file; a few hundred iterations over a few thousand rows take well
 * under a second per core.
 */
export function trainClassifier(examples: readonly TrainingExample[], opts: TrainOptions = {}): ClassifierModel {
  if (examples.length === 0) throw new RangeError("no training examples");
  const hashBits = opts.hashBits ?? 12;
  const l2 = opts.l2 ?? 1e-3;
  const iterations = opts.iterations ?? 300;
  const lr = opts.learningRate ?? 0.05;
  const feats = examples.map((e) => extractFeatures(e.input, hashBits));
  const nd = DENSE_FEATURES.length;
  const nh = 1 << hashBits;

  const totalW = examples.reduce((s, e) => s + (e.weight ?? 1), 0);
  const mean = new Array<number>(nd).fill(0);
  const std = new Array<number>(nd).fill(0);
  for (const f of feats) for (let j = 0; j < nd; j++) mean[j]! += f.dense[j]! / feats.length;
  for (const f of feats) for (let j = 0; j < nd; j++) std[j]! += (f.dense[j]! - mean[j]!) ** 2 / feats.length;
  for (let j = 0; j < nd; j++) std[j] = Math.sqrt(std[j]!) || 1;
  const scaled = feats.map((f) => Float64Array.from(f.dense, (v, j) => (v - mean[j]!) / std[j]!));

  // Parameters: [bias, hashed..., dense...] in one vector so Adam treats them alike.
  const n = 1 + nh + nd;
  const w = new Float64Array(n);
  const mAdam = new Float64Array(n);
  const vAdam = new Float64Array(n);
  const g = new Float64Array(n);
  const pos = examples.reduce((s, e) => s + e.label * (e.weight ?? 1), 0);
  w[0] = Math.log((pos + 1) / (totalW - pos + 1));
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;

  for (let it = 1; it <= iterations; it++) {
    g.fill(0);
    let loss = 0;
    for (let k = 0; k < examples.length; k++) {
      const f = feats[k]!;
      const x = scaled[k]!;
      let z = w[0]!;
      for (const i of f.bag.indices) z += w[1 + i]! * f.bag.value;
      for (let j = 0; j < nd; j++) z += w[1 + nh + j]! * x[j]!;
      const p = sigmoid(z);
      const y = examples[k]!.label;
      const sw = (examples[k]!.weight ?? 1) / totalW;
      loss -= sw * (y ? Math.log(p + 1e-12) : Math.log(1 - p + 1e-12));
      const r = sw * (p - y);
      g[0]! += r;
      for (const i of f.bag.indices) g[1 + i]! += r * f.bag.value;
      for (let j = 0; j < nd; j++) g[1 + nh + j]! += r * x[j]!;
    }
    for (let i = 1; i < n; i++) {
      g[i]! += l2 * w[i]!;
      loss += 0.5 * l2 * w[i]! * w[i]!;
    }
    for (let i = 0; i < n; i++) {
      mAdam[i] = b1 * mAdam[i]! + (1 - b1) * g[i]!;
      vAdam[i] = b2 * vAdam[i]! + (1 - b2) * g[i]! * g[i]!;
      const mh = mAdam[i]! / (1 - b1 ** it);
      const vh = vAdam[i]! / (1 - b2 ** it);
      w[i]! -= (lr * mh) / (Math.sqrt(vh) + eps);
    }
    opts.onIteration?.(it, loss);
  }

  const round = (x: number) => Math.round(x * 1e5) / 1e5;
  return {
    format: "costwise-router-classifier",
    version: opts.version ?? "dev",
    featureVersion: FEATURE_VERSION,
    hashBits,
    bias: round(w[0]!),
    hashedWeights: Array.from(w.subarray(1, 1 + nh), round),
    dense: { names: [...DENSE_FEATURES], mean: mean.map(round), std: std.map((s) => Math.max(round(s), 1e-5)), weights: Array.from(w.subarray(1 + nh), round) },
    training: { l2, iterations, learningRate: lr, rows: examples.length, ...(opts.training ?? {}) },
  };
}
