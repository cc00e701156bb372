import type { ContextChunk } from "@costwise/schemas";
import { z } from "zod";
import type { externalSchema } from "../policy.ts";
import type { StepInput, StepResult, Strategy } from "./types.ts";

export type ExternalParams = z.infer<typeof externalSchema>;

/** Why the external compressor's answer was not used; the context stays as the previous strategy left it. */
export class ExternalCompressorError extends Error {
  constructor(
    message: string,
    readonly reason: "timeout" | "http" | "network" | "invalid_response",
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The wire contract, modelled on LLMLingua-2's `compress_prompt(context: list[str], rate=…, force_tokens=…)`:
 *   POST <url>  {"context": ["chunk text", …], "question": "…", "rate": 0.5, "force_tokens": ["\n", "."]}
 *   200         {"compressed_prompt_list": ["compressed chunk text", …]}   (same length and order as context)
 * Extra response fields (origin_tokens, compressed_tokens, ratio…) are ignored.
 */
const responseSchema = z.object({ compressed_prompt_list: z.array(z.string()) }).passthrough();

export interface ExternalCompressor {
  compress(req: { context: readonly string[]; question: string; rate: number; forceTokens: readonly string[]; timeoutMs?: number; signal?: AbortSignal }): Promise<string[]>;
}

export function httpExternalCompressor(opts: { url: string; timeoutMs: number; fetch?: typeof fetch }): ExternalCompressor {
  const doFetch = opts.fetch ?? fetch;
  return {
    async compress(req) {
      const timeoutMs = req.timeoutMs ?? opts.timeoutMs;
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
      let res: Response;
      let body: unknown;
      try {
        res = await doFetch(opts.url, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ context: req.context, question: req.question, rate: req.rate, force_tokens: req.forceTokens }),
          signal,
        });
        body = res.ok ? await res.json() : await res.text();
      } catch (err) {
        if (req.signal?.aborted) throw err;
        if (timeout.aborted) throw new ExternalCompressorError(`external compressor did not answer within ${timeoutMs} ms`, "timeout");
        if (err instanceof SyntaxError) throw new ExternalCompressorError(`external compressor answered invalid JSON: ${err.message}`, "invalid_response");
        throw new ExternalCompressorError(`external compressor unreachable: ${(err as Error).message}`, "network");
      }
      if (!res.ok) throw new ExternalCompressorError(`external compressor answered HTTP ${res.status}: ${String(body).slice(0, 200)}`, "http");
      const parsed = responseSchema.safeParse(body);
      if (!parsed.success) throw new ExternalCompressorError(`external compressor answer lacks compressed_prompt_list: ${parsed.error.issues[0]?.message ?? ""}`, "invalid_response");
      const list = parsed.data.compressed_prompt_list;
      if (list.length !== req.context.length) {
        throw new ExternalCompressorError(`external compressor returned ${list.length} texts for ${req.context.length} chunks`, "invalid_response");
      }
      return list;
    },
  };
}

export interface ExternalDeps {
  readonly compressor: ExternalCompressor;
  readonly onFallback?: (reason: string) => void;
}

/**
 * Token-level compression by an external service (LLMLingua-2 or alike), one text per chunk so
 * ids survive. Any failure (timeout, HTTP error, malformed answer) falls back to the input, which is
 * the result of the strategies before it, typically the extractive one. A compressed chunk that is
 * empty or not shorter keeps its input text.
 */
export async function compressExternally(p: ExternalParams, deps: ExternalDeps, input: Pick<StepInput, "chunks" | "question" | "tokens" | "logger" | "signal">): Promise<ContextChunk[]> {
  if (input.chunks.length === 0) return [];
  let list: string[];
  try {
    list = await deps.compressor.compress({
      context: input.chunks.map((c) => c.text),
      question: input.question,
      rate: p.rate,
      forceTokens: p.force_tokens,
      ...(p.timeout_ms !== undefined ? { timeoutMs: p.timeout_ms } : {}),
      ...(input.signal ? { signal: input.signal } : {}),
    });
  } catch (err) {
    if (!(err instanceof ExternalCompressorError)) throw err;
    deps.onFallback?.(err.reason);
    input.logger.warn({ err: err.message, reason: err.reason }, "external compressor failed: keeping the previous result");
    return [...input.chunks];
  }
  return input.chunks.map((c, i) => {
    const t = list[i]!.trim();
    return t !== "" && input.tokens.text(t) < input.tokens.text(c.text) ? { id: c.id, text: t, score: c.score } : c;
  });
}

export function externalStrategy(p: ExternalParams, deps: ExternalDeps): Strategy {
  return { name: "external", run: async (input): Promise<StepResult> => ({ chunks: await compressExternally(p, deps, input) }) };
}
