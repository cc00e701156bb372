import { z } from "zod";
import { ConfigError } from "./errors.ts";

const csv = z.string().transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean)).pipe(z.array(z.string()).min(1));

/** Settings every stream service shares. Services extend this schema with their own. */
export const baseConfigSchema = z.object({
  KAFKA_BROKERS: csv.default("127.0.0.1:19092"),
  SCHEMA_REGISTRY_URL: z.string().url().default("http://127.0.0.1:18081/apis/ccompat/v7"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Port of /metrics and /health; 0 picks a free one. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  /** Interface of /metrics and /health: loopback locally, 0.0.0.0 in a pod (the kubelet probes from outside). */
  OPS_HOST: z.string().default("127.0.0.1"),
  /** The whole start-up (registry, Kafka, models, joining the group) must finish in this time, or the process exits naming the step. */
  STARTUP_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
  /** Deadline of one schema-registry call, and how many attempts each call gets. */
  REGISTRY_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  REGISTRY_ATTEMPTS: z.coerce.number().int().positive().default(4),
  /** Kafka: connecting to a broker, one request (admin, fetch metadata, produce), and one whole send with the client's own retries. */
  KAFKA_CONNECT_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  KAFKA_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  KAFKA_SEND_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  /**
   * The Kafka client library of the producer and the consumer, with the same semantics either way
   * (idempotent, acks from all in-sync replicas; at-least-once commits). `npm run bench -- transport` compares them.
   */
  KAFKA_CLIENT: z.enum(["kafkajs", "platformatic"]).default("kafkajs"),
  GROUP_ID: z.string().optional(),
  /**
   * Inputs taken beyond the last one whose outputs are all acknowledged (bounds what a re-delivery
   * repeats); for processBatch services, the inputs of one call.
   */
  SUB_BATCH_SIZE: z.coerce.number().int().positive().default(200),
  /** Inputs processed at once per partition batch (a sliding window). */
  CONCURRENCY: z.coerce.number().int().positive().default(64),
  PARTITIONS_CONCURRENTLY: z.coerce.number().int().positive().default(6),
  RETRY_ATTEMPTS: z.coerce.number().int().positive().default(5),
  RETRY_INITIAL_MS: z.coerce.number().int().positive().default(200),
  RETRY_MAX_MS: z.coerce.number().int().positive().default(8_000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  /**
   * A fetch returns once this many bytes are waiting, or after FETCH_MAX_WAIT_MS. The default
   * answers each record as soon as it lands; under load, a larger minimum lets the broker serve
   * fewer, fuller fetches (less CPU for it and for the service) for up to the wait added per hop.
   */
  FETCH_MIN_BYTES: z.coerce.number().int().positive().default(1),
  FETCH_MAX_WAIT_MS: z.coerce.number().int().positive().default(100),
  /**
   * What one fetch may carry, in all and of one partition: with a backlog, each fetch brings this
   * much into memory at once (a first record batch larger than either still comes whole).
   */
  FETCH_MAX_BYTES: z.coerce.number().int().positive().default(4 * 1024 * 1024),
  FETCH_PARTITION_MAX_BYTES: z.coerce.number().int().positive().default(1024 * 1024),
  /** How long the group waits for a silent member (e.g. after SIGKILL) before reassigning its partitions. */
  SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(30_000),
  /** Services with a commit watermark commit it this often (and at shutdown). */
  COMMIT_INTERVAL_MS: z.coerce.number().int().positive().default(1_000),
});
export type BaseConfig = z.infer<typeof baseConfigSchema>;

/** Empty strings mean "unset" in env files and CI variables. */
export function cleanEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") out[k] = v;
  return out;
}

/** Parse once at the edge; the error lists every bad variable. */
export function parseConfig<S extends z.ZodTypeAny>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(cleanEnv(env));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data as z.infer<S>;
}

export function loadBaseConfig(env: NodeJS.ProcessEnv = process.env): BaseConfig {
  return parseConfig(baseConfigSchema, env);
}
