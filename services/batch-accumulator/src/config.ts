import { hostname } from "node:os";
import { z } from "zod";
import { providersConfigSchema } from "@costwise/providers";
import { defaultModelConfigSchema, withDefaultModel } from "@costwise/lifecycle";
import { baseConfigSchema, parseConfig } from "@costwise/stream-runtime";

const int = (min = 1) => z.coerce.number().int().min(min);

/** COSTWISE_DEFAULT_MODEL (or BATCH_DEFAULT_MODEL): model of requests that name none and were not routed; also their cost baseline. */
export const batchAccumulatorConfigSchema = baseConfigSchema.merge(providersConfigSchema).merge(defaultModelConfigSchema).extend({
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9406),
  // Intake is CPU work (validation, tokenising) plus an in-memory add: one at a time keeps offsets in order.
  CONCURRENCY: int().default(1),
  REDIS_URL: z.string().url().default("redis://127.0.0.1:16379"),
  /** Namespace of every Redis key of the batch path. */
  BATCH_KEY_PREFIX: z.string().min(1).default("costwise:batch:"),
  /** Owner of stored batches; a restart under the same id resumes them without waiting for a lease to run out. */
  INSTANCE_ID: z.string().min(1).default(hostname()),
  /** Caps per batch, lowered to the provider's own limits when higher. */
  BATCH_MAX_REQUESTS: int().default(50_000),
  BATCH_MAX_BYTES: int(1024).default(200_000_000),
  /** An open batch is submitted at the latest this long after its first request. */
  BATCH_MAX_AGE_MS: int().default(60_000),
  /**
   * Budget from submission to results; requests whose deadline is nearer go real time. Keep it equal
   * to compression's BATCH_MIN_DEADLINE_MS (same default, 1 h), which decides what is sent here. The
   * providers promise 24 h but usually take far less; a batch still running when only
   * REALTIME_BUDGET_MS is left before its earliest deadline is cancelled and its unfinished requests
   * go real time, so deadlines hold even when a batch is slower than this budget.
   */
  BATCH_TURNAROUND_MS: int().default(3_600_000),
  /**
   * Time the real-time path needs (include the provider's cancellation time: minutes on OpenAI); a failed
   * line falls back to it only if its deadline leaves this much.
   */
  REALTIME_BUDGET_MS: int().default(60_000),
  /** Batches a request may go through (failed lines are retried in the next batch) before real time. */
  BATCH_MAX_ATTEMPTS: int().default(2),
  /** Requests held in memory at most; bounds memory whatever the traffic. */
  BATCH_MAX_HELD: int().default(150_000),
  BATCH_FLUSH_CONCURRENCY: int().default(2),
  BATCH_POLL_INITIAL_MS: int().default(5_000),
  BATCH_POLL_MAX_MS: int().default(60_000),
  BATCH_TICK_MS: int().default(250),
  BATCH_LEASE_MS: int().default(60_000),
  BATCH_RECOVER_EVERY_MS: int().default(10_000),
  BATCH_EMIT_CHUNK: int().default(500),
  /**
   * A request stays claimed this long from its batch's creation: redeliveries and upstream duplicates
   * are dropped meanwhile. Must outlast a batch (24 h completion window) plus polling.
   */
  BATCH_CLAIM_TTL_S: int().default(2 * 86_400),
  /** Finished batch records are kept this long (for `cli list`). */
  BATCH_RETENTION_S: int().default(7 * 86_400),
});
export type BatchAccumulatorConfig = z.infer<typeof batchAccumulatorConfigSchema>;

export const loadBatchAccumulatorConfig = (env: NodeJS.ProcessEnv = process.env): BatchAccumulatorConfig => parseConfig(batchAccumulatorConfigSchema, withDefaultModel(env, "BATCH_DEFAULT_MODEL"));
