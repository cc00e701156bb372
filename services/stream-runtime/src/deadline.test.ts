import { spawn } from "node:child_process";
import { createServer, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { topics } from "@costwise/schemas";
import { boundedCall, DeadlineExceededError, withDeadline } from "./deadline.ts";
import { loadBaseConfig } from "./config.ts";
import { silentLogger } from "./logger.ts";
import { StreamMetrics } from "./metrics.ts";
import { confluentRegistry, RegistryRejectedError } from "./serde.ts";
import { ServiceHealth } from "./health.ts";
import { startService } from "./service.ts";

/** A TCP server that accepts connections and never answers: the registry that hung the cache's start-up. */
async function silentServer(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((s) => {
    count++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

describe("deadlines", () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it("withDeadline rejects with the name of the call and aborts its signal", async () => {
    let aborted = false;
    const err = await withDeadline("redis: ping", 30, (signal) => new Promise((_, reject) => signal.addEventListener("abort", () => { aborted = true; reject(signal.reason); }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as Error).message).toBe("redis: ping: no answer within 30 ms");
    expect(aborted).toBe(true);
  });

  it("boundedCall gives each attempt its deadline and says how many attempts were made", async () => {
    let calls = 0;
    const err = await boundedCall("clickhouse: insert", { timeoutMs: 20, retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2, jitter: 0 } }, () => {
      calls++;
      return new Promise(() => undefined);
    }).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect((err as Error).message).toBe("clickhouse: insert (3 attempts): no answer within 20 ms");
  });

  it("a schema registry that never answers fails register with a named timeout, after the retry budget", async () => {
    const srv = await silentServer();
    closers.push(srv.close);
    const registry = confluentRegistry(srv.url, { timeoutMs: 100, attempts: 2 });
    const t0 = Date.now();
    const err = await registry.register("llm.requests-value", { type: "record", name: "R", fields: [{ name: "a", type: "string" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as Error).message).toMatch(/^schema registry: register llm\.requests-value \(2 attempts\): no answer within 100 ms$/);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(srv.connections()).toBeGreaterThanOrEqual(1);
    const fetchErr = await registry.writerSchema(7).catch((e: unknown) => e);
    expect((fetchErr as Error).message).toMatch(/^schema registry: fetch schema 7 \(2 attempts\)/);
  });

  it("a registry refusal (4xx) is final: not retried", async () => {
    const { createServer: http } = await import("node:http");
    let hits = 0;
    const server = http((_req, res) => { hits++; res.writeHead(422, { "content-type": "application/json" }); res.end(JSON.stringify({ error_code: 42201, message: "invalid schema" })); });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise((r) => server.close(() => r())));
    const registry = confluentRegistry(`http://127.0.0.1:${(server.address() as { port: number }).port}`, { timeoutMs: 1_000, attempts: 4 });
    const err = await registry.register("llm.requests-value", { type: "record", name: "R", fields: [{ name: "a", type: "string" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryRejectedError);
    expect((err as RegistryRejectedError).status).toBe(422);
    expect(hits).toBe(1);
  });

  it("startService against a silent registry: /health says starting at the registry step, then start-up fails naming it and closes the port", async () => {
    const srv = await silentServer();
    closers.push(srv.close);
    const health = new ServiceHealth();
    const config = loadBaseConfig({ SCHEMA_REGISTRY_URL: srv.url, REGISTRY_TIMEOUT_MS: "300", REGISTRY_ATTEMPTS: "2", KAFKA_BROKERS: "127.0.0.1:1" });
    const starting = startService({
      name: "t", input: topics.requests, outputs: [topics.responses], process: async () => ({ outputs: [] }), config, logger: silentLogger,
      metrics: new StreamMetrics("t", { defaultMetrics: false }), health,
      registry: confluentRegistry(srv.url, { timeoutMs: 300, attempts: 2 }),
    });
    const settled = starting.catch((e: unknown) => e);
    await expect.poll(() => health.snapshot().step, { timeout: 2_000 }).toMatch(/^schema registry: register \d+ subject\(s\)$/);
    expect(health.status()).toBe("starting");
    const err = await settled;
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as Error).message).toMatch(/^schema registry: register llm\.requests-value \(2 attempts\): no answer within 300 ms$/);
  });

  it("runMain exits 1 when start-up outlives STARTUP_TIMEOUT_MS, naming the step it was stuck at", async () => {
    const entry = fileURLToPath(new URL("./testing/fixtures/stuck-main.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", entry], { env: { ...process.env, STARTUP_TIMEOUT_MS: "500", LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    expect(code).toBe(1);
    expect(out).toContain('stuck at step \\"load the embedding model\\"');
  }, 20_000);
});
