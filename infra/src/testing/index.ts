import { inject } from "vitest";
import type {} from "./provided.ts";

/**
 * The local stack's endpoints inside an integration test (KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
 * REDIS_URL, CLICKHOUSE_URL, CLICKHOUSE_DATABASE, EMULATOR_URL, …), as the global setup wrote them.
 * Values set explicitly in the environment win, as in stack:up itself.
 */
export function stackEnv(): Readonly<Record<string, string>> {
  const provided = inject("costwiseStackEnv");
  return Object.fromEntries(Object.entries(provided).map(([k, v]) => [k, process.env[k] || v]));
}
