-- Token classes priced apart (1-hour cache writes, reasoning inside output) and models served
-- without a catalog price. One column per statement: 18.16 has no ADD COLUMN IF NOT EXISTS, so
-- the runner treats "already exists" on a single-column ADD as applied.
ALTER TABLE {{database}}.llm_calls ADD COLUMN reasoning_tokens UInt32 DEFAULT 0 AFTER substituted_from;
ALTER TABLE {{database}}.llm_calls ADD COLUMN cache_write_1h_input_tokens UInt32 DEFAULT 0 AFTER reasoning_tokens;
ALTER TABLE {{database}}.llm_calls ADD COLUMN unpriced UInt8 DEFAULT 0 AFTER cache_write_1h_input_tokens;
