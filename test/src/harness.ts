import path from "node:path";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { repoRoot, spawnService, stopPipelineService, waitHealthy, type PipelineServiceName, type SpawnedService } from "@costwise/infra";
import { sqlLiteral } from "@costwise/infra";
import type { LlmResponse } from "@costwise/schemas";

/** The stack endpoints, as the test setup put them in the environment. */
export function stackEnv(): Record<string, string> {
  const need = ["KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "CLICKHOUSE_URL", "EMULATOR_URL", "REDIS_URL"] as const;
  const env: Record<string, string> = {};
  for (const k of need) {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set: the integration tests need the local stack (npm run stack:up)`);
    env[k] = v;
  }
  for (const k of ["CLICKHOUSE_DATABASE", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"]) if (process.env[k]) env[k] = process.env[k]!;
  return env;
}

/** Pipeline services as child processes, logging to .costwise/logs/test-<name>.log. */
export class Pipeline {
  readonly services = new Map<string, SpawnedService>();
  constructor(private readonly env: Record<string, string>) {}

  async start(name: PipelineServiceName, extraEnv: Record<string, string> = {}): Promise<SpawnedService> {
    const svc = spawnService(name, { LOG_LEVEL: "info", ...this.env, ...extraEnv }, { logFile: path.join(repoRoot, ".costwise/logs", `test-${name}.log`) });
    this.services.set(name, svc);
    await waitHealthy(svc);
    return svc;
  }

  kill(name: string, signal: NodeJS.Signals = "SIGKILL"): Promise<unknown> {
    const svc = this.services.get(name)!;
    svc.child.kill(signal);
    return svc.exited;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => stopPipelineService(s)));
  }
}

export function clickhouse(env: Record<string, string>): ClickHouseClient {
  return createClient({ url: env.CLICKHOUSE_URL, request_timeout: 30_000 });
}

export const DB = process.env.CLICKHOUSE_DATABASE ?? "costwise";

export async function queryRows<T>(ch: ClickHouseClient, query: string): Promise<T[]> {
  const rs = await ch.query({ query, format: "JSONEachRow" });
  return rs.json<T>();
}

/** Poll until `llm_calls` (deduplicated with FINAL) holds every id, or time out saying how many arrived. */
export async function waitForCalls<T = Record<string, unknown>>(ch: ClickHouseClient, ids: readonly string[], timeoutMs = 120_000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  let rows: T[] = [];
  for (;;) {
    try {
      rows = await queryRows<T>(ch, `SELECT * FROM ${DB}.llm_calls FINAL WHERE request_id IN (${ids.map((i) => sqlLiteral(i)).join(",")})`);
      if (rows.length >= ids.length) return rows;
    } catch {
      // ClickHouse may be down on purpose in a test
    }
    if (Date.now() > deadline) throw new Error(`only ${rows.length} of ${ids.length} llm_calls rows after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** How many of `ids` have a row in `llm_calls` (FINAL: one per request however often it was written). */
export async function countCalls(ch: ClickHouseClient, ids: readonly string[], db: string = DB): Promise<number> {
  if (ids.length === 0) return 0;
  const rows = await queryRows<{ n: string }>(ch, `SELECT count() AS n FROM ${db}.llm_calls FINAL WHERE request_id IN (${ids.map((i) => sqlLiteral(i)).join(",")})`);
  return Number(rows[0]?.n ?? 0);
}

/** Admin calls to the provider emulator. */
export const emulator = (url: string) => ({
  async fault(body: Record<string, unknown>) {
    const res = await fetch(`${url}/_emulator/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`emulator fault: ${res.status} ${await res.text()}`);
  },
  async clearFaults() {
    await fetch(`${url}/_emulator/faults`, { method: "DELETE", signal: AbortSignal.timeout(10_000) });
  },
  async config(body: Record<string, unknown>) {
    const res = await fetch(`${url}/_emulator/config`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`emulator config: ${res.status} ${await res.text()}`);
  },
  async stats(): Promise<Record<string, unknown>> {
    return (await fetch(`${url}/_emulator/stats`, { signal: AbortSignal.timeout(10_000) })).json() as Promise<Record<string, unknown>>;
  },
});

export function collect(): { got: Map<string, LlmResponse>; all: LlmResponse[]; onResponse: (r: LlmResponse) => void } {
  const got = new Map<string, LlmResponse>();
  const all: LlmResponse[] = [];
  return { got, all, onResponse: (r) => { all.push(r); got.set(r.request_id, r); } };
}

export const runId = (label: string) => `${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
