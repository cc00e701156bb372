import { fileURLToPath } from "node:url";
import { z } from "zod";
import { localModelDir } from "@costwise/embeddings";
import { providersConfigSchema } from "@costwise/providers";
import { baseConfigSchema, parseConfig } from "@costwise/stream-runtime";
import { DEFAULT_DISTILL_SWITCH_KEY } from "./distilled.ts";

/** The shipped policy, found relative to this package whatever the working directory. */
export const DEFAULT_POLICY_FILE = fileURLToPath(new URL("../config/policy.yaml", import.meta.url));

/**
 * The local sentence model semantic routes embed with: the one the cache ships by default, so a
 * request the cache embedded carries the vector the router needs and is never embedded twice.
 */
export const ROUTER_EMBEDDING_MODEL = "bge-small-en-v1.5-q";
/** The shadow's embedding judge model: its agreement threshold was calibrated on this one. */
const ROUTER_SHADOW_EMBEDDING_MODEL = "all-MiniLM-L6-v2";

const flag = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

export const routerConfigSchema = baseConfigSchema.merge(providersConfigSchema).extend({
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9404),
  /** Routing policy (YAML or JSON); relative paths are resolved against the working directory. */
  ROUTER_POLICY_FILE: z.string().min(1).default(DEFAULT_POLICY_FILE),
  REDIS_URL: z.string().url().default("redis://127.0.0.1:16379"),
  ROUTER_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).default("cw:router"),
  /** A Redis command slower than this fails: a shadow sample is dropped rather than the route delayed. */
  ROUTER_REDIS_TIMEOUT_MS: z.coerce.number().int().positive().default(200),
  /** How often the routing path re-reads which routes are in fallback (and which are backed off after a quality regression). */
  ROUTER_FALLBACK_REFRESH_MS: z.coerce.number().int().positive().default(1_000),
  /** Redis hash of techniques backed off after a quality regression in outcomes (the alerts service writes it): a backed-off cheap route falls back to the frontier tier. */
  OUTCOME_BACKOFF_KEY: z.string().regex(/^[A-Za-z0-9:_.-]+$/).default("cw:outcomes:backoff"),
  /** Run the shadow consumer of llm.responses in this process. */
  ROUTER_SHADOW_ENABLED: flag.default("true"),
  /** /metrics and /health of the shadow consumer (0 picks a free port). */
  ROUTER_SHADOW_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9414),
  ROUTER_SHADOW_CONCURRENCY: z.coerce.number().int().positive().default(8),
  /** How long the shadow consumer remembers a cheap route's answer for its outcome on llm.outcomes (0: outcomes are not counted). */
  ROUTER_OUTCOME_MEMORY_S: z.coerce.number().int().min(0).default(7 * 24 * 3600),
  /** The sentence model of the shadow's "embedding" judge (default: `$COSTWISE_HOME/models/all-MiniLM-L6-v2`). */
  ROUTER_SHADOW_EMBEDDING_MODEL_DIR: z.string().min(1).default(localModelDir(ROUTER_SHADOW_EMBEDDING_MODEL, {})),
  /** Redis hash of distilled-model switches written by `costwise distill switch` (services/distiller). */
  ROUTER_DISTILL_SWITCH_KEY: z.string().min(1).default(DEFAULT_DISTILL_SWITCH_KEY),
  /** How often the routing path re-reads the distilled-model switches. */
  ROUTER_DISTILL_REFRESH_MS: z.coerce.number().int().positive().default(1_000),
  /**
   * The local sentence model for semantic use cases, loaded only when a request arrives without
   * the cache's embedding of the same model (its name is checked against each model file).
   */
  ROUTER_EMBEDDING_MODEL_DIR: z.string().min(1).default(localModelDir(ROUTER_EMBEDDING_MODEL, {})),
  ROUTER_EMBEDDING_THREADS: z.coerce.number().int().positive().default(1),
  /** How often semantic routes re-derive their threshold from shadow results (0: never, the model file's). */
  ROUTER_CALIBRATION_REFRESH_MS: z.coerce.number().int().nonnegative().default(60_000),
  CLICKHOUSE_URL: z.string().url().default("http://127.0.0.1:18123"),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default("costwise"),
  CLICKHOUSE_USER: z.string().default("default"),
  CLICKHOUSE_PASSWORD: z.string().default(""),
});
export type RouterConfig = z.infer<typeof routerConfigSchema>;
/** The embedder name every semantic model file must have been trained with (the cache's local model). */
export const ROUTER_EMBEDDING_NAME = `local:${ROUTER_EMBEDDING_MODEL}`;

export const loadRouterConfig = (env: NodeJS.ProcessEnv = process.env): RouterConfig =>
  parseConfig(routerConfigSchema, {
    ROUTER_EMBEDDING_MODEL_DIR: localModelDir(ROUTER_EMBEDDING_MODEL, env),
    ROUTER_SHADOW_EMBEDDING_MODEL_DIR: localModelDir(ROUTER_SHADOW_EMBEDDING_MODEL, env),
    ...env,
  });
