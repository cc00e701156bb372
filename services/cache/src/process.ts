import { encodeVector } from "@costwise/embeddings";
import { buildCostRecord, findModel, nanoUsdToUsd, NO_USAGE, type PriceCatalog } from "@costwise/pricing";
import { emptyPipelineState, renderMessages, topics, type CacheVerification, type LlmOutcome, type LlmRequest, type LlmResponse, type Message, type PipelineState } from "@costwise/schemas";
import { emit, errorMessage, output, skip, type Outcome, type ProcessContext, type ProcessFn } from "@costwise/stream-runtime";
import type { CacheEngine, LookupResult } from "./engine.ts";
import type { CacheFeedback } from "./feedback.ts";
import type { CacheMetrics } from "./metrics.ts";
import type { CacheStore } from "./store.ts";
import { chargeOverhead, recordStage } from "@costwise/lifecycle";

export interface CacheProcessDeps {
  readonly engine: CacheEngine;
  readonly store: Pick<CacheStore, "putPending">;
  readonly catalog: PriceCatalog;
  /** Prompt tokens as billed (`countChatTokens` from @costwise/providers). */
  readonly countTokens: (messages: readonly Message[], model: string) => number;
  /** The caller's model when a request names none: the baseline a hit is priced against. */
  readonly defaultModel: string | null;
  /** How long a miss waits for its response to be learned. */
  readonly pendingTtlMs: number;
  readonly now: () => number;
  readonly metrics?: CacheMetrics;
  /** The embedding model's name, put on forwarded requests with their query vector. */
  readonly embeddingModel?: string | null;
  /** What one judgement costs (0 for the embedding judge), charged to the request that needs it. */
  readonly verifyCostNanoUsd?: number;
  /** Outcomes (llm.outcomes) of the hits served: failures count against the entry that answered. */
  readonly feedback?: CacheFeedback;
}

/**
 * The request as it leaves the cache: lookup outcome, time spent and lookup cost on `pipeline`,
 * and the query's embedding when the lookup computed one (the router reuses it). A request the
 * cache will have judged against a neighbour (near miss, exploration) carries the judge's cost
 * as `overhead.cache_verify`.
 */
export function annotate(
  req: LlmRequest, status: string, ms: number, costNanoUsd: number,
  extra: { embedding?: { model: string; vector: Float32Array } | null; verifyNanoUsd?: number } = {},
): LlmRequest {
  const p = chargeOverhead(chargeOverhead(req.pipeline ?? emptyPipelineState(), "embedding", costNanoUsd), "cache_verify", extra.verifyNanoUsd ?? 0);
  const timed = recordStage({ ...req, pipeline: p }, "cache", ms);
  return {
    ...timed,
    pipeline: {
      ...timed.pipeline!, cache_lookup: status,
      embedding: extra.embedding ? { model: extra.embedding.model, vector: encodeVector(extra.embedding.vector) } : p.embedding,
    },
  };
}

/**
 * The cache stage. Requests (llm.requests): a hit ends the request with an LlmResponse and its
 * CostRecord (no model call; the saving is the caller's model priced on this prompt and the cached
 * answer's length, minus the lookup cost); anything else continues to llm.requests.uncached with
 * `pipeline.cache_lookup` set, leaving a pending record so its answer can be learned. Responses
 * (llm.responses): answers to pending misses are stored. Never fails a request: a down store or
 * embedder makes a miss.
 */
