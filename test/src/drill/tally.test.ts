import { describe, expect, it } from "vitest";
import { renderTable, tally } from "./tally.ts";

const sentAt = new Map([["a", 0], ["b", 100], ["c", 200]]);

describe("drill tally", () => {
  it("counts answered, duplicates and latency, and passes when nothing is lost", () => {
    const r = tally("kill-executor", {
      sentAt, rows: 3,
      responses: [{ id: "a", status: "OK", at: 500 }, { id: "b", status: "OK", at: 400 }, { id: "a", status: "OK", at: 900 }, { id: "c", status: "OK", at: 1_200 }, { id: "other", status: "OK", at: 5 }],
    }, 12);
    expect(r).toMatchObject({ sent: 3, answered: 3, duplicates: 1, rows: 3, maxLatencyMs: 1_000, p50LatencyMs: 500, failures: [] });
    expect(renderTable([r])).toContain("| kill-executor | 3 | 3 | 1 | 3 | - | 0.5 | 1.0 | pass |");
  });

  it("fails on a missing response, a missing row, a wrong status or a poison record not dead-lettered", () => {
    const r = tally("poison", {
      sentAt, rows: 2, expectErrors: new Set(["b"]), deadLettered: { expected: 4, seen: 3 },
      responses: [{ id: "a", status: "OK", at: 10 }, { id: "b", status: "OK", at: 10 }],
    }, 5);
    expect(r.failures).toEqual([
      "1 request(s) without a response (e.g. c)",
      "1 request(s) without a row in llm_calls",
      "1 response(s) with an unexpected status (e.g. b: OK)",
      "1 poison record(s) missing from the dead-letter topic",
    ]);
    expect(renderTable([r])).toMatch(/\| 3\/4 \|.*\| FAIL: 1 request/);
  });
});
