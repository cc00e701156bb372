import { describe, expect, it } from "vitest";
import { apgr, cpt, modelQuality, oracleCurve, qualityAt, randomCurve, routerCurve, routerMetrics, shareAtQuality } from "./metrics.ts";

// Four binary rows. Strong accuracy 3/4, weak 1/4. The router ranks r1 > r4 > r2 > r3.
const rows = [
  { score: 0.9, strong: 1, weak: 0 }, // r1: strong needed
  { score: 0.7, strong: 1, weak: 1 }, // r2: both right
  { score: 0.4, strong: 0, weak: 0 }, // r3: both wrong
  { score: 0.8, strong: 1, weak: 0 }, // r4: strong needed
];

describe("RouteLLM metrics on a hand-computed example", () => {
  it("model qualities", () => {
    expect(modelQuality(rows)).toEqual({ strong: 0.75, weak: 0.25 });
  });

  it("the router curve sends the highest scores to the strong model first", () => {
    expect(routerCurve(rows)).toEqual([
      { strongShare: 0, quality: 0.25 },
      { strongShare: 0.25, quality: 0.5 },
      { strongShare: 0.5, quality: 0.75 },
      { strongShare: 0.75, quality: 0.75 },
      { strongShare: 1, quality: 0.75 },
    ]);
  });

  it("APGR is the trapezoid area under PGR: (0.625 − 0.25) / 0.5 = 0.75", () => {
    expect(apgr(routerCurve(rows), modelQuality(rows))).toBeCloseTo(0.75, 12);
  });

  it("CPT(50%) = 25% (quality 0.5 is reached at the first point); CPT(80%) interpolates to 40%", () => {
    const c = routerCurve(rows), q = modelQuality(rows);
    expect(cpt(c, q, 0.5)).toBeCloseTo(0.25, 12);
    expect(cpt(c, q, 0.8)).toBeCloseTo(0.4, 12);
  });

  it("95% of strong quality (0.7125) needs 46.25% strong calls, leaving 53.75% on the cheap tier", () => {
    const m = routerMetrics(routerCurve(rows), modelQuality(rows));
    expect(m.strongShareAt95).toBeCloseTo(0.4625, 12);
    expect(m.cheapShareAt95).toBeCloseTo(0.5375, 12);
  });

  it("the random router's expected APGR is 0.5 and its CPT(p) is p", () => {
    const c = randomCurve(rows), q = modelQuality(rows);
    expect(apgr(c, q)).toBeCloseTo(0.5, 12);
    expect(cpt(c, q, 0.5)).toBeCloseTo(0.5, 12);
    expect(cpt(c, q, 0.8)).toBeCloseTo(0.8, 12);
  });

  it("the oracle spends strong calls only where they gain, then stays flat", () => {
    expect(oracleCurve(rows).map((p) => p.quality)).toEqual([0.25, 0.5, 0.75, 0.75, 0.75]);
    // A row where the weak model is better: the oracle never sends it to the strong model.
    const mixed = [{ score: 0, strong: 0, weak: 1 }, { score: 0, strong: 1, weak: 0 }];
    expect(oracleCurve(mixed).map((p) => p.quality)).toEqual([0.5, 1, 1]);
    expect(routerCurve(mixed).map((p) => p.quality)).toEqual([0.5, 0.5]);
  });

  it("rows with equal scores move to the strong model together", () => {
    const judge = [{ score: 0.5, strong: 9, weak: 7 }, { score: 0.5, strong: 8, weak: 8 }, { score: 0.2, strong: 6, weak: 9 }];
    const c = routerCurve(judge);
    expect(c.map((p) => p.strongShare)).toEqual([0, 2 / 3, 1]);
    expect(c.map((p) => p.quality)).toEqual([8, 26 / 3, 23 / 3]);
  });

  it("interpolates quality between points and reports a target the curve never reaches as null", () => {
    const c = routerCurve(rows);
    expect(qualityAt(c, 0.125)).toBeCloseTo(0.375, 12);
    expect(shareAtQuality(c, 0.9)).toBeNull();
    expect(shareAtQuality(c, 0.1)).toBe(0);
  });

  it("has no APGR or CPT when the weak model is at least as good, and keeps everything on the cheap tier at 95%", () => {
    const same = [{ score: 0.3, strong: 1, weak: 1 }, { score: 0.6, strong: 0, weak: 1 }];
    expect(routerMetrics(routerCurve(same), modelQuality(same))).toEqual({ apgr: null, cpt50: null, cpt80: null, strongShareAt95: 0, cheapShareAt95: 1 });
  });
});
