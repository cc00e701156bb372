/**
 * The kNN baseline: the k labelled neighbours nearest by cosine (unit vectors: a dot product) vote
 * on "the strong model wins", each weighted by its similarity. Brute force: a few thousand
 * labelled rows of 384 floats is well under a millisecond per query.
 */
export interface KnnIndex {
  readonly vectors: readonly ArrayLike<number>[];
  readonly labels: readonly number[];
}

export function knnScore(index: KnnIndex, q: ArrayLike<number>, k: number): number {
  const n = index.vectors.length;
  if (n === 0) return 0.5;
  const kk = Math.min(k, n);
  const top: { s: number; y: number }[] = [];
  for (let i = 0; i < n; i++) {
    const v = index.vectors[i]!;
    let s = 0;
    for (let d = 0; d < q.length; d++) s += q[d]! * v[d]!;
    if (top.length < kk) {
      top.push({ s, y: index.labels[i]! });
      if (top.length === kk) top.sort((a, b) => a.s - b.s);
    } else if (s > top[0]!.s) {
      top[0] = { s, y: index.labels[i]! };
      top.sort((a, b) => a.s - b.s);
    }
  }
  let num = 0, den = 0;
  for (const t of top) {
    const wgt = Math.max(t.s, 0) + 1e-6;
    num += wgt * t.y;
    den += wgt;
  }
  return num / den;
}
