import type { CostRecord, DistillSample, LlmOutcome, LlmResponse } from "@costwise/schemas";
import { normaliseSource, sourceRank } from "@costwise/outcomes";

/** ClickHouse DateTime text in UTC; every costwise server runs with timezone UTC. */
export function chDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19).replace("T", " ");
}

const u32 = (n: number) => Math.max(0, Math.min(4_294_967_295, Math.round(n)));

/** One `costwise.llm_calls` row. Nulls become '' / 0: the table has no Nullable columns. */
export function callRow(r: CostRecord, version: number) {
  const stages = Object.entries(r.stage_latency_ms);
  return {
    request_id: r.request_id,
    tenant: r.tenant,
    use_case: r.use_case,
    ts: chDateTime(r.ts),
    completed_at: chDateTime(r.completed_at),
    status: r.status,
    error_code: r.error_code ?? "",
    served_by: r.served_by,
    model_requested: r.model_requested ?? "",
    model_used: r.model_used ?? "",
    provider: r.provider ?? "",
    route_tier: r.route_tier ?? "",
    route_strategy: r.route_strategy ?? "",
    route_score: r.route_score ?? 0,
    input_tokens: u32(r.input_tokens),
    cached_input_tokens: u32(r.cached_input_tokens),
    cache_write_input_tokens: u32(r.cache_write_input_tokens),
    output_tokens: u32(r.output_tokens),
    context_tokens_before: u32(r.context_tokens_before),
    context_tokens_after: u32(r.context_tokens_after),
    compression_strategy: r.compression_strategy ?? "",
    cost_nanousd: r.cost_nanousd,
    overhead_cost_nanousd: r.overhead_cost_nanousd,
    baseline_cost_nanousd: r.baseline_cost_nanousd,
    saving_cache_nanousd: r.saving_cache_nanousd,
    saving_routing_nanousd: r.saving_routing_nanousd,
    saving_compression_nanousd: r.saving_compression_nanousd,
    saving_batch_nanousd: r.saving_batch_nanousd,
    // Display columns only; sums are taken over the integer columns.
    cost_usd: r.cost_nanousd / 1e9,
    baseline_cost_usd: r.baseline_cost_nanousd / 1e9,
    price_catalog_version: r.price_catalog_version,
    latency_ms: u32(r.latency_ms),
    stage_names: stages.map(([k]) => k),
    stage_ms: stages.map(([, v]) => u32(v)),
    attempts: Math.min(65_535, r.attempts),
    batch_id: r.batch_id ?? "",
    queue_delay_ms: u32(r.queue_delay_ms),
    cache_source_request_id: r.cache_source_request_id ?? "",
    substituted_from: r.substituted_from ?? "",
    reasoning_tokens: u32(r.reasoning_tokens),
    cache_write_1h_input_tokens: u32(r.cache_write_1h_input_tokens),
    unpriced: r.unpriced ? 1 : 0,
    saving_prompt_cache_nanousd: r.saving_prompt_cache_nanousd,
    version,
  };
}

/** One `costwise.llm_responses` row. */
export function responseRow(r: LlmResponse, version: number) {
  return {
    request_id: r.request_id,
    tenant: r.tenant,
    use_case: r.use_case,
    ts: chDateTime(r.created_at),
    status: r.status,
    content: r.content ?? "",
    error: r.error ?? "",
    error_code: r.error_code ?? "",
    model: r.model ?? "",
    provider: r.provider ?? "",
    served_by: r.served_by,
    input_tokens: u32(r.input_tokens),
    cached_input_tokens: u32(r.cached_input_tokens),
    output_tokens: u32(r.output_tokens),
    cost_usd: r.cost_usd,
    latency_ms: u32(r.latency_ms),
    cache_source_request_id: r.cache_source_request_id ?? "",
    finish_reason: r.finish_reason ?? "",
    // JSON text of [{id, name, arguments}]; empty when the model called no tool.
    tool_calls: (r.tool_calls?.length ?? 0) > 0 ? JSON.stringify(r.tool_calls) : "",
    refusal: r.refusal ?? "",
    version,
  };
}

/** One `costwise.distill_samples` row: messages and redaction counts as parallel arrays. */
export function distillSampleRow(r: DistillSample, version: number) {
  const redactions = Object.entries(r.redactions);
  return {
    request_id: r.request_id,
    tenant: r.tenant,
    use_case: r.use_case,
    ts: chDateTime(r.created_at),
    captured_at: chDateTime(r.captured_at),
    message_roles: r.messages.map((m) => m.role),
    message_contents: r.messages.map((m) => m.content),
    completion: r.completion,
    model: r.model,
    provider: r.provider ?? "",
    route_tier: r.route_tier ?? "",
    served_by: r.served_by,
    input_tokens: u32(r.input_tokens),
    output_tokens: u32(r.output_tokens),
    prompt_hash: r.prompt_hash,
    quality: r.quality ?? 0,
    has_quality: r.quality === null ? 0 : 1,
    redaction_names: redactions.map(([k]) => k),
    redaction_counts: redactions.map(([, v]) => u32(v)),
    sample_rate: r.sample_rate,
    version,
  };
}

/**
 * One `costwise.llm_outcomes` row: nulls as flags, the source lower-cased with its precedence
 * rank (the views resolve contradictory outcomes by it), the exact time in created_ms.
 */
export function outcomeRow(r: LlmOutcome, version: number) {
  return {
    request_id: r.request_id,
    tenant: r.tenant,
    use_case: r.use_case,
    source: normaliseSource(r.source),
    source_rank: sourceRank(r.source),
    success: r.success ? 1 : 0,
    has_success: r.success === null ? 0 : 1,
    score: r.score ?? 0,
    has_score: r.score === null ? 0 : 1,
    created_at: chDateTime(r.created_at),
    created_ms: Math.max(0, Math.round(r.created_at)),
    comment: r.comment ?? "",
    version,
  };
}

/** The tables the sink writes, by record. */
export const TABLES = { calls: "llm_calls", responses: "llm_responses", distillSamples: "distill_samples", outcomes: "llm_outcomes" } as const;
