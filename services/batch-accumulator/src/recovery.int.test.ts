import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalog, requireModel } from "@costwise/pricing";
import { createProviders, type Providers } from "@costwise/providers";
import { renderMessages } from "@costwise/schemas";
import { silentLogger } from "@costwise/stream-runtime";
import type { LlmRequest } from "@costwise/schemas";
import { batchBytes, batchIdOf } from "./accumulator.ts";
import { buildLine } from "./lines.ts";
import { anthropicBatchApi, openAiBatchApi, type BatchApi } from "./provider-api.ts";
import { startBatchAccumulator } from "./service.ts";
import type { BatchRecord, BatchStore } from "./store.ts";
import { encodeStored } from "./stored.ts";
import { Harness } from "./testing/harness.ts";

// The narrow crash windows of a submission, reproduced by writing the state a killed process
// leaves behind (and, where it got that far, making its provider call), then starting the service.
let h: Harness;
let providers: Providers;
let store: BatchStore;

beforeAll(async () => {
  h = await Harness.start({ inProgressMs: 300 });
  await h.startGroupAtEnd();
  providers = createProviders(h.config(), { catalog, logger: silentLogger });
  store = h.store();
});

afterAll(async () => {
  await providers?.close();
  await h?.close();
});

/** What a process killed during flush left in Redis: the batch record and the requests it had claimed. */
async function leftBehind(reqs: readonly LlmRequest[], model: string, status: BatchRecord["status"], claimOnly = reqs.length) {
  const price = requireModel(catalog, model);
  const lines = reqs.map((r) => buildLine(price, r, renderMessages(r)));
  const id = batchIdOf(price.provider, price.id, reqs.map((r) => r.request_id));
  const now = Date.now();
  const rec: BatchRecord = {
    id, provider: price.provider, model: price.id, status: "claiming", owner: h.run, leaseUntil: now + 60_000, reason: "count", openedAt: now, createdAt: now,
    count: reqs.length, bytes: batchBytes(lines.reduce((n, l) => n + l.bytes, 0), lines.length), earliestDeadline: null, fileId: null, providerBatchId: null,
    submittingAt: null, submittedAt: null, providerStatus: null, outcome: null, endedAt: null, cancelRequestedAt: null, cancelDisposition: null,
    cancelSentAt: null, error: null, doneAt: null, results: null,
  };
  expect(await store.create(rec)).toBe(true);
  await store.claim(id, reqs.slice(0, claimOnly).map((r, i) => ({
    requestId: r.request_id, customId: lines[i]!.customId, attempt: 1,
    stored: encodeStored({ request: r, acceptedAt: now - 1_000, attempt: 1, source: { topic: "llm.requests.batch", partition: 0, offset: i } }),
  })));
  if (status !== "claiming") await store.update(id, { status, submittingAt: status === "submitting" ? now : null });
  return { id, lines: lines.map((l) => l.text), now };
}

async function runServiceUntilAnswered(ids: readonly string[], over: Record<string, string> = {}) {
  const svc = await startBatchAccumulator(h.config(over));
  try {
    await h.until("every response", () => ids.every((id) => h.responses.has(id)), 30_000);
  } finally {
    await svc.stop();
  }
}

function batchesHolding(ids: readonly string[]) {
  return h.openAiBatches().filter((b) => b.customIds.some((c) => ids.includes(c)));
}

