import type { ContextChunk } from "@costwise/schemas";
import type { z } from "zod";
import type { tightenSchema } from "../policy.ts";
import { bm25Scores, normaliseMax } from "../relevance.ts";
import { cosine, jaccard, shingles, terms } from "../text.ts";
import type { StepInput, StepResult, Strategy } from "./types.ts";

export type TightenParams = z.infer<typeof tightenSchema>;

function rankScores(p: TightenParams, chunks: readonly ContextChunk[], question: string): number[] {
  if (p.rank_by === "retriever") return chunks.map((c) => c.score);
  return normaliseMax(bm25Scores(chunks.map((c) => c.text), question));
}

/** Indices in rank order (best first; ties keep the original order). */
const byRank = (scores: readonly number[]) => scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);

/**
 * Retrieval tightening: drop chunks below the relevance floor, then near-duplicates of better
 * chunks, then keep the top-k (plain rank or MMR for diversity). Chunks are removed whole, so
 * ids and texts of the survivors are untouched; survivors keep their original order. If that
 * would leave less than the token floor, the best-ranked dropped chunks come back until it is met.
 */
export function tightenChunks(p: TightenParams, input: Pick<StepInput, "chunks" | "question" | "budget" | "tokens">): ContextChunk[] {
  const { chunks } = input;
  if (chunks.length === 0) return [];
  const scores = rankScores(p, chunks, input.question);
  const ranked = byRank(scores);

  let candidates = ranked.filter((i) => p.min_score === undefined || scores[i]! >= p.min_score);
  const sh = chunks.map((c) => shingles(c.text));
  const unique: number[] = [];
  for (const i of candidates) if (!unique.some((j) => jaccard(sh[i]!, sh[j]!) >= p.dedupe_threshold)) unique.push(i);
  candidates = unique;

  let kept: number[];
  if (p.top_k === undefined || candidates.length <= p.top_k) kept = candidates;
  else if (p.mmr_lambda === undefined) kept = candidates.slice(0, p.top_k);
  else kept = mmr(candidates, scores, chunks.map((c) => terms(c.text)), p.top_k, p.mmr_lambda);

  const keptSet = new Set(kept);
  const size = () => input.tokens.context([...keptSet].sort((a, b) => a - b).map((i) => chunks[i]!));
  for (const i of ranked) {
    if (size() >= input.budget.floorTokens) break;
    keptSet.add(i);
  }
  return chunks.filter((_, i) => keptSet.has(i));
}

function mmr(candidates: readonly number[], scores: readonly number[], bags: readonly string[][], k: number, lambda: number): number[] {
  const rel = new Map<number, number>();
  const max = Math.max(...candidates.map((i) => scores[i]!));
  const min = Math.min(...candidates.map((i) => scores[i]!));
  // MMR needs relevance and similarity on the same [0, 1] scale: non-negative scores are divided by
  // the best one (keeping their proportions); other ranges (dot products) are min-max scaled.
  for (const i of candidates) {
    const s = scores[i]!;
    rel.set(i, min >= 0 ? (max > 0 ? s / max : 1) : max === min ? 1 : (s - min) / (max - min));
  }
  const chosen: number[] = [];
  const left = [...candidates];
  while (chosen.length < k && left.length > 0) {
    let best = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    left.forEach((i, pos) => {
      const redundancy = chosen.reduce((m, j) => Math.max(m, cosine(bags[i]!, bags[j]!)), 0);
      const value = lambda * rel.get(i)! - (1 - lambda) * redundancy;
      if (value > bestValue) [best, bestValue] = [pos, value];
    });
    chosen.push(left.splice(best, 1)[0]!);
  }
  return chosen;
}

export function tightenStrategy(p: TightenParams): Strategy {
  return { name: "tighten", run: (input): StepResult => ({ chunks: tightenChunks(p, input) }) };
}
