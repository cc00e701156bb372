import { describe, expect, it } from "vitest";
import { combineBuckets, memoryBoilerplateStore } from "./boilerplate-store.ts";

const HOUR = 3_600_000;
const decay = { bucketMs: HOUR, windowBuckets: 4, halfLifeBuckets: 1 };

describe("boilerplate segment counts", () => {
  it("reports what was seen before the request, then counts it once per request", async () => {
    const store = memoryBoilerplateStore(decay);
    expect(await store.observe("uc", ["k1"], true, 0)).toEqual({ requests: 0, shares: new Map([["k1", 0]]) });
    await store.observe("uc", ["k1", "k1", "k2"], true, 1);
    const s = await store.observe("uc", ["k1", "k2", "k3"], false, 2);
    expect(s.requests).toBe(2);
    expect(s.shares.get("k1")).toBe(1);
    expect(s.shares.get("k2")).toBe(0.5);
    expect(s.shares.get("k3")).toBe(0);
  });

  it("keeps use cases apart and lets old traffic fade with the half-life, then expire with the window", async () => {
    const store = memoryBoilerplateStore(decay);
    for (let i = 0; i < 4; i++) await store.observe("a", ["old"], true, 0);
    for (let i = 0; i < 4; i++) await store.observe("a", ["new"], true, HOUR);
    expect((await store.observe("b", ["old"], false, HOUR)).requests).toBe(0);
    const s = await store.observe("a", ["old", "new"], false, HOUR);
    // the older bucket weighs 0.5: old = 2 / 6, new = 4 / 6
    expect(s.requests).toBeCloseTo(6, 10);
    expect(s.shares.get("old")).toBeCloseTo(1 / 3, 10);
    expect(s.shares.get("new")).toBeCloseTo(2 / 3, 10);
    expect((await store.observe("a", ["old"], false, 5 * HOUR)).requests).toBe(0);
  });

  it("combines buckets with weights 0.5^(age / half-life)", () => {
    const s = combineBuckets(["x"], [{ age: 0, n: 10, counts: [5] }, { age: 2, n: 8, counts: [null] }], { bucketMs: 1, windowBuckets: 3, halfLifeBuckets: 2 });
    expect(s.requests).toBe(14);
    expect(s.shares.get("x")).toBeCloseTo(5 / 14, 10);
  });
});
