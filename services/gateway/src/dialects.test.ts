import { describe, expect, it } from "vitest";
import type { LlmResponse } from "@costwise/schemas";
import { anthropic } from "./anthropic.ts";
import { streamPieces } from "./dialect.ts";
import { NO_OPTIONS } from "./call.ts";
import { GatewayError, pipelineError } from "./errors.ts";
import { openai } from "./openai.ts";

const resp = (over: Partial<LlmResponse> = {}): LlmResponse => ({
  request_id: "gw.r1.abc", tenant: "t", use_case: "u", status: "OK", content: "Lisbon is the capital of Portugal.", error: null, error_code: null,
  model: "gpt-4o-mini", provider: "openai", served_by: "CACHE_EXACT", input_tokens: 12, cached_input_tokens: 2, output_tokens: 8, cost_usd: 0,
  latency_ms: 3, cache_source_request_id: null, created_at: 1_700_000_000_000, ...over,
});

const rejects = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("expected a GatewayError");
};

/** Parse an SSE body into its data payloads. */
const sse = (body: string) => body.split("\n\n").filter(Boolean).map((frame) => {
  const lines = frame.split("\n");
  return { event: lines.find((l) => l.startsWith("event: "))?.slice(7) ?? null, data: lines.find((l) => l.startsWith("data: "))!.slice(6) };
});

