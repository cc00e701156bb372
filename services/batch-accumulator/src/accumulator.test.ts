import { describe, expect, it } from "vitest";
import { Accumulator, batchBytes, batchIdOf, type Pending } from "./accumulator.ts";

const policy = { turnaroundMs: 10_000, realtimeBudgetMs: 1_000, maxBatchAttempts: 2 };
const make = (limits = { maxRequests: 3, maxBytes: 1_000 }, maxAgeMs = 5_000) => new Accumulator({ maxAgeMs, limits: () => limits, policy });

let offset = 0;
function pending(id: string, over: Partial<Pending> = {}): Pending {
  return {
    requestId: id, customId: id, provider: "openai", model: "gpt-4o-mini", source: { topic: "in", partition: 0, offset: offset++ },
    acceptedAt: 0, deadline: null, attempt: 1, line: `{"custom_id":"${id}"}`, lineBytes: 100, stored: "{}", ...over,
  };
}

describe("Accumulator", () => {
  it("closes a batch when it reaches the request limit, with a deterministic id", () => {
    const acc = make();
    expect(acc.add(pending("a"), 0).closed).toEqual([]);
    acc.add(pending("b"), 1);
    const { status, closed } = acc.add(pending("c"), 2);
    expect(status).toBe("held");
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ reason: "count", provider: "openai", model: "gpt-4o-mini", openedAt: 0, closedAt: 2, bytes: batchBytes(300, 3) });
    expect(closed[0]!.entries.map((e) => e.requestId)).toEqual(["a", "b", "c"]);
    expect(closed[0]!.id).toBe(batchIdOf("openai", "gpt-4o-mini", ["a", "b", "c"]));
    expect(batchIdOf("openai", "gpt-4o-mini", ["a", "c", "b"])).not.toBe(closed[0]!.id);
  });

  it("closes the open batch before a line that would take it past the byte limit", () => {
    const acc = make({ maxRequests: 100, maxBytes: batchBytes(250, 2) });
    acc.add(pending("a", { lineBytes: 125 }), 0);
    acc.add(pending("b", { lineBytes: 125 }), 0);
    const { closed } = acc.add(pending("c", { lineBytes: 10 }), 0);
    expect(closed.map((c) => [c.reason, c.entries.length])).toEqual([["bytes", 2]]);
    expect(acc.openBatches).toBe(1);
    expect(acc.fits("openai", 10_000)).toBe(false);
  });

  it("keeps one open batch per provider and model", () => {
    const acc = make();
    acc.add(pending("a"), 0);
    acc.add(pending("b", { model: "gpt-4.1" }), 0);
    acc.add(pending("c", { provider: "anthropic", model: "claude-haiku-4-5" }), 0);
    expect(acc.openBatches).toBe(3);
  });

  it("falls due by age, or earlier when a deadline inside leaves only the provider's turnaround", () => {
    const acc = make({ maxRequests: 100, maxBytes: 1e9 }, 5_000);
    acc.add(pending("old"), 0);
    acc.add(pending("urgent", { model: "gpt-4.1", deadline: 12_000 }), 1_000);
    acc.add(pending("later", { model: "gpt-4.1", deadline: 50_000 }), 1_000);
    expect(acc.nextDueAt()).toBe(2_000);
    const first = acc.due(2_000);
    expect(first.map((c) => [c.model, c.reason, c.earliestDeadline])).toEqual([["gpt-4.1", "deadline", 12_000]]);
    expect(acc.due(4_999)).toEqual([]);
    expect(acc.due(5_000).map((c) => [c.model, c.reason])).toEqual([["gpt-4o-mini", "age"]]);
    expect(acc.nextDueAt()).toBeNull();
  });

  it("tells a redelivered message from another copy of the same request", () => {
    const acc = make();
    const a = pending("a");
    acc.add(a, 0);
    expect(acc.add({ ...a }, 1).status).toBe("already-held");
    expect(acc.add(pending("a"), 1).status).toBe("duplicate");
    expect(acc.size).toBe(1);
  });

  it("holds the commit watermark at the lowest offset whose batch is not submitted yet", () => {
    const acc = make({ maxRequests: 2, maxBytes: 1e9 });
    const p = (id: string, o: number, model = "m1") => pending(id, { model, source: { topic: "in", partition: 3, offset: o } });
    acc.add(p("x", 40, "m1"), 0);
    acc.add(p("y", 41, "m2"), 0);
    const [closed] = acc.add(p("z", 42, "m2"), 0).closed;
    expect(acc.watermark("in", 3)).toBe("40");
    acc.release(closed!.entries);
    expect(acc.watermark("in", 3)).toBe("40"); // m1's batch (offset 40) is still open
    const [m1] = acc.due(10_000);
    acc.release(m1!.entries);
    expect(acc.watermark("in", 3)).toBeNull();
    expect(acc.watermark("in", 0)).toBeNull();
    expect(acc.size).toBe(0);
  });

  it("closes the largest open batch when memory is full", () => {
    const acc = make({ maxRequests: 100, maxBytes: 1e9 });
    acc.add(pending("a", { model: "small" }), 0);
    for (const id of ["b", "c"]) acc.add(pending(id, { model: "big" }), 0);
    expect(acc.closeLargest(5)).toMatchObject({ model: "big", reason: "capacity" });
    expect(acc.size).toBe(3); // closed, not yet submitted: still in memory
  });
});
