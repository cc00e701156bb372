-- costwise ClickHouse schema, version 12: calls moved off a retired model.
-- Portable to ClickHouse 18.16 and current releases: no DateTime64, Map, TTL, LowCardinality or
-- server-side query parameters. {{database}} is replaced by the runner with the backquoted target
-- database. Statements end with ';' at the end of a line.
--
-- When a caller names a model its provider has retired, the router serves the request with the
-- model's documented successor (see @costwise/pricing lifecycle) and the cost record says so:
-- substituted_from is the retired model the caller asked for ('' when nothing was substituted),
-- model_used the successor that answered. Rows written before this column read ''.
ALTER TABLE {{database}}.llm_calls ADD COLUMN substituted_from String DEFAULT '' AFTER cache_source_request_id;
