import type { ContextChunk } from "@costwise/schemas";
import { costOf, findModel, type PriceCatalog, type Usage } from "@costwise/pricing";
import type { z } from "zod";
import type { summariseSchema } from "../policy.ts";
import type { StepInput, StepResult, Strategy } from "./types.ts";

export type SummariseParams = z.infer<typeof summariseSchema>;

/** The one provider call the summariser makes (see @costwise/providers `chat`). */
export interface SummariserChat {
  chat(req: { model: string; messages: readonly { role: string; content: string }[]; maxTokens?: number | null; temperature?: number | null; requestId?: string; signal?: AbortSignal }): Promise<{
    content: string;
    model: string;
    usage: Usage;
  }>;
}

export interface SummariseDeps {
  readonly chat: SummariserChat;
  readonly catalog: PriceCatalog;
  readonly onCallError?: (err: unknown) => void;
}

export const SUMMARY_INSTRUCTIONS =
  "You shorten documents retrieved for a question-answering system. Rewrite the document keeping only the " +
  "sentences, names, numbers and dates that could help answer the question, in the document's own words. " +
  "Do not answer the question, do not add anything, do not mention that you shortened it.";

/** Output cap of one summary: `target_ratio` of the chunk, at most `max_summary_tokens`, at least 16. */
export const summaryMaxTokens = (p: Pick<SummariseParams, "target_ratio" | "max_summary_tokens">, chunkTokens: number): number =>
  Math.max(16, Math.min(p.max_summary_tokens, Math.ceil(chunkTokens * p.target_ratio)));

/**
 * Summarisation of long chunks by a cheap model, focused on the question. Each chunk at least
 * `min_chunk_tokens` long is rewritten in one call (calls run concurrently; the provider layer
 * bounds them); a summary that is not shorter is discarded. Every call's cost is priced from the
 * catalog and returned, whether or not its summary was kept. A failed call keeps the chunk as it
 * was: compression must not fail a request that could be served uncompressed.
 */
export async function summariseChunks(p: SummariseParams, deps: SummariseDeps, input: Pick<StepInput, "chunks" | "question" | "tokens" | "requestId" | "logger" | "signal">): Promise<{ chunks: ContextChunk[]; overheadNanoUsd: number }> {
  let overhead = 0;
  const out = await Promise.all(
    input.chunks.map(async (c): Promise<ContextChunk> => {
      const size = input.tokens.text(c.text);
      if (size < p.min_chunk_tokens) return c;
      const maxTokens = summaryMaxTokens(p, size);
      try {
        const res = await deps.chat.chat({
          model: p.model,
          messages: [
            { role: "system", content: SUMMARY_INSTRUCTIONS },
            { role: "user", content: `Question: ${input.question}\n\nDocument:\n${c.text}` },
          ],
          maxTokens,
          temperature: 0,
          requestId: input.requestId,
          ...(input.signal ? { signal: input.signal } : {}),
        });
        const price = findModel(deps.catalog, res.model);
        if (price) overhead += costOf(price, res.usage, "realtime", deps.catalog.version).totalNanoUsd;
        else input.logger.warn({ model: res.model }, "summariser model not in the price catalog: its cost is not recorded");
        const summary = res.content.trim();
        return summary !== "" && input.tokens.text(summary) < size ? { id: c.id, text: summary, score: c.score } : c;
      } catch (err) {
        if (input.signal?.aborted) throw err;
        deps.onCallError?.(err);
        input.logger.warn({ err: (err as Error).message, chunk: c.id }, "summary failed: chunk kept as it was");
        return c;
      }
    }),
  );
  return { chunks: out, overheadNanoUsd: overhead };
}

export function summariseStrategy(p: SummariseParams, deps: SummariseDeps): Strategy {
  return { name: "summarise", run: (input): Promise<StepResult> => summariseChunks(p, deps, input) };
}
