import { describe, expect, it } from "vitest";
import { newRequest } from "@costwise/schemas";
import { catalog, requireModel } from "@costwise/pricing";
import { renderMessages } from "@costwise/schemas";
import { buildLine, customIdOf, OPENAI_BATCH_ENDPOINT } from "./lines.ts";

const req = (over = {}) =>
  newRequest({
    request_id: "req-1", tenant: "t", use_case: "u", max_tokens: 200, temperature: 0.3,
    messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Why?" }], context: [{ id: "d1", text: "Because.", score: 1 }], ...over,
  });

describe("batch lines", () => {
  it("uses the request_id as custom_id when the providers accept it, else a stable hash", () => {
    expect(customIdOf("req-1_A")).toBe("req-1_A");
    const odd = customIdOf("tenant:acme/req.1");
    expect(odd).toMatch(/^h_[A-Za-z0-9_-]{43}$/);
    expect(customIdOf("tenant:acme/req.1")).toBe(odd);
    expect(customIdOf("x".repeat(65))).toMatch(/^h_/);
  });

  it("writes an OpenAI line with the same body the real-time path sends", () => {
    const price = requireModel(catalog, "gpt-4o-mini");
    const r = req();
    const line = buildLine(price, r, renderMessages(r));
    const parsed = JSON.parse(line.text);
    expect(parsed).toEqual({
      custom_id: "req-1", method: "POST", url: OPENAI_BATCH_ENDPOINT,
      body: { model: "gpt-4o-mini", messages: renderMessages(r), max_tokens: 200, temperature: 0.3 },
    });
    expect(parsed.body.messages[1].content).toContain("[d1] Because.");
    expect(line.bytes).toBe(Buffer.byteLength(line.text));
  });

  it("writes an Anthropic line with the system prompt lifted and max_tokens always set", () => {
    const price = requireModel(catalog, "claude-haiku-4-5");
    const r = req({ max_tokens: null });
    const parsed = JSON.parse(buildLine(price, r, renderMessages(r)).text);
    expect(parsed.custom_id).toBe("req-1");
    expect(parsed.params).toMatchObject({ model: price.id, system: "Be brief.", temperature: 0.3, max_tokens: Math.min(4096, price.maxOutputTokens) });
    expect(parsed.params.messages).toEqual([{ role: "user", content: renderMessages(r)[1]!.content }]);
  });

  it("carries tools, tool results, the output format and stop sequences into both batch formats", () => {
    const schema = { type: "object", properties: { city: { type: "string" } } };
    const r = req({
      tools: [{ name: "get_weather", description: null, parameters: JSON.stringify(schema), strict: null }], tool_choice: { mode: "required", name: null }, stop: ["END"], seed: 5,
      messages: [
        { role: "user", content: "Weather?" }, { role: "assistant", content: "", tool_calls: [{ id: "c1", name: "get_weather", arguments: '{"city":"Oslo"}' }] },
        { role: "tool", content: "3C", tool_call_id: "c1" }, { role: "user", content: "Warm?" },
      ],
      context: [],
    });
    const openai = JSON.parse(buildLine(requireModel(catalog, "gpt-4o-mini"), r, renderMessages(r)).text).body;
    expect(openai).toMatchObject({ tools: [{ type: "function", function: { name: "get_weather", parameters: schema } }], tool_choice: "required", stop: ["END"], seed: 5 });
    expect(openai.messages[2]).toEqual({ role: "tool", content: "3C", tool_call_id: "c1" });
    const anthropic = JSON.parse(buildLine(requireModel(catalog, "claude-haiku-4-5"), r, renderMessages(r)).text).params;
    expect(anthropic).toMatchObject({ tools: [{ name: "get_weather", input_schema: schema }], tool_choice: { type: "any" }, stop_sequences: ["END"] });
    expect(anthropic.messages[2].content[0]).toEqual({ type: "tool_result", tool_use_id: "c1", content: "3C" });
    const json = req({ response_format: { type: "json_schema", name: "w", schema: JSON.stringify(schema), strict: true }, context: [] });
    expect(JSON.parse(buildLine(requireModel(catalog, "gpt-4o-mini"), json, renderMessages(json)).text).body.response_format).toEqual({ type: "json_schema", json_schema: { name: "w", schema, strict: true } });
  });
});
