import { describe, expect, it } from "vitest";
import { renderContext, renderMessages } from "@costwise/schemas";
import { seededRandom } from "@costwise/seeded";
import { countChatTokens, countTextTokens } from "@costwise/providers";
import { xquadSample } from "./sample.ts";
import { tokenMeter } from "./tokens.ts";

describe("context token figures", () => {
  it.each(["gpt-4o", "gpt-4-turbo", "claude-sonnet-4-5"])("are the prompt tokens the context adds for %s (what the cost record's saving relies on)", (model) => {
    const meter = tokenMeter((t) => countTextTokens(t, model));
    for (const row of xquadSample().slice(0, 20)) {
      const messages = [{ role: "system", content: "Answer from the provided context only." }, { role: "user", content: row.question }];
      const context = row.passages.map((p, k) => ({ id: `c-${k}`, text: p.text, score: 1 }));
      const added = countChatTokens(renderMessages({ messages, context }), model) - countChatTokens(renderMessages({ messages, context: [] }), model);
      expect(Math.abs(meter.context(context) - added)).toBeLessThanOrEqual(1);
    }
  });

  // The meter sums per-chunk counts; that is exact only because the tokenizer always cuts before a
  // chunk's "[". Texts built to sit badly at that seam: trailing punctuation, slashes and spaces,
  // leading spaces and contractions, line breaks of both kinds, digits, accents, CJK and emoji.
  it.each(["gpt-4o", "gpt-4"])("sums chunk by chunk to exactly the count of the whole rendering (%s)", (model) => {
    const count = (t: string) => countTextTokens(t, model);
    const meter = tokenMeter(count);
    const pieces = ["word", "Word", "WORD", " ", "  ", "\t", "\n", "\r\n", "\n\n", ".", "...", "/", "//", "'s", "'ll", "'", "\"", "(", ")", "[", "]", "[1]", "123", "4567", "-", "é", "naïve", "東京", "😀", "?!", ":", ";", "<|endoftext|>", "\n[", "] ", "\u00a0"];
    const random = seededRandom(17);
    const text = () => Array.from({ length: Math.floor(random() * 40) }, () => pieces[Math.floor(random() * pieces.length)]).join("");
    for (let trial = 0; trial < 400; trial++) {
      const context = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, k) => ({ id: random() < 0.2 ? text() : `c-${k}`, text: text(), score: 1 }));
      expect(meter.context(context)).toBe(count(renderContext(context) + "\n\nQuestion:"));
    }
  });

  it("counts nothing for no context", () => {
    expect(tokenMeter((t) => countTextTokens(t)).context([])).toBe(0);
  });
});
