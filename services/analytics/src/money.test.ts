import { describe, expect, it } from "vitest";
import { apportion, formatUsd, parseUsd, ratio, toNano, usdDecimal } from "./money.ts";

describe("money", () => {
  it("formats nano-USD exactly, with thousands separators and half-up rounding", () => {
    expect(formatUsd(1_234_567_890_123n)).toBe("$1,234.57");
    expect(formatUsd(4_500_000n, 4)).toBe("$0.0045");
    expect(formatUsd(-12_345n, 4)).toBe("$0.0000"); // rounds to zero: no minus sign
    expect(formatUsd(-1_500_000_000n)).toBe("-$1.50");
    expect(usdDecimal(-12_345n)).toBe("-0.000012345");
    expect(usdDecimal(9_007_199_254_740_993n)).toBe("9007199.254740993"); // above 2^53: still exact
  });

  it("parses USD amounts without floats and refuses what it cannot represent", () => {
    expect(parseUsd("2000")).toBe(2_000_000_000_000n);
    expect(parseUsd("0.000000001")).toBe(1n);
    expect(parseUsd(1500.5)).toBe(1_500_500_000_000n);
    expect(() => parseUsd("1e3")).toThrow(/invalid USD amount/);
    expect(() => parseUsd("-5")).toThrow(/invalid USD amount/);
    expect(() => parseUsd("0.0000000001")).toThrow(/at most 9 decimals/);
  });

  it("reads ClickHouse 64-bit JSON strings as bigint", () => {
    expect(toNano("18446744073709551615")).toBe(18_446_744_073_709_551_615n);
    expect(toNano(null)).toBe(0n);
    expect(ratio(1n, 3n)).toBeCloseTo(1 / 3, 6);
    expect(ratio(1n, 0n)).toBeNull();
  });

  it("apportions a total over weights so the parts add up exactly", () => {
    const parts = apportion(1_000_001n, [1n, 1n, 1n]);
    expect(parts.reduce((a, b) => a + b, 0n)).toBe(1_000_001n);
    expect(parts).toEqual([333_334n, 333_334n, 333_333n]);
    expect(apportion(-10n, [3n, 1n])).toEqual([-8n, -2n]);
    expect(apportion(7n, [0n, 0n])).toEqual([7n, 0n]);
  });
});
