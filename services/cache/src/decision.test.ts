import { describe, expect, it } from "vitest";
import {
  calibratedThreshold, decide, emptyCalibration, entryBoundary, ExplorationBudget, formatOutcome, normalQuantile, parseOutcomes,
  recordOutcome, recordTraffic, VETO_MARGIN, wilsonUpper, type DecisionParams,
} from "./decision.ts";

const params: DecisionParams = { maxWrongRate: 0.01, confidence: 0.95, exploreRate: 0, floor: 0.5 };
const never = () => false;

/** n verified reuses at one similarity, `wrong` of them wrong, each also counted as traffic. */
function observe(c: ReturnType<typeof emptyCalibration>, similarity: number, n: number, wrong = 0) {
  for (let i = 0; i < n; i++) {
    recordTraffic(c, similarity);
    recordOutcome(c, { similarity, ok: i >= wrong });
  }
}

describe("calibrated threshold", () => {
  it("serves nothing without evidence, and nothing on evidence too thin to bound the wrong rate within δ", () => {
    const c = emptyCalibration();
    expect(calibratedThreshold(c, 0.01, 0.95)).toBeGreaterThan(1);
    observe(c, 0.93, 100); // 100 correct reuses: the 95% upper bound is still about 2.6%
    expect(wilsonUpper(0, 100, normalQuantile(0.95))).toBeGreaterThan(0.02);
    expect(calibratedThreshold(c, 0.01, 0.95)).toBeGreaterThan(1);
  });

  it("serves once evidence is strong, and stops short of a similarity band whose wrong answers would break δ", () => {
    const c = emptyCalibration();
    observe(c, 0.93, 400);
    expect(calibratedThreshold(c, 0.01, 0.95)).toBeCloseTo(0.93, 5);
    observe(c, 0.8, 100, 40); // 40% wrong at 0.8: serving down to it would make the hits ~8% wrong
    expect(calibratedThreshold(c, 0.01, 0.95)).toBeCloseTo(0.93, 5);
    const looser = calibratedThreshold(c, 0.2, 0.95);
    expect(looser).toBeCloseTo(0.8, 5);
  });

  it("treats traffic with no verified outcome as no better than the nearest verified band below it", () => {
    const c = emptyCalibration();
    observe(c, 0.9, 400);
    for (let i = 0; i < 1000; i++) recordTraffic(c, 0.97); // served, never explored
    expect(calibratedThreshold(c, 0.01, 0.95)).toBeCloseTo(0.9, 5);
    const unknown = emptyCalibration();
    for (let i = 0; i < 1000; i++) recordTraffic(unknown, 0.97);
    expect(calibratedThreshold(unknown, 0.01, 0.95)).toBeGreaterThan(1);
  });
});

describe("decision on a candidate", () => {
  it("refuses a hit whose estimated error exceeds δ: below the calibrated threshold it is a near miss, to be verified", () => {
    expect(decide(0.85, [], 0.9, params, never)).toEqual({ kind: "near_miss", threshold: 0.9, why: "calibration" });
    expect(decide(0.95, [], 0.9, params, never)).toEqual({ kind: "serve", threshold: 0.9 });
    expect(decide(0.4, [], 0.9, params, never)).toEqual({ kind: "miss", threshold: 0.9 });
  });

  it("lets an entry's own wrong outcome veto candidates up to a margin above it, whatever the calibration says", () => {
    const outcomes = [{ similarity: 0.93, ok: false }];
    expect(decide(0.93 + VETO_MARGIN / 2, outcomes, 0.9, params, never)).toMatchObject({ kind: "near_miss", why: "entry_veto" });
    expect(decide(0.93 + VETO_MARGIN * 1.5, outcomes, 0.9, params, never)).toMatchObject({ kind: "serve" });
  });

  it("trusts an entry proven by several correct reuses a little below the calibrated threshold, never far", () => {
    const proven = [0.88, 0.885, 0.89, 0.895].map((similarity) => ({ similarity, ok: true }));
    const b = entryBoundary(0.9, proven);
    expect(b.threshold).toBeLessThan(0.9);
    expect(b.threshold).toBeGreaterThanOrEqual(0.9 - 0.015 - 1e-9);
    expect(entryBoundary(0.9, [{ similarity: 0.88, ok: true }]).threshold).toBe(0.9); // one reuse earns nothing
  });

  it("sends a would-be hit to the model when the exploration budget grants it", () => {
    expect(decide(0.95, [], 0.9, params, () => true)).toEqual({ kind: "explore", threshold: 0.9 });
  });
});

describe("exploration budget", () => {
  it("never explores more than its share of would-be hits, even when every draw says yes", () => {
    const b = new ExplorationBudget(0.05, () => 0);
    let explored = 0;
    for (let i = 0; i < 1000; i++) if (b.take()) explored++;
    expect(explored).toBeLessThanOrEqual(51);
    expect(explored).toBeGreaterThanOrEqual(49);
    expect(b.counts).toEqual({ wouldBe: 1000, explored });
  });

  it("explores nothing at rate 0 and follows the draws below the cap", () => {
    const none = new ExplorationBudget(0, () => 0);
    expect(Array.from({ length: 100 }, () => none.take()).some(Boolean)).toBe(false);
    const draws = [0.5, 0.01, 0.5, 0.5];
    const b = new ExplorationBudget(0.5, () => draws.shift() ?? 1);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([false, true, false, false]);
  });
});

describe("entry outcomes as stored", () => {
  it("round-trips, skips malformed items and keeps the newest", () => {
    const s = formatOutcome({ similarity: 0.91234, ok: true }) + "junk;" + formatOutcome({ similarity: 0.8, ok: false });
    expect(parseOutcomes(s)).toEqual([{ similarity: 0.9123, ok: true }, { similarity: 0.8, ok: false }]);
    expect(parseOutcomes(null)).toEqual([]);
    const many = Array.from({ length: 40 }, (_, i) => formatOutcome({ similarity: i / 100, ok: true })).join("");
    expect(parseOutcomes(many)).toHaveLength(32);
    expect(parseOutcomes(many)[31]).toEqual({ similarity: 0.39, ok: true });
  });
});
