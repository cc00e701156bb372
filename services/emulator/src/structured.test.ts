import { describe, expect, it } from "vitest";
import { createMessage, messageStream, parseMessageRequest } from "./anthropic-messages.ts";
import { DEFAULT_ANTHROPIC_MODELS, DEFAULT_OPENAI_CHAT_MODELS } from "./config.ts";
import { ProviderHttpError } from "./errors.ts";
import { chatCompletionStream, createChatCompletion, parseChatRequest } from "./openai-chat.ts";
import { anthropicImageTokens, decideToolCall, imageSize, openAiImageTokens, schemaInstance } from "./structured.ts";
import { Tokenizer } from "./tokens.ts";

const tokenizer = new Tokenizer({ maxCachedTokens: 100_000 });
const openAiModels = new Set(DEFAULT_OPENAI_CHAT_MODELS);
const anthropicModels = new Set(DEFAULT_ANTHROPIC_MODELS);
const weather = { type: "object", properties: { city: { type: "string" }, days: { type: "integer", minimum: 1, maximum: 7 }, unit: { enum: ["c", "f"] } }, required: ["city", "days", "unit"], additionalProperties: false };
const openAiTools = [
  { type: "function", function: { name: "get_weather", description: "Weather forecast for a city", parameters: weather } },
  { type: "function", function: { name: "send_email", description: "Send an email", parameters: { type: "object", properties: { to: { type: "string", format: "email" } } } } },
];
const chat = (body: object) => createChatCompletion(parseChatRequest({ model: "gpt-4o", ...body }, openAiModels), { tokenizer, promptCache: null, now: 0 });
const message = (body: object) => createMessage(parseMessageRequest({ model: "claude-haiku-4-5", max_tokens: 2000, ...body }, anthropicModels), { tokenizer, promptCache: null, now: 0, serviceTier: "standard" });
const status = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    if (err instanceof ProviderHttpError) return err.statusCode;
    throw err;
  }
  return 200;
};

describe("schema instances", () => {
  it("fill every property with a value of its type, within its bounds, deterministically", () => {
    const v = schemaInstance(weather, 1, "What is the weather in Paris this week?") as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(["city", "days", "unit"]);
    expect(typeof v.city).toBe("string");
    expect(Number.isInteger(v.days) && (v.days as number) >= 1 && (v.days as number) <= 7).toBe(true);
    expect(["c", "f"]).toContain(v.unit);
    expect(schemaInstance(weather, 1, "What is the weather in Paris this week?")).toEqual(v);
    const nested = schemaInstance({ type: "object", properties: { items: { type: "array", minItems: 2, items: { $ref: "#/$defs/item" } }, note: { anyOf: [{ type: "null" }, { type: "string", minLength: 5 }] } }, $defs: { item: { type: "object", properties: { ok: { type: "boolean" } } } } }, 3, "q") as { items: { ok: boolean }[]; note: string };
    expect(nested.items.length).toBeGreaterThanOrEqual(2);
    expect(typeof nested.items[0]!.ok).toBe("boolean");
    expect(nested.note.length).toBeGreaterThanOrEqual(5);
  });

  it("pick the named tool, else the one sharing most words with the question; auto answers in text after a tool result", () => {
    const tools = [{ name: "send_email", description: "Send an email", schema: {} }, { name: "get_weather", description: "Weather forecast", schema: {} }];
    expect(decideToolCall(tools, { mode: "auto" }, true, "what is the weather in Oslo")).toMatchObject({ call: true, tool: { name: "get_weather" } });
    expect(decideToolCall(tools, { mode: "any", name: "send_email" }, false, "weather")).toMatchObject({ call: true, tool: { name: "send_email" } });
    expect(decideToolCall(tools, { mode: "auto" }, false, "weather")).toEqual({ call: false });
    expect(decideToolCall(tools, { mode: "none" }, true, "weather")).toEqual({ call: false });
  });

  it("cost images by size: OpenAI tiles, Anthropic width*height/750", () => {
    // A 1x1 PNG header followed by a 2048x1024 one.
    const png = (w: number, h: number) => {
      const b = Buffer.alloc(33);
      b.writeUInt32BE(0x89504e47, 0);
      b.writeUInt32BE(0x0d0a1a0a, 4);
      b.writeUInt32BE(13, 8);
      b.write("IHDR", 12, "latin1");
      b.writeUInt32BE(w, 16);
      b.writeUInt32BE(h, 20);
      return `data:image/png;base64,${b.toString("base64")}`;
    };
    expect(imageSize(png(2048, 1024))).toEqual({ width: 2048, height: 1024 });
    expect(openAiImageTokens(imageSize(png(2048, 4096)), "high")).toBe(1105); // OpenAI's worked example
    expect(openAiImageTokens(imageSize(png(1024, 1024)), "auto")).toBe(765); // ditto
    expect(openAiImageTokens(imageSize(png(4096, 4096)), "low")).toBe(85);
    expect(anthropicImageTokens(imageSize(png(1000, 1000)))).toBe(1334); // Anthropic's table: 1000x1000 ≈ 1334
    const small = chat({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: png(200, 200) } }] }] }).usage.prompt_tokens;
    const large = chat({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: png(2000, 2000) } }] }] }).usage.prompt_tokens;
    expect(large - small).toBe(765 - 255);
  });
});

