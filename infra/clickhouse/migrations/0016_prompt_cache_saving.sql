-- Provider prompt caching is attributed as its own saving (what the same tokens cost uncached
-- minus what they were billed, cache-write premiums included). One column per statement: 18.16
-- has no ADD COLUMN IF NOT EXISTS, so the runner treats "already exists" on a single-column ADD as applied.
ALTER TABLE {{database}}.llm_calls ADD COLUMN saving_prompt_cache_nanousd Int64 DEFAULT 0 AFTER unpriced;
