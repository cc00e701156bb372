import { topics, type LlmRequest } from "@costwise/schemas";
import { costOf, type ModelPrice, type PriceCatalog, type Usage } from "@costwise/pricing";
import { answer, baselineModel, chargeRequest, fail, providerUnknownModel, recordStage, rejectionReason } from "@costwise/lifecycle";
import { output, type Output } from "@costwise/stream-runtime";
import { afterFailure, type DeadlinePolicy, type Disposition } from "./policy.ts";
import type { ParsedAnswer } from "./provider-api.ts";
import { isModelNotFound, type LineFailure, type LineResult } from "./results.ts";
import type { StoredRequest } from "./stored.ts";

/** Kafka header carrying the batch attempt of a request sent back to llm.requests.batch after a failed line. */
export const ATTEMPT_HEADER = "costwise-batch-attempt";
/** The stage name under which the batch path's time is recorded in pipeline.stage_ms. */
export const STAGE = "batch";
/** The overhead source (pipeline.overhead key) of batch lines the provider billed but costwise could not use. */
export const WASTED_LINE = "batch";

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
  readonly parse: (body: unknown, model: string) => ParsedAnswer;
  /** The usage a successful body bills even when `parse` rejects it; null when it states none. */
  readonly billed: (body: unknown) => Usage | null;
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

/** The request with the batch path's time added to pipeline.stage_ms, for the next stage it goes to. */
export function annotate(req: LlmRequest, ms: number): LlmRequest {
  return recordStage(req, STAGE, ms);
}

/** A line that failed; `billed` is what the provider charged for it anyway (a body costwise could not use). */
type Failed = LineFailure & { readonly billed?: Usage | null };

function success(line: { customId: string; body: unknown }, s: StoredRequest, ctx: BatchContext, deps: DecideDeps, now: number): Decision | Failed {
  let parsed: ParsedAnswer;
  try {
    parsed = deps.parse(line.body, ctx.price.id);
  } catch (err) {
    return { customId: line.customId, ok: false, retryable: true, kind: "error", code: "malformed_response", message: (err as Error).message, billed: deps.billed(line.body) };
  }
  const req = s.request;
  const done = answer({
    request: req, servedBy: "BATCH", catalog: deps.catalog, completedAt: now, content: parsed.content, model: ctx.price, usage: parsed.usage,
    finishReason: parsed.finishReason ?? null, toolCalls: parsed.toolCalls ?? [], refusal: parsed.refusal ?? null,
    baselineModel: baselineModel(req, deps.catalog, deps.defaultModel), attempts: s.attempt, batchId: ctx.providerBatchId ?? ctx.batchId,
    queueDelayMs: Math.max(0, (ctx.submittedAt ?? now) - s.acceptedAt), stageMs: { [STAGE]: Math.max(0, now - s.acceptedAt) },
  });
  return { customId: line.customId, requestId: req.request_id, kind: "ok", outputs: done.outputs, deadLetter: null, claim: null };
}

function failure(f: Failed, s: StoredRequest, ctx: BatchContext, deps: DecideDeps, now: number): Decision {
  // The provider billed the unusable line at the batch price: that spend is costwise's, charged to
  // the request whichever way it goes next (another batch, real time or an error).
  const wasted = f.billed ? costOf(ctx.price, f.billed, "batch", deps.catalog.version).totalNanoUsd : 0;
  const req = chargeRequest(s.request, WASTED_LINE, wasted);
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
      return { ...base, kind: "batch", outputs: [{ ...output(topics.batch, forwarded), headers: { [ATTEMPT_HEADER]: String(next) } }], deadLetter: null, claim: `retry:${next}` };
    }
    case "realtime":
      return { ...base, kind: "realtime", outputs: [output(topics.ready, forwarded)], deadLetter: null, claim: "rt" };
    case "error": {
      const unknown = !f.retryable && isModelNotFound(f.code) ? providerUnknownModel(ctx.price.id, f.message) : null;
      const code = unknown ? unknown.code : !f.retryable ? "INVALID_PARAMETER" : f.kind === "cancelled" && ctx.cancelDisposition === "error" ? "BATCH_CANCELLED" : "DEADLINE_EXCEEDED";
      const reason = unknown
        ? unknown.reason
        : !f.retryable
        ? `provider rejected the request: ${f.message}`
        : code === "BATCH_CANCELLED"
          ? `the batch was cancelled by an operator: ${what}`
          : `no time left before the deadline to retry: ${what}`;
      return {
        ...base, kind: "error",
        outputs: fail({ request: req, servedBy: "BATCH", catalog: deps.catalog, completedAt: now, code, reason, model: ctx.price.id, batchId: ctx.providerBatchId ?? ctx.batchId, attempts: s.attempt }).outputs,
        deadLetter: f.retryable ? null : rejectionReason(code, reason),
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
