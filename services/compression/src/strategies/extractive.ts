import type { ContextChunk } from "@costwise/schemas";
import type { z } from "zod";
import type { extractiveSchema } from "../policy.ts";
import { bm25Scores, normaliseMax } from "../relevance.ts";
import { splitSentences } from "../text.ts";
import type { StepInput, StepResult, Strategy } from "./types.ts";

export type ExtractiveParams = z.infer<typeof extractiveSchema>;

interface Unit {
  readonly chunk: number;
  readonly text: string;
  readonly tokens: number;
  score: number;
}

/**
 * Query-aware extractive compression: score every sentence against the question (BM25, plus a
 * share of its chunk's relevance and of its best neighbour's), keep the best ones that fit the
 * token budget, and write them back in their original order. Sentences are kept or dropped whole;
 * a chunk with no sentence left is dropped, the others keep their id and score.
 * Two limits outrank the budget: a sentence is never cut (when even the best one is larger than
 * the budget, it is kept alone) and the floor is always met (the next best sentences are added).
 */
export function extractChunks(p: ExtractiveParams, input: Pick<StepInput, "chunks" | "question" | "budget" | "tokens">): ContextChunk[] {
  const { chunks, budget, tokens } = input;
  if (chunks.length === 0) return [];
  if (tokens.context(chunks) <= budget.targetTokens) return [...chunks];

  const units: Unit[] = [];
  chunks.forEach((c, ci) => splitSentences(c.text).forEach((s) => {
    if (s.text.trim() !== "") units.push({ chunk: ci, text: s.text, tokens: tokens.text(s.text), score: 0 });
  }));
  if (units.length === 0) return [...chunks];
  const sentenceRel = normaliseMax(bm25Scores(units.map((u) => u.text), input.question));
  const chunkRel = normaliseMax(bm25Scores(chunks.map((c) => c.text), input.question));
  units.forEach((u, i) => {
    const prev = units[i - 1]?.chunk === u.chunk ? sentenceRel[i - 1]! : 0;
    const next = units[i + 1]?.chunk === u.chunk ? sentenceRel[i + 1]! : 0;
    u.score = sentenceRel[i]! + p.chunk_weight * chunkRel[u.chunk]! + p.neighbour_weight * Math.max(prev, next);
  });

  const order = units.map((_, i) => i).sort((a, b) => units[b]!.score - units[a]!.score || a - b);
  // Framing and per-chunk "[id] " cost tokens too; estimate them once, then check the exact figure.
  const frame = tokens.context([{ id: "", text: "", score: 0 }]);
  const idCost = chunks.map((c) => tokens.text(`[${c.id}] `) + 1);
  const chosen = new Set<number>();
  const open = new Set<number>();
  let estimate = frame;
  for (const i of order) {
    const u = units[i]!;
    const cost = u.tokens + (open.has(u.chunk) ? 0 : idCost[u.chunk]!);
    if (estimate + cost > budget.targetTokens) continue;
    chosen.add(i);
    open.add(u.chunk);
    estimate += cost;
  }
  // Even the best sentence exceeds the budget: keep it alone rather than cut it or keep everything.
  if (chosen.size === 0) chosen.add(order[0]!);

  const build = () => rebuild(chunks, units, chosen);
  let out = build();
  // BPE merges across sentence joins can shift the exact count by a few tokens: trim the weakest.
  for (const i of [...order].reverse()) {
    if (tokens.context(out) <= budget.targetTokens || chosen.size <= 1) break;
    if (chosen.delete(i)) out = build();
  }
  // The floor outranks the budget: top up with the next best sentences until it is met.
  for (const i of order) {
    if (tokens.context(out) >= budget.floorTokens) break;
    if (!chosen.has(i)) {
      chosen.add(i);
      out = build();
    }
  }
  return out;
}

function rebuild(chunks: readonly ContextChunk[], units: readonly Unit[], chosen: ReadonlySet<number>): ContextChunk[] {
  const texts = chunks.map(() => "");
  units.forEach((u, i) => {
    if (chosen.has(i)) texts[u.chunk] += u.text;
  });
  const out: ContextChunk[] = [];
  chunks.forEach((c, ci) => {
    const t = texts[ci]!.trim();
    if (t !== "") out.push({ id: c.id, text: t, score: c.score });
  });
  return out;
}

export function extractiveStrategy(p: ExtractiveParams): Strategy {
  return { name: "extractive", run: (input): StepResult => ({ chunks: extractChunks(p, input) }) };
}
