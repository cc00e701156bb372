import { strongWins, type EvalSet } from "./dataset.ts";
import { strategyResult } from "./evaluate.ts";
import { groupFolds } from "./folds.ts";
import type { EmbeddedSet } from "./semantic.ts";
import type { Scores } from "./strategies.ts";

/**
 * kNN with its neighbourhood chosen on the training rows alone: how many neighbours vote (k) and
 * how sharply the vote favours the closest (a softmax over similarity with temperature t; t = 0
 * means the baseline's linear similarity weight). The grid is searched by inner grouped CV on the
 * training folds, so the rows being scored never influence the choice.
 */
export interface TunedKnnOptions {
  readonly ks?: readonly number[];
  readonly temperatures?: readonly number[];
  readonly innerFolds?: number;
}

export interface TunedKnnChoice { readonly k: number; readonly temperature: number; readonly innerApgr: number }

const KS = [5, 10, 20, 40, 80];
const TEMPERATURES = [0, 0.05, 0.02];

interface Neighbour { readonly s: number; readonly y: number }

/** The `k` most similar training rows to q, most similar first. */
function nearest(e: EmbeddedSet, train: readonly number[], labels: readonly number[], q: ArrayLike<number>, k: number): Neighbour[] {
  const top: Neighbour[] = [];
  for (let j = 0; j < train.length; j++) {
    const v = e.vectors[train[j]!]!;
    let s = 0;
    for (let d = 0; d < q.length; d++) s += q[d]! * v[d]!;
    if (top.length < k) { top.push({ s, y: labels[j]! }); if (top.length === k) top.sort((a, b) => b.s - a.s); }
    else if (s > top[k - 1]!.s) {
      let i = k - 1;
      while (i > 0 && top[i - 1]!.s < s) { top[i] = top[i - 1]!; i--; }
      top[i] = { s, y: labels[j]! };
    }
  }
  return top.length < k ? top.sort((a, b) => b.s - a.s) : top;
}

/** The vote of the first k neighbours (most similar first). */
export function vote(top: readonly Neighbour[], k: number, temperature: number): number {
  const n = Math.min(k, top.length);
  if (n === 0) return 0.5;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    const t = top[i]!;
    const w = temperature > 0 ? Math.exp((t.s - top[0]!.s) / temperature) : Math.max(t.s, 0) + 1e-6;
    num += w * t.y;
    den += w;
  }
  return num / den;
}

const pick = (set: EvalSet, idx: readonly number[]): EvalSet => ({ ...set, rows: idx.map((i) => set.rows[i]!) });

export function chooseKnn(e: EmbeddedSet, train: readonly number[], opts: TunedKnnOptions = {}, seed = 0): TunedKnnChoice {
  const ks = opts.ks ?? KS, temps = opts.temperatures ?? TEMPERATURES, folds = opts.innerFolds ?? 5;
  const kMax = Math.max(...ks);
  const f = groupFolds(train.map((i) => e.set.rows[i]!.groupId), folds, 104729 + seed);
  const tops: Neighbour[][] = new Array(train.length);
  for (let fold = 0; fold < folds; fold++) {
    const inner = train.filter((_, j) => f[j] !== fold);
    const labels = inner.map((i) => strongWins(e.set.rows[i]!));
    train.forEach((i, j) => { if (f[j] === fold) tops[j] = nearest(e, inner, labels, e.vectors[i]!, kMax); });
  }
  const sub = pick(e.set, train);
  let best: TunedKnnChoice | null = null;
  for (const k of ks) for (const temperature of temps) {
    const apgr = strategyResult(sub, "knn", tops.map((t) => vote(t, k, temperature))).metrics.apgr ?? -Infinity;
    // Ties go to the earlier (smaller, smoother) setting.
    if (!best || apgr > best.innerApgr + 1e-9) best = { k, temperature, innerApgr: apgr };
  }
  return best!;
}

/** A fold scorer for cvScores: choose (k, t) on the training folds, then vote for the held-out fold. */
export function tunedKnnScorer(e: EmbeddedSet, opts: TunedKnnOptions = {}, seed = 0, seen?: (c: TunedKnnChoice) => void) {
  return (train: readonly number[], test: readonly number[]): Scores => {
    const c = chooseKnn(e, train, opts, seed);
    seen?.(c);
    const labels = train.map((i) => strongWins(e.set.rows[i]!));
    return test.map((i) => vote(nearest(e, train, labels, e.vectors[i]!, c.k), c.k, c.temperature));
  };
}
