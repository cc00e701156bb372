import { describe, expect, it } from "vitest";
import { extractiveSchema } from "../policy.ts";
import { xquadSample } from "../sample.ts";
import { splitSentences } from "../text.ts";
import { extractChunks } from "./extractive.ts";
import { chunk, idsInOrder, isSentenceSubsequence, meter } from "./test-support.ts";

const params = extractiveSchema.parse({ name: "extractive" });

describe("extractive", () => {
  const rows = xquadSample();

  it("on every sample question: whole sentences only, original order, ids kept, within the budget and above the floor", () => {
    const tokens = meter();
    for (const row of rows) {
      const chunks = row.passages.map((p, k) => chunk(`p${k}`, p.text, 1 - k / 10));
      const before = tokens.context(chunks);
      const budget = { targetTokens: Math.floor(before * 0.35), floorTokens: 60 };
      const out = extractChunks(params, { chunks, question: row.question, budget, tokens });
      expect(idsInOrder(chunks, out)).toBe(true);
      for (const c of out) {
        const orig = chunks.find((x) => x.id === c.id)!;
        expect(c.score).toBe(orig.score);
        expect(isSentenceSubsequence(orig.text, c.text)).toBe(true);
      }
      expect(tokens.context(out)).toBeLessThanOrEqual(budget.targetTokens);
      expect(tokens.context(out)).toBeGreaterThanOrEqual(budget.floorTokens);
    }
  });

  it("keeps the sentence that answers the question", () => {
    const chunks = [
      chunk("k1", "The bank was founded in 1875 in Hamburg. It has 4,000 employees. Its logo is blue."),
      chunk("k2", "Card payments abroad cost a 1.5% fee. Cash withdrawals abroad are free twice a month. The app is available in 12 languages."),
    ];
    const tokens = meter();
    const out = extractChunks(params, { chunks, question: "How much is the fee for card payments abroad?", budget: { targetTokens: 40, floorTokens: 0 }, tokens });
    expect(out.map((c) => c.id)).toEqual(["k2"]);
    expect(out[0]!.text).toContain("Card payments abroad cost a 1.5% fee.");
  });

  it("returns the context unchanged when it already fits the budget", () => {
    const chunks = [chunk("a", "Short. Context.")];
    expect(extractChunks(params, { chunks, question: "q", budget: { targetTokens: 1_000, floorTokens: 0 }, tokens: meter() })).toEqual(chunks);
  });

  it("keeps only the best sentence, whole, when even it is larger than the budget", () => {
    const long = `The fee for card payments abroad is ${"very ".repeat(40)}high. Cash is free.`;
    const out = extractChunks(params, { chunks: [chunk("a", long)], question: "card payments abroad fee", budget: { targetTokens: 10, floorTokens: 0 }, tokens: meter() });
    expect(out).toEqual([chunk("a", splitSentences(long)[0]!.text.trim())]);
  });

  it("meets the floor even when it is above the budget's sentence boundary", () => {
    const row = rows[0]!;
    const chunks = row.passages.map((p, k) => chunk(`p${k}`, p.text));
    const tokens = meter();
    const out = extractChunks(params, { chunks, question: row.question, budget: { targetTokens: 150, floorTokens: 150 }, tokens });
    expect(tokens.context(out)).toBeGreaterThanOrEqual(150);
  });

  it("returns nothing for an empty context", () => {
    expect(extractChunks(params, { chunks: [], question: "q", budget: { targetTokens: 10, floorTokens: 0 }, tokens: meter() })).toEqual([]);
  });
});
