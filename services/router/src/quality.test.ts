import { describe, expect, it } from "vitest";
import { agreementRate, nextFallback } from "./quality.ts";

const q = { floor: 0.8, window: 10, minSamples: 4, recoverMargin: 0.1 };

describe("automatic fallback", () => {
  it("the agreement rate is the share of agreeing comparisons", () => {
    expect(agreementRate([1, 0, 1, 1])).toBe(0.75);
    expect(agreementRate([])).toBeNull();
  });

  it("does not judge a route before minSamples comparisons", () => {
    expect(nextFallback(null, [0, 0, 0], q, 100)).toEqual({ state: null, transition: null, rate: 0 });
  });

  it("enters fallback when the rate drops below the floor", () => {
    expect(nextFallback(null, [1, 0, 1, 1, 0], q, 100)).toEqual({ state: { since: 100, agreement: 0.6, samples: 5, floor: 0.8 }, transition: "enter", rate: 0.6 });
  });

  it("stays healthy at or above the floor", () => {
    expect(nextFallback(null, [1, 1, 1, 1, 0], q, 100)).toEqual({ state: null, transition: null, rate: 0.8 });
  });

  it("stays in fallback between the floor and floor + margin (no flapping), updating the measured rate", () => {
    const current = { since: 100, agreement: 0.6, samples: 5, floor: 0.8 };
    expect(nextFallback(current, [1, 1, 1, 1, 1, 1, 1, 1, 0, 0], q, 200)).toEqual({ state: { since: 100, agreement: 0.8, samples: 10, floor: 0.8 }, transition: null, rate: 0.8 });
  });

  it("recovers at floor + margin", () => {
    const current = { since: 100, agreement: 0.6, samples: 5, floor: 0.8 };
    expect(nextFallback(current, [1, 1, 1, 1, 1, 1, 1, 1, 1, 0], q, 300)).toEqual({ state: null, transition: "recover", rate: 0.9 });
  });
});
