import { describe, expect, it } from "vitest";
import type { LlmOutcome } from "@costwise/schemas";
import { effectiveOutcome, outcomeProblem, sourceRank, succeeded } from "./outcome.ts";

const o = (over: Partial<LlmOutcome>): LlmOutcome => ({ request_id: "r1", tenant: "acme", use_case: "support", success: true, score: null, source: "user", created_at: 1_000, comment: null, ...over });

describe("outcome validation", () => {
  it("refuses a score outside [0, 1], a missing verdict and empty identifiers, with the reason", () => {
    expect(outcomeProblem(o({}))).toBeNull();
    expect(outcomeProblem(o({ success: null, score: 0 }))).toBeNull();
    expect(outcomeProblem(o({ success: null, score: 1 }))).toBeNull();
    expect(outcomeProblem(o({ score: 1.5 }))).toBe("outcome score 1.5 is outside [0, 1]");
    expect(outcomeProblem(o({ score: -0.1 }))).toMatch(/outside \[0, 1\]/);
    expect(outcomeProblem(o({ score: Number.NaN }))).toMatch(/outside/);
    expect(outcomeProblem(o({ success: null, score: null }))).toBe("outcome has neither success nor score");
    expect(outcomeProblem(o({ request_id: " " }))).toBe("outcome without request_id");
    expect(outcomeProblem(o({ source: "" }))).toBe("outcome without source");
  });

  it("a score alone decides success at 0.5; success wins over the score when both are given", () => {
    expect(succeeded({ success: null, score: 0.5 })).toBe(true);
    expect(succeeded({ success: null, score: 0.49 })).toBe(false);
    expect(succeeded({ success: false, score: 0.9 })).toBe(false);
  });
});

describe("late, repeated and contradictory outcomes", () => {
  it("ranks user above task above judge (judge:<name> included) above other sources", () => {
    expect([sourceRank("User"), sourceRank("task"), sourceRank("judge"), sourceRank("judge:shadow"), sourceRank("crm")]).toEqual([3, 2, 1, 1, 0]);
  });

  it("the latest per source wins, and a user's outcome beats a later judge's", () => {
    const userOld = o({ success: true, created_at: 1_000 });
    const userNew = o({ success: false, created_at: 2_000 });
    const judgeLater = o({ source: "judge:shadow", success: true, created_at: 9_000 });
    expect(effectiveOutcome([userOld, userNew])).toBe(userNew);
    expect(effectiveOutcome([userNew, userOld])).toBe(userNew);
    expect(effectiveOutcome([judgeLater, userOld, userNew])).toBe(userNew);
    expect(effectiveOutcome([judgeLater])).toBe(judgeLater);
    expect(effectiveOutcome([])).toBeNull();
  });

  it("a repeated outcome (same time) resolves to the later delivery", () => {
    const a = o({ success: true });
    const b = o({ success: false });
    const received = new Map([[a, 1], [b, 2]]);
    expect(effectiveOutcome([a, b], (x) => received.get(x)!)).toBe(b);
    expect(effectiveOutcome([b, a], (x) => received.get(x)!)).toBe(b);
  });
});
