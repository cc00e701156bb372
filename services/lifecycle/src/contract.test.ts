import { describe, expect, it } from "vitest";
import { newRequest, type LlmRequest } from "@costwise/schemas";
import { catalog } from "@costwise/pricing";
import { validateRequest } from "./index.ts";

const weather = { name: "get_weather", description: "Weather of a city", parameters: JSON.stringify({ type: "object", properties: { city: { type: "string" } }, required: ["city"] }), strict: null };
const base = (over: Partial<LlmRequest>) => newRequest({ request_id: "r", tenant: "t", use_case: "u", messages: [{ role: "user", content: "Weather in Paris? Answer in JSON." }], model: "gpt-4o", ...over });
const check = (over: Partial<LlmRequest>, model = "gpt-4o") => {
  const out = validateRequest({ request: base(over), model, catalog, promptTokens: () => 10 });
  return out.ok ? "ok" : `${out.rejection.code}: ${out.rejection.reason}`;
};
const call = { id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' };

describe("the tools / formats / parts contract", () => {
  it("accepts a full tool round trip, a JSON schema format, images by https and data URL", () => {
    expect(check({
      tools: [weather], tool_choice: { mode: "tool", name: "get_weather" },
      messages: [
        { role: "user", content: "Weather in Paris?", parts: [{ type: "text", text: "Weather in Paris?", image_url: null, detail: null }, { type: "image", text: null, image_url: "https://example.com/a.png", detail: "low" }, { type: "image", text: null, image_url: "data:image/png;base64,iVBORw0KGgo=", detail: null }] },
        { role: "assistant", content: "", tool_calls: [call] },
        { role: "tool", content: '{"temp":21}', tool_call_id: "call_1" },
      ],
      response_format: { type: "json_schema", name: "answer", schema: JSON.stringify({ type: "object", properties: { temp: { type: "number" } } }), strict: true },
      stop: ["END"], seed: 3, top_p: 0.5, reasoning_effort: "low",
    })).toBe("ok");
  });

  it("refuses a tool schema that is not JSON Schema, or not an object schema", () => {
    expect(check({ tools: [{ ...weather, parameters: "{not json" }] })).toMatch(/^INVALID_SCHEMA: tools\[0\] \('get_weather'\) parameters is not JSON/);
    expect(check({ tools: [{ ...weather, parameters: JSON.stringify({ type: "object", properties: { city: { type: "strin" } } }) }] })).toMatch(/^INVALID_SCHEMA: .*not a valid JSON Schema/);
    expect(check({ tools: [{ ...weather, parameters: JSON.stringify({ type: "object", properties: { a: { $ref: "#/$defs/missing" } } }) }] })).toMatch(/^INVALID_SCHEMA/);
    expect(check({ tools: [{ ...weather, parameters: JSON.stringify({ type: "string" }) }] })).toMatch(/^INVALID_SCHEMA: .*object schema/);
    expect(check({ response_format: { type: "json_schema", name: "a", schema: JSON.stringify({ type: 5 }), strict: null } })).toMatch(/^INVALID_SCHEMA: response_format schema/);
    expect(check({ response_format: { type: "json_schema", name: "a", schema: JSON.stringify({ type: "object", properties: { n: { type: "nope" } } }), strict: null } })).toMatch(/^INVALID_SCHEMA: response_format schema is not a valid/);
    expect(check({ tools: [weather, weather] })).toMatch(/^INVALID_TOOL: .*two tools/);
    expect(check({ tools: [{ ...weather, name: "get weather" }] })).toMatch(/^INVALID_TOOL/);
  });

  it("refuses image URLs other than https and data, and images on a model without vision", () => {
    const img = (url: string) => ({ messages: [{ role: "user", content: "what is this", parts: [{ type: "image", text: null, image_url: url, detail: null }] }] });
    expect(check(img("http://example.com/a.png"))).toMatch(/^INVALID_IMAGE: .*scheme 'http' is not allowed/);
    expect(check(img("file:///etc/passwd"))).toMatch(/^INVALID_IMAGE: .*scheme 'file'/);
    expect(check(img("data:text/html;base64,PGI+"))).toMatch(/^INVALID_IMAGE: .*data URL/);
    expect(check(img("https://example.com/a.png"), "claude-3-5-haiku")).toMatch(/^UNSUPPORTED_CONTENT: claude-3-5-haiku does not take image input/);
    expect(check(img("https://example.com/a.png"), "claude-haiku-4-5")).toBe("ok");
    expect(check({ messages: [{ role: "user", content: "x", parts: [{ type: "audio", text: null, image_url: null, detail: null }] }] })).toMatch(/^UNSUPPORTED_CONTENT/);
  });

  it("refuses a tool result without a matching earlier call", () => {
    const q = { role: "user", content: "weather?" };
    expect(check({ tools: [weather], messages: [q, { role: "tool", content: "21", tool_call_id: "call_9" }] })).toMatch(/^UNMATCHED_TOOL_RESULT: .*'call_9'/);
    expect(check({ tools: [weather], messages: [q, { role: "tool", content: "21", tool_call_id: null }] })).toMatch(/^UNMATCHED_TOOL_RESULT: .*without a tool_call_id/);
    expect(check({ tools: [weather], messages: [q, { role: "tool", content: "21", tool_call_id: "call_1" }, { role: "assistant", content: "", tool_calls: [call] }] })).toMatch(/^UNMATCHED_TOOL_RESULT/);
    expect(check({ tools: [weather], messages: [q, { role: "assistant", content: "", tool_calls: [call] }, { role: "tool", content: "1", tool_call_id: "call_1" }, { role: "tool", content: "2", tool_call_id: "call_1" }] })).toMatch(/second time/);
    expect(check({ messages: [q, { role: "assistant", content: "", tool_calls: [{ ...call, arguments: "[1]" }] }] })).toMatch(/^INVALID_PARAMETER: .*arguments must be a JSON object/);
  });

  it("refuses tool choices and formats the providers would refuse", () => {
    expect(check({ tool_choice: { mode: "required", name: null } })).toMatch(/needs at least one tool/);
    expect(check({ tools: [weather], tool_choice: { mode: "tool", name: "other" } })).toMatch(/not among the request's tools/);
    // JSON mode without "JSON" in the prompt is the adapter's to map (OpenAI refuses it as such).
    expect(check({ messages: [{ role: "user", content: "hi" }], response_format: { type: "json_object", name: null, schema: null, strict: null } })).toBe("ok");
    expect(check({ stop: ["a", "b", "c", "d", "e"] })).toMatch(/at most 4/);
    expect(check({ top_p: 1.5 })).toMatch(/top_p 1.5 is outside/);
    expect(check({ reasoning_effort: "max" })).toMatch(/reasoning_effort/);
  });

  it("still reads requests of older producers, which have none of these fields", () => {
    const old = base({});
    for (const k of ["tools", "tool_choice", "response_format", "stop", "seed"] as const) delete old[k];
    expect(validateRequest({ request: old, model: "gpt-4o", catalog, promptTokens: () => 1 }).ok).toBe(true);
  });
});
