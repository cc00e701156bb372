import { describe, expect, it } from "vitest";
import { binOf } from "./decision.ts";
import { SALIENT_KINDS, salientDetails } from "./guard.ts";
import { seedEvidence, type LabelledQuery } from "./warm-start.ts";

/** A unit vector at angle `a` in the first two dimensions: cosines are cos(a - b). */
const at = (a: number) => {
  const v = new Float32Array(4);
  v[0] = Math.cos(a);
  v[1] = Math.sin(a);
  return v;
};
const q = (query: string, a: number, label: string | null): LabelledQuery => ({ query, vector: at(a), label });
const opts = { guard: SALIENT_KINDS, salient: salientDetails, candidates: 4 };

describe("calibration warm start", () => {
  it("records each query's would-be reuse of its nearest earlier query as a verified outcome", () => {
    const s = seedEvidence([q("card arrival", 0, "a"), q("card arrival time", 0.2, "a"), q("card fee", 0.5, "b"), q("out of scope", 0.55, null)], opts);
    // Second: reuses the first (same label). Third: nearest is the second (other label). Fourth: out of scope, always wrong.
    expect([s.pairs, s.wrong, s.exact]).toEqual([3, 2, 0]);
    // The second has one neighbour only; the third's two nearest agree (both "a"), the fourth's differ.
    expect(s.evidence.single.labelled[binOf(Math.cos(0.2))]).toBe(1);
    expect(s.evidence.agree.wrong[binOf(Math.cos(0.3))]).toBe(1);
    expect(s.evidence.differ.wrong[binOf(Math.cos(0.05))]).toBe(1);
    expect(Object.values(s.evidence).reduce((n, e) => n + e.traffic.reduce((x, y) => x + y, 0), 0)).toBe(3);
  });

  it("leaves exact repeats to the exact path, skips neighbours the guard refuses, and stops at the pair budget", () => {
    const s = seedEvidence([q("refund order 123", 0, "a"), q("refund order 123", 0, "a"), q("refund order 456", 0.05, "a"), q("refund my order 456", 0.1, "a")], opts);
    // The repeat is exact; order 456 refuses order 123 (guard) and has no other neighbour; the last reuses order 456.
    expect([s.pairs, s.wrong, s.exact]).toEqual([1, 0, 1]);
    expect(s.evidence.single.labelled[binOf(Math.cos(0.05))]).toBe(1);
    expect(seedEvidence([q("a b", 0, "a"), q("a c", 0.1, "a"), q("a d", 0.2, "a")], { ...opts, maxPairs: 1 }).pairs).toBe(1);
  });
});
