-- costwise ClickHouse schema, version 5: distillation (services/distiller).
-- Portable to ClickHouse 18.16 and current releases: no DateTime64, Map, TTL, LowCardinality or
-- server-side query parameters. {{database}} is replaced by the runner with the backquoted target
-- database. Statements end with ';' at the end of a line.

-- One row per captured frontier answer (topic llm.distill-samples, landed by the sink). Prompt
-- and answer are already PII-redacted. Messages are parallel arrays (18.16 has no Map/JSON
-- columns). A replayed sample rewrites the same request_id with a higher version; read with
-- FINAL when exact counts matter. Export deduplicates on prompt_hash.
CREATE TABLE IF NOT EXISTS {{database}}.distill_samples
(
    request_id String,
    tenant String,
    use_case String,
    ts DateTime,
    captured_at DateTime,
    message_roles Array(String),
    message_contents Array(String),
    completion String,
    model String,
    provider String,
    route_tier String,
    served_by String,
    input_tokens UInt32,
    output_tokens UInt32,
    prompt_hash String,
    quality Float64,
    has_quality UInt8,
    redaction_names Array(String),
    redaction_counts Array(UInt32),
    sample_rate Float64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, use_case, request_id);

-- One row per shadow comparison of a use case's candidate (small / distilled) model against the
-- frontier answer that was served: the scorer's verdict and what the shadow call and the judge
-- cost. Written by the distiller; readiness (`costwise distill status`) reads it.
CREATE TABLE IF NOT EXISTS {{database}}.distill_shadow
(
    request_id String,
    tenant String,
    use_case String,
    ts DateTime,
    judged_at DateTime,
    frontier_model String,
    candidate_model String,
    scorer String,
    agreement Float64,
    agreed UInt8,
    decided UInt8,
    judge_error String,
    frontier_answer_chars UInt32,
    candidate_answer_chars UInt32,
    frontier_input_tokens UInt32,
    frontier_output_tokens UInt32,
    frontier_cost_nanousd Int64,
    candidate_input_tokens UInt32,
    candidate_output_tokens UInt32,
    candidate_cost_nanousd Int64,
    judge_cost_nanousd Int64,
    candidate_latency_ms UInt32,
    price_catalog_version String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, use_case, candidate_model, request_id);
