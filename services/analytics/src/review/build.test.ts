import { describe, expect, it } from "vitest";
import { AnalyticsInputError } from "../errors.ts";
import { nextQuarter, parseQuarter } from "./build.ts";

describe("quarters", () => {
  it("2026Q4 is October to December in UTC, and the next one is 2027Q1", () => {
    const q = parseQuarter("2026Q4");
    expect([q.start.toISOString(), q.end.toISOString()]).toEqual(["2026-10-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"]);
    expect(nextQuarter(q).label).toBe("2027Q1");
    expect(nextQuarter(parseQuarter("2026Q1")).label).toBe("2026Q2");
  });

  it("refuses anything else", () => {
    for (const bad of ["2026Q5", "2026-Q4", "Q4", "26Q1"]) expect(() => parseQuarter(bad)).toThrow(AnalyticsInputError);
  });
});
