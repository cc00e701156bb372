import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DLQ_HEADERS } from "@costwise/stream-runtime";
import type { RuntimeConfigPatch } from "@costwise/emulator";
import { cancelBatch } from "./admin.ts";
import { ATTEMPT_HEADER } from "./outcomes.ts";
import { startBatchAccumulator, type RunningBatchAccumulator } from "./service.ts";
import { Harness } from "./testing/harness.ts";

// Failed lines, expired and cancelled batches, against the emulator's real batch lifecycles.
let h: Harness;
let svc: RunningBatchAccumulator;
const TURNAROUND = 4_000;

beforeAll(async () => {
  h = await Harness.start();
  await h.startGroupAtEnd();
  svc = await startBatchAccumulator(h.config({ BATCH_MAX_AGE_MS: "300", BATCH_TURNAROUND_MS: String(TURNAROUND), REALTIME_BUDGET_MS: "1000", BATCH_MAX_ATTEMPTS: "2" }));
  await h.until("the accumulator to join its group", () => svc.ready(), 30_000);
});

afterAll(async () => {
  await svc?.stop();
  await h?.close();
});

async function emulatorBatch(batch: RuntimeConfigPatch["batch"]) {
  const res = await fetch(`${h.emulator.url}/_emulator/config`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ batch }) });
  expect(res.ok).toBe(true);
}

/** Each request ends exactly one way: a response, or a hand-off to the real-time path. */
function endings(ids: readonly string[]) {
  return ids.map((id) => ({ id, responses: h.responses.get(id)?.length ?? 0, ready: h.ready.get(id)?.length ?? 0 }));
}

