import type { CostRecord } from "@costwise/schemas";

/** Cost records shaped like the pipeline's (varied ids, tenants, paths, stage maps). */
export function syntheticRecords(n: number, now: number): CostRecord[] {
  const served = ["REALTIME", "REALTIME", "REALTIME", "BATCH", "CACHE_EXACT", "CACHE_SEMANTIC"] as const;
  return Array.from({ length: n }, (_, i) => {
    const s = served[i % served.length]!;
    const hit = s === "CACHE_EXACT" || s === "CACHE_SEMANTIC";
    const input = 200 + ((i * 7919) % 1800);
    const output = 50 + ((i * 104729) % 400);
    const cost = hit ? 0 : input * 150 + output * 600;
    const baseline = input * 2500 + output * 10000;
    return {
      request_id: `ingest-${now}-${i}`, tenant: `tenant-${i % 7}`, use_case: `uc-${i % 23}`, ts: now - (i % 86_400) * 1000, completed_at: now, status: "OK", error_code: null,
      served_by: s, model_requested: "gpt-4o", model_used: hit ? null : "gpt-4o-mini", provider: hit ? null : "openai", route_tier: hit ? null : "small", route_strategy: hit ? null : "rules", route_score: hit ? null : 0.3,
      input_tokens: hit ? 0 : input, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: hit ? 0 : output, context_tokens_before: 0, context_tokens_after: 0, compression_strategy: null,
      cost_nanousd: cost, overhead_cost_nanousd: 25, baseline_cost_nanousd: baseline, saving_cache_nanousd: hit ? baseline - 20 : -20, saving_routing_nanousd: hit ? -5 : baseline - cost - 5, saving_compression_nanousd: 0, saving_batch_nanousd: 0,
      price_catalog_version: "bench", latency_ms: hit ? 12 : 900, stage_latency_ms: { cache: 3, router: 1, executor: hit ? 0 : 880 }, attempts: 1, batch_id: null, queue_delay_ms: 0, cache_source_request_id: hit ? `ingest-${now}-${i - 1}` : null, substituted_from: null,
      reasoning_tokens: 0, cache_write_1h_input_tokens: 0, unpriced: false, saving_prompt_cache_nanousd: 0,
    } satisfies CostRecord;
  });
}
