import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "@costwise/infra";
import { topics } from "@costwise/schemas";
import { ensurePythonSdks, gatewayKeys, startGatewayPipeline, type GatewayPipeline } from "./gateway-harness.ts";
import { emulator, runId, stackEnv } from "./harness.ts";

/**
 * A Kafka client that is not TypeScript: Confluent's Python client with its Avro serializer,
 * the schemas taken from the registry only, against the real pipeline.
 */
describe("an outside Python Kafka client", () => {
  const env = stackEnv();
  const run = runId("py");
  const emu = emulator(env.EMULATOR_URL!);
  let pipeline: GatewayPipeline;

  beforeAll(async () => {
    await emu.clearFaults();
    await emu.config({ ttftMs: 0, perOutputTokenMs: 0 });
    pipeline = await startGatewayPipeline({ ...env, GATEWAY_KEYS_FILE: gatewayKeys(process.env).keysFile }, run, { logPrefix: "test-py", chain: ["cache", "router", "compression", "executor"] });
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it("sends a tool-calling and a JSON-schema request and reads tool_calls and parseable JSON back", () => {
    const python = ensurePythonSdks(path.join(repoRoot, ".costwise/venv-kafka"), ["confluent_kafka", "fastavro", "httpx", "attrs", "cachetools", "authlib"]);
    const r = spawnSync(python, [path.join(repoRoot, "test/python/kafka_contract_client.py")], {
      env: { ...process.env, KAFKA_BROKERS: env.KAFKA_BROKERS!, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL!, RUN: run, REQUESTS_TOPIC: topics.requests.name, RESPONSES_TOPIC: topics.responses.name },
      encoding: "utf8", timeout: 180_000,
    });
    expect(r.stderr.split("\n").filter((l) => /Traceback|Error/.test(l))).toEqual([]);
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
      tool?: { status: string; finish_reason: string; calls: { name: string; arguments: Record<string, unknown> }[] };
      json?: { status: string; parsed: Record<string, unknown> | null };
    };
    expect(out.tool).toMatchObject({ status: "OK", finish_reason: "tool_calls", calls: [{ name: "get_weather" }] });
    expect(typeof out.tool!.calls[0]!.arguments.city).toBe("string");
    expect(out.json?.status).toBe("OK");
    expect(Object.keys(out.json!.parsed ?? {}).sort()).toEqual(["city", "days"]);
  }, 900_000);
});
