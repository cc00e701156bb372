import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { providersConfigSchema } from "@costwise/providers";
import { baseConfigSchema, parseConfig } from "@costwise/stream-runtime";
import { DEFAULT_POLICY_FILE } from "./policy.ts";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

export const cacheConfigSchema = baseConfigSchema.merge(providersConfigSchema).extend({
  REDIS_URL: z.string().url().default("redis://127.0.0.1:16379"),
  /** Per-use-case policies (YAML or JSON), validated at start. */
  CACHE_POLICY_FILE: z.string().min(1).default(DEFAULT_POLICY_FILE),
  /** local: all-MiniLM-L6-v2 in process; openai: the embeddings API (its cost is the lookup cost); off: exact caching only. */
  CACHE_EMBEDDINGS: z.enum(["local", "openai", "off"]).default("local"),
  CACHE_EMBEDDING_MODEL_DIR: z.string().min(1).default(path.join(repoRoot, ".costwise", "models", "all-MiniLM-L6-v2")),
  CACHE_OPENAI_EMBEDDING_MODEL: z.string().min(1).default("text-embedding-3-small"),
  /** onnxruntime intra-op threads for the local model; 1 keeps latency steady next to other work. */
  CACHE_EMBEDDING_THREADS: z.coerce.number().int().positive().default(1),
  /** A Redis command slower than this fails and the lookup passes as a miss. */
  CACHE_REDIS_TIMEOUT_MS: z.coerce.number().int().positive().default(50),
  /** Separate prefixes are separate caches on one Redis. */
  CACHE_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).default("cw:cache"),
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
/**
 * The baseline follows the executor's default model unless CACHE_BASELINE_MODEL says otherwise;
 * the model directory follows COSTWISE_HOME (where `ensureEmbeddingModel` puts it) unless set.
 */
export const loadCacheConfig = (env: NodeJS.ProcessEnv = process.env): CacheConfig =>
  parseConfig(cacheConfigSchema, {
    CACHE_BASELINE_MODEL: env.EXECUTOR_DEFAULT_MODEL,
    CACHE_EMBEDDING_MODEL_DIR: env.COSTWISE_HOME?.trim() ? path.join(env.COSTWISE_HOME.trim(), "models", "all-MiniLM-L6-v2") : undefined,
    ...env,
  });