describe("the OpenAI dialect", () => {
  it("maps roles, text parts and both max-token fields onto the call", () => {
    const call = openai.parse({
      model: "gpt-4o", max_completion_tokens: 50, temperature: 0.2, user: "u-1",
      messages: [{ role: "developer", content: "Be terse." }, { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }, { role: "assistant", content: "ok", name: "bot" }],
    });
    expect(call).toEqual({
      model: "gpt-4o", maxTokens: 50, temperature: 0.2, stream: false, streamUsage: false, options: { ...NO_OPTIONS, user: "u-1" },
      messages: [{ role: "system", content: "Be terse." }, { role: "user", content: "a\nb" }, { role: "assistant", content: "ok" }],
    });
    expect(openai.parse({ model: "m", max_tokens: 7, messages: [{ role: "user", content: "x" }] }).maxTokens).toBe(7);
  });

  it("refuses what the contract cannot carry as 'unsupported parameter', but accepts the provider's defaults", () => {
    const functions = rejects(() => openai.parse({ model: "m", messages: [{ role: "user", content: "x" }], functions: [{ name: "f" }] }));
    expect(functions.status).toBe(400);
    expect(openai.error(functions)).toEqual({ error: { message: functions.message, type: "invalid_request_error", param: "functions", code: "unsupported_parameter" } });
    expect(rejects(() => openai.parse({ model: "m", messages: [{ role: "user", content: "x" }], n: 2 })).extra.param).toBe("n");
    expect(rejects(() => openai.parse({ model: "m", messages: [{ role: "user", content: "x" }], tools: [{ type: "custom", custom: { name: "f" } }] })).extra.param).toBe("tools[0].type");
    expect(openai.parse({ model: "m", messages: [{ role: "user", content: "x" }], n: 1, top_p: 1, response_format: { type: "text" } }).options.responseFormat).toBeNull();
    expect(rejects(() => openai.parse({ model: "m", messages: [{ role: "user", content: [{ type: "input_audio", input_audio: {} }] }] })).extra.param).toBe("messages[0].content[0].type");
    expect(rejects(() => openai.parse({ model: "m", messages: [{ role: "tool", content: "x" }] })).extra.param).toBe("messages[0].tool_call_id");
  });

  it("carries tools, tool choice, the tool round trip, image parts, the output format and sampling options", () => {
    const params = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
    const call = openai.parse({
      model: "gpt-4o", seed: 7, stop: "END", top_p: 0.5, presence_penalty: 0.1, frequency_penalty: -0.1, reasoning_effort: "low", parallel_tool_calls: false, metadata: { app: "x" },
      tools: [{ type: "function", function: { name: "get_weather", description: "Weather", parameters: params, strict: true } }],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      response_format: { type: "json_schema", json_schema: { name: "w", schema: params, strict: true } },
      messages: [
        { role: "user", content: [{ type: "text", text: "Weather here?" }, { type: "image_url", image_url: { url: "https://x.test/a.png", detail: "low" } }] },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: [{ type: "text", text: "3C" }] },
      ],
    });
    expect(call.messages).toEqual([
      { role: "user", content: "Weather here?", parts: [{ type: "text", text: "Weather here?", image_url: null, detail: null }, { type: "image", text: null, image_url: "https://x.test/a.png", detail: "low" }] },
      { role: "assistant", content: "", tool_calls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' }] },
      { role: "tool", content: "3C", tool_call_id: "call_1" },
    ]);
    expect(call.options).toEqual({
      tools: [{ name: "get_weather", description: "Weather", parameters: JSON.stringify(params), strict: true }], toolChoice: { mode: "tool", name: "get_weather" }, parallelToolCalls: false,
      responseFormat: { type: "json_schema", name: "w", schema: JSON.stringify(params), strict: true }, stop: ["END"], seed: 7, topP: 0.5, presencePenalty: 0.1, frequencyPenalty: -0.1,
      reasoningEffort: "low", user: null, metadata: { app: "x" },
    });
  });

  it("answers tool calls as message.tool_calls with finish_reason tool_calls, also streamed", () => {
    const r = resp({ content: "", finish_reason: "tool_calls", tool_calls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' }] });
    const body = openai.completion(r, { model: "m", maxTokens: null }) as any;
    expect(body.choices[0]).toMatchObject({ finish_reason: "tool_calls", message: { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }] } });
    const chunks = sse(openai.stream(r, { model: "m", maxTokens: null, streamUsage: false })).slice(0, -1).map((f) => JSON.parse(f.data));
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(deltas[0]).toMatchObject({ index: 0, id: "call_1", type: "function", function: { name: "get_weather" } });
    expect(deltas.map((d: any) => d.function.arguments).join("")).toBe('{"city":"Oslo"}');
    expect(chunks.at(-1).choices[0].finish_reason).toBe("tool_calls");
  });

  it("names the field of malformed input like the API does", () => {
    expect(rejects(() => openai.parse({ model: "m", messages: [{ role: "user", content: "x" }], foo: 1 })).message).toBe("Unrecognized request argument supplied: foo");
    expect(rejects(() => openai.parse({ messages: [{ role: "user", content: "x" }] })).extra.param).toBe("model");
    expect(rejects(() => openai.parse({ model: "m", messages: [] })).extra.param).toBe("messages");
    expect(rejects(() => openai.parse({ model: "m", messages: [{ role: "user", content: "x" }], temperature: "hot" })).message).toMatch(/Invalid type for 'temperature'/);
    expect(rejects(() => openai.parse({ model: "m", messages: [{ role: "user", content: "x" }], temperature: 3 })).extra.param).toBe("temperature");
    expect(rejects(() => openai.parse({ model: "m", messages: [{ role: "user", content: "x" }], stream_options: { include_usage: true } })).extra.param).toBe("stream_options");
    expect(rejects(() => openai.parse([1, 2])).status).toBe(400);
  });

  it("answers in the chat.completion shape, reporting a cut answer as 'length'", () => {
    const body = openai.completion(resp(), { model: "asked", maxTokens: null }) as Record<string, any>;
    expect(body).toMatchObject({
      id: "chatcmpl-gw.r1.abc", object: "chat.completion", created: 1_700_000_000, model: "gpt-4o-mini",
      choices: [{ index: 0, message: { role: "assistant", content: "Lisbon is the capital of Portugal." }, finish_reason: "stop" }],
      usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20, prompt_tokens_details: { cached_tokens: 2 } },
    });
    expect((openai.completion(resp(), { model: "m", maxTokens: 8 }) as any).choices[0].finish_reason).toBe("length");
  });

  it("streams chunks whose deltas add up to the answer, then the usage chunk and [DONE]", () => {
    const frames = sse(openai.stream(resp({ content: "one two three four five six seven eight nine ten eleven twelve" }), { model: "m", maxTokens: null, streamUsage: true }));
    expect(frames.at(-1)!.data).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.data));
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === "chatcmpl-gw.r1.abc")).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe("assistant");
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("one two three four five six seven eight nine ten eleven twelve");
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(1);
    expect(chunks.at(-2).choices[0].finish_reason).toBe("stop");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 8 } });
  });
});

