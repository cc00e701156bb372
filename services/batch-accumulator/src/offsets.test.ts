import { describe, expect, it } from "vitest";
import { HeldOffsets } from "./offsets.ts";

describe("HeldOffsets", () => {
  it("reports the lowest held offset while batches release their requests in any order", () => {
    const h = new HeldOffsets();
    for (const o of [10, 11, 12, 13]) h.add(o);
    h.release(11);
    h.release(13);
    expect(h.min()).toBe(10);
    h.release(10);
    expect(h.min()).toBe(12);
    h.release(12);
    expect(h.min()).toBeNull();
    expect(h.size).toBe(0);
  });

  it("keeps order when a rebalance redelivers offsets below the newest one", () => {
    const h = new HeldOffsets();
    h.add(20);
    h.add(21);
    h.release(20);
    h.add(5);
    expect(h.min()).toBe(5);
    h.release(5);
    expect(h.min()).toBe(21);
  });

  it("counts a re-held offset separately from its released earlier copy", () => {
    const h = new HeldOffsets();
    h.add(1);
    h.add(7);
    h.release(7);
    h.add(7); // the same message accepted again after its first copy was released
    h.release(1);
    expect(h.min()).toBe(7);
    h.release(7);
    expect(h.min()).toBeNull();
  });

  it("stays correct over many appends and releases (compaction)", () => {
    const h = new HeldOffsets();
    for (let i = 0; i < 20_000; i++) h.add(i);
    for (let i = 0; i < 19_999; i++) h.release(i);
    expect(h.min()).toBe(19_999);
    h.add(20_000);
    expect(h.size).toBe(2);
  });

  it("frees released offsets as it goes, whether or not anyone asks for the minimum", () => {
    const h = new HeldOffsets();
    for (let i = 0; i < 50_000; i++) {
      h.add(i);
      h.release(i);
    }
    expect(h.size).toBe(0);
    expect((h as unknown as { released: Map<number, number> }).released.size).toBe(0);
    expect((h as unknown as { offsets: number[] }).offsets.length).toBeLessThan(8_200);
  });
});
