import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import { countTextTokens } from "@costwise/providers";
import { DEFAULT_POLICY_FILE } from "../../src/config.ts";
import { loadPolicyFile } from "../../src/policy.ts";
import { xquadSample } from "../../src/sample.ts";
import { DatasetError, parseQaJsonl } from "../../src/dataset.ts";
import { answerRetained, evaluate, percentile } from "./evaluate.ts";
import { evalConfigs, markdownTable } from "./report.ts";

describe("compression evaluation", () => {
  it("counts an answer as retained when it still appears, ignoring case and spacing", () => {
    const chunks = [{ id: "a", text: "Oxygen is   12% heavier.", score: 1 }];
    expect(answerRetained(chunks, ["12% Heavier"])).toBe(true);
    expect(answerRetained(chunks, ["13%", "nitrogen"])).toBe(false);
    expect(answerRetained(chunks, [""])).toBe(false);
  });

  it("takes nearest-rank percentiles", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBe(0);
  });

  it("rejects malformed rows naming the line", () => {
    expect(() => parseQaJsonl('{"id":"a","question":"q","answers":["x"],"passages":[{"text":"t"}]}\n{"id":"b"}\n', "d.jsonl")).toThrow(DatasetError);
    expect(() => parseQaJsonl('{"id":"b"}', "d.jsonl")).toThrow(/d\.jsonl:1: question/);
    expect(() => parseQaJsonl("", "d.jsonl")).toThrow(/no rows/);
  });

  it("on the shipped XQuAD sample, the shipped kb-answers policy removes over half the context tokens and keeps ≥ 95% of answers", async () => {
    const configs = evalConfigs({ budgets: [0.3], floor: 30, policy: loadPolicyFile(DEFAULT_POLICY_FILE), external: false });
    const results = await evaluate(xquadSample(), configs, { countTokens: (t) => countTextTokens(t, "gpt-4o"), deps: { catalog, now: Date.now } });
    const by = (s: string) => results.find((r) => r.strategy.startsWith(s))!;
    expect(by("none")).toMatchObject({ examples: 60, reduction: 0, retention: 1 });
    const kb = by("policy kb-answers");
    expect(kb.reduction).toBeGreaterThanOrEqual(0.5);
    expect(kb.retention).toBeGreaterThanOrEqual(0.95);
    // Query awareness is what keeps the answers: the query-blind lead at the same budget loses most.
    expect(by("extractive").retention).toBeGreaterThan(by("lead sentences").retention + 0.3);
    expect(markdownTable(results).split("\n")[0]).toMatch(/^\| strategy \| budget/);
    expect(markdownTable(results).trim().split("\n")).toHaveLength(2 + results.length);
  });
});
