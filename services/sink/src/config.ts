import { z } from "zod";
import { baseConfigSchema, parseConfig } from "@costwise/stream-runtime";

export const sinkConfigSchema = baseConfigSchema.extend({
  CLICKHOUSE_URL: z.string().url().default("http://127.0.0.1:18123"),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default("costwise"),
  CLICKHOUSE_USER: z.string().default("default"),
  CLICKHOUSE_PASSWORD: z.string().default(""),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9402),
  SUB_BATCH_SIZE: z.coerce.number().int().positive().default(2_000),
  // Every partition of every input at once, so that the batches of one fetch meet in one insert.
  PARTITIONS_CONCURRENTLY: z.coerce.number().int().positive().default(24),
  /** How long an insert waits for the other partitions' inserts into the same table to join it. */
  SINK_LINGER_MS: z.coerce.number().int().min(0).default(500),
  /** A joined insert this large is written at once. */
  SINK_MAX_ROWS: z.coerce.number().int().positive().default(10_000),
  // ClickHouse may be down for a long time; keep retrying (the batch stays uncommitted) rather than give up.
  RETRY_ATTEMPTS: z.coerce.number().int().positive().default(1_000_000),
  RETRY_MAX_MS: z.coerce.number().int().positive().default(5_000),
});
export type SinkConfig = z.infer<typeof sinkConfigSchema>;
export const loadSinkConfig = (env: NodeJS.ProcessEnv = process.env): SinkConfig => parseConfig(sinkConfigSchema, env);
