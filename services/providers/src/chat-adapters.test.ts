import { catalog, requireModel } from "@costwise/pricing";
import { describe, expect, it } from "vitest";
import { billedAnthropicUsage, buildAnthropicParams, parseAnthropicMessage, splitSystem } from "./anthropic-chat.ts";
import { InvalidRequestError, MalformedResponseError } from "./errors.ts";
import { billedOpenAIUsage, buildOpenAIChatParams, isReasoningModel, parseOpenAIChat, parseOpenAIEmbeddings } from "./openai-chat.ts";

const price = (m: string) => requireModel(catalog, m);

describe("Anthropic system-message split", () => {
  it("lifts system and developer messages into `system`, keeping turn order", () => {
    const out = splitSystem(
      [
        { role: "system", content: "Be terse." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello." },
        { role: "developer", content: "Answer in French." },
        { role: "user", content: "Bye" },
      ],
      "claude-haiku-4-5",
    );
    expect(out.system).toBe("Be terse.\n\nAnswer in French.");
    expect(out.messages).toEqual([
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello." },
      { role: "user", content: "Bye" },
    ]);
  });

  it("omits `system` when there is none", () => {
    const params = buildAnthropicParams(
      { model: "claude-haiku-4-5", messages: [{ role: "user", content: "Hi" }] },
      price("claude-haiku-4-5"),
    );
    expect("system" in params).toBe(false);
  });

  it("refuses roles Anthropic cannot express, before any call", () => {
    expect(() => splitSystem([{ role: "function", content: "{}" }], "claude-haiku-4-5")).toThrow(InvalidRequestError);
  });
});

describe("buildAnthropicParams", () => {
  it("defaults max_tokens to min(4096, the model's max output)", () => {
    const req = { model: "claude-3-5-haiku", messages: [{ role: "user", content: "Hi" }], maxTokens: null };
    expect(buildAnthropicParams(req, price("claude-3-5-haiku")).max_tokens).toBe(
      Math.min(4096, price("claude-3-5-haiku").maxOutputTokens),
    );
    expect(buildAnthropicParams({ ...req, model: "claude-sonnet-4-5" }, price("claude-sonnet-4-5")).max_tokens).toBe(4096);
  });

  it("passes explicit max tokens and temperature through", () => {
    const p = buildAnthropicParams(
      { model: "claude-haiku-4-5", messages: [{ role: "user", content: "Hi" }], maxTokens: 50, temperature: 0.2 },
      price("claude-haiku-4-5"),
    );
    expect(p).toMatchObject({ model: "claude-haiku-4-5", max_tokens: 50, temperature: 0.2 });
  });
});

describe("parseAnthropicMessage", () => {
  it("concatenates text blocks, maps usage and the stop reason", () => {
    const out = parseAnthropicMessage(
      {
        content: [
          { type: "thinking", thinking: "hmm", signature: "s" },
          { type: "text", text: "Hello" },
          { type: "text", text: ", world" },
        ],
        stop_reason: "max_tokens",
        usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 },
      },
      "claude-haiku-4-5",
    );
    expect(out).toEqual({
      content: "Hello, world",
      toolCalls: [],
      refusal: null,
      finishReason: "length",
      usage: { inputTokens: 130, cachedInputTokens: 100, cacheWriteInputTokens: 20, outputTokens: 5 },
    });
  });

  it("reads the 1-hour share of cache writes from cache_creation", () => {
    const out = parseAnthropicMessage(
      {
        content: [{ type: "text", text: "ok" }],
        stop_reason: "end_turn",
        usage: { input_tokens: 1, output_tokens: 1, cache_creation_input_tokens: 50, cache_creation: { ephemeral_5m_input_tokens: 20, ephemeral_1h_input_tokens: 30 } },
      },
      "claude-haiku-4-5",
    );
    expect(out.usage).toEqual({ inputTokens: 51, cachedInputTokens: 0, cacheWriteInputTokens: 50, outputTokens: 1, cacheWrite1hInputTokens: 30 });
  });

  it("rejects bodies without content or usage as malformed", () => {
    expect(() => parseAnthropicMessage({ content: [] }, "m")).toThrow(MalformedResponseError);
    expect(() => parseAnthropicMessage("<html>", "m")).toThrow(MalformedResponseError);
    expect(() => parseAnthropicMessage(null, "m")).toThrow(MalformedResponseError);
  });
});

