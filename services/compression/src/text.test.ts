import { describe, expect, it } from "vitest";
import { xquadSample } from "./sample.ts";
import { cosine, jaccard, shingles, splitSentences, terms } from "./text.ts";

describe("splitSentences", () => {
  it("splits at sentence ends and gives back the input exactly when joined", () => {
    const text = "Oxygen was discovered in 1773. It is reactive!  Is it rare? No.\nA new line starts here";
    const s = splitSentences(text);
    expect(s.map((x) => x.text.trim())).toEqual(["Oxygen was discovered in 1773.", "It is reactive!", "Is it rare?", "No.", "A new line starts here"]);
    expect(s.map((x) => x.text).join("")).toBe(text);
    for (const x of s) expect(text.slice(x.start, x.start + x.text.length)).toBe(x.text);
  });

  it("does not end a sentence at a title, a month or an initial", () => {
    const s = splitSentences("Dr. Smith met J. R. Tolkien on Jan. 5 in the U.S. capital. They talked.");
    expect(s.map((x) => x.text.trim())).toEqual(["Dr. Smith met J. R. Tolkien on Jan. 5 in the U.S. capital.", "They talked."]);
  });

  it("round-trips every passage of the XQuAD sample", () => {
    for (const row of xquadSample()) for (const p of row.passages) expect(splitSentences(p.text).map((x) => x.text).join("")).toBe(p.text);
  });

  it("handles empty text", () => {
    expect(splitSentences("")).toEqual([]);
  });
});

describe("terms and similarity", () => {
  it("drops stopwords, lower-cases, strips accents and stems", () => {
    expect(terms("Who discovered the Élan of Oxygen?")).toEqual(["discov", "elan", "oxygen"]);
    expect(terms("discovers")).toEqual(terms("discovered"));
  });

  it("measures overlap of shingles and term bags", () => {
    expect(jaccard(shingles("a b c d"), shingles("a b c d"))).toBe(1);
    expect(jaccard(shingles("a b c d"), shingles("w x y z"))).toBe(0);
    expect(cosine(["x", "y"], ["x", "y"])).toBeCloseTo(1, 10);
    expect(cosine(["x"], ["y"])).toBe(0);
    expect(cosine([], ["y"])).toBe(0);
  });
});
