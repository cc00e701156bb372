import type { ContextChunk } from "@costwise/schemas";
import type { Logger } from "@costwise/stream-runtime";
import type { TokenMeter } from "../tokens.ts";

/** What one request may keep: at most `targetTokens` of context, never less than `floorTokens`. */
export interface Budget {
  readonly targetTokens: number;
  readonly floorTokens: number;
}

export interface StepInput {
  /** The context as the previous strategy left it, in the original order. */
  readonly chunks: readonly ContextChunk[];
  /** The user's question (the last user message); read, never changed. */
  readonly question: string;
  readonly budget: Budget;
  readonly tokens: TokenMeter;
  readonly useCase: string;
  readonly requestId: string;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

export interface StepResult {
  readonly chunks: readonly ContextChunk[];
  /** Nano-USD this step spent (model calls), recorded on the request. */
  readonly overheadNanoUsd?: number;
}

/** One compression strategy, configured for a use case. It only ever returns chunks of its input, in order, ids unchanged. */
export interface Strategy {
  readonly name: string;
  run(input: StepInput): StepResult | Promise<StepResult>;
}