describe("recovery of interrupted submissions", () => {
  it("OpenAI: the batch created just before the crash is found by its metadata and adopted, not created again", async () => {
    const reqs = [0, 1, 2].map((i) => h.request(`adopt-oa-${i}`));
    const ids = reqs.map((r) => r.request_id);
    const { id, lines } = await leftBehind(reqs, "gpt-4o-mini", "submitting");
    const api: BatchApi = openAiBatchApi(providers.openai, { usingEmulator: true });
    const fileId = await api.upload(id, lines);
    const created = await api.create({ batchId: id, lines, fileId }); // the call whose answer the crash lost

    await runServiceUntilAnswered(ids);
    expect(batchesHolding(ids).map((b) => b.id)).toEqual([created]);
    expect(await store.get(id)).toMatchObject({ status: "done", providerBatchId: created });
    for (const r of ids) expect(h.costRecords.get(r)![0]!.value.batch_id).toBe(created);
  });

  it("Anthropic: the unclaimed batch with the same size created after the submission started is adopted", async () => {
    const reqs = [0, 1, 2, 3].map((i) => h.request(`adopt-an-${i}`, { model: "claude-haiku-4-5" }));
    const ids = reqs.map((r) => r.request_id);
    const { id, lines } = await leftBehind(reqs, "claude-haiku-4-5", "submitting");
    const created = await anthropicBatchApi(providers.anthropic, { usingEmulator: true }).create({ batchId: id, lines, fileId: null });

    await runServiceUntilAnswered(ids);
    const list = h.emulator.state.anthropicBatches.list({}, Date.now(), h.emulator.url).data;
    expect(list.map((b) => b.id)).toEqual([created]);
    expect(await store.get(id)).toMatchObject({ status: "done", providerBatchId: created });
  });

  it("a batch stored but never sent is submitted once; one cut short while claiming is submitted with the requests it claimed", async () => {
    const whole = [0, 1].map((i) => h.request(`claimed-${i}`, { model: "gpt-4.1-nano" }));
    const partial = [0, 1, 2].map((i) => h.request(`claiming-${i}`, { model: "gpt-4.1" }));
    const a = await leftBehind(whole, "gpt-4.1-nano", "claimed");
    const b = await leftBehind(partial, "gpt-4.1", "claiming", 2);
    await runServiceUntilAnswered([...whole, ...partial.slice(0, 2)].map((r) => r.request_id));
    expect(batchesHolding(whole.map((r) => r.request_id)).map((x) => x.customIds.length)).toEqual([2]);
    expect(batchesHolding(partial.map((r) => r.request_id)).map((x) => x.customIds.sort())).toEqual([partial.slice(0, 2).map((r) => r.request_id).sort()]);
    expect(await store.get(a.id)).toMatchObject({ status: "done", count: 2 });
    expect(await store.get(b.id)).toMatchObject({ status: "done", count: 2 });
    // The third request was never claimed: it is still free for its own message to be batched from Kafka.
    expect(await store.claimOf(partial[2]!.request_id)).toBeNull();
  });

  it("requests read again after a crash that cut claiming short form the same batch id: the unclaimed one is still submitted, once", async () => {
    const reqs = [0, 1, 2].map((i) => h.request(`recut-${i}`, { model: "gpt-5-mini" }));
    const ids = reqs.map((r) => r.request_id);
    const { id } = await leftBehind(reqs, "gpt-5-mini", "claiming", 2);
    await h.produce(reqs, { partition: 0 }); // Kafka delivers all three again, in order: their offsets were never committed
    await runServiceUntilAnswered(ids, { BATCH_MAX_REQUESTS: "3", BATCH_MAX_AGE_MS: "60000" });
    const batches = batchesHolding(ids);
    expect(batches.flatMap((b) => b.customIds).sort()).toEqual([...ids].sort());
    expect(batches.map((b) => b.metadata!["costwise_batch_id"]).sort()).toEqual([id, `${id}.1`]);
    expect(batches.find((b) => b.metadata!["costwise_batch_id"] === `${id}.1`)!.customIds).toEqual([ids[2]]);
  });

  it("a stored batch the provider no longer knows falls back: its requests go real time from the stored copies", async () => {
    const reqs = [0, 1].map((i) => h.request(`lost-${i}`, { model: "gpt-4o-mini" }));
    const ids = reqs.map((r) => r.request_id);
    const { id } = await leftBehind(reqs, "gpt-4o-mini", "claimed");
    await store.submitted(id, "batch_does_not_exist", Date.now());
    const svc = await startBatchAccumulator(h.config());
    try {
      await h.until("both requests sent real time", () => ids.every((r) => h.ready.has(r)), 20_000);
    } finally {
      await svc.stop();
    }
    expect(await store.get(id)).toMatchObject({ status: "done", outcome: "failed" });
    expect(JSON.parse((await store.get(id))!.results!)).toEqual({ ok: 0, batch: 0, realtime: 2, error: 0 });
    expect(ids.some((r) => h.responses.has(r))).toBe(false);
  });
});
