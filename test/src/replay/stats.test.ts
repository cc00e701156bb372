import { describe, expect, it } from "vitest";
import { mean, meanInterval, pairedRatioInterval } from "./stats.ts";

describe("intervals", () => {
  it("is the point itself when every pair agrees, and reproducible for a seed", () => {
    expect(pairedRatioInterval([1, 1, 0, 1], [1, 1, 0, 1])).toEqual([1, 1]);
    const m = [1, 0, 1, 1, 0, 1, 1, 1, 0, 1];
    const n = [1, 1, 1, 1, 0, 1, 1, 1, 1, 1];
    expect(pairedRatioInterval(m, n, { seed: 3 })).toEqual(pairedRatioInterval(m, n, { seed: 3 }));
  });

  it("brackets the ratio of means and narrows with more data", () => {
    const small = { m: [1, 0, 1, 1, 0, 1, 1, 1, 0, 1], n: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1] };
    const big = { m: Array.from({ length: 40 }, () => small.m).flat(), n: Array.from({ length: 40 }, () => small.n).flat() };
    const a = pairedRatioInterval(small.m, small.n)!;
    const b = pairedRatioInterval(big.m, big.n)!;
    const ratio = mean(small.m) / mean(small.n);
    expect(a[0]).toBeLessThan(ratio);
    expect(a[1]).toBeGreaterThan(ratio);
    expect(b[0]).toBeLessThanOrEqual(ratio);
    expect(b[1]).toBeGreaterThanOrEqual(ratio);
    expect(b[1] - b[0]).toBeLessThan(a[1] - a[0]);
    const mi = meanInterval(big.m)!;
    expect(mi[0]).toBeLessThan(0.7);
    expect(mi[1]).toBeGreaterThan(0.7);
  });

  it("has no interval without data or without a naive quality, and refuses unpaired samples", () => {
    expect(pairedRatioInterval([], [])).toBeNull();
    expect(pairedRatioInterval([1], [0])).toBeNull();
    expect(() => pairedRatioInterval([1], [1, 1])).toThrow(/differ in length/);
  });
});
