import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tmpdir } from "node:os";
import path from "node:path";
import { AccumulatorProcess, freePort } from "./testing/child.ts";
import { Harness } from "./testing/harness.ts";

// SIGKILL of the accumulator process, then a restart under the same instance id and group:
// nothing is lost, nothing is submitted to the provider twice, every request gets one answer.
let h: Harness;
let proc: AccumulatorProcess | undefined;
const logFile = path.join(tmpdir(), `costwise-batch-crash-${process.pid}.log`);

beforeAll(async () => {
  h = await Harness.start({ inProgressMs: 300 });
  await h.startGroupAtEnd();
});

afterEach(async () => {
  await proc?.stop();
  proc = undefined;
});

afterAll(async () => {
  await h?.close();
});

async function startProcess(env: Record<string, string>, port: number): Promise<AccumulatorProcess> {
  const p = AccumulatorProcess.start(h.childEnv({ LOG_LEVEL: "info", ...env }), port, logFile);
  await p.healthy();
  return p;
}

/** Every custom_id the emulator ever received for these requests, with its count. */
function submissions(ids: readonly string[]): Map<string, number> {
  const want = new Set(ids);
  const seen = new Map<string, number>();
  for (const b of h.openAiBatches()) for (const id of b.customIds) if (want.has(id)) seen.set(id, (seen.get(id) ?? 0) + 1);
  return seen;
}

const ids0 = (rs: readonly { request_id: string }[]) => rs.map((r) => r.request_id);

function expectOneLogicalAnswerEach(ids: readonly string[]) {
  for (const id of ids) {
    const got = h.responses.get(id) ?? [];
    expect(got.length, id).toBeGreaterThanOrEqual(1);
    // Duplicates may be produced around a crash; they must be the same answer, so they collapse by request_id.
    expect(new Set(got.map((r) => `${r.value.status}|${r.value.content}|${r.value.served_by}`)).size, id).toBe(1);
    expect(got[0]!.value).toMatchObject({ status: "OK", served_by: "BATCH" });
  }
}

describe("crash safety", () => {
  it("SIGKILL mid-accumulation: held requests come back from Kafka and are batched once", async () => {
    const port = await freePort();
    const env = { BATCH_MAX_AGE_MS: "3000", BATCH_MAX_REQUESTS: "100" };
    proc = await startProcess(env, port);
    const before = Array.from({ length: 20 }, (_, i) => h.request(`acc-${i}`, { messages: [{ role: "user", content: `Accumulated ${i}` }] }));
    await h.produce(before);
    const p1 = proc;
    const end = Date.now() + 20_000;
    while ((await p1.metric("costwise_batch_held_requests")) < 20 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    // At least: other suites may write to the shared input topic too.
    expect(await p1.metric("costwise_batch_held_requests")).toBeGreaterThanOrEqual(20);
    expect(submissions(ids0(before)).size).toBe(0);
    await p1.kill();

    const during = Array.from({ length: 10 }, (_, i) => h.request(`down-${i}`));
    await h.produce(during);
    proc = await startProcess(env, port);
    const ids = [...before, ...during].map((r) => r.request_id);
    await h.until("30 responses", () => ids.every((id) => h.responses.has(id)), 45_000);

    const seen = submissions(ids);
    expect([...seen.keys()].sort()).toEqual([...ids].sort());
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expectOneLogicalAnswerEach(ids);
  });

  it("SIGKILL mid-poll: the restarted process resumes polling the stored batch and submits nothing again", async () => {
    await fetch(`${h.emulator.url}/_emulator/config`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ batch: { inProgressMs: 4_000 } }) });
    const port = await freePort();
    // No commit before the kill: the restarted process reads the ten requests again and must not batch them twice.
    const env = { BATCH_MAX_AGE_MS: "200", BATCH_MAX_REQUESTS: "100", COMMIT_INTERVAL_MS: "600000" };
    proc = await startProcess(env, port);
    const reqs = Array.from({ length: 10 }, (_, i) => h.request(`poll-${i}`, { model: "gpt-4.1-mini", messages: [{ role: "user", content: `Polled ${i}` }] }));
    const ids = reqs.map((r) => r.request_id);
    await h.produce(reqs);
    await h.until("the batch to be submitted", () => submissions(ids).size === 10, 20_000);
    const store = h.store();
    const deadline = Date.now() + 5_000;
    while (!(await store.active()).some((b) => b.status === "submitted") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const [stored] = (await store.active()).filter((b) => b.status === "submitted");
    expect(stored).toBeDefined();
    await proc.kill();
    expect(ids.some((id) => h.responses.has(id))).toBe(false); // killed while the provider was still working

    proc = await startProcess(env, port);
    await h.until("10 responses", () => ids.every((id) => h.responses.has(id)), 45_000);
    const restarted = proc;
    const end = Date.now() + 10_000;
    while ((await restarted.metric("costwise_batch_duplicates_total")) < 10 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(await restarted.metric("costwise_batch_duplicates_total")).toBeGreaterThanOrEqual(10);
    const seen = submissions(ids);
    expect(seen.size).toBe(10);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expectOneLogicalAnswerEach(ids);
    for (const id of ids) expect(h.costRecords.get(id)![0]!.value.batch_id).toBe(stored!.providerBatchId);
    expect(await store.get(stored!.id)).toMatchObject({ status: "done", providerBatchId: stored!.providerBatchId });
  });
});
