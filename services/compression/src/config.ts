import { fileURLToPath } from "node:url";
import { z } from "zod";
import { providersConfigSchema } from "@costwise/providers";
import { defaultModelConfigSchema, withDefaultModel } from "@costwise/lifecycle";
import { baseConfigSchema, parseConfig } from "@costwise/stream-runtime";

export const DEFAULT_POLICY_FILE = fileURLToPath(new URL("../config/policy.yaml", import.meta.url));

const positiveInt = z.coerce.number().int().positive();

/** COSTWISE_DEFAULT_MODEL (or COMPRESSION_DEFAULT_MODEL): tokenizer and context window for requests that neither the router nor the caller gave a model. */
export const compressionConfigSchema = baseConfigSchema.merge(providersConfigSchema).merge(defaultModelConfigSchema).extend({
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9405),
  /** YAML/JSON policy: strategies, budget and floor per use case (see config/policy.yaml). */
  COMPRESSION_POLICY_FILE: z.string().min(1).default(DEFAULT_POLICY_FILE),
  /** Contexts longer than this are rejected (INPUT_TOO_LARGE): about 1M tokens, the largest window in the catalog. */
  COMPRESSION_MAX_CONTEXT_CHARS: positiveInt.default(4_000_000),
  /** An LLMLingua-2 style endpoint for the `external` strategy. */
  COMPRESSION_EXTERNAL_URL: z.string().url().optional(),
  COMPRESSION_EXTERNAL_TIMEOUT_MS: positiveInt.default(2_000),
  /** Boilerplate segment counts; only connected when a policy learns boilerplate. */
  REDIS_URL: z.string().url().default("redis://127.0.0.1:16379"),
  BOILERPLATE_BUCKET_SECONDS: positiveInt.default(3_600),
  BOILERPLATE_WINDOW_BUCKETS: positiveInt.default(24),
  BOILERPLATE_HALF_LIFE_BUCKETS: z.coerce.number().positive().default(6),
  /** BATCH requests whose deadline is at least this far away go to llm.requests.batch. */
  BATCH_MIN_DEADLINE_MS: positiveInt.default(3_600_000),
});
export type CompressionConfig = z.infer<typeof compressionConfigSchema>;
export const loadCompressionConfig = (env: NodeJS.ProcessEnv = process.env): CompressionConfig => parseConfig(compressionConfigSchema, withDefaultModel(env, "COMPRESSION_DEFAULT_MODEL"));
