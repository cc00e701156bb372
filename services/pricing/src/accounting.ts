import type { CostRecord, LlmRequest, ResponseStatus, ServedBy } from "@costwise/schemas";
import { catalog as currentCatalog } from "./catalog.ts";
import { costOf, type PricingMode, type Usage } from "./cost.ts";
import type { ModelPrice, PriceCatalog } from "./types.ts";

export const NO_USAGE: Usage = { inputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 0 };

/** Everything known about one finished request, as the stage that finished it saw it. */
export interface CallAccount {
  readonly request: LlmRequest;
  readonly status: ResponseStatus;
  readonly errorCode: string | null;
  readonly servedBy: ServedBy;
  /** The model that answered; null when no model was called (cache hit, rejection). */
  readonly model: ModelPrice | null;
  readonly usage: Usage;
  readonly mode: PricingMode;
  /** The naive call's model: what the caller asked for (or the configured default). */
  readonly baselineModel: ModelPrice | null;
  /** The naive call's usage: uncompressed prompt, same output. */
  readonly baselineUsage: Usage;
  readonly completedAt: number;
  readonly attempts?: number;
  readonly batchId?: string | null;
  readonly queueDelayMs?: number;
  readonly cacheSourceRequestId?: string | null;
  /** Extra stage timings to add to the request's own. */
  readonly stageMs?: Record<string, number>;
}

/** Overhead sources charged against each technique's saving (pipeline.overhead keys). */
const OVERHEAD_TECHNIQUE: Record<string, keyof Savings> = {
  cache: "cache",
  embedding: "cache",
  router: "routing",
  shadow: "routing",
  compression: "compression",
  summariser: "compression",
  // Batch lines the provider billed but costwise could not use, before the request was sent again.
  batch: "batch",
};

export interface Savings {
  readonly cache: number;
  readonly routing: number;
  readonly compression: number;
  readonly batch: number;
  readonly promptCache: number;
}

/** The same call had the provider cached nothing: every prompt token billed as plain input. */
function uncached(u: Usage): Usage {
  return { ...u, cachedInputTokens: 0, cacheWriteInputTokens: 0, cacheWrite1hInputTokens: 0 };
}

/**
 * Split the saving of one request by technique, as a waterfall over the naive call (no provider
 * prompt caching anywhere before the last step):
 *   B0 = caller's model, uncompressed prompt, real time        (baseline)
 *   B1 = caller's model, prompt as sent                          → compression saved B0 − B1
 *   B2 = model used, prompt as sent, real time                  → routing saved B1 − B2
 *   B3 = model used, batch price where batched                   → batch saved B2 − B3
 *   cost = model used, as billed (cached reads, cache writes)   → prompt_cache saved B3 − cost
 * A write premium no read paid back makes prompt_cache negative. A cache hit saves the whole baseline. Each technique's own overhead (lookup embeddings, router
 * calls, summaries, batch lines billed but unusable) is subtracted from its saving, so the parts add up exactly to
 * baseline − cost − overhead.
 */
