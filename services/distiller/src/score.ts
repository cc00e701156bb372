import type { PriceCatalog } from "@costwise/pricing";
import { judgeAnswers, type ChatPort, type Judgement } from "@costwise/judging";
import type { UseCaseDistillPolicy } from "./policy.ts";

/** Unit vectors for texts; the local all-MiniLM-L6-v2 embedder of @costwise/embeddings fits. */
export interface SemanticEmbedder {
  embed(texts: readonly string[]): Promise<readonly { readonly vector: Float32Array }[]>;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

export interface ScoreDeps {
  readonly chat: ChatPort;
  readonly catalog: PriceCatalog;
  /** The local sentence model: needed by use cases scored "embedding" or "semantic". */
  readonly embedder: SemanticEmbedder | null;
}

/**
 * Agreement of the candidate's answer with the frontier answer, by the use case's scorer. The
 * exact, structured, embedding (hashed word vectors) and LLM-judge scorers are the router's own
 * judges, so readiness is measured exactly as the distilled route's fallback will be after the
 * switch; "semantic" compares sentence embeddings of the local model.
 */
export async function scoreAnswers(candidate: string, frontier: string, uc: UseCaseDistillPolicy, request: string, requestId: string, deps: ScoreDeps, signal?: AbortSignal): Promise<Judgement> {
  const s = uc.shadow;
  if (s.scorer === "semantic") {
    if (!deps.embedder) return { agreement: null, agreed: null, costNanoUsd: 0, error: "no embedder for the semantic scorer" };
    const [a, b] = await deps.embedder.embed([candidate, frontier]);
    const sim = cosine(a!.vector, b!.vector);
    return { agreement: sim, agreed: sim >= s.similarity, costNanoUsd: 0, error: null };
  }
  return judgeAnswers(candidate, frontier, {
    method: s.scorer, similarity: s.similarity, judgeModel: s.judgeModel, chat: deps.chat, catalog: deps.catalog, request, requestId, embedder: deps.embedder,
    ...(signal ? { signal } : {}),
  });
}
