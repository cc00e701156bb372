-- costwise ClickHouse schema, version 4: cost analytics (issue 7, services/analytics).
-- Rollups of llm_calls per hour and per day, and effectiveness views per technique, so that
-- reports over months of traffic read thousands of rows instead of millions. Portable to
-- ClickHouse 18.16 and current releases: no DateTime64, Map, TTL, LowCardinality or
-- server-side parameters.
--
-- Duplicates. llm_calls is a ReplacingMergeTree: a Kafka redelivery or replay writes the same
-- request_id again and the table collapses the copies when it merges. A materialized view sees
-- every INSERT, not the merges, so the rollups count every delivery: they are exact while
-- nothing is replayed and over-count by the replayed rows after a replay. `costwise … --exact`
-- reads llm_calls FINAL instead; docs/analytics.md shows how to measure a rollup's drift and
-- how to rebuild it.
--
-- POPULATE fills each rollup from the rows already in llm_calls when the migration runs, so an
-- existing installation gets its history (rows inserted while it runs may be missed).

-- Per hour, tenant, use case, model, path and route: traffic, tokens, spend, baseline and savings.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.calls_hourly
ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, use_case, hour, model_requested, model_used, provider, served_by, status, route_tier, route_strategy, compression_strategy)
POPULATE
AS SELECT
    toStartOfHour(ts) AS hour,
    tenant,
    use_case,
    model_requested,
    model_used,
    provider,
    served_by,
    status,
    route_tier,
    route_strategy,
    compression_strategy,
    toUInt64(count()) AS deliveries,
    toUInt64(sum(input_tokens)) AS input_tokens_sum,
    toUInt64(sum(cached_input_tokens)) AS cached_input_tokens_sum,
    toUInt64(sum(cache_write_input_tokens)) AS cache_write_input_tokens_sum,
    toUInt64(sum(output_tokens)) AS output_tokens_sum,
    toUInt64(sum(context_tokens_before)) AS context_tokens_before_sum,
    toUInt64(sum(context_tokens_after)) AS context_tokens_after_sum,
    toInt64(sum(cost_nanousd)) AS cost_nanousd_sum,
    toInt64(sum(overhead_cost_nanousd)) AS overhead_nanousd_sum,
    toInt64(sum(baseline_cost_nanousd)) AS baseline_nanousd_sum,
    toInt64(sum(saving_cache_nanousd)) AS saving_cache_nanousd_sum,
    toInt64(sum(saving_routing_nanousd)) AS saving_routing_nanousd_sum,
    toInt64(sum(saving_compression_nanousd)) AS saving_compression_nanousd_sum,
    toInt64(sum(saving_batch_nanousd)) AS saving_batch_nanousd_sum,
    toUInt64(sum(latency_ms)) AS latency_ms_sum,
    toUInt64(sum(queue_delay_ms)) AS queue_delay_ms_sum,
    sum(route_score) AS route_score_sum
FROM {{database}}.llm_calls
GROUP BY hour, tenant, use_case, model_requested, model_used, provider, served_by, status, route_tier, route_strategy, compression_strategy;

-- The same per day, for month-scale trends, budgets and the effectiveness views.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.calls_daily
ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, use_case, day, model_requested, model_used, provider, served_by, status, route_tier, route_strategy, compression_strategy)
POPULATE
AS SELECT
    toDate(ts) AS day,
    tenant,
    use_case,
    model_requested,
    model_used,
    provider,
    served_by,
    status,
    route_tier,
    route_strategy,
    compression_strategy,
    toUInt64(count()) AS deliveries,
    toUInt64(sum(input_tokens)) AS input_tokens_sum,
    toUInt64(sum(cached_input_tokens)) AS cached_input_tokens_sum,
    toUInt64(sum(cache_write_input_tokens)) AS cache_write_input_tokens_sum,
    toUInt64(sum(output_tokens)) AS output_tokens_sum,
    toUInt64(sum(context_tokens_before)) AS context_tokens_before_sum,
    toUInt64(sum(context_tokens_after)) AS context_tokens_after_sum,
    toInt64(sum(cost_nanousd)) AS cost_nanousd_sum,
    toInt64(sum(overhead_cost_nanousd)) AS overhead_nanousd_sum,
    toInt64(sum(baseline_cost_nanousd)) AS baseline_nanousd_sum,
    toInt64(sum(saving_cache_nanousd)) AS saving_cache_nanousd_sum,
    toInt64(sum(saving_routing_nanousd)) AS saving_routing_nanousd_sum,
    toInt64(sum(saving_compression_nanousd)) AS saving_compression_nanousd_sum,
    toInt64(sum(saving_batch_nanousd)) AS saving_batch_nanousd_sum,
    toUInt64(sum(latency_ms)) AS latency_ms_sum,
    toUInt64(sum(queue_delay_ms)) AS queue_delay_ms_sum,
    sum(route_score) AS route_score_sum
FROM {{database}}.llm_calls
GROUP BY day, tenant, use_case, model_requested, model_used, provider, served_by, status, route_tier, route_strategy, compression_strategy;

-- Effectiveness per technique, per day. A rollup holds partial sums until its parts merge, so
-- every view sums again.

-- Cache: hit rate (exact and semantic) and net saving (lookup embeddings already paid out of it).
CREATE VIEW IF NOT EXISTS {{database}}.cache_effectiveness AS
SELECT
    day,
    tenant,
    use_case,
    sum(deliveries) AS requests,
    sumIf(deliveries, served_by = 'CACHE_EXACT') AS exact_hits,
    sumIf(deliveries, served_by = 'CACHE_SEMANTIC') AS semantic_hits,
    (exact_hits + semantic_hits) / requests AS hit_rate,
    sum(saving_cache_nanousd_sum) AS saving_cache_nanousd
FROM {{database}}.calls_daily
GROUP BY day, tenant, use_case;

-- Routing: traffic per route (calls that reached a model), error rate, mean router score and
-- routing saving (router calls already paid out of it). Answer quality per route, from shadow
-- comparisons, lives in the router's route_shadow table.
CREATE VIEW IF NOT EXISTS {{database}}.route_effectiveness AS
SELECT
    day,
    tenant,
    use_case,
    route_tier,
    route_strategy,
    model_used,
    sum(deliveries) AS calls,
    sumIf(deliveries, status = 'ERROR') AS error_calls,
    error_calls / calls AS error_rate,
    sum(route_score_sum) / calls AS mean_route_score,
    sum(cost_nanousd_sum) AS cost_nanousd,
    sum(saving_routing_nanousd_sum) AS saving_routing_nanousd
FROM {{database}}.calls_daily
WHERE served_by IN ('REALTIME', 'BATCH')
GROUP BY day, tenant, use_case, route_tier, route_strategy, model_used;

-- Compression: context tokens in and out per strategy ('' = not compressed), the share kept and
-- the compression saving (summariser calls already paid out of it).
CREATE VIEW IF NOT EXISTS {{database}}.compression_effectiveness AS
SELECT
    day,
    tenant,
    use_case,
    compression_strategy,
    sum(deliveries) AS calls,
    sum(context_tokens_before_sum) AS context_tokens_before,
    sum(context_tokens_after_sum) AS context_tokens_after,
    if(context_tokens_before = 0, 1, context_tokens_after / context_tokens_before) AS kept_ratio,
    sum(saving_compression_nanousd_sum) AS saving_compression_nanousd
FROM {{database}}.calls_daily
WHERE served_by IN ('REALTIME', 'BATCH')
GROUP BY day, tenant, use_case, compression_strategy;
