import type { ContextChunk } from "@costwise/schemas";
import { renderContext } from "@costwise/schemas";

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

/** A meter for one request: context counts are memoised, as strategies re-measure the same context. */
export function tokenMeter(count: (text: string) => number): TokenMeter {
  const memo = new Map<string, number>();
  return {
    text: count,
    context: (chunks) => {
      if (chunks.length === 0) return 0;
      const rendered = renderContext(chunks) + QUESTION_JOIN;
      let n = memo.get(rendered);
      if (n === undefined) memo.set(rendered, (n = count(rendered)));
      return n;
    },
  };
}
