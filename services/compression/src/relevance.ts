import MiniSearch from "minisearch";
import { normaliseTerm, splitWords } from "./text.ts";

/**
 * Query relevance of each document: MiniSearch's BM25+ (k1 1.2, b 0.7, δ 0.5) over stemmed,
 * stopword-free terms, times the number of distinct query terms matched. Documents sharing no
 * term with the query score 0. Scores are comparable within one call only.
 */
export function bm25Scores(docs: readonly string[], query: string): number[] {
  const scores = new Array<number>(docs.length).fill(0);
  if (docs.length === 0) return scores;
  const index = new MiniSearch<{ id: number; text: string }>({
    fields: ["text"],
    idField: "id",
    tokenize: splitWords,
    processTerm: (t) => normaliseTerm(t) ?? false,
  });
  index.addAll(docs.map((text, id) => ({ id, text })));
  for (const r of index.search(query, { combineWith: "OR" })) scores[r.id as number] = r.score;
  return scores;
}

/** Scale to [0, 1] by the maximum (all zeros stay zeros). */
export function normaliseMax(xs: readonly number[]): number[] {
  const max = xs.reduce((m, x) => Math.max(m, x), 0);
  return max > 0 ? xs.map((x) => x / max) : xs.map(() => 0);
}