describe("buildOpenAIChatParams", () => {
  const messages = [{ role: "system", content: "Be terse." }, { role: "user", content: "Hi" }];

  it("sends max_tokens and temperature to the GPT-4o/4.1 families", () => {
    for (const m of ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4o-2024-08-06"]) {
      const p = buildOpenAIChatParams({ model: m, messages, maxTokens: 100, temperature: 0.3 }, price(m));
      expect(p).toEqual({ model: m, messages, max_tokens: 100, temperature: 0.3 });
    }
  });

  it("sends max_completion_tokens and no temperature to o-series and GPT-5 models", () => {
    for (const m of ["o3", "o4-mini", "gpt-5", "gpt-5-mini"]) {
      expect(isReasoningModel(price(m).id)).toBe(true);
      const p = buildOpenAIChatParams({ model: m, messages, maxTokens: 100, temperature: 0.3 }, price(m));
      expect(p).toEqual({ model: m, messages, max_completion_tokens: 100 });
    }
  });

  it("leaves both out when unset", () => {
    expect(buildOpenAIChatParams({ model: "gpt-4o", messages, maxTokens: null, temperature: null }, price("gpt-4o"))).toEqual({
      model: "gpt-4o",
      messages,
    });
  });

  it("refuses unknown roles before any call", () => {
    expect(() => buildOpenAIChatParams({ model: "gpt-4o", messages: [{ role: "robot", content: "x" }] }, price("gpt-4o"))).toThrow(
      InvalidRequestError,
    );
  });
});

describe("parseOpenAIChat", () => {
  it("returns content, finish reason and usage with cached tokens", () => {
    const out = parseOpenAIChat(
      {
        choices: [{ index: 0, message: { role: "assistant", content: "Hi!" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 20, completion_tokens: 3, total_tokens: 23, prompt_tokens_details: { cached_tokens: 8 } },
      },
      "gpt-4o",
    );
    expect(out).toEqual({
      content: "Hi!",
      toolCalls: [],
      refusal: null,
      finishReason: "stop",
      usage: { inputTokens: 20, cachedInputTokens: 8, cacheWriteInputTokens: 0, outputTokens: 3 },
    });
  });

  it("keeps reasoning tokens apart without adding them to the output count", () => {
    const out = parseOpenAIChat(
      {
        choices: [{ index: 0, message: { role: "assistant", content: "42" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 20, completion_tokens: 300, completion_tokens_details: { reasoning_tokens: 280 } },
      },
      "o4-mini",
    );
    expect(out.usage).toEqual({ inputTokens: 20, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 300, reasoningTokens: 280 });
  });

  it("treats missing choices or usage, and non-JSON bodies, as malformed", () => {
    const usage = { prompt_tokens: 1, completion_tokens: 1 };
    expect(() => parseOpenAIChat({ choices: [], usage }, "gpt-4o")).toThrow(MalformedResponseError);
    expect(() => parseOpenAIChat({ choices: [{ message: { content: "x" } }] }, "gpt-4o")).toThrow(/usage/);
    expect(() => parseOpenAIChat("", "gpt-4o")).toThrow(MalformedResponseError);
  });
});

describe("billed usage of unusable bodies", () => {
  it("reads the usage of a body whose content cannot be used, and null when it states none", () => {
    expect(billedOpenAIUsage({ choices: [], usage: { prompt_tokens: 30, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 10 } } }))
      .toEqual({ inputTokens: 30, cachedInputTokens: 10, cacheWriteInputTokens: 0, outputTokens: 7 });
    expect(billedOpenAIUsage({ choices: [] })).toBeNull();
    expect(billedAnthropicUsage({ content: "not blocks", usage: { input_tokens: 12, output_tokens: 3 } }))
      .toEqual({ inputTokens: 12, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 3 });
    expect(billedAnthropicUsage("<html>")).toBeNull();
  });
});

describe("parseOpenAIEmbeddings", () => {
  it("orders vectors by index and reports prompt tokens as input", () => {
    const out = parseOpenAIEmbeddings(
      {
        data: [
          { embedding: [0, 1], index: 1 },
          { embedding: [1, 0], index: 0 },
        ],
        usage: { prompt_tokens: 7, total_tokens: 7 },
      },
      "text-embedding-3-small",
      2,
    );
    expect(out.vectors).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(out.usage).toEqual({ inputTokens: 7, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 0 });
  });

  it("rejects a count or index that does not match the inputs", () => {
    const usage = { prompt_tokens: 1 };
    expect(() => parseOpenAIEmbeddings({ data: [{ embedding: [1], index: 0 }], usage }, "m", 2)).toThrow(MalformedResponseError);
    expect(() =>
      parseOpenAIEmbeddings({ data: [{ embedding: [1], index: 0 }, { embedding: [1], index: 0 }], usage }, "m", 2),
    ).toThrow(/index/);
  });
});
