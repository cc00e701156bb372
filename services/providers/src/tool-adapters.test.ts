import { catalog, requireModel } from "@costwise/pricing";
import { describe, expect, it } from "vitest";
import { buildAnthropicParams, JSON_OUTPUT_TOOL, parseAnthropicMessage } from "./anthropic-chat.ts";
import { buildOpenAIChatParams, parseOpenAIChat } from "./openai-chat.ts";
import type { ChatRequest } from "./types.ts";

const price = (m: string) => requireModel(catalog, m);
const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const tool = { name: "get_weather", description: "Weather of a city", parameters: JSON.stringify(schema), strict: true };
const conversation: ChatRequest["messages"] = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Weather in Paris?", parts: [{ type: "text", text: "Weather in Paris?", image_url: null, detail: null }, { type: "image", text: null, image_url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" }] },
  { role: "assistant", content: "", tool_calls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }] },
  { role: "tool", content: '{"temp":21}', tool_call_id: "call_1" },
];
const usage = { usage: { prompt_tokens: 10, completion_tokens: 5 } };

describe("tools, formats and parts in the OpenAI Chat Completions shape", () => {
  it("maps tools, tool choice, the tool round trip, image parts, JSON schema output and sampling options", () => {
    const p = buildOpenAIChatParams({
      model: "gpt-4o", messages: conversation, tools: [tool], toolChoice: { mode: "tool", name: "get_weather" }, parallelToolCalls: false,
      responseFormat: { type: "json_schema", name: "weather", schema: JSON.stringify(schema), strict: true }, stop: ["END"], seed: 7, topP: 0.9,
      presencePenalty: 0.1, frequencyPenalty: 0.2, reasoningEffort: "low", user: "u-1",
    }, price("gpt-4o"));
    expect(p).toEqual({
      model: "gpt-4o",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "Weather in Paris?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } }] },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", content: '{"temp":21}', tool_call_id: "call_1" },
      ],
      tools: [{ type: "function", function: { name: "get_weather", description: "Weather of a city", parameters: schema, strict: true } }],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      response_format: { type: "json_schema", json_schema: { name: "weather", schema, strict: true } },
      stop: ["END"], seed: 7, top_p: 0.9, presence_penalty: 0.1, frequency_penalty: 0.2, safety_identifier: "u-1",
    });
  });

  it("asks for a JSON object by schema when the prompt never says JSON, which JSON mode would refuse", () => {
    const json = { type: "json_object", name: null, schema: null, strict: null };
    expect(buildOpenAIChatParams({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], responseFormat: json }, price("gpt-4o")).response_format).toEqual({ type: "json_schema", json_schema: { name: "response", schema: { type: "object" } } });
    expect(buildOpenAIChatParams({ model: "gpt-4o", messages: [{ role: "user", content: "Answer in JSON" }], responseFormat: json }, price("gpt-4o")).response_format).toEqual({ type: "json_object" });
  });

  it("sends reasoning effort only to reasoning models, and sampling knobs only to the others", () => {
    const p = buildOpenAIChatParams({ model: "o4-mini", messages: [{ role: "user", content: "hi" }], reasoningEffort: "high", topP: 0.5, presencePenalty: 1 }, price("o4-mini"));
    expect(p).toEqual({ model: "o4-mini", messages: [{ role: "user", content: "hi" }], reasoning_effort: "high" });
  });

  it("reads tool calls, the refusal and the finish reason back", () => {
    const out = parseOpenAIChat({
      choices: [{ message: { content: null, tool_calls: [{ id: "call_9", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }] }, finish_reason: "tool_calls" }], ...usage,
    }, "gpt-4o");
    expect(out).toMatchObject({ content: "", finishReason: "tool_calls", toolCalls: [{ id: "call_9", name: "get_weather", arguments: '{"city":"Oslo"}' }], refusal: null });
    expect(parseOpenAIChat({ choices: [{ message: { content: null, refusal: "I can't help with that." }, finish_reason: "stop" }], ...usage }, "gpt-4o").refusal).toBe("I can't help with that.");
  });
});

describe("tools, formats and parts in the Anthropic Messages shape", () => {
  it("maps tool definitions, tool_use / tool_result blocks, images and stop sequences", () => {
    const p = buildAnthropicParams({ model: "claude-haiku-4-5", messages: [...conversation, { role: "user", content: "Thanks, and Lyon?" }], tools: [tool], toolChoice: { mode: "required", name: null }, parallelToolCalls: false, stop: ["END"], seed: 3, user: "u-1", topP: 0.9 }, price("claude-haiku-4-5"));
    expect(p).toEqual({
      model: "claude-haiku-4-5", max_tokens: 4096, system: "Be brief.",
      messages: [
        { role: "user", content: [{ type: "text", text: "Weather in Paris?" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } }] },
        { role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_1", content: '{"temp":21}' }, { type: "text", text: "Thanks, and Lyon?" }] },
      ],
      tools: [{ name: "get_weather", description: "Weather of a city", input_schema: schema }],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
      stop_sequences: ["END"], top_p: 0.9, metadata: { user_id: "u-1" },
    });
  });

  it("asks for JSON output through a forced output tool, and reads its input back as the answer", () => {
    const p = buildAnthropicParams({ model: "claude-haiku-4-5", messages: [{ role: "user", content: "Weather?" }], responseFormat: { type: "json_schema", name: "weather", schema: JSON.stringify(schema), strict: true } }, price("claude-haiku-4-5"));
    expect(p.tools).toEqual([expect.objectContaining({ name: JSON_OUTPUT_TOOL, input_schema: schema })]);
    expect(p.tool_choice).toEqual({ type: "tool", name: JSON_OUTPUT_TOOL });
    const out = parseAnthropicMessage({ content: [{ type: "tool_use", id: "toolu_1", name: JSON_OUTPUT_TOOL, input: { city: "Paris" } }], stop_reason: "tool_use", usage: { input_tokens: 5, output_tokens: 3 } }, "claude-haiku-4-5");
    expect(out).toMatchObject({ content: '{"city":"Paris"}', toolCalls: [], finishReason: "stop" });
  });

  it("turns reasoning effort into a thinking budget where it fits, else leaves it out", () => {
    const think = buildAnthropicParams({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }], reasoningEffort: "medium", temperature: 0.2, maxTokens: 8000 }, price("claude-sonnet-4-5"));
    expect(think).toMatchObject({ thinking: { type: "enabled", budget_tokens: 4096 } });
    expect(think.temperature).toBeUndefined();
    expect(buildAnthropicParams({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }], reasoningEffort: "high", maxTokens: 2000 }, price("claude-sonnet-4-5")).thinking).toBeUndefined();
    expect(buildAnthropicParams({ model: "claude-3-5-haiku", messages: [{ role: "user", content: "hi" }], reasoningEffort: "low" }, price("claude-3-5-haiku")).thinking).toBeUndefined();
  });

  it("reads tool_use blocks as tool calls with the stop reason in OpenAI's vocabulary", () => {
    const out = parseAnthropicMessage({ content: [{ type: "text", text: "Checking." }, { type: "tool_use", id: "toolu_2", name: "get_weather", input: { city: "Rome" } }], stop_reason: "tool_use", usage: { input_tokens: 5, output_tokens: 3 } }, "claude-haiku-4-5");
    expect(out).toMatchObject({ content: "Checking.", finishReason: "tool_calls", toolCalls: [{ id: "toolu_2", name: "get_weather", arguments: '{"city":"Rome"}' }] });
  });
});
