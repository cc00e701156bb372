import { z } from "zod";
import { localModelDir } from "@costwise/embeddings";
import { providersConfigSchema } from "@costwise/providers";
import { DEFAULT_DISTILL_SWITCH_KEY } from "@costwise/route-state";
import { baseConfigSchema, parseConfig } from "@costwise/stream-runtime";
import { DEFAULT_DISTILL_JOBS_KEY } from "./jobs.ts";
import { DEFAULT_DISTILL_POLICY_FILE } from "./policy.ts";

/** The local sentence model of "embedding" and "semantic" scoring (fetched by npm run stack:up). */
const DISTILL_EMBEDDING_MODEL = "all-MiniLM-L6-v2";

const clickhouse = {
  CLICKHOUSE_URL: z.string().url().default("http://127.0.0.1:18123"),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default("costwise"),
  CLICKHOUSE_USER: z.string().default("default"),
  CLICKHOUSE_PASSWORD: z.string().default(""),
};

const redis = {
  REDIS_URL: z.string().url().default("redis://127.0.0.1:16379"),
  /** Distillation policy (YAML or JSON). */
  DISTILL_POLICY_FILE: z.string().min(1).default(DEFAULT_DISTILL_POLICY_FILE),
  /** The router's hash of distilled-model switches (ROUTER_DISTILL_SWITCH_KEY of the router). */
  DISTILL_SWITCH_KEY: z.string().min(1).default(DEFAULT_DISTILL_SWITCH_KEY),
  /** The router's Redis prefix (ROUTER_REDIS_PREFIX), to read whether a distilled route is in fallback. */
  ROUTER_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).default("cw:router"),
};

export const distillerConfigSchema = baseConfigSchema.merge(providersConfigSchema).extend({
  ...clickhouse,
  ...redis,
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9408),
  DISTILL_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).default("costwise:distill"),
  DISTILL_REDIS_TIMEOUT_MS: z.coerce.number().int().positive().default(1_000),
  /** How long a remembered prompt waits for its answer (batch answers can take hours: raise it for batch use cases). */
  DISTILL_JOIN_TTL_SECONDS: z.coerce.number().int().positive().default(900),
  DISTILL_SHADOW_CONCURRENCY: z.coerce.number().int().positive().default(8),
  /** The local sentence-embedding model, for use cases scored "embedding" or "semantic" (fetched by npm run stack:up). */
  DISTILL_EMBEDDING_MODEL_DIR: z.string().min(1).default(localModelDir(DISTILL_EMBEDDING_MODEL, {})),
});
export type DistillerConfig = z.infer<typeof distillerConfigSchema>;
export const loadDistillerConfig = (env: NodeJS.ProcessEnv = process.env): DistillerConfig =>
  parseConfig(distillerConfigSchema, { DISTILL_EMBEDDING_MODEL_DIR: localModelDir(DISTILL_EMBEDDING_MODEL, env), ...env });

/** What `costwise distill …` needs: ClickHouse, Redis, the policy, and the providers (train, evaluate). */
export const distillCliConfigSchema = providersConfigSchema.extend({
  ...clickhouse,
  ...redis,
  /** The Redis hash of fine-tuning jobs `distill train` started (a restarted train resumes from it). */
  DISTILL_JOBS_KEY: z.string().min(1).default(DEFAULT_DISTILL_JOBS_KEY),
  /** Deadline of each fine-tuning API call (upload, create, poll, cancel). */
  DISTILL_FINE_TUNE_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  /** Polling backoff of a running job: first wait, doubling up to the max. */
  DISTILL_POLL_INITIAL_MS: z.coerce.number().int().positive().default(2_000),
  DISTILL_POLL_MAX_MS: z.coerce.number().int().positive().default(60_000),
  DISTILL_EMBEDDING_MODEL_DIR: z.string().min(1).default(localModelDir(DISTILL_EMBEDDING_MODEL, {})),
  /** Concurrent candidate calls of `distill evaluate`. */
  DISTILL_EVAL_CONCURRENCY: z.coerce.number().int().positive().default(4),
});
export type DistillCliConfig = z.infer<typeof distillCliConfigSchema>;
export const loadDistillCliConfig = (env: NodeJS.ProcessEnv = process.env): DistillCliConfig =>
  parseConfig(distillCliConfigSchema, { DISTILL_EMBEDDING_MODEL_DIR: localModelDir(DISTILL_EMBEDDING_MODEL, env), ...env });