describe("the Anthropic dialect", () => {
  it("maps the top-level system prompt and text blocks onto the call, and requires max_tokens", () => {
    const call = anthropic.parse({ model: "claude-haiku-4-5", max_tokens: 20, system: [{ type: "text", text: "Be terse." }], messages: [{ role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }] }], metadata: { user_id: "u" } });
    expect(call.messages).toEqual([{ role: "system", content: "Be terse." }, { role: "user", content: "hi" }]);
    expect(call.maxTokens).toBe(20);
    expect(rejects(() => anthropic.parse({ model: "m", messages: [{ role: "user", content: "x" }] })).message).toBe("max_tokens: Field required");
    expect(rejects(() => anthropic.parse({ model: "m", max_tokens: 5, messages: [{ role: "system", content: "x" }] })).message).toMatch(/top-level `system` parameter/);
    expect(rejects(() => anthropic.parse({ model: "m", max_tokens: 5, messages: [{ role: "user", content: "x" }], temperature: 1.5 })).extra.param).toBe("temperature");
    expect(rejects(() => anthropic.parse({ model: "m", max_tokens: 5, messages: [{ role: "user", content: "x" }], bogus: true })).message).toBe("bogus: Extra inputs are not permitted");
  });

  it("refuses Anthropic's own tool types and unknown blocks as unsupported parameters in the Anthropic error shape", () => {
    const err = rejects(() => anthropic.parse({ model: "m", max_tokens: 5, messages: [{ role: "user", content: "x" }], tools: [{ type: "bash_20250124", name: "bash" }] }));
    expect(anthropic.error(err)).toEqual({ type: "error", error: { type: "invalid_request_error", message: err.message } });
    expect(err.extra.param).toBe("tools.0.type");
    expect(rejects(() => anthropic.parse({ model: "m", max_tokens: 5, messages: [{ role: "user", content: [{ type: "document", source: {} }] }] })).extra.param).toBe("messages.0.content[0].type");
  });

  it("carries tools, tool_use / tool_result blocks, images, stop sequences and thinking", () => {
    const schema = { type: "object", properties: { city: { type: "string" } } };
    const call = anthropic.parse({
      model: "claude-haiku-4-5", max_tokens: 5000, stop_sequences: ["END"], top_p: 0.9, metadata: { user_id: "u-9" }, thinking: { type: "enabled", budget_tokens: 2048 },
      tools: [{ name: "get_weather", description: "Weather", input_schema: schema }], tool_choice: { type: "any", disable_parallel_tool_use: true },
      messages: [
        { role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } }, { type: "text", text: "Weather here?" }] },
        { role: "assistant", content: [{ type: "text", text: "Checking." }, { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Oslo" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "3C" }] }, { type: "text", text: "Warm enough?" }] },
      ],
    });
    expect(call.messages).toEqual([
      { role: "user", content: "Weather here?", parts: [{ type: "image", text: null, image_url: "data:image/png;base64,iVBORw0KGgo=", detail: null }, { type: "text", text: "Weather here?", image_url: null, detail: null }] },
      { role: "assistant", content: "Checking.", tool_calls: [{ id: "toolu_1", name: "get_weather", arguments: '{"city":"Oslo"}' }] },
      { role: "tool", content: "3C", tool_call_id: "toolu_1" },
      { role: "user", content: "Warm enough?" },
    ]);
    expect(call.options).toMatchObject({ tools: [{ name: "get_weather", parameters: JSON.stringify(schema) }], toolChoice: { mode: "required" }, parallelToolCalls: false, stop: ["END"], topP: 0.9, user: "u-9", reasoningEffort: "low" });
  });

  it("answers tool calls as tool_use blocks with stop_reason tool_use, also streamed", () => {
    const r = resp({ content: "", finish_reason: "tool_calls", tool_calls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' }] });
    expect((anthropic.completion(r, { model: "m", maxTokens: 100 }) as any)).toMatchObject({ stop_reason: "tool_use", content: [{ type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Oslo" } }] });
    const frames = sse(anthropic.stream(r, { model: "m", maxTokens: 100, streamUsage: true }));
    expect(JSON.parse(frames[1]!.data).content_block).toEqual({ type: "tool_use", id: "call_1", name: "get_weather", input: {} });
    const json = frames.filter((f) => f.event === "content_block_delta").map((f) => JSON.parse(f.data).delta.partial_json).join("");
    expect(JSON.parse(json)).toEqual({ city: "Oslo" });
    expect(JSON.parse(frames.find((f) => f.event === "message_delta")!.data).delta.stop_reason).toBe("tool_use");
  });

  it("answers in the message shape (cache reads apart from input tokens) and streams the event sequence", () => {
    expect(anthropic.completion(resp(), { model: "m", maxTokens: 100 })).toEqual({
      id: "msg_gw.r1.abc", type: "message", role: "assistant", model: "gpt-4o-mini",
      content: [{ type: "text", text: "Lisbon is the capital of Portugal.", citations: null }], stop_reason: "end_turn", stop_sequence: null,
      usage: { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 2, output_tokens: 8, service_tier: "standard" },
    });
    const frames = sse(anthropic.stream(resp(), { model: "m", maxTokens: 8, streamUsage: true }));
    expect(frames.map((f) => f.event)).toEqual(["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    for (const f of frames) expect(JSON.parse(f.data).type).toBe(f.event);
    const text = frames.filter((f) => f.event === "content_block_delta").map((f) => JSON.parse(f.data).delta.text).join("");
    expect(text).toBe("Lisbon is the capital of Portugal.");
    expect(JSON.parse(frames[6]!.data).delta.stop_reason).toBe("max_tokens");
  });

  it("gives each error kind the provider's type", () => {
    const type = (e: GatewayError) => (anthropic.error(e) as { error: { type: string } }).error.type;
    expect(type(new GatewayError("authentication", "x"))).toBe("authentication_error");
    expect(type(new GatewayError("not_found", "x"))).toBe("not_found_error");
    expect(type(new GatewayError("too_large", "x"))).toBe("request_too_large");
    expect(type(new GatewayError("rate_limit", "x"))).toBe("rate_limit_error");
    expect((openai.error(new GatewayError("rate_limit", "x")) as any).error).toMatchObject({ type: "requests", code: "rate_limit_exceeded" });
    expect((openai.error(new GatewayError("authentication", "x")) as any).error).toMatchObject({ type: "invalid_request_error", code: "invalid_api_key" });
  });
});

describe("pipeline errors and stream pieces", () => {
  it("maps the pipeline's error codes to the caller's status", () => {
    expect(pipelineError("UNKNOWN_MODEL", "no such model").status).toBe(404);
    expect(pipelineError("INPUT_TOO_LARGE", "too long").status).toBe(400);
    expect(pipelineError("DEADLINE_EXCEEDED", "late").status).toBe(504);
    expect(pipelineError("PROVIDER_UNAVAILABLE", "down").status).toBe(502);
    expect(pipelineError(null, null).message).toBe("the pipeline answered an error");
  });

  it("cuts text after whitespace into pieces that join back to it", () => {
    const text = "The quick brown fox jumps over the lazy dog,\nthen naps. Supercalifragilisticexpialidocious-words stay whole.";
    const pieces = streamPieces(text, 16);
    expect(pieces.join("")).toBe(text);
    expect(pieces.length).toBeGreaterThan(4);
    expect(pieces).toContain("Supercalifragilisticexpialidocious-words ");
    expect(streamPieces("")).toEqual([]);
  });
});
