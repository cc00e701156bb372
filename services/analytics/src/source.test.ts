import { describe, expect, it } from "vitest";
import type { Filters } from "./filters.ts";
import { grainFor, grainWindow, source } from "./source.ts";

const f = (sinceIso: string, tenant?: string): Filters => ({ since: new Date(sinceIso), until: new Date("2025-06-15T12:34:57Z"), tenant, useCase: undefined });

describe("sources", () => {
  it("reads hourly up to two days and daily beyond, widening the window to whole grains", () => {
    expect(grainFor(f("2025-06-13T12:34:56Z"))).toBe("hour");
    expect(grainFor(f("2025-06-10T00:00:00Z"))).toBe("day");
    expect(grainWindow(f("2025-06-14T12:34:56Z"), "hour")).toEqual({ start: new Date("2025-06-14T12:00:00Z"), end: new Date("2025-06-15T13:00:00Z") });
    expect(grainWindow(f("2025-06-10T07:00:00Z"), "day")).toEqual({ start: new Date("2025-06-10T00:00:00Z"), end: new Date("2025-06-16T00:00:00Z") });
  });

  it("the exact and rollup sources cover the same window", () => {
    const filters = f("2025-06-14T12:34:56Z");
    expect(source("costwise", "exact", filters, "hour")).toContain("FROM `costwise`.`llm_calls` FINAL WHERE ts >= toDateTime('2025-06-14 12:00:00', 'UTC') AND ts < toDateTime('2025-06-15 13:00:00', 'UTC')");
    expect(source("costwise", "rollup", filters, "hour")).toContain("FROM `costwise`.`calls_hourly` WHERE hour >= toDateTime('2025-06-14 12:00:00', 'UTC') AND hour < toDateTime('2025-06-15 13:00:00', 'UTC')");
    expect(source("costwise", "rollup", filters, "day")).toContain("FROM `costwise`.`calls_daily` WHERE day >= toDate('2025-06-14') AND day < toDate('2025-06-16')");
  });

  it("quotes tenant values and refuses a bad database name", () => {
    expect(source("costwise", "rollup", f("2025-06-14T12:34:56Z", "x' OR 1=1 --"), "hour")).toContain("AND tenant = 'x\\' OR 1=1 --'");
    expect(() => source("cost wise", "rollup", f("2025-06-14T12:34:56Z"), "hour")).toThrow(/invalid SQL identifier/);
  });
});
