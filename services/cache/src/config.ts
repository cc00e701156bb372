import { z } from "zod";
import { localModelDir } from "@costwise/embeddings";
import { providersConfigSchema } from "@costwise/providers";
import { baseConfigSchema, parseConfig } from "@costwise/stream-runtime";
import { DEFAULT_POLICY_FILE } from "./policy.ts";


/** The local embedding model the cache ships with (chosen by `npm run eval:cache`, see docs/evaluation.md). */
export const DEFAULT_EMBEDDING_MODEL = "bge-small-en-v1.5-q";

export const cacheConfigSchema = baseConfigSchema.merge(providersConfigSchema).extend({
  REDIS_URL: z.string().url().default("redis://127.0.0.1:16379"),
  /** Per-use-case policies (YAML or JSON), validated at start. */
  CACHE_POLICY_FILE: z.string().min(1).default(DEFAULT_POLICY_FILE),
  /** local: a sentence model in process (CACHE_EMBEDDING_MODEL); openai: the embeddings API (its cost is the lookup cost); off: exact caching only. */
  CACHE_EMBEDDINGS: z.enum(["local", "openai", "off"]).default("local"),
  /** Which local model (all-MiniLM-L6-v2, bge-small-en-v1.5-q, e5-small-v2-q); its directory is `$COSTWISE_HOME/models/<model>` unless CACHE_EMBEDDING_MODEL_DIR says otherwise. */
  CACHE_EMBEDDING_MODEL: z.string().min(1).default(DEFAULT_EMBEDDING_MODEL),
  CACHE_EMBEDDING_MODEL_DIR: z.string().min(1).optional(),
  /** The near-miss and exploration judge's bar: answers whose embeddings are at least this similar are interchangeable. */
  CACHE_VERIFY_MIN_COSINE: z.coerce.number().gt(0).max(1).default(0.9),
  CACHE_OPENAI_EMBEDDING_MODEL: z.string().min(1).default("text-embedding-3-small"),
  /** onnxruntime intra-op threads for the local model; 1 keeps latency steady next to other work. */
  CACHE_EMBEDDING_THREADS: z.coerce.number().int().positive().default(1),
  /** A Redis command slower than this fails and the lookup passes as a miss. */
  CACHE_REDIS_TIMEOUT_MS: z.coerce.number().int().positive().default(50),
  /** Separate prefixes are separate caches on one Redis. */
  CACHE_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).default("cw:cache"),
  /** Redis hash of techniques backed off after a quality regression in outcomes (the alerts service writes it): a backed-off use case is served exact matches only. */
  OUTCOME_BACKOFF_KEY: z.string().regex(/^[A-Za-z0-9:_.-]+$/).default("cw:outcomes:backoff"),
  /** How often lookups' view of the backoffs is re-read. */
  CACHE_BACKOFF_REFRESH_MS: z.coerce.number().int().positive().default(1_000),
  /** How long a miss waits for its answer to be learned. */
  CACHE_PENDING_TTL_S: z.coerce.number().int().positive().default(3_600),
  /** The caller's model when a request names none: what a hit's saving is priced against. */
  CACHE_BASELINE_MODEL: z.string().min(1).default("gpt-4o"),
  /** How long start-up waits for the vector index to be rebuilt from Redis before consuming anyway. */
  CACHE_REBUILD_WAIT_MS: z.coerce.number().int().min(0).default(30_000),
  CACHE_ANN_CANDIDATES: z.coerce.number().int().positive().max(64).default(4),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9403),
});
export type CacheConfig = z.infer<typeof cacheConfigSchema>;

/** The local model's directory: CACHE_EMBEDDING_MODEL_DIR, else where `ensureEmbeddingModel` puts the model. */
export function embeddingModelDirOf(config: CacheConfig, env: NodeJS.ProcessEnv = process.env): string {
  if (config.CACHE_EMBEDDING_MODEL_DIR) return config.CACHE_EMBEDDING_MODEL_DIR;
  return localModelDir(config.CACHE_EMBEDDING_MODEL, env);
}
/**
 * The baseline follows the executor's default model unless CACHE_BASELINE_MODEL says otherwise;
 * the model directory follows COSTWISE_HOME and CACHE_EMBEDDING_MODEL unless set.
 */
export function loadCacheConfig(env: NodeJS.ProcessEnv = process.env): CacheConfig {
  const c = parseConfig(cacheConfigSchema, { CACHE_BASELINE_MODEL: env.EXECUTOR_DEFAULT_MODEL, ...env });
  return { ...c, CACHE_EMBEDDING_MODEL_DIR: embeddingModelDirOf(c, env) };
}
