import { hostname } from "node:os";
import { z } from "zod";
import { baseConfigSchema, parseConfig } from "@costwise/stream-runtime";

export const gatewayConfigSchema = baseConfigSchema.extend({
  GATEWAY_HOST: z.string().default("127.0.0.1"),
  /** Default: the port of GATEWAY_URL (the local stack writes it to stack.env), else 18400. */
  GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  GATEWAY_URL: z.string().url().optional(),
  /** Where clients reach this gateway (retrieval URLs of batch calls); default GATEWAY_URL, else http://GATEWAY_HOST:port. */
  GATEWAY_PUBLIC_URL: z.string().url().optional(),
  /**
   * Names this replica's request ids and its reply consumer group (`costwise-gateway-<id>`). Keep it
   * stable across restarts (a StatefulSet ordinal, a host name): a restarted replica then resumes its
   * group and stores the answers that arrived while it was down.
   */
  GATEWAY_REPLICA_ID: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, _ and - only").optional(),
  /** JSON file of API keys by sha256 (see keys.ts; `npm run key -w @costwise/gateway` adds one). */
  GATEWAY_KEYS_FILE: z.string().min(1),
  REDIS_URL: z.string().url().default("redis://127.0.0.1:16379"),
  GATEWAY_REDIS_PREFIX: z.string().default("cw:gw:"),
  GATEWAY_REDIS_TIMEOUT_MS: z.coerce.number().int().positive().default(1_000),
  GATEWAY_BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(4 * 1024 * 1024),
  /** How long a real-time call waits for its answer before a retryable 504. */
  GATEWAY_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
  GATEWAY_PRODUCE_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Default per-key limit (the keys file may set its own per key). */
  GATEWAY_RATE_PER_MINUTE: z.coerce.number().int().positive().default(600),
  GATEWAY_BURST: z.coerce.number().int().positive().default(60),
  GATEWAY_RESULT_TTL_S: z.coerce.number().int().positive().default(7 * 24 * 3600),
  GATEWAY_IDEMPOTENCY_TTL_S: z.coerce.number().int().positive().default(24 * 3600),
  /** On SIGTERM, calls in flight get this long to finish before they are answered 503 (retryable). */
  GATEWAY_DRAIN_MS: z.coerce.number().int().min(0).default(10_000),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9409),
  SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(10_000),
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema> & { GATEWAY_REPLICA_ID: string; GATEWAY_PORT: number; GATEWAY_PUBLIC_URL: string };

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const c = parseConfig(gatewayConfigSchema, env);
  const fromUrl = c.GATEWAY_URL ? Number(new URL(c.GATEWAY_URL).port || 80) : undefined;
  const port = c.GATEWAY_PORT ?? fromUrl ?? 18400;
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 48);
  const publicUrl = c.GATEWAY_PUBLIC_URL ?? (c.GATEWAY_PORT === undefined && c.GATEWAY_URL ? c.GATEWAY_URL : `http://${c.GATEWAY_HOST}:${port}`);
  return { ...c, GATEWAY_PORT: port, GATEWAY_PUBLIC_URL: publicUrl.replace(/\/+$/, ""), GATEWAY_REPLICA_ID: c.GATEWAY_REPLICA_ID ?? `${host}-${port}` };
}
