import { chDateTime } from "@costwise/clickhouse-writer";
import { costOf, type ModelPrice, type PriceCatalog } from "@costwise/pricing";
import type { ChatPort } from "@costwise/judging";
import type { LlmResponse } from "@costwise/schemas";
import { PoisonMessageError } from "@costwise/stream-runtime";
import type { PendingPrompt } from "./capture.ts";
import { inferencePriceOf } from "./prices.ts";
import type { UseCaseDistillPolicy } from "./policy.ts";
import { scoreAnswers, type ScoreDeps } from "./score.ts";

export const DISTILL_TABLES = { samples: "distill_samples", shadow: "distill_shadow" } as const;

/** One `costwise.distill_shadow` row. */
export interface DistillShadowRow {
  request_id: string;
  tenant: string;
  use_case: string;
  ts: string;
  judged_at: string;
  frontier_model: string;
  candidate_model: string;
  scorer: string;
  agreement: number;
  agreed: 0 | 1;
  decided: 0 | 1;
  judge_error: string;
  frontier_answer_chars: number;
  candidate_answer_chars: number;
  frontier_input_tokens: number;
  frontier_output_tokens: number;
  frontier_cost_nanousd: number;
  candidate_input_tokens: number;
  candidate_output_tokens: number;
  candidate_cost_nanousd: number;
  judge_cost_nanousd: number;
  candidate_latency_ms: number;
  price_catalog_version: string;
  version: number;
}

/** ClickHouse DateTime text in UTC. */

export interface ShadowDeps extends ScoreDeps {
  readonly now: () => number;
}

export type ShadowResult = { readonly row: DistillShadowRow } | { readonly dropped: string };

/**
 * Call the use case's candidate model on the exact messages the frontier model answered, in
 * shadow (the answer goes nowhere but the comparison), and score the two answers. Transient
 * provider failures throw (the runtime retries); a call the provider refuses drops the comparison.
 */
export async function shadowCompare(p: PendingPrompt, res: LlmResponse, uc: UseCaseDistillPolicy, deps: ShadowDeps, signal?: AbortSignal, model?: ModelPrice): Promise<ShadowResult> {
  // `model`: evaluate a model other than the policy's candidate (a freshly fine-tuned one, the base as baseline).
  const candidate = model ?? uc.candidate!;
  let answer;
  const started = deps.now();
  try {
    answer = await deps.chat.chat({ model: candidate.id, messages: p.messages, maxTokens: p.maxTokens, temperature: p.temperature, requestId: p.request_id, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (err instanceof PoisonMessageError) return { dropped: `candidate call refused: ${(err as Error).message}` };
    throw err;
  }
  const latencyMs = Math.max(0, deps.now() - started);
  const request = p.messages.filter((m) => m.role === "user").at(-1)?.content ?? "";
  let judgement;
  try {
    judgement = await scoreAnswers(answer.content, res.content ?? "", uc, request, p.request_id, deps, signal);
  } catch (err) {
    if (!(err instanceof PoisonMessageError)) throw err;
    judgement = { agreement: null, agreed: null, costNanoUsd: 0, error: `judge call refused: ${(err as Error).message}` };
  }
  const candidatePrice = inferencePriceOf(deps.catalog, answer.model) ?? candidate;
  const frontierPrice = res.model ? inferencePriceOf(deps.catalog, res.model) : null;
  const frontierUsage = { inputTokens: res.input_tokens, cachedInputTokens: Math.min(res.cached_input_tokens, res.input_tokens), cacheWriteInputTokens: 0, outputTokens: res.output_tokens };
  return {
    row: {
      request_id: p.request_id, tenant: p.tenant, use_case: p.use_case, ts: chDateTime(p.created_at), judged_at: chDateTime(deps.now()),
      frontier_model: res.model ?? "", candidate_model: candidate.id, scorer: uc.shadow.scorer,
      agreement: judgement.agreement ?? 0, agreed: judgement.agreed ? 1 : 0, decided: judgement.agreed === null ? 0 : 1, judge_error: judgement.error ?? "",
      frontier_answer_chars: (res.content ?? "").length, candidate_answer_chars: answer.content.length,
      frontier_input_tokens: res.input_tokens, frontier_output_tokens: res.output_tokens,
      frontier_cost_nanousd: frontierPrice ? costOf(frontierPrice, frontierUsage).totalNanoUsd : 0,
      candidate_input_tokens: answer.usage.inputTokens, candidate_output_tokens: answer.usage.outputTokens,
      candidate_cost_nanousd: costOf(candidatePrice, answer.usage).totalNanoUsd, judge_cost_nanousd: judgement.costNanoUsd,
      candidate_latency_ms: latencyMs,
      price_catalog_version: deps.catalog.version, version: deps.now(),
    },
  };
}
