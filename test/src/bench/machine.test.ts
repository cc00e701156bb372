import { describe, expect, it } from "vitest";
import { cpuProbeMs } from "./machine.ts";

describe("CPU probe", () => {
  it("times a loop whose work grows with its length", () => {
    const short = cpuProbeMs(3, 2_000_000);
    const long = cpuProbeMs(3, 40_000_000);
    expect(Number.isInteger(long)).toBe(true);
    expect(long).toBeGreaterThan(short);
  });
});
