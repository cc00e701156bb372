import { emptyPipelineState, topics, type CostRecord, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { baselineUsageOf, buildCostRecord, findModel, nanoUsdToUsd, NO_USAGE, type ModelPrice, type PriceCatalog, type Usage } from "@costwise/pricing";
import { output, type Output } from "@costwise/stream-runtime";
import { afterFailure, type DeadlinePolicy, type Disposition } from "./policy.ts";
import type { LineFailure, LineResult } from "./results.ts";
import type { StoredRequest } from "./stored.ts";

/** Kafka header carrying the batch attempt of a request sent back to llm.requests.batch after a failed line. */
export const ATTEMPT_HEADER = "costwise-batch-attempt";
/** The stage name under which the batch path's time is recorded in pipeline.stage_ms. */
export const STAGE = "batch";

export interface BatchContext {
  readonly batchId: string;
  readonly providerBatchId: string | null;
  /** The model the batch ran (all its requests share it). */
  readonly price: ModelPrice;
  readonly submittedAt: number | null;
  /** Set when an operator cancelled the batch: what its unfinished requests get. */
  readonly cancelDisposition: "realtime" | "error" | null;
}

export interface DecideDeps {
  readonly catalog: PriceCatalog;
  readonly defaultModel: string | null;
  readonly policy: DeadlinePolicy;
  /** The provider adapter's parser of a successful body; throws when the body is unusable. */
  readonly parse: (body: unknown, model: string) => { content: string; usage: Usage };
}

export type DecisionKind = "ok" | Disposition;

/** What happens to one request of a finished batch, as data. */
export interface Decision {
  readonly customId: string;
  readonly requestId: string;
  readonly kind: DecisionKind;
  readonly outputs: readonly Output[];
  /** Set when the provider rejected the request itself: its bytes go to the dead-letter topic. */
  readonly deadLetter: string | null;
  /** The request's new claim ("retry:N" lets attempt N claim it again, "rt" ends it here); null keeps this batch's. */
  readonly claim: string | null;
}

function baselineModelOf(req: LlmRequest, catalog: PriceCatalog, defaultModel: string | null): ModelPrice | null {
  const m = req.model ?? defaultModel;
  return m ? findModel(catalog, m) ?? null : null;
}

function responseBase(req: LlmRequest) {
  return { request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, created_at: req.created_at, cache_source_request_id: null };
}

/** The request with the batch path's time added to pipeline.stage_ms, for the next stage it goes to. */
export function annotate(req: LlmRequest, ms: number): LlmRequest {
  const p = req.pipeline ?? emptyPipelineState();
  return { ...req, pipeline: { ...p, stage_ms: { ...p.stage_ms, [STAGE]: (p.stage_ms[STAGE] ?? 0) + Math.max(0, ms) } } };
}

/** An ERROR response and its (zero-cost) cost record for a request the batch path ends here. */
export function errorOutputs(req: LlmRequest, code: string, reason: string, model: string | null, now: number, catalog: PriceCatalog, extra: { batchId?: string | null; attempts?: number } = {}): Output[] {
  const record: CostRecord = buildCostRecord(
    {
      request: req, status: "ERROR", errorCode: code, servedBy: "BATCH", model: null, usage: NO_USAGE, mode: "batch", baselineModel: null, baselineUsage: NO_USAGE,
      completedAt: now, batchId: extra.batchId ?? null, ...(extra.attempts !== undefined ? { attempts: extra.attempts } : {}),
    },
    catalog,
  );
  const response: LlmResponse = {
    ...responseBase(req), status: "ERROR", content: null, error: reason, error_code: code, model, provider: null,
    served_by: "BATCH", input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, cost_usd: 0, latency_ms: record.latency_ms,
  };
  return [output(topics.responses, response), output(topics.costRecords, record)];
}

function success(line: { customId: string; body: unknown }, s: StoredRequest, ctx: BatchContext, deps: DecideDeps, now: number): Decision | LineFailure {
  let parsed: { content: string; usage: Usage };
  try {
    parsed = deps.parse(line.body, ctx.price.id);
  } catch (err) {
    return { customId: line.customId, ok: false, retryable: true, kind: "error", code: "malformed_response", message: (err as Error).message };
  }
  const req = s.request;
  const record = buildCostRecord(
    {
      request: req, status: "OK", errorCode: null, servedBy: "BATCH", model: ctx.price, usage: parsed.usage, mode: "batch",
      baselineModel: baselineModelOf(req, deps.catalog, deps.defaultModel), baselineUsage: baselineUsageOf(req, parsed.usage), completedAt: now,
      attempts: s.attempt, batchId: ctx.providerBatchId ?? ctx.batchId,
      queueDelayMs: Math.max(0, (ctx.submittedAt ?? now) - s.acceptedAt), stageMs: { [STAGE]: Math.max(0, now - s.acceptedAt) },
    },
    deps.catalog,
  );
  const response: LlmResponse = {
    ...responseBase(req), status: "OK", content: parsed.content, error: null, error_code: null, model: ctx.price.id, provider: ctx.price.provider,
    served_by: "BATCH", input_tokens: parsed.usage.inputTokens, cached_input_tokens: parsed.usage.cachedInputTokens, output_tokens: parsed.usage.outputTokens,
    cost_usd: nanoUsdToUsd(record.cost_nanousd), latency_ms: record.latency_ms,
  };
  return { customId: line.customId, requestId: req.request_id, kind: "ok", outputs: [output(topics.responses, response), output(topics.costRecords, record)], deadLetter: null, claim: null };
}

function failure(f: LineFailure, s: StoredRequest, ctx: BatchContext, deps: DecideDeps, now: number): Decision {
  const req = s.request;
  const base = { customId: f.customId, requestId: req.request_id };
  const what = `batch ${ctx.providerBatchId ?? ctx.batchId}: ${f.kind} (${f.code}): ${f.message}`;
  const disposition: Disposition =
    f.kind === "cancelled" && ctx.cancelDisposition === "error"
      ? "error"
      : afterFailure({ retryable: f.retryable, allowBatch: f.kind !== "failed" && f.kind !== "cancelled", deadline: req.deadline_ms, attempt: s.attempt, now }, deps.policy);
  const forwarded = annotate(req, now - s.acceptedAt);
  switch (disposition) {
    case "batch": {
      const next = s.attempt + 1;
      return { ...base, kind: "batch", outputs: [{ topic: topics.batch, value: forwarded, headers: { [ATTEMPT_HEADER]: String(next) } }], deadLetter: null, claim: `retry:${next}` };
    }
    case "realtime":
      return { ...base, kind: "realtime", outputs: [output(topics.ready, forwarded)], deadLetter: null, claim: "rt" };
    case "error": {
      const code = !f.retryable ? "INVALID_PARAMETER" : f.kind === "cancelled" && ctx.cancelDisposition === "error" ? "BATCH_CANCELLED" : "DEADLINE_EXCEEDED";
      const reason = !f.retryable
        ? `provider rejected the request: ${f.message}`
        : code === "BATCH_CANCELLED"
          ? `the batch was cancelled by an operator: ${what}`
          : `no time left before the deadline to retry: ${what}`;
      return {
        ...base, kind: "error",
        outputs: errorOutputs(req, code, reason, ctx.price.id, now, deps.catalog, { batchId: ctx.providerBatchId ?? ctx.batchId, attempts: s.attempt }),
        deadLetter: f.retryable ? null : `${code}: ${reason}`,
        claim: null,
      };
    }
  }
}

/** The outcome of one request of a finished batch: answered, retried in a batch, sent real time, or failed. */
export function decide(line: LineResult, s: StoredRequest, ctx: BatchContext, deps: DecideDeps, now: number): Decision {
  if (line.ok) {
    const d = success(line, s, ctx, deps, now);
    return "ok" in d ? failure(d, s, ctx, deps, now) : d;
  }
  return failure(line, s, ctx, deps, now);
}
