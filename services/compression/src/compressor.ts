import type { CompressionInfo, ContextChunk } from "@costwise/schemas";
import type { Logger } from "@costwise/stream-runtime";
import { budgetOf, policyFor, type CompressionPolicy, type UseCasePolicy } from "./policy.ts";
import type { Strategy } from "./strategies/types.ts";
import { tokenMeter } from "./tokens.ts";

export interface CompressInput {
  readonly chunks: readonly ContextChunk[];
  readonly question: string;
  readonly useCase: string;
  readonly requestId: string;
  /** Tokens of a text with the tokenizer of the model the request will be sent to. */
  readonly countTokens: (text: string) => number;
  /** Context tokens the model can still take (window − rest of the prompt − max_tokens); caps the budget. */
  readonly roomTokens?: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

export interface CompressOutcome {
  readonly chunks: readonly ContextChunk[];
  /** null when the request had no context. */
  readonly info: CompressionInfo | null;
  /** Integer nano-USD spent by strategies (summariser calls). */
  readonly overheadNanoUsd: number;
  /** Strategies whose output was refused (it grew the context or went below the floor). */
  readonly refused: readonly string[];
}

export type Compressor = (input: CompressInput) => Promise<CompressOutcome>;

/**
 * Run a use case's strategies in order over a request's context. Each strategy sees the previous
 * one's output; one that would grow the context or take it below the floor is refused (its cost,
 * if any, is still counted). Contexts at or below the floor are not touched.
 */
export function createCompressor(policy: CompressionPolicy, strategyOf: (useCase: string, p: UseCasePolicy) => readonly Strategy[]): Compressor {
  const chains = new Map<string, { p: UseCasePolicy; steps: readonly Strategy[] }>();
  const chainFor = (useCase: string) => {
    let c = chains.get(useCase);
    if (!c) {
      const p = policyFor(policy, useCase);
      c = { p, steps: strategyOf(useCase, p) };
      chains.set(useCase, c);
    }
    return c;
  };

  return async (input) => {
    if (input.chunks.length === 0) return { chunks: [], info: null, overheadNanoUsd: 0, refused: [] };
    const { p, steps } = chainFor(input.useCase);
    const tokens = tokenMeter(input.countTokens);
    const before = tokens.context(input.chunks);
    const budget = budgetOf(p, before, input.roomTokens);
    const perStrategy: Record<string, number> = {};
    const applied: string[] = [];
    const refused: string[] = [];
    let chunks: readonly ContextChunk[] = input.chunks;
    let current = before;
    let overhead = 0;

    if (before > p.floor_tokens) {
      for (const step of steps) {
        const res = await step.run({ chunks, question: input.question, budget, tokens, useCase: input.useCase, requestId: input.requestId, logger: input.logger, ...(input.signal ? { signal: input.signal } : {}) });
        overhead += res.overheadNanoUsd ?? 0;
        const after = tokens.context(res.chunks);
        if (after > current || after < budget.floorTokens) {
          refused.push(step.name);
          input.logger.debug({ strategy: step.name, before: current, after, floor: budget.floorTokens }, "strategy result refused");
        } else {
          if (after < current) applied.push(step.name);
          chunks = res.chunks;
          current = after;
        }
        perStrategy[step.name] = current;
      }
    }
    return {
      chunks,
      info: { strategy: applied.length > 0 ? applied.join("+") : "none", context_tokens_before: before, context_tokens_after: current, per_strategy_tokens: perStrategy },
      overheadNanoUsd: overhead,
      refused,
    };
  };
}
