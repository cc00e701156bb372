import { describe, expect, it } from "vitest";
import { wilsonInterval } from "./wilson.ts";

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
});
