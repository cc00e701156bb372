import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClickHouseClient } from "@clickhouse/client";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import { newRequest, topics, type LlmResponse } from "@costwise/schemas";
import { DLQ_HEADERS } from "@costwise/stream-runtime";
import { startService as startStackService, stopService as stopStackService } from "@costwise/infra";
import { PipelineClient } from "./client.ts";
import { clickhouse, collect, DB, emulator, Pipeline, queryRows, runId, stackEnv, waitForCalls } from "./harness.ts";
import { sampleWorkload } from "./workload.ts";

interface CallRow {
  request_id: string; status: string; error_code: string; model_used: string; served_by: string; route_tier: string; batch_id: string;
  input_tokens: number; cached_input_tokens: number; cache_write_input_tokens: number; output_tokens: number; cost_nanousd: string; baseline_cost_nanousd: string;
}

/** The request path, each stage its own process: cache → router → compression → executor | batch → sink. */
const CHAIN = ["cache", "router", "compression", "executor", "batch-accumulator", "sink"] as const;
// Short batch windows so the BATCH use case completes within a test (the emulator's batches take ~6 s).
const FAST_BATCHES = { BATCH_MAX_AGE_MS: "2000", BATCH_POLL_INITIAL_MS: "500", BATCH_POLL_MAX_MS: "2000" };

/** Bypass the cache, so the requests exercise the provider path. */
const uncached = <T extends { tags: Record<string, string> }>(reqs: T[]): T[] => reqs.map((r) => ({ ...r, tags: { ...r.tags, cache: "off" } }));

