import { describe, expect, it } from "vitest";
import { leastUnanimousSamples, wilsonInterval } from "./wilson.ts";

describe("Wilson score interval", () => {
  // Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3.
  it.each([
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
  ])("%i of %i → [%f, %f] (Newcombe 1998)", (k, n, lo, hi) => {
    const ci = wilsonInterval(k, n)!;
    expect(ci.lower).toBeCloseTo(lo, 4);
    expect(ci.upper).toBeCloseTo(hi, 4);
  });

  it("stays inside [0, 1] at the edges and narrows with n", () => {
    expect(wilsonInterval(10, 10)).toEqual({ lower: expect.closeTo(0.7225, 4), upper: 1 });
    const small = wilsonInterval(48, 50)!, large = wilsonInterval(960, 1000)!;
    expect(large.upper - large.lower).toBeLessThan(small.upper - small.lower);
    expect(small.lower).toBeCloseTo(0.8654, 4);
  });

  it("has no interval without observations and rejects impossible counts", () => {
    expect(wilsonInterval(0, 0)).toBeNull();
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
  });

  it("knows the fewest unanimous comparisons that can meet a bar", () => {
    // n / (n + 1.96²): 3 of 3 gives 0.439, 5 of 5 gives 0.566, 22 of 22 gives 0.851.
    expect(leastUnanimousSamples(0.55)).toBe(5);
    expect(leastUnanimousSamples(0.85)).toBe(22);
    expect(leastUnanimousSamples(0.95)).toBe(73);
    expect(leastUnanimousSamples(0)).toBe(1);
    expect(leastUnanimousSamples(1)).toBe(Number.POSITIVE_INFINITY);
    for (const bar of [0.1, 0.5, 0.55, 0.8, 0.9, 0.99]) {
      const n = leastUnanimousSamples(bar);
      expect(wilsonInterval(n, n)!.lower).toBeGreaterThanOrEqual(bar);
      if (n > 1) expect(wilsonInterval(n - 1, n - 1)!.lower).toBeLessThan(bar);
    }
  });
});
