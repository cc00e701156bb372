import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import { countChatTokens } from "@costwise/providers";
import { renderMessages } from "@costwise/schemas";
import { DLQ_HEADERS } from "@costwise/stream-runtime";
import { startBatchAccumulator, type RunningBatchAccumulator } from "./service.ts";
import { Harness } from "./testing/harness.ts";

// Batching end to end: real Kafka, schema registry and Redis; the provider emulator in process.
let h: Harness;
let svc: RunningBatchAccumulator;

beforeAll(async () => {
  h = await Harness.start();
  await h.startGroupAtEnd();
  // Long age limit: batches here close by count or by deadline unless a test says otherwise.
  svc = await startBatchAccumulator(h.config({ BATCH_MAX_REQUESTS: "4", BATCH_MAX_AGE_MS: "2500", BATCH_TURNAROUND_MS: "4000" }));
  await h.until("the accumulator to join its group", () => svc.ready(), 30_000);
});

afterAll(async () => {
  await svc?.stop();
  await h?.close();
});

describe("batch accumulator", () => {
  it("closes an OpenAI batch by count and answers every request at the batch price, matched by custom_id", async () => {
    const reqs = Array.from({ length: 8 }, (_, i) => h.request(`count-${i}`, { model: "gpt-5-mini", messages: [{ role: "user", content: `Question number ${i} about invoices` }] }));
    await h.produce(reqs);
    await h.until("8 responses", () => reqs.every((r) => h.responses.has(r.request_id) && h.costRecords.has(r.request_id)));

    const ours = new Set(reqs.map((r) => r.request_id));
    const batches = h.openAiBatches().filter((b) => b.customIds.some((id) => ours.has(id)));
    // Other suites may write to the shared input topic: only this test's lines are compared.
    expect(batches).toHaveLength(2);
    expect(batches.flatMap((b) => b.customIds.filter((id) => ours.has(id))).sort()).toEqual([...ours].sort());
    for (const b of batches) expect(b.customIds).toHaveLength(4);

    const price = requireModel(catalog, "gpt-5-mini");
    for (const [i, r] of reqs.entries()) {
      const res = h.responses.get(r.request_id)![0]!.value;
      const rec = h.costRecords.get(r.request_id)![0]!.value;
      // The emulator's reply quotes the question: results came back in random order yet each found its request.
      expect(res).toMatchObject({ status: "OK", served_by: "BATCH", model: "gpt-5-mini", provider: "openai" });
      expect(res.content).toContain(`question number ${i} about invoices`);
      const usage = { inputTokens: rec.input_tokens, cachedInputTokens: rec.cached_input_tokens, cacheWriteInputTokens: 0, outputTokens: rec.output_tokens };
      expect(rec.input_tokens).toBe(countChatTokens(renderMessages(r), "gpt-5-mini"));
      expect(rec.cost_nanousd).toBe(costOf(price, usage, "batch").totalNanoUsd);
      expect(rec.cost_nanousd * 2).toBeLessThanOrEqual(costOf(price, usage, "realtime").totalNanoUsd + 1);
      expect(rec.saving_batch_nanousd).toBe(costOf(price, usage, "realtime").totalNanoUsd - rec.cost_nanousd);
      expect(rec).toMatchObject({ served_by: "BATCH", status: "OK" });
      expect(batches.map((b) => b.id)).toContain(rec.batch_id);
      // Waiting for the batch to be submitted is part of the batch stage.
      expect(rec.queue_delay_ms).toBeLessThanOrEqual(rec.stage_latency_ms.batch!);
      expect(rec.stage_latency_ms.batch).toBeGreaterThan(0);
    }
  });

  it("closes an Anthropic batch by age", async () => {
    const reqs = Array.from({ length: 3 }, (_, i) => h.request(`age-${i}`, { model: "claude-opus-4-1" }));
    const t0 = Date.now();
    await h.produce(reqs);
    await h.until("3 responses", () => reqs.every((r) => h.responses.has(r.request_id)));
    const list = h.emulator.state.anthropicBatches.list({}, Date.now(), h.emulator.url).data;
    expect(list).toHaveLength(1);
    expect(list[0]!.request_counts.succeeded).toBe(3);
    // Three requests never fill a batch of four: only the age limit (2.5 s) can have closed it.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2_500);
    for (const r of reqs) expect(h.responses.get(r.request_id)![0]!.value).toMatchObject({ status: "OK", served_by: "BATCH", provider: "anthropic", model: "claude-opus-4-1" });
  });

  it("submits early enough for the earliest deadline inside, and sends a request no batch can serve in time to real time", async () => {
    const t0 = Date.now();
    // 4 s turnaround: this deadline forces the batch out about 1 s from now, well before the 2.5 s age limit.
    const urgent = h.request("deadline-a", { model: "gpt-4.1-mini", deadline_ms: t0 + 5_000 });
    const relaxed = h.request("deadline-b", { model: "gpt-4.1-mini", deadline_ms: t0 + 3_600_000 });
    const tooSoon = h.request("deadline-c", { model: "gpt-4.1-mini", deadline_ms: t0 + 3_000 });
    await h.produce([urgent, relaxed, tooSoon]);
    await h.until("the real-time fallback", () => h.ready.has(tooSoon.request_id), 10_000);
    await h.until("2 responses", () => h.responses.has(urgent.request_id) && h.responses.has(relaxed.request_id));
    const batch = h.openAiBatches().find((b) => b.customIds.includes(urgent.request_id))!;
    expect(batch.customIds.sort()).toEqual([urgent.request_id, relaxed.request_id].sort());
    const submitted = (await h.store().get(batch.metadata!["costwise_batch_id"]!))!;
    expect(submitted.reason).toBe("deadline");
    expect(submitted.submittedAt! - t0).toBeLessThan(2_500);
    expect(h.responses.has(tooSoon.request_id)).toBe(false);
    expect(h.ready.get(tooSoon.request_id)![0]!.value.request_id).toBe(tooSoon.request_id);
  });

  it("rejects invalid requests like the executor: ERROR response, zero-cost record and a dead letter", async () => {
    const bad = h.request("invalid", { model: "gpt-17-ultra" });
    await h.produce([bad]);
    await h.until("the rejection", () => h.responses.has(bad.request_id) && h.costRecords.has(bad.request_id) && h.deadLetters.has(bad.request_id));
    expect(h.responses.get(bad.request_id)![0]!.value).toMatchObject({ status: "ERROR", error_code: "UNKNOWN_MODEL", served_by: "BATCH" });
    expect(h.costRecords.get(bad.request_id)![0]!.value).toMatchObject({ status: "ERROR", cost_nanousd: 0 });
    expect(h.deadLetters.get(bad.request_id)![0]!.headers[DLQ_HEADERS.reason]).toMatch(/^UNKNOWN_MODEL: /);
  });

  it("does not commit a held request's offset until its batch is submitted, then commits past it", async () => {
    const admin = h.kafka.admin();
    await admin.connect();
    const committedAt = async (partition: number) => {
      const [t] = await admin.fetchOffsets({ groupId: h.groupId, topics: ["llm.requests.batch"] });
      return Number(t!.partitions.find((p) => p.partition === partition)!.offset);
    };
    try {
      await h.until("earlier batches to be submitted", () => svc.batcher.held === 0, 10_000);
      const r = h.request("held", { model: "o4-mini" });
      await h.produce([r]);
      await h.until("the request to be held", () => svc.batcher.held === 1, 10_000);
      const partition = [0, 1, 2, 3, 4, 5].find((p) => svc.batcher.watermark("llm.requests.batch", p) !== null)!;
      const heldOffset = Number(svc.batcher.watermark("llm.requests.batch", partition));
      await new Promise((res) => setTimeout(res, 600)); // several commit intervals
      expect(await committedAt(partition)).toBeLessThanOrEqual(heldOffset);
      await h.until("the batch to be submitted", () => svc.batcher.held === 0, 10_000);
      const end = Date.now() + 5_000;
      while ((await committedAt(partition)) <= heldOffset && Date.now() < end) await new Promise((res) => setTimeout(res, 100));
      expect(await committedAt(partition)).toBe(heldOffset + 1);
      await h.until("its response", () => h.responses.has(r.request_id));
    } finally {
      await admin.disconnect();
    }
  });
});
