-- costwise ClickHouse schema, version 14: outcomes, and cost per successful outcome.
-- Portable to ClickHouse 18.16 and current releases: no DateTime64, Map, TTL, LowCardinality or
-- server-side query parameters. {{database}} is replaced by the runner with the backquoted target
-- database. Statements end with ';' at the end of a line.
--
-- One row per outcome delivered on llm.outcomes (the sink lands them): whether an answer helped,
-- from a user, a task check or a judge. Nulls become flags: success/has_success, score/has_score.
-- source is lower-cased; source_rank is the precedence of the source (user 3, task 2, judge and
-- judge:<name> 1, anything else 0), written by the sink from @costwise/outcomes so that SQL and
-- code rank alike. created_ms orders outcomes of one source (the latest wins); version (the
-- sink's receive time) breaks ties between outcomes with the same created_ms. A redelivery of the
-- same outcome has the same sort key and collapses on merge; reads never depend on that.
CREATE TABLE IF NOT EXISTS {{database}}.llm_outcomes
(
    request_id String,
    tenant String,
    use_case String,
    source String,
    source_rank UInt8,
    success UInt8,
    has_success UInt8,
    score Float64,
    has_score UInt8,
    created_at DateTime,
    created_ms UInt64,
    comment String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (tenant, use_case, request_id, source, created_ms);

-- The outcome that counts for each request (late, repeated and contradictory outcomes resolved):
-- first the latest per source (argMax by created_ms, then version), then across sources the
-- highest-ranked one (a user's beats a task check's beats a judge's), the later among equals.
-- succeeded: success when given, else score >= 0.5. sources: how many sources spoke.
CREATE VIEW IF NOT EXISTS {{database}}.outcomes_effective AS
SELECT
    request_id,
    argMax(s_tenant, (s_rank, s_ms, s_version)) AS tenant,
    argMax(s_use_case, (s_rank, s_ms, s_version)) AS use_case,
    argMax(s_source, (s_rank, s_ms, s_version)) AS source,
    argMax(s_succeeded, (s_rank, s_ms, s_version)) AS succeeded,
    argMax(s_score, (s_rank, s_ms, s_version)) AS score,
    argMax(s_has_score, (s_rank, s_ms, s_version)) AS has_score,
    max(s_ms) AS last_ms,
    count() AS sources
FROM
(
    SELECT
        request_id,
        source AS s_source,
        argMax(tenant, (created_ms, version)) AS s_tenant,
        argMax(use_case, (created_ms, version)) AS s_use_case,
        argMax(source_rank, (created_ms, version)) AS s_rank,
        argMax(if(has_success = 1, success, score >= 0.5), (created_ms, version)) AS s_succeeded,
        argMax(score, (created_ms, version)) AS s_score,
        argMax(has_score, (created_ms, version)) AS s_has_score,
        max(created_ms) AS s_ms,
        max(version) AS s_version
    FROM {{database}}.llm_outcomes
    GROUP BY request_id, source
)
GROUP BY request_id;

-- Each call that has an outcome, with what it cost (cost + overhead before the response +
-- overhead after it: shadow calls and judges), what it would have cost without costwise
-- (baseline), its technique and its effective outcome. technique: cache_exact, cache_semantic,
-- or route:<tier> for calls that reached a model ('route:' when the router did not route it).
-- The call's tenant and use case count, whatever the outcome said.
CREATE VIEW IF NOT EXISTS {{database}}.outcome_calls AS
SELECT
    request_id,
    tenant,
    use_case,
    ts,
    served_by,
    route_tier,
    route_strategy,
    model_used,
    if(served_by = 'CACHE_EXACT', 'cache_exact', if(served_by = 'CACHE_SEMANTIC', 'cache_semantic', concat('route:', route_tier))) AS technique,
    pre_nanousd + post_nanousd AS call_spend_nanousd,
    call_baseline_nanousd,
    o_succeeded AS succeeded,
    o_score AS score,
    o_has_score AS has_score,
    o_source AS source
FROM
(
    SELECT request_id, tenant, use_case, ts, served_by, route_tier, route_strategy, model_used, cost_nanousd + overhead_cost_nanousd AS pre_nanousd, baseline_cost_nanousd AS call_baseline_nanousd, post_nanousd, o_succeeded, o_score, o_has_score, o_source
    FROM
    (
        SELECT request_id, tenant, use_case, ts, served_by, route_tier, route_strategy, model_used, cost_nanousd, overhead_cost_nanousd, baseline_cost_nanousd, post_nanousd
        FROM (SELECT * FROM {{database}}.llm_calls FINAL)
        ANY LEFT JOIN (SELECT request_id, toInt64(sum(cost_nanousd)) AS post_nanousd FROM {{database}}.llm_overhead GROUP BY request_id) USING request_id
    )
    ANY INNER JOIN (SELECT request_id, succeeded AS o_succeeded, score AS o_score, has_score AS o_has_score, source AS o_source FROM {{database}}.outcomes_effective) USING request_id
);

-- Per ISO week (Monday) and per quarter: for each tenant, use case, technique, route and model,
-- the outcomes, successes and success rate, what the judged calls cost and would have cost
-- without costwise, and both per successful outcome (integer nano-USD; NULL without a success).
-- naive_per_success: the baseline of the same calls over the same successes. (if() evaluates both
-- branches in ClickHouse, hence the divisor of at least 1.)
CREATE VIEW IF NOT EXISTS {{database}}.outcomes_weekly AS
SELECT
    toMonday(ts) AS week,
    tenant,
    use_case,
    technique,
    route_tier,
    model_used,
    count() AS outcomes,
    toUInt64(sum(succeeded)) AS successes,
    successes / outcomes AS success_rate,
    toInt64(sum(call_spend_nanousd)) AS spend_nanousd,
    toInt64(sum(call_baseline_nanousd)) AS baseline_nanousd,
    if(successes = 0, NULL, intDiv(spend_nanousd, greatest(successes, 1))) AS cost_per_success_nanousd,
    if(successes = 0, NULL, intDiv(baseline_nanousd, greatest(successes, 1))) AS naive_cost_per_success_nanousd
FROM {{database}}.outcome_calls
GROUP BY week, tenant, use_case, technique, route_tier, model_used;

CREATE VIEW IF NOT EXISTS {{database}}.outcomes_quarterly AS
SELECT
    toStartOfQuarter(ts) AS quarter,
    tenant,
    use_case,
    technique,
    route_tier,
    model_used,
    count() AS outcomes,
    toUInt64(sum(succeeded)) AS successes,
    successes / outcomes AS success_rate,
    toInt64(sum(call_spend_nanousd)) AS spend_nanousd,
    toInt64(sum(call_baseline_nanousd)) AS baseline_nanousd,
    if(successes = 0, NULL, intDiv(spend_nanousd, greatest(successes, 1))) AS cost_per_success_nanousd,
    if(successes = 0, NULL, intDiv(baseline_nanousd, greatest(successes, 1))) AS naive_cost_per_success_nanousd
FROM {{database}}.outcome_calls
GROUP BY quarter, tenant, use_case, technique, route_tier, model_used;

-- Outcomes whose request has no call row (yet): they may arrive before the call is recorded, so
-- they are kept; one still unmatched after a window (age_seconds, queries pick the window) is
-- reported as unmatched.
CREATE VIEW IF NOT EXISTS {{database}}.outcomes_unmatched AS
SELECT request_id, tenant, use_case, source, succeeded, last_ms, toUInt64(greatest(0, toInt64(toUInt64(now()) * 1000) - toInt64(last_ms)) / 1000) AS age_seconds
FROM {{database}}.outcomes_effective
WHERE request_id NOT IN (SELECT request_id FROM {{database}}.llm_calls);

-- Techniques backed off by the regression checker (services/analytics alerts): one row per
-- decision or renewal. A use case's technique is backed off while a row's until is in the future:
-- the cache serves it exact matches only (technique cache), a cheap route sends its traffic to
-- the frontier tier (route:<tier>). The serving services read the same decisions from Redis;
-- this table is what reports and the review show.
CREATE TABLE IF NOT EXISTS {{database}}.outcome_backoffs
(
    ts DateTime,
    use_case String,
    technique String,
    since DateTime,
    until DateTime,
    success_rate Float64,
    baseline_rate Float64,
    samples UInt32,
    baseline_samples UInt32,
    p_value Float64,
    reason String
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(ts)
ORDER BY (use_case, technique, ts);
