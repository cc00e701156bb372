-- costwise ClickHouse schema, version 2: router quality validation.
-- Portable to ClickHouse 18.16 and current releases: no DateTime64, Map, TTL, LowCardinality or
-- server-side query parameters. {{database}} is replaced by the runner with the backquoted target
-- database. Statements end with ';' at the end of a line.
-- llm_calls already carries route_tier, route_strategy and route_score (from the cost records).

-- One row per shadow comparison: a sampled request answered by its routed (cheap) tier and, in
-- the shadow, by the frontier tier (or the other way round while the route is in fallback), with
-- the judge's verdict and what the shadow call and the judge cost. Written by the router's shadow
-- consumer; a redelivered comparison rewrites the same request_id with a higher version.
CREATE TABLE IF NOT EXISTS {{database}}.route_shadow
(
    request_id String,
    tenant String,
    use_case String,
    ts DateTime,
    judged_at DateTime,
    cheap_tier String,
    frontier_tier String,
    route_strategy String,
    route_score Float64,
    served_model String,
    shadow_model String,
    cheap_model String,
    frontier_model String,
    fallback_active UInt8,
    judge String,
    agreement Float64,
    agreed UInt8,
    decided UInt8,
    judge_error String,
    cheap_answer_chars UInt32,
    frontier_answer_chars UInt32,
    shadow_input_tokens UInt32,
    shadow_output_tokens UInt32,
    shadow_cost_nanousd Int64,
    judge_cost_nanousd Int64,
    price_catalog_version String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, use_case, cheap_tier, request_id);

-- Routes entering and leaving automatic fallback to the frontier tier (and operator resets).
CREATE TABLE IF NOT EXISTS {{database}}.route_fallback_events
(
    ts DateTime,
    use_case String,
    tier String,
    transition String,
    agreement Float64,
    samples UInt32,
    floor Float64,
    request_id String
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY (use_case, tier, ts);
