-- Responses record how the model finished, the tool calls it made (JSON text: [{id, name,
-- arguments}]) and a refusal, so an answer that only called tools is not an empty row. One column
-- per statement: 18.16 has no ADD COLUMN IF NOT EXISTS, so the runner treats "already exists" on a
-- single-column ADD as applied.
ALTER TABLE {{database}}.llm_responses ADD COLUMN finish_reason String DEFAULT '' AFTER cache_source_request_id;
ALTER TABLE {{database}}.llm_responses ADD COLUMN tool_calls String DEFAULT '' AFTER finish_reason;
ALTER TABLE {{database}}.llm_responses ADD COLUMN refusal String DEFAULT '' AFTER tool_calls;
