-- costwise ClickHouse schema, version 1.
-- Portable to ClickHouse 18.16 and current releases: no DateTime64, Map, TTL, LowCardinality or
-- server-side query parameters. {{database}} is replaced by the runner with the backquoted target
-- database (`costwise` by default). Statements end with ';' at the end of a line.

CREATE DATABASE IF NOT EXISTS {{database}};

-- One row per request. Kafka redelivery and replays write the same request_id again with a
-- higher (or equal) version; ReplacingMergeTree collapses them on merge, so read with FINAL or
-- argMax(..., version) when exact counts matter.
CREATE TABLE IF NOT EXISTS {{database}}.llm_calls
(
    request_id String,
    tenant String,
    use_case String,
    ts DateTime,
    completed_at DateTime,
    status String,
    error_code String,
    served_by String,
    model_requested String,
    model_used String,
    provider String,
    route_tier String,
    route_strategy String,
    route_score Float64,
    input_tokens UInt32,
    cached_input_tokens UInt32,
    cache_write_input_tokens UInt32,
    output_tokens UInt32,
    context_tokens_before UInt32,
    context_tokens_after UInt32,
    compression_strategy String,
    cost_nanousd Int64,
    overhead_cost_nanousd Int64,
    baseline_cost_nanousd Int64,
    saving_cache_nanousd Int64,
    saving_routing_nanousd Int64,
    saving_compression_nanousd Int64,
    saving_batch_nanousd Int64,
    cost_usd Float64,
    baseline_cost_usd Float64,
    price_catalog_version String,
    latency_ms UInt32,
    stage_names Array(String),
    stage_ms Array(UInt32),
    attempts UInt16,
    batch_id String,
    queue_delay_ms UInt32,
    cache_source_request_id String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, use_case, request_id);

-- One row per response delivered on llm.responses, for audit and distillation capture.
CREATE TABLE IF NOT EXISTS {{database}}.llm_responses
(
    request_id String,
    tenant String,
    use_case String,
    ts DateTime,
    status String,
    content String,
    error String,
    error_code String,
    model String,
    provider String,
    served_by String,
    input_tokens UInt32,
    cached_input_tokens UInt32,
    output_tokens UInt32,
    cost_usd Float64,
    latency_ms UInt32,
    cache_source_request_id String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, use_case, request_id);
