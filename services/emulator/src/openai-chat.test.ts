import { describe, expect, it } from "vitest";
import { DEFAULT_OPENAI_CHAT_MODELS } from "./config.ts";
import { ProviderHttpError } from "./errors.ts";
import { chatCompletionStream, createChatCompletion, parseChatRequest, renderOpenAiPrompt, type ChatCompletion } from "./openai-chat.ts";
import { OpenAiPrefixCache } from "./prompt-cache.ts";
import { Tokenizer } from "./tokens.ts";

const tokenizer = new Tokenizer({ maxCachedTokens: 1_000_000 });
const models = new Set(DEFAULT_OPENAI_CHAT_MODELS);

function rejection(body: unknown): ProviderHttpError {
  try {
    parseChatRequest(body, models);
  } catch (error) {
    if (error instanceof ProviderHttpError) return error;
    throw error;
  }
  throw new Error("expected the request to be rejected");
}

describe("prompt token counting", () => {
  it("matches the OpenAI cookbook's reference count for gpt-4o (124 tokens)", () => {
    const messages = [
      { role: "system", content: "You are a helpful, pattern-following assistant that translates corporate jargon into plain English." },
      { role: "system", name: "example_user", content: "New synergies will help drive top-line growth." },
      { role: "system", name: "example_assistant", content: "Things working well together will increase revenue." },
      { role: "system", name: "example_user", content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage." },
      { role: "system", name: "example_assistant", content: "Let's talk later when we're less busy about how to do better." },
      { role: "user", content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
    ];
    const request = parseChatRequest({ model: "gpt-4o", messages }, models);
    expect(renderOpenAiPrompt(request.messages, undefined, tokenizer).tokens).toBe(124);
  });

  it("costs 3 tokens per message plus role and content, plus 3 to prime the reply", () => {
    const content = "How do I reduce my inference bill?";
    const request = parseChatRequest({ model: "gpt-4o-mini", messages: [{ role: "user", content }] }, models);
    expect(renderOpenAiPrompt(request.messages, undefined, tokenizer).tokens).toBe(3 + tokenizer.count("user") + tokenizer.count(content) + 3);
  });

  it("counts text parts of array content like string content", () => {
    const asString = parseChatRequest({ model: "gpt-4o", messages: [{ role: "user", content: "Hello world" }] }, models);
    const asParts = parseChatRequest({ model: "gpt-4o", messages: [{ role: "user", content: [{ type: "text", text: "Hello world" }] }] }, models);
    expect(renderOpenAiPrompt(asParts.messages, undefined, tokenizer).tokens).toBe(renderOpenAiPrompt(asString.messages, undefined, tokenizer).tokens);
  });
});

describe("request validation", () => {
  it("answers an unknown model with 404 model_not_found in OpenAI's error shape", () => {
    const error = rejection({ model: "gpt-9", messages: [{ role: "user", content: "hi" }] });
    expect(error.statusCode).toBe(404);
    expect(error.body).toEqual({
      error: { message: "The model `gpt-9` does not exist or you do not have access to it.", type: "invalid_request_error", param: "model", code: "model_not_found" },
    });
  });

  it("rejects empty and missing messages and a missing model with 400", () => {
    expect(rejection({ model: "gpt-4o", messages: [] }).body).toMatchObject({ error: { param: "messages", code: "empty_array" } });
    expect(rejection({ model: "gpt-4o" }).body).toMatchObject({ error: { param: "messages", code: "missing_required_parameter" } });
    expect(rejection({ messages: [{ role: "user", content: "x" }] }).statusCode).toBe(400);
    expect(rejection({ model: "gpt-4o", messages: [{ role: "robot", content: "x" }] }).body).toMatchObject({ error: { param: "messages[0].role" } });
  });

  it("rejects max_tokens and non-default temperature on reasoning models, as the API does", () => {
    expect(rejection({ model: "gpt-5-mini", messages: [{ role: "user", content: "x" }], max_tokens: 10 }).body).toMatchObject({
      error: { param: "max_tokens", code: "unsupported_parameter" },
    });
    expect(rejection({ model: "o4-mini", messages: [{ role: "user", content: "x" }], temperature: 0.2 }).body).toMatchObject({
      error: { param: "temperature", code: "unsupported_value" },
    });
    expect(() => parseChatRequest({ model: "gpt-5-mini", messages: [{ role: "user", content: "x" }], max_completion_tokens: 10 }, models)).not.toThrow();
  });
});

describe("createChatCompletion", () => {
  const complete = (body: unknown, cache: OpenAiPrefixCache | null = null, now = 1_700_000_000_000): ChatCompletion =>
    createChatCompletion(parseChatRequest(body, models), { tokenizer, promptCache: cache, now });

  it("is deterministic per model + messages + max_tokens, with a fresh id each time", () => {
    const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "Which model should I use for classification?" }] };
    const a = complete(body);
    const b = complete(body);
    expect(b.choices[0]!.message.content).toBe(a.choices[0]!.message.content);
    expect(b.id).not.toBe(a.id);
    expect(a.id).toMatch(/^chatcmpl-[A-Za-z0-9]{29}$/);
    expect(complete({ ...body, model: "gpt-4.1" }).choices[0]!.message.content).not.toBe(a.choices[0]!.message.content);
    expect(a.model).toBe("gpt-4o-mini");
    expect(a.object).toBe("chat.completion");
  });

  it("caps completion tokens by max_completion_tokens and reports finish_reason length", () => {
    const completion = complete({ model: "gpt-5-nano", messages: [{ role: "user", content: "Explain prompt caching in detail" }], max_completion_tokens: 7 });
    expect(completion.choices[0]!.finish_reason).toBe("length");
    expect(completion.usage.completion_tokens).toBe(7);
    expect(completion.usage.total_tokens).toBe(completion.usage.prompt_tokens + 7);
    expect(completion.usage.completion_tokens_details.reasoning_tokens).toBe(0);
  });

  it("returns n choices with distinct texts and summed completion tokens", () => {
    const completion = complete({ model: "gpt-4o", n: 3, messages: [{ role: "user", content: "Name a colour" }] });
    expect(completion.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(completion.choices.map((c) => c.message.content)).size).toBe(3);
    const sum = completion.choices.reduce((s, c) => s + tokenizer.count(c.message.content ?? ""), 0);
    expect(completion.usage.completion_tokens).toBe(sum);
  });

  it("emulates automatic prompt caching for prompts of 1024+ tokens in 128-token steps", () => {
    const cache = new OpenAiPrefixCache({ maxEntries: 1000, ttlMs: 600_000 });
    const system = "You are a meticulous assistant. ".repeat(200);
    const first = complete({ model: "gpt-4o", messages: [{ role: "system", content: system }, { role: "user", content: "Question one?" }] }, cache);
    expect(first.usage.prompt_tokens).toBeGreaterThan(1024);
    expect(first.usage.prompt_tokens_details.cached_tokens).toBe(0);

    const again = complete({ model: "gpt-4o", messages: [{ role: "system", content: system }, { role: "user", content: "Question one?" }] }, cache);
    const expected = 1024 + Math.floor((again.usage.prompt_tokens - 1024) / 128) * 128;
    expect(again.usage.prompt_tokens_details.cached_tokens).toBe(expected);

    // A different question shares only the system prompt prefix.
    const other = complete({ model: "gpt-4o", messages: [{ role: "system", content: system }, { role: "user", content: "A rather different and longer question about something else?" }] }, cache);
    expect(other.usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(1024);
    expect(other.usage.prompt_tokens_details.cached_tokens).toBeLessThanOrEqual(other.usage.prompt_tokens);
    expect(other.usage.prompt_tokens_details.cached_tokens % 128).toBe(0);

    // Caches are per model, and short prompts are never cached.
    const otherModel = complete({ model: "gpt-4o-mini", messages: [{ role: "system", content: system }, { role: "user", content: "Question one?" }] }, cache);
    expect(otherModel.usage.prompt_tokens_details.cached_tokens).toBe(0);
    complete({ model: "gpt-4o", messages: [{ role: "user", content: "short" }] }, cache);
    expect(complete({ model: "gpt-4o", messages: [{ role: "user", content: "short" }] }, cache).usage.prompt_tokens_details.cached_tokens).toBe(0);
  });

  it("forgets cached prefixes after the TTL", () => {
    const cache = new OpenAiPrefixCache({ maxEntries: 1000, ttlMs: 60_000 });
    const body = { model: "gpt-4.1", messages: [{ role: "user", content: "lorem ipsum dolor ".repeat(400) }] };
    complete(body, cache, 0);
    expect(complete(body, cache, 30_000).usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(0);
    expect(complete(body, cache, 30_000 + 60_001).usage.prompt_tokens_details.cached_tokens).toBe(0);
  });
});

describe("chatCompletionStream", () => {
  it("streams a role chunk, word deltas, the finish reason, then usage and [DONE]", () => {
    const completion = createChatCompletion(parseChatRequest({ model: "gpt-4o", messages: [{ role: "user", content: "Stream please" }] }, models), {
      tokenizer,
      promptCache: null,
      now: 0,
    });
    const events = chatCompletionStream(completion, true);
    const chunks = events.slice(0, -1).map((e) => e.data as { choices: { delta: { content?: string; role?: string }; finish_reason: string | null }[]; usage: unknown });
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe(completion.choices[0]!.message.content);
    expect(chunks[chunks.length - 2]!.choices[0]!.finish_reason).toBe("stop");
    expect(chunks[chunks.length - 1]!.choices).toEqual([]);
    expect(chunks[chunks.length - 1]!.usage).toEqual(completion.usage);
    expect(events[events.length - 1]!.data).toBe("[DONE]");
    expect(events.every((e, i) => i === 0 || e.progress >= events[i - 1]!.progress)).toBe(true);
    expect(chatCompletionStream(completion, false).some((e) => typeof e.data === "object" && e.data !== null && "usage" in e.data)).toBe(false);
  });
});
