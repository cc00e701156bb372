import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import { DEFAULT_POLICY_FILE } from "../config.ts";
import { DatasetError } from "../errors.ts";
import { loadPolicy } from "../policy.ts";
import { POLICY_DATE } from "../testing/fixtures.ts";
import { loadEvalSet, namedPair, strongWins } from "./dataset.ts";
import { groupFolds } from "./folds.ts";
import { cascadePoint, classifierCvScores, lengthScores } from "./strategies.ts";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe("router dev rows", () => {
  it("loads a set with its named pair, and each MT-bench turn sees the conversation so far", () => {
    const set = loadEvalSet(fixture("tiny-mtbench.jsonl"));
    expect(set).toMatchObject({ name: "fixtures", benchmark: "mt_bench", strongModel: "strong-model", weakModel: "weak-model", scoreType: "judge_1_10" });
    expect(set.rows).toHaveLength(6);
    const turn2 = set.rows.find((r) => r.id === "mt:1:turn2")!;
    expect(turn2.input.userTurns).toBe(2);
    expect(turn2.input.lastUser).toBe("Now solve 5x - 3 = 2x + 9.");
    expect(turn2.input.userText).toBe("Solve for x: 3x + 7 = 22. Show your steps.\n\nNow solve 5x - 3 = 2x + 9.");
    expect([turn2.strong, turn2.weak, strongWins(turn2)]).toEqual([9, 4, 1]);
  });

  it("drops contaminated rows only when asked", () => {
    expect(loadEvalSet(fixture("tiny-mtbench.jsonl"), { dropContaminated: true }).dropped).toEqual({ contaminated: 2, unscored: 0 });
    expect(loadEvalSet(fixture("tiny-mtbench.jsonl")).rows.filter((r) => r.contaminated)).toHaveLength(2);
  });

  it("needs a pair for sets that name none, and leaves out rows a model has no score for", () => {
    expect(namedPair(fixture("tiny-zero.jsonl"))).toBeNull();
    expect(() => loadEvalSet(fixture("tiny-zero.jsonl"))).toThrow(DatasetError);
    expect(() => loadEvalSet(fixture("tiny-zero.jsonl"), { strong: "huge", weak: "small" })).toThrow(/model huge is not in the rows/);
    const set = loadEvalSet(fixture("tiny-zero.jsonl"), { strong: "partial", weak: "small" });
    expect(set.rows).toHaveLength(3);
    expect(set.dropped.unscored).toBe(1);
  });

  it("folds keep groups together and are stable", () => {
    const ids = ["a", "a", "b", "c", "c", "d", "e", "f"];
    const folds = groupFolds(ids, 3);
    expect(folds[0]).toBe(folds[1]);
    expect(folds[3]).toBe(folds[4]);
    expect(groupFolds(ids, 3)).toEqual(folds);
    expect(new Set(folds).size).toBe(3);
    expect(() => groupFolds(["a", "b"], 3)).toThrow(RangeError);
  });

  it("scores every row out of fold", () => {
    const set = loadEvalSet(fixture("tiny-gsm8k.jsonl"));
    const scores = classifierCvScores(set, { folds: 2, seed: 0, train: { iterations: 20, hashBits: 6 } });
    expect(scores).toHaveLength(8);
    expect(scores.every((s) => s > 0 && s < 1)).toBe(true);
    expect(lengthScores(set)[0]).toBeCloseTo(Math.log1p(set.rows[0]!.input.userText.length), 12);
  });

  it("a cascade escalates rows whose weak answer fails the check (missing #### line, uncertainty)", () => {
    const uc = loadPolicy(DEFAULT_POLICY_FILE, { catalog, now: () => POLICY_DATE }).useCases.get("math-cascade")!;
    const set = loadEvalSet(fixture("tiny-gsm8k.jsonl"));
    // Escalated: gsm:1 (no final line), gsm:3 ("I'm not sure"), gsm:7 (cut off): strong scores 1, 1, 1.
    // Kept: weak scores 1, 1, 1, 0, 1 → quality (3 + 4) / 8.
    expect(cascadePoint(set, uc)).toEqual({ point: { strongShare: 3 / 8, quality: 7 / 8 }, escalated: 3, rows: 8 });
    expect(cascadePoint(loadEvalSet(fixture("tiny-mtbench.jsonl")), uc)).toBeNull();
  });
});
