import type { ContextChunk } from "@costwise/schemas";
import { renderContextParts } from "@costwise/schemas";

/**
 * Token figures of a context as the model is billed for it. `context(chunks)` counts exactly what
 * the executor adds in front of the question (the framing sentence, `[id] text` blocks and the
 * "Question:" join), so before − after equals the prompt tokens compression removed.
 */
export interface TokenMeter {
  text(s: string): number;
  context(chunks: readonly ContextChunk[]): number;
}

// renderMessages writes `${block}\n\nQuestion: ${content}`; the space before the question's first
// word belongs to that word's token, so it is left out here.
const QUESTION_JOIN = "\n\nQuestion:";

/**
 * A meter for one request. A context is counted piece by piece (framing, then one block per
 * chunk): the pieces meet where the tokenizer always cuts, so the sum is the count of the whole
 * rendering, and strategies that re-measure subsets of the same chunks count each chunk once when
 * `count` is memoised (as `countTextTokens` is).
 */
export function tokenMeter(count: (text: string) => number): TokenMeter {
  return {
    text: count,
    context: (chunks) => {
      if (chunks.length === 0) return 0;
      const parts = renderContextParts(chunks);
      parts[parts.length - 1] += QUESTION_JOIN;
      return parts.reduce((n, part) => n + count(part), 0);
    },
  };
}
