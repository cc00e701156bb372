import { describe, expect, it } from "vitest";
import { fnv1a32, seededRandom, shuffle } from "./index.ts";

describe("seeded helpers", () => {
  it("repeat exactly from a seed and differ between seeds", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(seededRandom(43)()).not.toBe(xs[0]);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });

  it("shuffle is a permutation that leaves its input alone", () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const out = shuffle(items, seededRandom(1));
    expect(out).not.toEqual(items);
    expect([...out].sort((x, y) => x - y)).toEqual(items);
    expect(items[0]).toBe(0);
    expect(shuffle(items, seededRandom(1))).toEqual(out);
  });

  it("fnv1a32 is stable, unsigned and seed-dependent", () => {
    expect(fnv1a32("req-1")).toBe(fnv1a32("req-1"));
    expect(fnv1a32("req-1")).not.toBe(fnv1a32("req-2"));
    expect(fnv1a32("req-1", 1)).not.toBe(fnv1a32("req-1"));
    expect(fnv1a32("")).toBeGreaterThanOrEqual(0);
  });
});