describe("OpenAI tool calls and structured output", () => {
  it("calls the matching tool with schema-valid arguments and finish_reason tool_calls", () => {
    const c = chat({ messages: [{ role: "user", content: "Weather in Paris for 3 days?" }], tools: openAiTools });
    const choice = c.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0]!;
    expect(call).toMatchObject({ type: "function", function: { name: "get_weather" } });
    expect(call.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    expect(Object.keys(JSON.parse(call.function.arguments))).toEqual(["city", "days", "unit"]);
    expect(c.usage.completion_tokens).toBeGreaterThan(0);
    const deltas = chatCompletionStream(c, false).map((e) => e.data).filter((d): d is { choices: { delta: { tool_calls?: { function: { arguments?: string } }[] } }[] } => typeof d === "object");
    expect(deltas.map((d) => d.choices[0]?.delta.tool_calls?.[0]?.function.arguments ?? "").join("")).toBe(call.function.arguments);
  });

  it("answers in text after the tool result, and never calls with tool_choice none", () => {
    const call = { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } };
    const after = chat({ messages: [{ role: "user", content: "Weather in Paris?" }, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: "call_1", content: "21C" }], tools: openAiTools });
    expect(after.choices[0]!.finish_reason).toBe("stop");
    expect(chat({ messages: [{ role: "user", content: "Weather in Paris?" }], tools: openAiTools, tool_choice: "none" }).choices[0]!.message.tool_calls).toBeUndefined();
    expect(chat({ messages: [{ role: "user", content: "Weather?" }], tools: openAiTools, tool_choice: { type: "function", function: { name: "send_email" } } }).choices[0]!.message.tool_calls![0]!.function.name).toBe("send_email");
  });

  it("answers json_schema and json_object requests with parseable JSON", () => {
    const s = chat({ messages: [{ role: "user", content: "Weather in Rome?" }], response_format: { type: "json_schema", json_schema: { name: "w", schema: weather, strict: true } } });
    expect(Object.keys(JSON.parse(s.choices[0]!.message.content!))).toEqual(["city", "days", "unit"]);
    const o = chat({ messages: [{ role: "user", content: "Reply in JSON: what is caching?" }], response_format: { type: "json_object" } });
    expect(typeof JSON.parse(o.choices[0]!.message.content!).answer).toBe("string");
  });

  it("refuses what the API refuses: unknown named tool, orphan tool message, json_object without 'json', effort on a non-reasoning model", () => {
    expect(status(() => parseChatRequest({ model: "gpt-4o", messages: [{ role: "user", content: "x" }], tools: openAiTools, tool_choice: { type: "function", function: { name: "nope" } } }, openAiModels))).toBe(400);
    expect(status(() => parseChatRequest({ model: "gpt-4o", messages: [{ role: "user", content: "x" }, { role: "tool", tool_call_id: "c", content: "1" }] }, openAiModels))).toBe(400);
    expect(status(() => parseChatRequest({ model: "gpt-4o", messages: [{ role: "user", content: "x" }], response_format: { type: "json_object" } }, openAiModels))).toBe(400);
    expect(status(() => parseChatRequest({ model: "gpt-4o", messages: [{ role: "user", content: "x" }], reasoning_effort: "low" }, openAiModels))).toBe(400);
  });

  it("reports reasoning tokens inside completion tokens when a reasoning model is given an effort", () => {
    const c = createChatCompletion(parseChatRequest({ model: "o4-mini", messages: [{ role: "user", content: "Why?" }], reasoning_effort: "high" }, openAiModels), { tokenizer, promptCache: null, now: 0 });
    const reasoning = c.usage.completion_tokens_details.reasoning_tokens;
    expect(reasoning).toBeGreaterThanOrEqual(1024);
    expect(c.usage.completion_tokens).toBe(reasoning + tokenizer.count(c.choices[0]!.message.content!));
  });
});

describe("Anthropic tool use", () => {
  const tools = [{ name: "get_weather", description: "Weather forecast for a city", input_schema: weather }];

  it("answers with a tool_use block whose input fits the schema, stop_reason tool_use, also when streamed", () => {
    const m = message({ messages: [{ role: "user", content: "Weather in Paris?" }], tools, tool_choice: { type: "any" } });
    expect(m.stop_reason).toBe("tool_use");
    const block = m.content.find((b) => b.type === "tool_use")!;
    expect(block).toMatchObject({ type: "tool_use", name: "get_weather" });
    expect(Object.keys((block as { input: object }).input)).toEqual(["city", "days", "unit"]);
    const partial = messageStream(m).map((e) => e.data as { delta?: { type: string; partial_json?: string } }).filter((d) => d.delta?.type === "input_json_delta").map((d) => d.delta!.partial_json).join("");
    expect(JSON.parse(partial)).toEqual((block as { input: object }).input);
  });

  it("answers in text after tool results, checks tool_result ids, and bills a thinking block as output", () => {
    const turn = [{ role: "user", content: "Weather in Paris?" }, { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }] }];
    expect(message({ messages: [...turn, { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "21C" }] }], tools }).stop_reason).toBe("end_turn");
    expect(status(() => parseMessageRequest({ model: "claude-haiku-4-5", max_tokens: 10, messages: [...turn, { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_9", content: "x" }] }] }, anthropicModels))).toBe(400);
    const thinking = message({ messages: [{ role: "user", content: "Why?" }], thinking: { type: "enabled", budget_tokens: 1024 } });
    expect(thinking.content[0]!.type).toBe("thinking");
    expect(status(() => parseMessageRequest({ model: "claude-haiku-4-5", max_tokens: 2000, messages: [{ role: "user", content: "x" }], tools, tool_choice: { type: "any" }, thinking: { type: "enabled", budget_tokens: 1024 } }, anthropicModels))).toBe(400);
  });
});