export function createProcess(deps: CacheProcessDeps): ProcessFn<LlmRequest | LlmResponse | CacheVerification | LlmOutcome> {
  const hit = (req: LlmRequest, r: LookupResult, ms: number): Outcome => {
    const entry = r.entry!;
    const servedBy = r.status === "HIT_EXACT" ? "CACHE_EXACT" : "CACHE_SEMANTIC";
    const request = annotate(req, r.status, ms, r.costNanoUsd);
    const now = deps.now();
    const baseline = findModel(deps.catalog, req.model ?? deps.defaultModel ?? "") ?? null;
    const promptTokens = baseline ? deps.countTokens(renderMessages(req), baseline.id) : 0;
    const record = buildCostRecord(
      {
        request, status: "OK", errorCode: null, servedBy, model: null, usage: NO_USAGE, mode: "realtime",
        baselineModel: baseline, baselineUsage: { ...NO_USAGE, inputTokens: promptTokens, outputTokens: entry.answer.output_tokens },
        completedAt: now, cacheSourceRequestId: entry.source_request_id,
      },
      deps.catalog,
    );
    const response: LlmResponse = {
      request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, status: "OK", content: entry.answer.content, error: null, error_code: null,
      model: entry.answer.model, provider: entry.answer.provider, served_by: servedBy,
      input_tokens: entry.answer.input_tokens, cached_input_tokens: entry.answer.cached_input_tokens, output_tokens: entry.answer.output_tokens,
      cost_usd: nanoUsdToUsd(r.costNanoUsd), latency_ms: Math.max(0, now - req.created_at),
      finish_reason: entry.answer.finish_reason ?? "stop", tool_calls: (entry.answer.tool_calls ?? []).map((c) => ({ ...c })), refusal: null,
      cache_write_input_tokens: 0, reasoning_tokens: 0,
      cache_source_request_id: entry.source_request_id, created_at: req.created_at,
    };
    return emit(output(topics.responses, response), output(topics.costRecords, record));
  };

  const onRequest = async (req: LlmRequest, ctx: ProcessContext): Promise<Outcome> => {
    const started = deps.now();
    const r = await deps.engine.lookup(req);
    deps.metrics?.lookups.inc({ use_case: req.use_case, result: r.status });
    if (r.status === "HIT_EXACT" || r.status === "HIT_SEMANTIC") {
      try {
        await deps.feedback?.served(req, r);
      } catch (err) {
        // The hit is served regardless; only its outcome will not find the entry.
        ctx.logger.debug({ err: errorMessage(err) }, "served hit not remembered");
      }
      return hit(req, r, deps.now() - started);
    }
    if (r.status === "DEGRADED") ctx.logger.debug({ reason: r.reason }, "cache lookup degraded");
    const pending = deps.engine.pendingFor(req, r);
    if (pending) {
      try {
        await deps.store.putPending(pending, deps.pendingTtlMs);
      } catch (err) {
        // The request goes on regardless; only its answer will not be learned.
        ctx.logger.debug({ err: errorMessage(err) }, "pending record not written");
      }
    }
    const embedding = r.vector && deps.embeddingModel ? { model: deps.embeddingModel, vector: r.vector } : null;
    return emit(output(topics.uncached, annotate(req, r.status, deps.now() - started, r.costNanoUsd, {
      embedding, ...(r.verify ? { verifyNanoUsd: deps.verifyCostNanoUsd ?? 0 } : {}),
    })));
  };

  const onResponse = async (res: LlmResponse, ctx: ProcessContext): Promise<Outcome> => {
    let result: string;
    let job: CacheVerification | null = null;
    try {
      const learned = await deps.engine.learn(res);
      result = learned.result;
      job = learned.verification;
    } catch (err) {
      // A lost cache entry costs one future miss; retrying would hold up the partition behind a down Redis.
      result = "store_failed";
      ctx.logger.debug({ err: errorMessage(err) }, "response not learned");
    }
    deps.metrics?.learned.inc({ result });
    // Judging waits for its own topic: neither the request path nor learning pays for it.
    return job ? emit(output(topics.cacheVerifications, job)) : skip(`learn: ${result}`);
  };

  const onVerification = async (job: CacheVerification, ctx: ProcessContext): Promise<Outcome> => {
    let result: string;
    try {
      result = await deps.engine.verify(job);
    } catch (err) {
      // Evidence is a sample: a lost judgement costs a little evidence, never an answer.
      result = "failed";
      ctx.logger.debug({ err: errorMessage(err) }, "verification not recorded");
    }
    deps.metrics?.verifications.inc({ result, kind: job.explored ? "explore" : "near_miss" });
    return skip(`verify: ${result}`);
  };

  const onOutcome = async (o: LlmOutcome, ctx: ProcessContext): Promise<Outcome> => {
    if (!deps.feedback) return skip("outcome: no feedback");
    let result: string;
    try {
      result = await deps.feedback.outcome(o);
    } catch (err) {
      // Evidence again: a lost outcome costs one count, never an answer, and never holds up the partition.
      result = "failed";
      ctx.logger.debug({ err: errorMessage(err) }, "outcome not counted");
    }
    deps.metrics?.outcomes.inc({ result });
    if (result === "invalidated") ctx.logger.info({ request_id: o.request_id, use_case: o.use_case }, "cache entry invalidated after failed outcomes");
    // Unusable outcomes are the sink's to dead-letter (one copy in llm.dlq, not one per consumer).
    return skip(`outcome: ${result}`);
  };

  return (value, ctx) => {
    if (ctx.envelope.topic === topics.outcomes.name) return onOutcome(value as LlmOutcome, ctx);
    if (ctx.envelope.topic === topics.responses.name) return onResponse(value as LlmResponse, ctx);
    if (ctx.envelope.topic === topics.cacheVerifications.name) return onVerification(value as CacheVerification, ctx);
    return onRequest(value as LlmRequest, ctx);
  };
}
