import { describe, expect, it } from "vitest";
import { normalCdf, normalQuantile, regressionTest, wilsonInterval } from "./stats.ts";

const policy = { margin: 0.05, alpha: 0.05, minSamples: 30 };

describe("success-rate statistics", () => {
  it("normal CDF and quantile match the tables", () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 5);
    expect(normalCdf(-1.644854)).toBeCloseTo(0.05, 5);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 4);
  });

  it("Wilson interval of 8/10 at 95% is [0.490, 0.943]", () => {
    const w = wilsonInterval({ successes: 8, trials: 10 })!;
    expect(w.low).toBeCloseTo(0.4902, 3);
    expect(w.high).toBeCloseTo(0.9433, 3);
    expect(wilsonInterval({ successes: 0, trials: 0 })).toBeNull();
  });

  it("detects a clear drop beyond the margin, and not one within it or one on few outcomes", () => {
    const drop = regressionTest({ successes: 60, trials: 100 }, { successes: 90, trials: 100 }, policy);
    expect(drop.regressed).toBe(true);
    expect(drop.pValue!).toBeLessThan(0.001);
    // 3 points lower: inside the 5-point margin whatever the sample size.
    expect(regressionTest({ successes: 8_700, trials: 10_000 }, { successes: 9_000, trials: 10_000 }, policy).regressed).toBe(false);
    // 10 points lower on 20 outcomes: below minSamples, undecided.
    const few = regressionTest({ successes: 16, trials: 20 }, { successes: 18, trials: 20 }, policy);
    expect(few.regressed).toBe(false);
    expect(few.reason).toMatch(/too few outcomes/);
    // Equal rates never regress; a better technique never regresses.
    expect(regressionTest({ successes: 50, trials: 100 }, { successes: 50, trials: 100 }, policy).regressed).toBe(false);
    expect(regressionTest({ successes: 100, trials: 100 }, { successes: 0, trials: 100 }, policy).regressed).toBe(false);
  });

  it("false alarms under no regression stay near alpha (simulated, fixed seed)", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
    const draw = (p: number, n: number) => Array.from({ length: n }, rand).filter((x) => x < p).length;
    let alarms = 0;
    const runs = 2_000;
    // The technique is exactly `margin` worse: the boundary of H0, where the false-alarm rate is highest.
    for (let i = 0; i < runs; i++) if (regressionTest({ successes: draw(0.8, 200), trials: 200 }, { successes: draw(0.85, 200), trials: 200 }, policy).regressed) alarms++;
    expect(alarms / runs).toBeLessThan(0.08);
    expect(alarms / runs).toBeGreaterThan(0.02);
  });
});
