import { describe, expect, it } from "vitest";
import { DENSE_FEATURES, denseFeatures, hashedBag, keywordSignals, tokenize } from "./features.ts";
import { routeInputFromTurns } from "./input.ts";

describe("request features", () => {
  it("tokenises words and symbols, collapsing numbers to their digit count", () => {
    expect(tokenize("Solve 3x + 17 = 22!")).toEqual(["solve", "3x", "+", "<num2>", "=", "<num2>", "!"]);
  });

  it("counts keyword families by whole word or phrase", () => {
    const k = keywordSignals("How many apples? Write a Python function, step by step, to compute it.");
    expect(k).toMatchObject({ math: 2, code: 2, reasoning: 1, creative: 1 });
    expect(keywordSignals("classification")).toMatchObject({ math: 0, code: 0 });
  });

  it("describes length, structure and context in named dense features", () => {
    const d = denseFeatures({ ...routeInputFromTurns(["A. one\nB. two\nWhich is right?"]), contextChunks: 2, contextChars: 99, maxTokens: 15 });
    const f = Object.fromEntries(DENSE_FEATURES.map((n, i) => [n, d[i]]));
    expect(f).toMatchObject({ user_turns: 1, has_context: 1, option_lines: 2, question_marks: 1, log_context_chars: Math.log1p(99), log_max_tokens: Math.log1p(15) });
  });

  it("hashes unigrams and bigrams into a normalised bag", () => {
    const b = hashedBag("red apple red", 10);
    // red, apple, "red apple", "apple red" → 4 distinct features.
    expect(b.indices.length).toBe(4);
    expect(b.value).toBeCloseTo(0.5, 12);
    expect([...b.indices]).toEqual([...b.indices].sort((x, y) => x - y));
  });
});
