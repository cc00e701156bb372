import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { agreementOf, auc, baselineVerdicts, cohensKappa, embeddingVerdict, JudgeDataError, pairOf, rateMatchedThreshold, readPairs, wilson, type JudgePair } from "./eval.ts";

const row = (strong: number, weak: number, extra: Record<string, unknown> = {}) => ({
  id: "r1", prompt: "2+2?", strong_model: "S", weak_model: "W",
  models: { S: { score: strong, response: "four", ...extra }, W: { score: weak, response: "4, clearly", ...extra } },
});

describe("router rows as judge pairs", () => {
  it("the recorded scores decide the truth: strong better, weak better or a tie", () => {
    expect(pairOf(row(1, 0), "f", 1)).toMatchObject({ pair: { truth: "strong", strong: "four", weak: "4, clearly" } });
    expect(pairOf(row(0, 1), "f", 1)).toMatchObject({ pair: { truth: "weak" } });
    expect(pairOf(row(7, 7), "f", 1)).toMatchObject({ pair: { truth: "tie" } });
  });

  it("rows without answer text or a model pair are skipped with the reason; other rows are errors naming the file and line", () => {
    const noText = { ...row(1, 0), models: { S: { score: 1 }, W: { score: 0 } } };
    expect(pairOf(noText, "f", 1)).toEqual({ skip: "no recorded response text" });
    expect(pairOf({ ...row(1, 0), strong_model: null }, "f", 1)).toEqual({ skip: "no strong/weak model pair" });
    expect(() => pairOf({ text: "hi", label: "x" }, "cache.jsonl", 3)).toThrow(new JudgeDataError('cache.jsonl:3: not a router row (needs "prompt" and "models"; see the router format in the data README)'));
    expect(() => pairOf({ ...row(1, 0), models: { S: { score: 1 } } }, "f", 2)).toThrow(/f:2 \(r1\): models lacks W/);
  });
});

describe("agreement statistics", () => {
  it("Wilson interval: known values, and exact bounds at 0 and n", () => {
    const [lo, hi] = wilson(8, 10)!;
    expect(lo).toBeCloseTo(0.4902, 3);
    expect(hi).toBeCloseTo(0.9433, 3);
    expect(wilson(0, 5)![0]).toBe(0);
    expect(wilson(5, 5)![1]).toBe(1);
    expect(wilson(0, 0)).toBeNull();
  });

  it("Cohen's kappa: 1 for perfect agreement, 0 for a constant rater, negative below chance", () => {
    expect(cohensKappa(["a", "b", "a", "b"], ["a", "b", "a", "b"])).toBe(1);
    expect(cohensKappa(["a", "b", "a", "b"], ["a", "a", "a", "a"])).toBe(0);
    expect(cohensKappa(["a", "b", "a", "b"], ["b", "a", "b", "a"])).toBe(-1);
    // Worked example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no → po 0.7, pe 0.5, kappa 0.4.
    const a = [...Array(25).fill("y"), ...Array(25).fill("n")];
    const b = [...Array(20).fill("y"), ...Array(5).fill("n"), ...Array(10).fill("y"), ...Array(15).fill("n")];
    expect(cohensKappa(a, b)).toBeCloseTo(0.4, 12);
  });

  it("AUC: 1 when the score separates the classes, 0.5 when tied, null with one class", () => {
    expect(auc([0.9, 0.8, 0.2, 0.1], [true, true, false, false])).toBe(1);
    expect(auc([0.5, 0.5, 0.5, 0.5], [true, false, true, false])).toBe(0.5);
    expect(auc([0.1, 0.2], [true, true])).toBeNull();
  });

  it("agreementOf: 3-way agreement, the shadow decision and decisive pairs; undecided verdicts are left out and counted", () => {
    const a = agreementOf(["strong", "tie", "weak", "strong"], ["strong", "weak", null, "tie"]);
    expect(a).toMatchObject({ n: 3, undecided: 1, agreement: 1 / 3, decisive: { n: 2, accuracy: 0.5 } });
    // Shadow: strong→reject, tie→accept, strong→reject; verdicts reject, accept, accept: 2 of 3.
    expect(a.shadow.accuracy).toBeCloseTo(2 / 3, 12);
  });

  it("baselines: always tie, the longer answer wins, a seeded random pick", () => {
    const p = (strong: string, weak: string): JudgePair => ({ id: "x", file: "f", prompt: "q", strongModel: "S", weakModel: "W", strong, weak, truth: "tie" });
    const b = baselineVerdicts([p("long answer", "short"), p("a", "bb"), p("same", "same")], 7);
    expect(b.always_tie).toEqual(["tie", "tie", "tie"]);
    expect(b.longer_wins).toEqual(["strong", "weak", "tie"]);
    expect(b.random).toEqual(baselineVerdicts([p("a", "b"), p("a", "b"), p("a", "b")], 7).random);
    expect(embeddingVerdict(0.8, 0.75)).toBe("tie");
    expect(embeddingVerdict(0.7, 0.75)).toBe("strong");
  });

  it("rate-matched threshold: the judge accepts as many cheap answers as the recorded scores do", () => {
    const sims = [0.95, 0.6, 0.9, 0.7, 0.8];
    const truth = ["tie", "strong", "weak", "tie", "strong"] as const;
    const t = rateMatchedThreshold(sims, truth);
    expect(t).toBe(0.8);
    expect(sims.filter((s) => s >= t).length).toBe(truth.filter((o) => o !== "strong").length);
    expect(rateMatchedThreshold([0.5, 0.9], ["tie", "weak"])).toBe(0.5);
    expect(() => rateMatchedThreshold([0.5], [])).toThrow(RangeError);
  });
});

describe("readPairs", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "eval-judge-"));
  const file = (name: string, lines: string[]) => {
    const f = path.join(dir, name);
    writeFileSync(f, lines.join("\n") + "\n");
    return f;
  };

  it("reads pairs, counts skipped rows by reason, and samples each file with the seed", () => {
    const rows = Array.from({ length: 6 }, (_, i) => JSON.stringify({ ...row(1, i % 2), id: `r${i}` }));
    const f = file("a.jsonl", [...rows, JSON.stringify({ ...row(1, 0), models: { S: { score: 1 }, W: { score: 0 } } })]);
    const all = readPairs([f], { seed: 1 });
    expect(all.pairs.map((p) => p.id)).toEqual(["r0", "r1", "r2", "r3", "r4", "r5"]);
    expect(all.skipped).toEqual({ "no recorded response text": 1 });
    expect(all.files).toEqual([{ file: f, rows: 7, pairs: 6 }]);
    const some = readPairs([f], { n: 3, seed: 4 });
    expect(some.pairs).toHaveLength(3);
    expect(readPairs([f], { n: 3, seed: 4 }).pairs.map((p) => p.id)).toEqual(some.pairs.map((p) => p.id));
  });

  it("a file that is not JSON lines, or empty, is an error naming it", () => {
    expect(() => readPairs([file("bad.jsonl", ["{not json"])], { seed: 1 })).toThrow(/bad\.jsonl:1: not JSON/);
    expect(() => readPairs([file("empty.jsonl", [""])], { seed: 1 })).toThrow(/empty\.jsonl: no rows/);
    expect(() => readPairs([path.join(dir, "missing.jsonl")], { seed: 1 })).toThrow(/cannot read .*missing\.jsonl/);
  });
});
