import { describe, expect, it } from "vitest";
import type { LlmResponse } from "@costwise/schemas";
import { responseRow } from "./rows.ts";

const resp: LlmResponse = {
  request_id: "r1", tenant: "t", use_case: "u", status: "OK", content: "", error: null, error_code: null, model: "gpt-4o", provider: "openai", served_by: "REALTIME",
  input_tokens: 10, cached_input_tokens: 0, output_tokens: 5, cost_usd: 0, latency_ms: 3, cache_source_request_id: null, created_at: 1_700_000_000_000,
};

describe("llm_responses rows", () => {
  it("keep the finish reason, the tool calls as JSON text and the refusal; older responses give empty strings", () => {
    const calls = [{ id: "call_1", name: "get_weather", arguments: '{"city":"Oslo"}' }];
    expect(responseRow({ ...resp, finish_reason: "tool_calls", tool_calls: calls, refusal: null }, 1)).toMatchObject({ finish_reason: "tool_calls", tool_calls: JSON.stringify(calls), refusal: "" });
    expect(responseRow(resp, 1)).toMatchObject({ finish_reason: "", tool_calls: "", refusal: "" });
  });
});