export function attributeSavings(a: CallAccount, overhead: Readonly<Record<string, number>>, version: string): { baseline: number; cost: number; overheadTotal: number; savings: Savings } {
  const charge = { cache: 0, routing: 0, compression: 0, batch: 0, promptCache: 0 };
  let overheadTotal = 0;
  for (const [source, nano] of Object.entries(overhead)) {
    charge[OVERHEAD_TECHNIQUE[source] ?? "cache"] += nano;
    overheadTotal += nano;
  }
  const cost = a.model ? costOf(a.model, a.usage, a.mode, version).totalNanoUsd : 0;
  if (!a.baselineModel || a.status === "ERROR") {
    // Nothing to compare with: whatever was spent is a loss to the techniques that spent it.
    return { baseline: cost, cost, overheadTotal, savings: { cache: 0 - charge.cache, routing: 0 - charge.routing, compression: 0 - charge.compression, batch: 0 - charge.batch, promptCache: 0 } };
  }
  const b0 = costOf(a.baselineModel, uncached(a.baselineUsage), "realtime", version).totalNanoUsd;
  if (!a.model) {
    return { baseline: b0, cost, overheadTotal, savings: { cache: b0 - cost - charge.cache, routing: 0 - charge.routing, compression: 0 - charge.compression, batch: 0 - charge.batch, promptCache: 0 } };
  }
  const sent = uncached(a.usage);
  const b1 = costOf(a.baselineModel, sent, "realtime", version).totalNanoUsd;
  const b2 = costOf(a.model, sent, "realtime", version).totalNanoUsd;
  const b3 = costOf(a.model, sent, a.mode, version).totalNanoUsd;
  return {
    baseline: b0,
    cost,
    overheadTotal,
    savings: {
      cache: 0 - charge.cache,
      compression: b0 - b1 - charge.compression,
      routing: b1 - b2 - charge.routing,
      batch: b2 - b3 - charge.batch,
      promptCache: b3 - cost,
    },
  };
}

/** The cost record of one finished request. */
export function buildCostRecord(a: CallAccount, catalog: PriceCatalog = currentCatalog): CostRecord {
  const p = a.request.pipeline;
  const overhead = p?.overhead ?? {};
  const { baseline, cost, overheadTotal, savings } = attributeSavings(a, overhead, catalog.version);
  const stage = { ...(p?.stage_ms ?? {}), ...(a.stageMs ?? {}) };
  return {
    request_id: a.request.request_id,
    tenant: a.request.tenant,
    use_case: a.request.use_case,
    ts: a.request.created_at,
    completed_at: a.completedAt,
    status: a.status,
    error_code: a.errorCode,
    served_by: a.servedBy,
    model_requested: a.request.model,
    model_used: a.model?.id ?? null,
    provider: a.model?.provider ?? null,
    route_tier: p?.route?.tier ?? null,
    route_strategy: p?.route?.strategy ?? null,
    route_score: p?.route?.score ?? null,
    input_tokens: a.usage.inputTokens,
    cached_input_tokens: a.usage.cachedInputTokens,
    cache_write_input_tokens: a.usage.cacheWriteInputTokens,
    output_tokens: a.usage.outputTokens,
    reasoning_tokens: a.usage.reasoningTokens ?? 0,
    cache_write_1h_input_tokens: a.usage.cacheWrite1hInputTokens ?? 0,
    unpriced: a.model?.unpriced === true,
    context_tokens_before: p?.compression?.context_tokens_before ?? 0,
    context_tokens_after: p?.compression?.context_tokens_after ?? 0,
    compression_strategy: p?.compression?.strategy ?? null,
    cost_nanousd: cost,
    overhead_cost_nanousd: overheadTotal,
    baseline_cost_nanousd: baseline,
    saving_cache_nanousd: savings.cache,
    saving_routing_nanousd: savings.routing,
    saving_compression_nanousd: savings.compression,
    saving_batch_nanousd: savings.batch,
    saving_prompt_cache_nanousd: savings.promptCache,
    price_catalog_version: catalog.version,
    latency_ms: Math.max(0, a.completedAt - a.request.created_at),
    stage_latency_ms: stage,
    attempts: a.attempts ?? 1,
    batch_id: a.batchId ?? null,
    queue_delay_ms: a.queueDelayMs ?? 0,
    cache_source_request_id: a.cacheSourceRequestId ?? null,
    // Only a call the router routed can have been moved off a retired model.
    substituted_from: a.model ? (p?.route?.substituted_from ?? null) : null,
  };
}

/** The naive call's usage: the prompt before compression removed context tokens. */
export function baselineUsageOf(req: LlmRequest, usage: Usage): Usage {
  const c = req.pipeline?.compression;
  const removed = c ? Math.max(0, c.context_tokens_before - c.context_tokens_after) : 0;
  return { ...usage, inputTokens: usage.inputTokens + removed };
}
