import { sql, sqlIdentifier } from "@costwise/infra";

export interface GenerateOptions {
  /** Target database; it must hold the llm_calls table (run the migrations first). */
  readonly database: string;
  readonly rows: number;
  /** Row numbers start here, so several INSERTs can fill one table in chunks. */
  readonly offset?: number;
  /** The generated traffic spreads evenly over [end - spanSeconds, end). */
  readonly end: Date;
  readonly spanSeconds: number;
  readonly tenants: readonly string[];
  readonly useCases: number;
  /** request_id prefix (default "bench-"). */
  readonly idPrefix?: string;
}

/**
 * One INSERT … SELECT FROM numbers() that makes synthetic llm_calls rows server-side, far faster
 * than sending them: a realistic mix (cache hits, routed, batched, compressed, 1% errors) whose
 * savings add up per row the way accounting.ts attributes them. Prices: gpt-4o $2.50/$10 per
 * MTok, gpt-4o-mini $0.15/$0.60, batch half price; costs in nano-USD (1 token of $1/MTok = 1000 nano).
 */
export function generateCallsSql(o: GenerateOptions): string {
  const table = sqlIdentifier(`${o.database}.llm_calls`);
  const start = Math.floor(o.end.getTime() / 1000) - o.spanSeconds;
  const offset = o.offset ?? 0;
  const prefix = o.idPrefix ?? "bench-";
  return sql`INSERT INTO ${table}
    (request_id, tenant, use_case, ts, completed_at, status, error_code, served_by, model_requested, model_used, provider,
     route_tier, route_strategy, route_score, input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens,
     context_tokens_before, context_tokens_after, compression_strategy, cost_nanousd, overhead_cost_nanousd, baseline_cost_nanousd,
     saving_cache_nanousd, saving_routing_nanousd, saving_compression_nanousd, saving_batch_nanousd, cost_usd, baseline_cost_usd,
     price_catalog_version, latency_ms, stage_names, stage_ms, attempts, batch_id, queue_delay_ms, cache_source_request_id, version)
  SELECT
    concat(${prefix}, toString(n)) AS request_id,
    arrayElement(${o.tenants}, toUInt64(h % ${o.tenants.length}) + 1) AS tenant,
    concat('uc-', toString(intHash32(n) % ${o.useCases})) AS use_case,
    toDateTime(${start} + intDiv(n * ${o.spanSeconds}, ${offset + o.rows})) AS ts,
    ts + 1 AS completed_at,
    if(err, 'ERROR', 'OK') AS status,
    if(err, 'PROVIDER_ERROR', '') AS error_code,
    served AS served_by,
    'gpt-4o' AS model_requested,
    if(hit, '', if(small, 'gpt-4o-mini', 'gpt-4o')) AS model_used,
    if(hit, '', 'openai') AS provider,
    if(hit, '', if(small, 'small', 'frontier')) AS route_tier,
    if(hit, '', 'rules') AS route_strategy,
    if(hit, 0, (bitShiftRight(h, 48) % 1000) / 1000) AS route_score,
    toUInt32(inp) AS input_tokens,
    toUInt32(0) AS cached_input_tokens,
    toUInt32(0) AS cache_write_input_tokens,
    toUInt32(outp) AS output_tokens,
    toUInt32(if(compressed, ctx_before, 0)) AS context_tokens_before,
    toUInt32(if(compressed, ctx_before - removed, 0)) AS context_tokens_after,
    if(compressed, 'extractive', '') AS compression_strategy,
    cost AS cost_nanousd,
    toInt64(ov_cache + ov_router + ov_compression) AS overhead_cost_nanousd,
    if(err, cost, b0) AS baseline_cost_nanousd,
    toInt64(if(hit, b0 - ov_cache, -ov_cache)) AS saving_cache_nanousd,
    toInt64(if(hit or err, -ov_router, b1 - b2 - ov_router)) AS saving_routing_nanousd,
    toInt64(if(hit or err, -ov_compression, b0 - b1 - ov_compression)) AS saving_compression_nanousd,
    toInt64(if(hit or err, 0, b2 - cost)) AS saving_batch_nanousd,
    cost / 1e9 AS cost_usd,
    if(err, cost, b0) / 1e9 AS baseline_cost_usd,
    'bench' AS price_catalog_version,
    toUInt32(if(hit, 15, if(batched, 600000, 400 + outp * 8))) AS latency_ms,
    ['cache', 'router', 'executor'] AS stage_names,
    [toUInt32(3), toUInt32(1), toUInt32(if(hit, 0, 400 + outp * 8))] AS stage_ms,
    toUInt16(1) AS attempts,
    if(batched, concat('batch-', toString(intDiv(n, 1000))), '') AS batch_id,
    toUInt32(if(batched, 590000, 0)) AS queue_delay_ms,
    if(hit, concat(${prefix}, toString(intDiv(n, 7))), '') AS cache_source_request_id,
    toUInt64(1) AS version
  FROM
  (
    SELECT n, h, hit, err, served, batched, small, compressed, inp, outp, ctx_before, removed,
      -- the naive call: gpt-4o, uncompressed prompt, real time
      toInt64((inp + removed) * 2500 + outp * 10000) AS b0,
      toInt64(inp * 2500 + outp * 10000) AS b1,
      toInt64(if(small, inp * 150 + outp * 600, inp * 2500 + outp * 10000)) AS b2,
      toInt64(if(hit, 0, if(err, 0, if(batched, intDiv(b2, 2), b2)))) AS cost,
      toInt64(20) AS ov_cache,
      toInt64(if(hit, 0, 5)) AS ov_router,
      toInt64(if(compressed, 40, 0)) AS ov_compression
    FROM
    (
      SELECT n, h, hit, err, served, batched,
        bitShiftRight(h, 24) % 100 < 55 AS small,
        bitShiftRight(h, 28) % 100 < 30 AND NOT hit AS compressed,
        200 + bitShiftRight(h, 32) % 1800 AS inp,
        50 + bitShiftRight(h, 40) % 400 AS outp,
        if(compressed, inp + 600 + bitShiftRight(h, 36) % 2000, 0) AS ctx_before,
        if(compressed, 600 + bitShiftRight(h, 36) % 2000, 0) AS removed
      FROM
      (
        SELECT number AS n, intHash64(number) AS h,
          bitShiftRight(h, 8) % 100 AS r,
          multiIf(r < 12, 'CACHE_EXACT', r < 20, 'CACHE_SEMANTIC', r < 32, 'BATCH', 'REALTIME') AS served,
          r < 20 AS hit,
          r >= 20 AND r < 32 AS batched,
          NOT hit AND bitShiftRight(h, 16) % 100 = 0 AS err
        FROM numbers(${offset}, ${o.rows})
      )
    )
  )`;
}
