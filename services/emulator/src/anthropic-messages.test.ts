import { describe, expect, it } from "vitest";
import { createMessage, messageStream, parseCountTokensRequest, parseMessageRequest, renderAnthropicPrompt, TOOL_USE_SYSTEM_TOKENS } from "./anthropic-messages.ts";
import { DEFAULT_ANTHROPIC_MODELS } from "./config.ts";
import { ProviderHttpError } from "./errors.ts";
import { AnthropicPromptCache } from "./prompt-cache.ts";
import { Tokenizer } from "./tokens.ts";

const tokenizer = new Tokenizer({ maxCachedTokens: 1_000_000 });
const models = new Set(DEFAULT_ANTHROPIC_MODELS);

function rejection(body: unknown): ProviderHttpError {
  try {
    parseMessageRequest(body, models);
  } catch (error) {
    if (error instanceof ProviderHttpError) return error;
    throw error;
  }
  throw new Error("expected the request to be rejected");
}

describe("Anthropic request validation", () => {
  it("answers an unknown model with 404 not_found_error", () => {
    const error = rejection({ model: "claude-9", max_tokens: 10, messages: [{ role: "user", content: "hi" }] });
    expect(error.statusCode).toBe(404);
    expect(error.body).toEqual({ type: "error", error: { type: "not_found_error", message: "model: claude-9" } });
  });

  it("requires max_tokens and caps it at the model's output limit", () => {
    expect(rejection({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }).body).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: "max_tokens: Field required" },
    });
    expect(rejection({ model: "claude-3-5-haiku-latest", max_tokens: 9000, messages: [{ role: "user", content: "hi" }] }).statusCode).toBe(400);
  });

  it("allows at most 4 cache breakpoints", () => {
    const block = (text: string) => ({ type: "text", text, cache_control: { type: "ephemeral" } });
    const request = parseMessageRequest(
      { model: "claude-sonnet-4-5", max_tokens: 10, system: [block("a"), block("b"), block("c")], messages: [{ role: "user", content: [block("d"), block("e")] }] },
      models,
    );
    expect(() => renderAnthropicPrompt(request, tokenizer)).toThrow(/maximum of 4 blocks with cache_control/);
  });
});

describe("Anthropic token counting", () => {
  it("counts system text, 3 tokens per message and 3 for the reply (o200k approximation)", () => {
    const request = parseCountTokensRequest({ model: "claude-sonnet-4-5", system: "You are a scientist", messages: [{ role: "user", content: "Hello, Claude" }] }, models);
    expect(renderAnthropicPrompt(request, tokenizer).tokens).toBe(tokenizer.count("You are a scientist") + 3 + tokenizer.count("Hello, Claude") + 3);
  });

  it("adds the tool-use system prompt when tools are given", () => {
    const base = { model: "claude-sonnet-4-5", messages: [{ role: "user", content: "Weather?" }] };
    const tool = { name: "get_weather", description: "Get the weather", input_schema: { type: "object", properties: {} } };
    const without = renderAnthropicPrompt(parseCountTokensRequest(base, models), tokenizer).tokens;
    const withTool = renderAnthropicPrompt(parseCountTokensRequest({ ...base, tools: [tool] }, models), tokenizer).tokens;
    expect(withTool - without).toBeGreaterThan(TOOL_USE_SYSTEM_TOKENS);
  });
});

describe("createMessage", () => {
  const longSystem = "Reference material about cost control for inference workloads. ".repeat(150);
  const cachedRequest = (question: string) =>
    parseMessageRequest(
      {
        model: "claude-sonnet-4-5",
        max_tokens: 64,
        system: [{ type: "text", text: "You are concise." }, { type: "text", text: longSystem, cache_control: { type: "ephemeral" } }],
        messages: [{ role: "user", content: question }],
      },
      models,
    );

  it("writes the prefix up to the marked block to the cache, then reads it; input_tokens excludes both", () => {
    const cache = new AnthropicPromptCache(100);
    const total = renderAnthropicPrompt(cachedRequest("First question?"), tokenizer).tokens;
    const prefix = tokenizer.count("You are concise.") + tokenizer.count(longSystem);
    const first = createMessage(cachedRequest("First question?"), { tokenizer, promptCache: cache, now: 0, serviceTier: "standard" });
    expect(first.usage.cache_creation_input_tokens).toBe(prefix);
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(first.usage.input_tokens).toBe(total - prefix);
    expect(first.usage.cache_creation.ephemeral_5m_input_tokens).toBe(prefix);

    const second = createMessage(cachedRequest("Second, different question?"), { tokenizer, promptCache: cache, now: 1000, serviceTier: "standard" });
    expect(second.usage.cache_read_input_tokens).toBe(prefix);
    expect(second.usage.cache_creation_input_tokens).toBe(0);
    expect(second.usage.input_tokens).toBe(renderAnthropicPrompt(cachedRequest("Second, different question?"), tokenizer).tokens - prefix);
  });

  it("is deterministic and reports max_tokens / end_turn stop reasons", () => {
    const request = parseMessageRequest({ model: "claude-haiku-4-5", max_tokens: 3, messages: [{ role: "user", content: "Tell me everything" }] }, models);
    const a = createMessage(request, { tokenizer, promptCache: null, now: 0, serviceTier: "standard" });
    const b = createMessage(request, { tokenizer, promptCache: null, now: 0, serviceTier: "standard" });
    expect(a.content).toEqual(b.content);
    expect(a.id).toMatch(/^msg_01/);
    expect(a.stop_reason).toBe("max_tokens");
    expect(a.usage.output_tokens).toBe(3);
    const roomy = parseMessageRequest({ model: "claude-haiku-4-5", max_tokens: 4000, messages: [{ role: "user", content: "Tell me everything" }] }, models);
    expect(createMessage(roomy, { tokenizer, promptCache: null, now: 0, serviceTier: "standard" }).stop_reason).toBe("end_turn");
  });

  it("streams message_start … message_stop with text deltas that rebuild the message", () => {
    const request = parseMessageRequest({ model: "claude-sonnet-4-5", max_tokens: 50, messages: [{ role: "user", content: "Stream" }] }, models);
    const message = createMessage(request, { tokenizer, promptCache: null, now: 0, serviceTier: "standard" });
    const events = messageStream(message);
    const names = events.map((e) => e.event);
    expect(names.slice(0, 3)).toEqual(["message_start", "content_block_start", "ping"]);
    expect(names.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    const text = events
      .filter((e) => e.event === "content_block_delta")
      .map((e) => (e.data as { delta: { text: string } }).delta.text)
      .join("");
    expect(text).toBe((message.content[0] as { text: string }).text);
    const delta = events.find((e) => e.event === "message_delta")!.data as { usage: { output_tokens: number }; delta: { stop_reason: string } };
    expect(delta.usage.output_tokens).toBe(message.usage.output_tokens);
    expect(delta.delta.stop_reason).toBe(message.stop_reason);
  });
});
