import { z } from "zod";
import { knnScore, type KnnIndex } from "./knn.ts";

/**
 * A stacked semantic score: the regression's p, the kNN vote of the training rows and prompt
 * length, each put on a common scale (its rank among the training rows' out-of-fold scores) and
 * blended with weights fitted by inner grouped cross-validation. The three views win on different
 * kinds of traffic (length on GSM8K, kNN on clustered topics, the regression on MMLU).
 */
export const STACK_BASES = ["semantic", "knn", "length"] as const;
export type StackBase = (typeof STACK_BASES)[number];

const perBase = <T extends z.ZodTypeAny>(t: T) => z.object({ semantic: t, knn: t, length: t });

export const stackSchema = z.object({
  weights: perBase(z.number().min(0).max(1)),
  /** Sorted out-of-fold scores per base: a new score's rank among them is its blended scale. */
  cdf: perBase(z.array(z.number()).min(1)),
  knn: z.object({
    k: z.number().int().positive(),
    labels: z.array(z.union([z.literal(0), z.literal(1)])),
    /** The labelled rows' embeddings: little-endian float32, row after row, base64. */
    vectors: z.string().min(1),
  }),
});
export type StackSpec = z.infer<typeof stackSchema>;

export interface Stack {
  readonly weights: Readonly<Record<StackBase, number>>;
  readonly cdf: Readonly<Record<StackBase, readonly number[]>>;
}

/** Share of the sorted reference scores strictly below x, plus half the ties: a rank in [0, 1]. */
export function cdfOf(sorted: readonly number[], x: number): number {
  if (sorted.length === 0) return 0.5;
  let lo = 0, hi = sorted.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid]! < x) lo = mid + 1; else hi = mid; }
  let up = lo;
  while (up < sorted.length && sorted[up] === x) up++;
  return (lo + (up - lo) / 2) / sorted.length;
}

export function blend(stack: Stack, base: Readonly<Record<StackBase, number>>): number {
  let s = 0;
  for (const b of STACK_BASES) if (stack.weights[b] > 0) s += stack.weights[b] * cdfOf(stack.cdf[b], base[b]);
  return s;
}

export function encodeVectors(vectors: readonly ArrayLike<number>[], dimensions: number): string {
  const all = new Float32Array(vectors.length * dimensions);
  vectors.forEach((v, i) => all.set(Array.from(v), i * dimensions));
  return Buffer.from(all.buffer, all.byteOffset, all.byteLength).toString("base64");
}

const indexes = new WeakMap<StackSpec, KnnIndex>();

/** The kNN index of a stack, decoded once per loaded model. */
export function stackIndex(spec: StackSpec, dimensions: number): KnnIndex {
  let index = indexes.get(spec);
  if (!index) {
    const buf = Buffer.from(spec.knn.vectors, "base64");
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    if (all.length !== spec.knn.labels.length * dimensions) throw new RangeError(`stack kNN index holds ${all.length} floats for ${spec.knn.labels.length} rows of ${dimensions}`);
    const vectors = Array.from({ length: spec.knn.labels.length }, (_, i) => all.subarray(i * dimensions, (i + 1) * dimensions));
    index = { vectors, labels: spec.knn.labels };
    indexes.set(spec, index);
  }
  return index;
}

/** The blended score of one request from the regression's p, its embedding and its length signal (log1p of the user text's characters). */
export function stackedScore(spec: StackSpec, dimensions: number, p: number, vector: ArrayLike<number>, logUserChars: number): number {
  return blend(spec, { semantic: p, knn: knnScore(stackIndex(spec, dimensions), vector, spec.knn.k), length: logUserChars });
}
