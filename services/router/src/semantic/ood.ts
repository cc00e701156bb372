import { z } from "zod";
import { seededRandom } from "@costwise/seeded";

/**
 * Out-of-distribution guard. A threshold calibrated on one kind of traffic says nothing about
 * another (the general model's threshold applied to math questions kept 0.80 of strong quality
 * where it promised 0.95), so a request far from everything the model was trained on is routed
 * more conservatively. "Far" is measured against the training embeddings' spherical k-means
 * centroids (a few dozen 384-float vectors: tens of microseconds per request) and judged by how
 * close rows of groups the centroids were NOT fitted on come: below the `full` similarity (a low
 * quantile of those held-out rows) the request goes to the strong model, between `full` and
 * `none` its score is raised towards 1 in proportion.
 */
export const oodSchema = z.object({
  centroids: z.array(z.array(z.number())).min(1),
  /** Nearest-centroid similarity at or below which the score becomes 1. */
  full: z.number(),
  /** Nearest-centroid similarity at or above which the score is left as it is. */
  none: z.number(),
  /** Which held-out quantiles `full` and `none` are, and how many held-out rows they came from. */
  quantiles: z.object({ full: z.number(), none: z.number(), rows: z.number().int() }),
});
export type OodGuard = z.infer<typeof oodSchema>;

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Similarity (dot product of unit vectors) to the nearest centroid. */
export function nearestSimilarity(centroids: readonly ArrayLike<number>[], v: ArrayLike<number>): number {
  let best = -Infinity;
  for (const c of centroids) {
    const s = dot(c, v);
    if (s > best) best = s;
  }
  return best;
}

/** How far the score is pulled towards "strong": 0 inside the training data, 1 beyond `full`. */
export function oodPull(g: Pick<OodGuard, "full" | "none">, similarity: number): number {
  if (similarity >= g.none) return 0;
  if (similarity <= g.full || g.none <= g.full) return 1;
  return (g.none - similarity) / (g.none - g.full);
}

export function guardScore(g: OodGuard, vector: ArrayLike<number>, p: number): { score: number; similarity: number; pull: number } {
  const similarity = nearestSimilarity(g.centroids, vector);
  const pull = oodPull(g, similarity);
  return { score: p + (1 - p) * pull, similarity, pull };
}

/** Spherical k-means (unit centroids, cosine assignment), seeded: the same rows give the same centroids. */
export function sphericalKMeans(vectors: readonly ArrayLike<number>[], k: number, opts: { iterations?: number; seed?: number } = {}): Float64Array[] {
  if (vectors.length === 0) throw new RangeError("k-means needs vectors");
  const rand = seededRandom(opts.seed ?? 17);
  const dim = vectors[0]!.length, kk = Math.min(k, vectors.length);
  // k-means++-style seeding on cosine distance, so small clusters (a benchmark of 48 rows next to 4,000) get a centroid.
  const cs: Float64Array[] = [Float64Array.from(vectors[Math.floor(rand() * vectors.length)]!)];
  const far = vectors.map((v) => 1 - dot(cs[0]!, v));
  while (cs.length < kk) {
    const total = far.reduce((s, d) => s + Math.max(d, 0), 0);
    let r = rand() * total, pick = 0;
    for (; pick < vectors.length - 1; pick++) { r -= Math.max(far[pick]!, 0); if (r <= 0) break; }
    const c = Float64Array.from(vectors[pick]!);
    cs.push(c);
    vectors.forEach((v, i) => (far[i] = Math.min(far[i]!, 1 - dot(c, v))));
  }
  for (let it = 0; it < (opts.iterations ?? 10); it++) {
    const sums = cs.map(() => new Float64Array(dim));
    for (const v of vectors) {
      let best = 0, bs = -Infinity;
      for (let j = 0; j < cs.length; j++) { const s = dot(cs[j]!, v); if (s > bs) { bs = s; best = j; } }
      const t = sums[best]!;
      for (let d = 0; d < dim; d++) t[d]! += v[d]!;
    }
    sums.forEach((s, j) => {
      const n = Math.sqrt(dot(s, s));
      if (n > 0) cs[j] = s.map((x) => x / n);
    });
  }
  return cs;
}

/** Centroid count by training size: about √n, between 4 and 64. */
export const centroidCount = (rows: number) => Math.max(4, Math.min(64, Math.round(Math.sqrt(rows))));

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))))]!;

/**
 * Fit the guard: centroids on all rows; `full` and `none` from the similarity of each fold's rows
 * to centroids fitted on the other folds (folds by group), so they describe new requests of the
 * kind the model was trained on, not rows that helped place the centroids.
 */
export function fitOodGuard(vectors: readonly ArrayLike<number>[], folds: readonly number[], opts: { full?: number; none?: number; k?: number } = {}): OodGuard {
  const k = opts.k ?? centroidCount(vectors.length);
  const nFolds = Math.max(...folds) + 1;
  const held: number[] = [];
  for (let f = 0; f < nFolds; f++) {
    const train = vectors.filter((_, i) => folds[i] !== f), test = vectors.filter((_, i) => folds[i] === f);
    if (train.length === 0 || test.length === 0) continue;
    const cs = sphericalKMeans(train, opts.k ?? centroidCount(train.length), { seed: 17 + f });
    for (const v of test) held.push(nearestSimilarity(cs, v));
  }
  held.sort((a, b) => a - b);
  const qFull = opts.full ?? 0.01, qNone = opts.none ?? 0.1;
  const round = (x: number) => Math.round(x * 1e5) / 1e5;
  return {
    centroids: sphericalKMeans(vectors, k).map((c) => Array.from(c, round)),
    full: round(quantile(held, qFull)),
    none: round(quantile(held, qNone)),
    quantiles: { full: qFull, none: qNone, rows: held.length },
  };
}
