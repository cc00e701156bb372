import { describe, expect, it } from "vitest";
import { makeFilters, parseSince } from "./filters.ts";

const now = new Date("2025-06-15T12:34:56.789Z");

describe("--since", () => {
  it("takes durations back from now and dates in UTC, to the second", () => {
    expect(parseSince("90m", now).toISOString()).toBe("2025-06-15T11:04:56.000Z");
    expect(parseSince("24h", now).toISOString()).toBe("2025-06-14T12:34:56.000Z");
    expect(parseSince("30d", now).toISOString()).toBe("2025-05-16T12:34:56.000Z");
    expect(parseSince("2w", now).toISOString()).toBe("2025-06-01T12:34:56.000Z");
    expect(parseSince("2025-06-01", now).toISOString()).toBe("2025-06-01T00:00:00.000Z");
    expect(parseSince("2025-06-01 08:30", now).toISOString()).toBe("2025-06-01T08:30:00.000Z");
    expect(parseSince("2025-06-01T08:30:00+02:00", now).toISOString()).toBe("2025-06-01T06:30:00.000Z");
  });

  it("refuses what it cannot read, the future and empty filters, naming the flag", () => {
    expect(() => parseSince("yesterday", now)).toThrow(/invalid --since "yesterday"/);
    expect(() => parseSince("0d", now)).toThrow(/positive duration/);
    expect(() => parseSince("2025-07-01", now)).toThrow(/in the future/);
    expect(() => makeFilters({ tenant: " " }, now)).toThrow(/--tenant must not be empty/);
  });

  it("defaults to 30 days and ends one second past now", () => {
    const f = makeFilters({}, now);
    expect(f.since.toISOString()).toBe("2025-05-16T12:34:56.000Z");
    expect(f.until.toISOString()).toBe("2025-06-15T12:34:57.000Z");
    expect(f.tenant).toBeUndefined();
  });
});
