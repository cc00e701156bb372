import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import path from "node:path";
import { ensureStack, loadStackConfig, repoRoot, type StackConfig } from "@costwise/infra";

/**
 * A stack of its own for fault drills: Kafka, registry, Redis, ClickHouse and the emulator on ports
 * of their own under COSTWISE_HOME=.costwise-drill, so that stopping the broker or ClickHouse hurts
 * nobody else's run on the default stack. Ports sit 10 000 above the default stack's.
 */
export const DRILL_STACK_ENV: Readonly<Record<string, string>> = {
  STACK_MODE: "native",
  COSTWISE_HOME: path.join(repoRoot, ".costwise-drill"),
  KAFKA_BROKERS: "127.0.0.1:29092",
  KAFKA_CONTROLLER_PORT: "29093",
  SCHEMA_REGISTRY_URL: "http://127.0.0.1:28081/apis/ccompat/v7",
  SCHEMA_REGISTRY_MANAGEMENT_PORT: "29001",
  REDIS_URL: "redis://127.0.0.1:26379",
  CLICKHOUSE_URL: "http://127.0.0.1:28123",
  CLICKHOUSE_TCP_PORT: "29000",
  CLICKHOUSE_DATABASE: "costwise_drill",
  EMULATOR_URL: "http://127.0.0.1:28090",
};

/** Pipeline services of a drill listen 20 000 above their usual ports (29401…). */
export const DRILL_PORT_OFFSET = 20_000;

/**
 * The jars and models are the same for every home: link the default home's (fetched by stack:up)
 * instead of fetching them again. Only artifacts are shared; data, logs and pid files stay apart.
 */
function seedArtifacts(home: string): void {
  const from = path.join(repoRoot, ".costwise");
  for (const rel of ["kafka/libs", "apicurio", "models"]) {
    const src = path.join(from, rel);
    const dst = path.join(home, rel);
    if (existsSync(dst) || !existsSync(src)) continue;
    mkdirSync(path.dirname(dst), { recursive: true });
    symlinkSync(src, dst);
  }
}

export function drillStackConfig(): StackConfig {
  return loadStackConfig({ ...process.env, ...DRILL_STACK_ENV });
}

/** Start (or reuse) the private stack, provisioned; returns the environment of the services and clients. */
export async function ensureDrillStack(log: (line: string) => void): Promise<{ config: StackConfig; env: Record<string, string> }> {
  const config = drillStackConfig();
  seedArtifacts(config.home);
  const info = await ensureStack({ config, log });
  return { config, env: { ...info.env, COSTWISE_HOME: config.home } };
}
