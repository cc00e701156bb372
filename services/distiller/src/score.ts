import type { PriceCatalog } from "@costwise/pricing";
import { judgeAnswers, type ChatPort, type Judgement, type TextEmbedder } from "@costwise/judging";
import type { UseCaseDistillPolicy } from "./policy.ts";

/** Unit vectors for texts (and what each cost, for an embedder billed by API); the local embedder of @costwise/embeddings fits. */
export type SemanticEmbedder = TextEmbedder;

export interface ScoreDeps {
  readonly chat: ChatPort;
  readonly catalog: PriceCatalog;
  /** Needed by use cases with scorer "embedding" or "semantic". */
  readonly embedder: SemanticEmbedder | null;
}

/** Scorers that compare sentence embeddings, and so need the embedder. */
export const EMBEDDING_SCORERS: ReadonlySet<string> = new Set(["embedding", "semantic"]);

/**
 * Agreement of the candidate's answer with the frontier answer, by the use case's scorer: the
 * router's own judges, so readiness is measured exactly as the distilled route's fallback will be
 * after the switch. "semantic" is the former name of the embedding judge (the local sentence model).
 */
export async function scoreAnswers(candidate: string, frontier: string, uc: UseCaseDistillPolicy, request: string, requestId: string, deps: ScoreDeps, signal?: AbortSignal): Promise<Judgement> {
  const s = uc.shadow;
  return judgeAnswers(candidate, frontier, {
    method: s.scorer === "semantic" ? "embedding" : s.scorer, similarity: s.similarity, judgeModel: s.judgeModel, chat: deps.chat, catalog: deps.catalog,
    embedder: deps.embedder, request, requestId, ...(signal ? { signal } : {}),
  });
}
