import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { silentLogger } from "@costwise/stream-runtime";
import { Accumulator, type ClosedBatch, type Pending } from "./accumulator.ts";
import { Batcher } from "./batcher.ts";
import { BatchMetrics } from "./metrics.ts";

const policy = { turnaroundMs: 10_000, realtimeBudgetMs: 1_000, maxBatchAttempts: 2 };
let offset = 0;
const pending = (id: string, model = "m"): Pending => ({
  requestId: id, customId: id, provider: "openai", model, source: { topic: "in", partition: 0, offset: offset++ },
  acceptedAt: 0, deadline: null, attempt: 1, line: "{}", lineBytes: 10, stored: "{}",
});

function setup(opts: { maxRequests?: number; maxAgeMs?: number; maxHeld?: number } = {}) {
  const flushed: ClosedBatch[] = [];
  const gates: (() => void)[] = [];
  const acc = new Accumulator({ maxAgeMs: opts.maxAgeMs ?? 60_000, limits: () => ({ maxRequests: opts.maxRequests ?? 2, maxBytes: 1e9 }), policy });
  const metrics = new BatchMetrics(new Registry(), { held: () => acc.size, tracked: () => 0 });
  const flush = (c: ClosedBatch) => new Promise<void>((resolve) => {
    flushed.push(c);
    gates.push(resolve);
  });
  const b = new Batcher(acc, flush, { maxHeld: opts.maxHeld ?? 100, flushConcurrency: 1, now: Date.now, logger: silentLogger, metrics });
  return { b, flushed, gates, signal: new AbortController().signal };
}
const tick = () => new Promise((r) => setTimeout(r, 10));

describe("Batcher", () => {
  it("releases a batch's requests (and so their offsets) only when its flush resolved", async () => {
    const { b, flushed, gates, signal } = setup();
    const first = pending("a");
    await b.offer(first, signal);
    await b.offer(pending("b"), signal);
    expect(flushed).toHaveLength(1);
    expect(b.watermark("in", 0)).toBe(String(first.source.offset));
    gates[0]!();
    await tick();
    expect(b.watermark("in", 0)).toBeNull();
    expect(b.held).toBe(0);
    b.close();
  });

  it("flushes by age on its own timer", async () => {
    const { b, flushed, signal } = setup({ maxRequests: 100, maxAgeMs: 30 });
    await b.offer(pending("a"), signal);
    await new Promise((r) => setTimeout(r, 80));
    expect(flushed.map((c) => c.reason)).toEqual(["age"]);
    b.close();
  });

  it("bounds memory: at the limit it closes the largest batch early and makes intake wait for room", async () => {
    const { b, flushed, gates, signal } = setup({ maxRequests: 100, maxHeld: 3 });
    for (const id of ["a", "b", "c"]) await b.offer(pending(id, "big"), signal);
    let accepted = false;
    const waiting = b.offer(pending("d", "small"), signal).then(() => (accepted = true));
    await tick();
    expect(flushed.map((c) => [c.reason, c.entries.length])).toEqual([["capacity", 3]]);
    expect(accepted).toBe(false);
    gates[0]!();
    await waiting;
    expect(b.held).toBe(1);
    b.close();
  });

  it("stops waiting for room when intake is aborted (shutdown)", async () => {
    const { b, signal } = setup({ maxRequests: 100, maxHeld: 1 });
    await b.offer(pending("a"), signal);
    const abort = new AbortController();
    const waiting = b.offer(pending("b"), abort.signal);
    abort.abort(new Error("shutdown"));
    await expect(waiting).rejects.toThrow("shutdown");
    b.close();
  });
});