describe("the pipeline end to end on the real stack", () => {
  const env = stackEnv();
  const pipeline = new Pipeline(env);
  const emu = emulator(env.EMULATOR_URL!);
  let client: PipelineClient;
  let ch: ClickHouseClient;
  const responses = collect();
  const dlq: { key: string | null; headers: Record<string, string>; value: Buffer }[] = [];

  beforeAll(async () => {
    await emu.clearFaults();
    client = await PipelineClient.connect(env as { KAFKA_BROKERS: string; SCHEMA_REGISTRY_URL: string });
    ch = clickhouse(env);
    await client.subscribe<LlmResponse>(topics.responses, responses.onResponse);
    await client.subscribe<Buffer>(topics.deadLetters, (value, meta) => dlq.push({ key: meta.key, headers: meta.headers, value }), { raw: true });
    await Promise.all(CHAIN.map((name) => pipeline.start(name, FAST_BATCHES)));
  });

  afterAll(async () => {
    await emu.clearFaults().catch(() => undefined);
    await pipeline.stopAll();
    await client?.close();
    await ch?.close();
  });

  it("200 requests in → exactly 200 responses and 200 llm_calls rows whose costs match the catalog", async () => {
    // The digests skip the cache so that the batch path is exercised on every run, however warm the cache is.
    const reqs = sampleWorkload(200, runId("e2e200")).map((r) => (r.latency_class === "BATCH" ? uncached([r])[0]! : r));
    const ids = reqs.map((r) => r.request_id);
    await client.produce(reqs);
    await PipelineClient.waitFor(ids, responses.got, 120_000);
    await new Promise((r) => setTimeout(r, 1_000)); // any duplicate would have arrived by now
    const mine = responses.all.filter((r) => ids.includes(r.request_id));
    expect(mine).toHaveLength(200);
    expect(mine.every((r) => r.status === "OK" && (r.content ?? "").length > 0)).toBe(true);

    const rows = await waitForCalls<CallRow>(ch, ids);
    expect(rows).toHaveLength(200);
    for (const row of rows) {
      const usage = { inputTokens: row.input_tokens, cachedInputTokens: row.cached_input_tokens, cacheWriteInputTokens: row.cache_write_input_tokens, outputTokens: row.output_tokens };
      const res = responses.got.get(row.request_id)!;
      expect(res.served_by).toBe(row.served_by);
      if (row.served_by.startsWith("CACHE")) {
        expect(Number(row.cost_nanousd)).toBe(0);
        continue;
      }
      expect(row.input_tokens).toBeGreaterThan(0);
      const mode = row.served_by === "BATCH" ? "batch" : "realtime";
      expect(Number(row.cost_nanousd)).toBe(costOf(requireModel(catalog, row.model_used), usage, mode).totalNanoUsd);
      expect(res.input_tokens).toBe(row.input_tokens);
      expect(res.model).toBe(row.model_used);
    }
    // Every technique is on the path: the BATCH use case went through a provider batch at half price,
    // the kb-answers context was compressed, and routes were decided.
    const digests = rows.filter((r) => r.request_id.includes("weekly-digest") && !r.served_by.startsWith("CACHE"));
    expect(digests.length).toBeGreaterThan(0);
    expect(digests.every((r) => r.served_by === "BATCH" && r.batch_id !== "")).toBe(true);
    expect(rows.filter((r) => !r.served_by.startsWith("CACHE")).every((r) => r.route_tier !== "")).toBe(true);
    const byCase = await queryRows<{ use_case: string; n: string }>(ch, `SELECT use_case, count() AS n FROM ${DB}.llm_calls FINAL WHERE request_id IN (${ids.map((i) => `'${i}'`).join(",")}) GROUP BY use_case ORDER BY use_case`);
    expect(byCase.map((r) => r.use_case)).toEqual(["intent-triage", "kb-answers", "support-chat", "weekly-digest"]);
  });

  it("bad requests get ERROR responses with clear reasons, dead-letter records and ERROR rows", async () => {
    const id = runId("bad");
    const reqs = [
      newRequest({ request_id: `${id}-unknown`, tenant: "t", use_case: "u", model: "gpt-17-ultra", messages: [{ role: "user", content: "hi" }] }),
      newRequest({ request_id: `${id}-empty`, tenant: "t", use_case: "u", model: "gpt-4o-mini", messages: [] }),
      newRequest({ request_id: `${id}-huge`, tenant: "t", use_case: "u", model: "gpt-4o-mini", messages: [{ role: "user", content: "lorem ipsum dolor sit amet ".repeat(30_000) }] }),
    ];
    await client.produce(reqs);
    await PipelineClient.waitFor(reqs.map((r) => r.request_id), responses.got, 60_000);
    expect(responses.got.get(`${id}-unknown`)).toMatchObject({ status: "ERROR", error_code: "UNKNOWN_MODEL" });
    expect(responses.got.get(`${id}-unknown`)!.error).toMatch(/unknown model 'gpt-17-ultra'/);
    expect(responses.got.get(`${id}-empty`)).toMatchObject({ status: "ERROR", error_code: "EMPTY_MESSAGES" });
    expect(responses.got.get(`${id}-huge`)).toMatchObject({ status: "ERROR", error_code: "INPUT_TOO_LARGE" });
    await expect.poll(() => dlq.filter((d) => d.key?.startsWith(id)).length, { timeout: 30_000 }).toBe(3);
    const dead = dlq.find((d) => d.key === `${id}-unknown`)!;
    expect(dead.headers[DLQ_HEADERS.reason]).toMatch(/^UNKNOWN_MODEL: /);
    expect(dead.headers[DLQ_HEADERS.service]).toBe("executor");
    const rows = await waitForCalls<CallRow>(ch, reqs.map((r) => r.request_id));
    expect(rows.map((r) => r.status)).toEqual(["ERROR", "ERROR", "ERROR"]);
  });

  it("poison bytes on the input topic are dead-lettered with the original bytes and the service keeps going", async () => {
    const id = runId("poison");
    await client.produceRaw(`${id}-garbage`, Buffer.from("\u0000\u0000\u0000\u0000\u0007 this is not avro"));
    await client.produceRaw(`${id}-json`, Buffer.from(JSON.stringify({ request_id: "x", hello: "world" })));
    const good = newRequest({ request_id: `${id}-good`, tenant: "t", use_case: "u", model: "gpt-4o-mini", messages: [{ role: "user", content: "still there?" }] });
    await client.produce([good]);
    await PipelineClient.waitFor([good.request_id], responses.got, 60_000);
    await expect.poll(() => dlq.filter((d) => d.key?.startsWith(id)).length, { timeout: 30_000 }).toBe(2);
    const json = dlq.find((d) => d.key === `${id}-json`)!;
    expect(json.value.toString()).toBe(JSON.stringify({ request_id: "x", hello: "world" }));
    expect(json.headers[DLQ_HEADERS.reason]).toMatch(/undecodable input: SchemaError/);
    expect(json.headers[DLQ_HEADERS.topic]).toBe(topics.requests.name);
    expect(responses.got.get(good.request_id)!.status).toBe("OK");
  });

  it("rides out a 429 storm and 500s from the provider: retried, every response still arrives", async () => {
    await emu.fault({ kind: "429", count: 40, retryAfterSeconds: 0 });
    await emu.fault({ kind: "500", rate: 0.3 });
    const reqs = uncached(sampleWorkload(60, runId("faults")).filter((r) => r.latency_class === "REALTIME"));
    await client.produce(reqs);
    try {
      await PipelineClient.waitFor(reqs.map((r) => r.request_id), responses.got, 120_000);
    } finally {
      await emu.clearFaults();
    }
    expect(reqs.every((r) => responses.got.get(r.request_id)!.status === "OK")).toBe(true);
    const stats = await emu.stats();
    expect(JSON.stringify(stats)).toMatch(/429/);
  });

  it("SIGKILL of the executor mid-stream: after a restart nothing is lost and duplicates collapse", async () => {
    await emu.config({ ttftMs: 20, perOutputTokenMs: 0 });
    const reqs = uncached(sampleWorkload(300, runId("kill")).filter((r) => r.latency_class === "REALTIME"));
    const ids = reqs.map((r) => r.request_id);
    try {
      await client.produce(reqs);
      await expect.poll(() => ids.filter((i) => responses.got.has(i)).length, { timeout: 60_000, interval: 20 }).toBeGreaterThan(30);
      await pipeline.kill("executor", "SIGKILL");
      const before = ids.filter((i) => responses.got.has(i)).length;
      expect(before).toBeLessThan(reqs.length);
      await pipeline.start("executor");
      await PipelineClient.waitFor(ids, responses.got, 180_000);
    } finally {
      await emu.config({ ttftMs: 0, perOutputTokenMs: 0 });
    }
    const rows = await waitForCalls<CallRow>(ch, ids);
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(reqs.length);
    expect(rows).toHaveLength(reqs.length);
  });

  it("ClickHouse down for a while during a run: the sink waits and every row arrives after it returns", async () => {
    await stopStackService("clickhouse");
    const reqs = uncached(sampleWorkload(100, runId("chdown")).filter((r) => r.latency_class === "REALTIME"));
    const ids = reqs.map((r) => r.request_id);
    try {
      await client.produce(reqs);
      await PipelineClient.waitFor(ids, responses.got, 60_000); // the pipeline itself keeps answering
      await new Promise((r) => setTimeout(r, 5_000)); // the sink retries against a dead server meanwhile
    } finally {
      await startStackService("clickhouse");
    }
    const rows = await waitForCalls<CallRow>(ch, ids, 120_000);
    expect(rows).toHaveLength(reqs.length);
  });
});
