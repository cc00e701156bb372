import { cosine, type Embedder } from "@costwise/embeddings";

export interface Verdict {
  /** The fresh answer and the cached one are interchangeable for the asker. */
  readonly equivalent: boolean;
  /** The judge's score when it has one (cosine for the embedding judge). */
  readonly score: number | null;
  /** What judging cost, nano-USD (0 for a local model). */
  readonly costNanoUsd: number;
}

/**
 * The judge the cache asks whether a cached answer could have been served instead of a fresh one.
 * Narrow on purpose: an LLM judge plugs in behind the same port.
 */
export interface AnswerVerifier {
  readonly name: string;
  verify(input: { query: string; cachedAnswer: string; freshAnswer: string }): Promise<Verdict>;
  /**
   * What the judge keeps of an answer when it is learned, so that two cached answers can be
   * compared later without a call (`sameAnswer`); null when it keeps nothing. Only for judges
   * that cost nothing per call: this runs for every learned entry.
   */
  answerVector?(answer: string): Promise<Float32Array | null>;
  /** The judge's verdict on two cached answers from what their entries hold; null when it cannot tell. */
  sameAnswer?(a: CachedAnswerView, b: CachedAnswerView): boolean | null;
}

export interface CachedAnswerView {
  readonly content: string;
  readonly vector: Float32Array | null;
}

/**
 * Answers are interchangeable when their embeddings are at least `minCosine` apart in cosine.
 * Cheap (a local model, two short texts) and blind to details a sentence model smooths over, so
 * its agreement with labelled data is measured by `npm run eval:cache -- --verifier-data`.
 * `keepAnswerVectors` (a local model: free) embeds each learned answer once, so the decision rule
 * can ask whether two cached neighbours' answers agree without a call.
 */
export function embeddingAnswerVerifier(embedder: Embedder, minCosine: number, opts: { keepAnswerVectors?: boolean } = {}): AnswerVerifier {
  return {
    name: `embedding:${embedder.name}:${minCosine}`,
    async verify({ cachedAnswer, freshAnswer }) {
      if (cachedAnswer === freshAnswer) return { equivalent: true, score: 1, costNanoUsd: 0 };
      const [a, b] = await embedder.embed([cachedAnswer, freshAnswer]);
      const score = cosine(a!.vector, b!.vector);
      return { equivalent: score >= minCosine, score, costNanoUsd: a!.costNanoUsd + b!.costNanoUsd };
    },
    ...(opts.keepAnswerVectors
      ? {
          async answerVector(answer: string) {
            const [a] = await embedder.embed([answer]);
            return a!.vector;
          },
          sameAnswer(a: CachedAnswerView, b: CachedAnswerView) {
            if (a.content === b.content) return true;
            return a.vector && b.vector ? cosine(a.vector, b.vector) >= minCosine : null;
          },
        }
      : {}),
  };
}
