import { describe, expect, it } from "vitest";
import { InvalidPriceError } from "./errors.ts";
import { nanoUsdToUsd, parseFractionPpm, parseUsdPerMTok, sumNanoUsd } from "./money.ts";

describe("parseUsdPerMTok", () => {
  it.each([
    ["2.50", 2_500_000n],
    ["2.5", 2_500_000n],
    ["0.005", 5_000n],
    ["0.075", 75_000n],
    ["75.00", 75_000_000n],
    ["0", 0n],
    ["0.000001", 1n],
    ["1.2500000", 1_250_000n],
  ])("%s USD/MTok is %d pico-USD per token", (value, pico) => {
    expect(parseUsdPerMTok(value)).toBe(pico);
  });

  it.each(["0.0000001", "1.1234567", "-1", "1e-6", "", " 1", "$2.50", "2,50", ".5", "1."])(
    "rejects %j",
    (value) => {
      expect(() => parseUsdPerMTok(value)).toThrow(InvalidPriceError);
    },
  );
});

describe("parseFractionPpm", () => {
  it("parses discounts in (0, 1]", () => {
    expect(parseFractionPpm("0.5")).toBe(500_000n);
    expect(parseFractionPpm("1")).toBe(1_000_000n);
  });

  it.each(["0", "1.01", "0.0000001"])("rejects %j", (value) => {
    expect(() => parseFractionPpm(value)).toThrow(InvalidPriceError);
  });
});

describe("sumNanoUsd", () => {
  it("adds exactly where floats would not", () => {
    expect(sumNanoUsd([9_007_199_254_740_000, 991])).toBe(Number.MAX_SAFE_INTEGER);
    expect(sumNanoUsd([])).toBe(0);
    expect(sumNanoUsd([5, -3])).toBe(2);
  });

  it("throws instead of returning a rounded total", () => {
    expect(() => sumNanoUsd([Number.MAX_SAFE_INTEGER, 1])).toThrow(RangeError);
    expect(() => sumNanoUsd([1.5])).toThrow(RangeError);
  });
});

describe("nanoUsdToUsd", () => {
  it("converts for display", () => {
    expect(nanoUsdToUsd(450_000)).toBe(0.00045);
    expect(nanoUsdToUsd(1_000_000_000)).toBe(1);
  });

  it("refuses non-integer nano amounts", () => {
    expect(() => nanoUsdToUsd(0.5)).toThrow(RangeError);
  });
});
