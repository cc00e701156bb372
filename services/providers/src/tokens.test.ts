import { encodeChat } from "gpt-tokenizer/model/gpt-4o";
import { describe, expect, it } from "vitest";
import { countTokens as o200kCount } from "gpt-tokenizer/encoding/o200k_base";
import { countChatTokens, countTextTokens, MEMO_MIN_CHARS } from "./tokens.ts";

const countO200kDirect = (text: string) => o200kCount(text, { disallowedSpecial: new Set<string>() });

describe("countTextTokens", () => {
  it("counts with o200k_base by default and for current OpenAI chat models", () => {
    expect(countTextTokens("Hello, world!")).toBe(4);
    expect(countTextTokens("Hello, world!", "gpt-4o")).toBe(4);
    expect(countTextTokens("")).toBe(0);
  });

  it("uses cl100k_base for the embedding models, whose vocabulary differs", () => {
    // Same text, different vocabularies: the counts must come from different encodings.
    const text = "Die Katze saß auf der Matte, während draußen die Sonne schien.";
    expect(countTextTokens(text, "text-embedding-3-small")).not.toBe(countTextTokens(text, "gpt-4o"));
    expect(countTextTokens(text, "text-embedding-3-small")).toBe(countTextTokens(text, "gpt-4"));
    expect(countTextTokens(text, "gpt-4.1")).toBe(countTextTokens(text, "gpt-4o"));
  });

  it("treats text that spells a special token as ordinary text instead of throwing", () => {
    expect(countTextTokens("a <|endoftext|> b")).toBeGreaterThan(3);
  });
});

describe("countChatTokens", () => {
  const messages = [
    { role: "system", content: "You are a helpful assistant." },
    { role: "user", content: "Hello, world!" },
  ];

  it("adds 3 per message and 3 for the reply primer (OpenAI cookbook formula)", () => {
    // 3 + (3 + 1 "system" + 6) + (3 + 1 "user" + 4)
    expect(countChatTokens(messages, "gpt-4o")).toBe(21);
    expect(countChatTokens([], "gpt-4o")).toBe(3);
  });

  it("agrees with gpt-tokenizer's own chat encoding for gpt-4o", () => {
    const long = [
      { role: "system", content: "Answer in one sentence. Be precise." },
      { role: "user", content: "What is the capital of France, and why is it famous?" },
      { role: "assistant", content: "Paris, known for the Eiffel Tower and the Louvre." },
      { role: "user", content: "And of Italy?" },
    ];
    expect(countChatTokens(long, "gpt-4o")).toBe(encodeChat(long as Parameters<typeof encodeChat>[0]).length);
  });

  it("counts Claude prompts with the system text unframed and no role tokens (o200k approximation)", () => {
    // "You are a helpful assistant." = 6, then 3 + "Hello, world!" (4), then the reply's 3.
    expect(countChatTokens(messages, "claude-haiku-4-5")).toBe(16);
    const twoSystems = [
      { role: "system", content: "Be brief." },
      { role: "developer", content: "Answer in French." },
      { role: "user", content: "Hello, world!" },
    ];
    expect(countChatTokens(twoSystems, "claude-sonnet-4-5")).toBe(
      countTextTokens("Be brief.\n\nAnswer in French.") + 3 + 4 + 3,
    );
  });
});

describe("the count memo", () => {
  it("gives a long text the same count the second time, and keeps encodings apart", () => {
    const text = "Die Katze saß auf der Matte, während draußen die Sonne schien. ".repeat(8);
    expect(text.length).toBeGreaterThanOrEqual(MEMO_MIN_CHARS);
    const o200k = countTextTokens(text, "gpt-4o");
    const cl100k = countTextTokens(text, "gpt-4");
    expect(o200k).not.toBe(cl100k);
    expect(countTextTokens(text, "gpt-4o")).toBe(o200k);
    expect(countTextTokens(text, "gpt-4")).toBe(cl100k);
    expect(o200k).toBe(countO200kDirect(text));
  });
});
