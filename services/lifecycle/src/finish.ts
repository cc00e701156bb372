import { topics, type CostRecord, type LlmRequest, type LlmResponse, type ServedBy, type ToolCall } from "@costwise/schemas";
import { baselineUsageOf, buildCostRecord, nanoUsdToUsd, NO_USAGE, type ModelPrice, type PriceCatalog, type Usage } from "@costwise/pricing";
import { deadLetter, output, type Outcome, type Output } from "@costwise/stream-runtime";

/** What every way of finishing a request knows. */
export interface Finishing {
  readonly request: LlmRequest;
  readonly servedBy: ServedBy;
  readonly catalog: PriceCatalog;
  readonly completedAt: number;
  /** Batches the request went through (1 for real time). */
  readonly attempts?: number;
  readonly batchId?: string | null;
}

export interface Answer extends Finishing {
  readonly content: string;
  /** The model that answered (after any provider fallback). */
  readonly model: ModelPrice;
  readonly usage: Usage;
  /** The naive call's model (see `baselineModel`); null when there is nothing to compare with. */
  readonly baselineModel: ModelPrice | null;
  readonly queueDelayMs?: number;
  /** stop | length | tool_calls | content_filter, as the provider reported it. */
  readonly finishReason?: string | null;
  readonly toolCalls?: readonly ToolCall[];
  readonly refusal?: string | null;
  /** This stage's time, added to the request's own stage timings in the cost record. */
  readonly stageMs?: Record<string, number>;
}

export interface Failure extends Finishing {
  /** A stable code (the response's error_code), e.g. INPUT_TOO_LARGE. */
  readonly code: string;
  /** A sentence for the caller. */
  readonly reason: string;
  /** The model the request was meant for, when known (shown on the response). */
  readonly model: string | null;
}

export interface Finished {
  readonly response: LlmResponse;
  readonly record: CostRecord;
  /** The response and the cost record, ready to emit. */
  readonly outputs: readonly [Output, Output];
}

function responseBase(req: LlmRequest) {
  return { request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, created_at: req.created_at, cache_source_request_id: null };
}

const pricingMode = (servedBy: ServedBy) => (servedBy === "BATCH" ? "batch" : "realtime");

function finished(response: LlmResponse, record: CostRecord): Finished {
  return { response, record, outputs: [output(topics.responses, response), output(topics.costRecords, record)] };
}

/** An OK response and its cost record, priced from the catalog against the request's baseline. */
export function answer(a: Answer): Finished {
  const req = a.request;
  const record = buildCostRecord(
    {
      request: req, status: "OK", errorCode: null, servedBy: a.servedBy, model: a.model, usage: a.usage, mode: pricingMode(a.servedBy),
      baselineModel: a.baselineModel, baselineUsage: baselineUsageOf(req, a.usage), completedAt: a.completedAt,
      ...(a.attempts !== undefined ? { attempts: a.attempts } : {}),
      ...(a.batchId !== undefined ? { batchId: a.batchId } : {}),
      ...(a.queueDelayMs !== undefined ? { queueDelayMs: a.queueDelayMs } : {}),
      ...(a.stageMs ? { stageMs: a.stageMs } : {}),
    },
    a.catalog,
  );
  const response: LlmResponse = {
    ...responseBase(req), status: "OK", content: a.content, error: null, error_code: null, model: a.model.id, provider: a.model.provider,
    served_by: a.servedBy, input_tokens: a.usage.inputTokens, cached_input_tokens: a.usage.cachedInputTokens, output_tokens: a.usage.outputTokens,
    cost_usd: nanoUsdToUsd(record.cost_nanousd), latency_ms: record.latency_ms,
    finish_reason: a.finishReason ?? null, tool_calls: (a.toolCalls ?? []).map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })), refusal: a.refusal ?? null,
    cache_write_input_tokens: a.usage.cacheWriteInputTokens, reasoning_tokens: a.usage.reasoningTokens ?? 0,
  };
  return finished(response, record);
}

/** An ERROR response with the reason and its zero-cost cost record: the request ends here, nothing was called. */
export function fail(f: Failure): Finished {
  const req = f.request;
  const record = buildCostRecord(
    {
      request: req, status: "ERROR", errorCode: f.code, servedBy: f.servedBy, model: null, usage: NO_USAGE, mode: pricingMode(f.servedBy),
      baselineModel: null, baselineUsage: NO_USAGE, completedAt: f.completedAt,
      ...(f.attempts !== undefined ? { attempts: f.attempts } : {}),
      ...(f.batchId !== undefined ? { batchId: f.batchId } : {}),
    },
    f.catalog,
  );
  const response: LlmResponse = {
    ...responseBase(req), status: "ERROR", content: null, error: f.reason, error_code: f.code, model: f.model, provider: null,
    served_by: f.servedBy, input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, cost_usd: 0, latency_ms: record.latency_ms,
    finish_reason: null, tool_calls: [], refusal: null, cache_write_input_tokens: 0, reasoning_tokens: 0,
  };
  return finished(response, record);
}

/** The dead-letter reason of a rejection: code first, so operators can group by it. */
export function rejectionReason(code: string, reason: string): string {
  return `${code}: ${reason}`;
}

/** A request that can never succeed: ERROR response and cost record, and its input dead-lettered with the reason. */
export function reject(f: Failure): Outcome {
  return deadLetter(rejectionReason(f.code, f.reason), ...fail(f).outputs);
}
