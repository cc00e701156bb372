import { setTimeout as sleep } from "node:timers/promises";
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import type { ServiceName, StackConfig } from "../config.ts";

/** One cheap probe per service: true when it answers like a working instance. Never throws. */
export type HealthCheck = (config: StackConfig) => Promise<boolean>;

const PROBE_TIMEOUT_MS = 2_000;

async function kafkaHealthy(config: StackConfig): Promise<boolean> {
  const admin = new Kafka({
    clientId: "costwise-stack-probe",
    brokers: [...config.kafka.brokers],
    connectionTimeout: PROBE_TIMEOUT_MS,
    requestTimeout: PROBE_TIMEOUT_MS,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function schemaRegistryHealthy(config: StackConfig): Promise<boolean> {
  try {
    const res = await fetch(`${config.schemaRegistry.url}/subjects`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return res.ok && Array.isArray(await res.json());
  } catch {
    return false;
  }
}

async function redisHealthy(config: StackConfig): Promise<boolean> {
  const redis = new Redis(config.redis.url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    // Something else listening on the port may accept the connection and never answer.
    commandTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableReadyCheck: false,
  });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function clickhouseHealthy(config: StackConfig): Promise<boolean> {
  const client = createClient({
    url: config.clickhouse.url,
    username: config.clickhouse.username,
    password: config.clickhouse.password,
    request_timeout: PROBE_TIMEOUT_MS,
    // A refused connection is the expected answer while probing; the client would log it as an error.
    log: { level: ClickHouseLogLevel.OFF },
  });
  try {
    const rs = await client.query({ query: "SELECT 1 AS ok", format: "JSONEachRow" });
    const rows = await rs.json<{ ok: number }>();
    return rows[0]?.ok === 1;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function emulatorHealthy(config: StackConfig): Promise<boolean> {
  try {
    const res = await fetch(`${config.emulator.url}/_emulator/stats`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

export const healthChecks: Record<ServiceName, HealthCheck> = {
  kafka: kafkaHealthy,
  "schema-registry": schemaRegistryHealthy,
  redis: redisHealthy,
  clickhouse: clickhouseHealthy,
  emulator: emulatorHealthy,
};

export function isHealthy(config: StackConfig, service: ServiceName): Promise<boolean> {
  return healthChecks[service](config);
}

/**
 * Poll until healthy. `gone()` lets the caller stop early when the process it started has exited.
 * Resolves "healthy", "timeout" or "exited".
 */
export async function waitHealthy(
  config: StackConfig,
  service: ServiceName,
  timeoutMs: number,
  gone: () => boolean | Promise<boolean> = () => false,
): Promise<"healthy" | "timeout" | "exited"> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await gone()) return "exited";
    if (await isHealthy(config, service)) return "healthy";
    if (Date.now() >= deadline) return "timeout";
    await sleep(250);
  }
}