describe("failed lines and batches", () => {
  it("retries failed lines in the next batch, then in real time, and answers each request once", async () => {
    await emulatorBatch({ lineErrorRate: 0.5, expire: false, inProgressMs: 300 });
    const reqs = Array.from({ length: 12 }, (_, i) => h.request(`lines-${i}`, { model: "gpt-5-nano", messages: [{ role: "user", content: `Line ${i}` }] }));
    await h.produce(reqs);
    const ids = reqs.map((r) => r.request_id);
    await h.until("an ending for every request", () => ids.every((id) => h.responses.has(id) || h.ready.has(id)), 30_000);
    await new Promise((r) => setTimeout(r, 500)); // nothing else may arrive late

    const batches = h.openAiBatches().filter((b) => b.customIds.some((id) => ids.includes(id))).reverse();
    expect(batches.length).toBe(2);
    const [first, second] = batches as [(typeof batches)[0], (typeof batches)[0]];
    const ours = (b: { customIds: string[] }) => b.customIds.filter((c) => ids.includes(c)).sort();
    expect(ours(first)).toEqual([...ids].sort());
    // The second batch holds exactly the lines that failed in the first, sent back with attempt 2.
    const failedOnce = ids.filter((id) => h.retried.has(id));
    expect(failedOnce.length).toBeGreaterThan(0);
    expect(failedOnce.length).toBeLessThan(12);
    expect(ours(second)).toEqual([...failedOnce].sort());
    for (const id of failedOnce) expect(h.retried.get(id)![0]!.headers[ATTEMPT_HEADER]).toBe("2");
    // Lines that failed twice went real time; everything else was answered by a batch.
    for (const e of endings(ids)) expect(e.responses + e.ready).toBe(1);
    for (const id of ids.filter((x) => h.responses.has(x))) expect(h.responses.get(id)![0]!.value).toMatchObject({ status: "OK", served_by: "BATCH" });
    for (const id of ids.filter((x) => h.ready.has(x))) expect(failedOnce).toContain(id);
    for (const id of failedOnce.filter((x) => h.responses.has(x))) expect(h.costRecords.get(id)![0]!.value.attempts).toBe(2);
  });

  it("sends the expired part of an expired batch to real time when only real time can still meet the deadline", async () => {
    await emulatorBatch({ lineErrorRate: 0, expire: true, inProgressMs: 300 });
    const deadline = Date.now() + TURNAROUND + 700;
    const reqs = Array.from({ length: 6 }, (_, i) => h.request(`expired-${i}`, { model: "gpt-4.1-mini", deadline_ms: deadline }));
    await h.produce(reqs);
    const ids = reqs.map((r) => r.request_id);
    await h.until("an ending for every request", () => ids.every((id) => h.responses.has(id) || h.ready.has(id)));
    const batch = h.openAiBatches().find((b) => b.customIds.includes(ids[0]!))!;
    expect(batch.status).toBe("expired");
    const answered = ids.filter((id) => h.responses.has(id));
    expect(answered).toHaveLength(3); // the emulator's expiring batch gets through half of its requests
    for (const e of endings(ids)) expect(e.responses + e.ready).toBe(1);
    const stored = (await h.store().get(batch.metadata!["costwise_batch_id"]!))!;
    expect(stored).toMatchObject({ status: "done", outcome: "expired" });
    expect(JSON.parse(stored.results!)).toEqual({ ok: 3, batch: 0, realtime: 3, error: 0 });
  });

  it("answers lines the provider rejected with an ERROR response and a dead letter, without retrying them", async () => {
    await emulatorBatch({ lineErrorRate: 0, expire: false, inProgressMs: 300 });
    // Anthropic accepts temperatures up to 1 only; costwise's validation (0..2, as OpenAI) lets this through.
    const bad = h.request("rejected", { model: "claude-sonnet-4", temperature: 1.5 });
    const good = h.request("accepted", { model: "claude-sonnet-4" });
    await h.produce([bad, good]);
    await h.until("both endings", () => h.responses.has(bad.request_id) && h.responses.has(good.request_id) && h.deadLetters.has(bad.request_id));
    expect(h.responses.get(bad.request_id)![0]!.value).toMatchObject({ status: "ERROR", error_code: "INVALID_PARAMETER", served_by: "BATCH" });
    expect(h.responses.get(bad.request_id)![0]!.value.error).toMatch(/provider rejected the request: .*temperature/);
    expect(h.deadLetters.get(bad.request_id)![0]!.headers[DLQ_HEADERS.reason]).toMatch(/^INVALID_PARAMETER: /);
    expect(h.responses.get(good.request_id)![0]!.value).toMatchObject({ status: "OK", provider: "anthropic" });
    expect(h.ready.has(bad.request_id) || h.retried.has(bad.request_id)).toBe(false);
  });

  it("cancels a running batch on request: finished lines are answered, the rest go real time or fail, as asked", async () => {
    await emulatorBatch({ lineErrorRate: 0, expire: false, inProgressMs: 3_000 });
    const toRealtime = Array.from({ length: 4 }, (_, i) => h.request(`cancel-rt-${i}`, { model: "o4-mini" }));
    const toError = Array.from({ length: 4 }, (_, i) => h.request(`cancel-err-${i}`, { model: "claude-opus-4-1" }));
    await h.produce([...toRealtime, ...toError]);
    const store = h.store();
    await h.until("both batches to be submitted", () => svc.batcher.held === 0 && svc.lifecycle.trackedCount >= 2, 10_000);
    const active = (await store.active()).filter((b) => b.status === "submitted");
    const oa = active.find((b) => b.provider === "openai")!;
    const an = active.find((b) => b.provider === "anthropic")!;
    await new Promise((r) => setTimeout(r, 1_300)); // about a third of each batch has run
    await cancelBatch(store, oa.providerBatchId!, "realtime", Date.now());
    await cancelBatch(store, an.id, "error", Date.now());
    const all = [...toRealtime, ...toError].map((r) => r.request_id);
    await h.until("an ending for every request", () => all.every((id) => h.responses.has(id) || h.ready.has(id)), 15_000);
    expect(h.emulator.state.openAiBatches.retrieve(oa.providerBatchId!, Date.now()).status).toBe("cancelled");
    expect(h.emulator.state.anthropicBatches.retrieve(an.providerBatchId!, Date.now(), "").request_counts.canceled).toBeGreaterThan(0);
    const rt = endings(toRealtime.map((r) => r.request_id));
    expect(rt.filter((e) => e.ready === 1).length).toBeGreaterThan(0);
    for (const e of rt) expect(e.responses + e.ready).toBe(1);
    const errs = toError.map((r) => h.responses.get(r.request_id)![0]!.value);
    expect(errs.filter((r) => r.status === "ERROR").every((r) => r.error_code === "BATCH_CANCELLED")).toBe(true);
    expect(errs.filter((r) => r.status === "ERROR").length).toBeGreaterThan(0);
    for (const r of toError) expect(h.ready.has(r.request_id)).toBe(false);
  });
});
