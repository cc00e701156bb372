-- costwise ClickHouse schema, version 11: costs costwise causes after the response.
-- Portable to ClickHouse 18.16 and current releases: no DateTime64, Map, TTL, LowCardinality or
-- server-side query parameters. {{database}} is replaced by the runner with the backquoted target
-- database. Statements end with ';' at the end of a line.
--
-- Overhead spent before a response (cache lookup embeddings, LLM-router calls, failed cascade
-- attempts, summaries) is on the request's cost record: llm_calls.overhead_cost_nanousd. What a
-- stage spends after the response — the router's shadow call to the other tier and its judge, the
-- distiller's candidate call and its judge — is recorded, priced from the catalog, on the
-- comparison row that stage writes anyway (route_shadow, distill_shadow). This view presents
-- those costs as charges: one row per (request, source), charged to the request's tenant, use
-- case and time (ts is the request's creation time, as in llm_calls), so that every saved figure
-- is baseline − cost − overhead − post-response overhead. FINAL: a redelivered comparison
-- rewrites its row, and is charged once. Columns: technique whose saving pays for it (routing),
-- source (shadow, judge, distill_candidate, distill_judge), route_tier / route_strategy /
-- served_model of the route that served the request (empty for the distiller), model that was
-- called (judge:<method> for a judge), cost_nanousd.
CREATE VIEW IF NOT EXISTS {{database}}.llm_overhead AS
SELECT request_id, tenant, use_case, ts, 'routing' AS technique, 'shadow' AS source, if(fallback_active = 1, frontier_tier, cheap_tier) AS route_tier, route_strategy, served_model, shadow_model AS model, shadow_cost_nanousd AS cost_nanousd
FROM {{database}}.route_shadow FINAL
WHERE shadow_cost_nanousd != 0
UNION ALL
SELECT request_id, tenant, use_case, ts, 'routing' AS technique, 'judge' AS source, if(fallback_active = 1, frontier_tier, cheap_tier) AS route_tier, route_strategy, served_model, concat('judge:', judge) AS model, judge_cost_nanousd AS cost_nanousd
FROM {{database}}.route_shadow FINAL
WHERE judge_cost_nanousd != 0
UNION ALL
SELECT request_id, tenant, use_case, ts, 'routing' AS technique, 'distill_candidate' AS source, '' AS route_tier, '' AS route_strategy, frontier_model AS served_model, candidate_model AS model, candidate_cost_nanousd AS cost_nanousd
FROM {{database}}.distill_shadow FINAL
WHERE candidate_cost_nanousd != 0
UNION ALL
SELECT request_id, tenant, use_case, ts, 'routing' AS technique, 'distill_judge' AS source, '' AS route_tier, '' AS route_strategy, frontier_model AS served_model, concat('judge:', scorer) AS model, judge_cost_nanousd AS cost_nanousd
FROM {{database}}.distill_shadow FINAL
WHERE judge_cost_nanousd != 0;
