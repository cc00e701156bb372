import { describe, expect, it } from "vitest";
import { renderMessages } from "@costwise/schemas";
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

  it("counts nothing for no context", () => {
    expect(tokenMeter((t) => countTextTokens(t)).context([])).toBe(0);
  });
});
