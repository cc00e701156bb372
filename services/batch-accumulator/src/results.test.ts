import { describe, expect, it } from "vitest";
import { parseAnthropicLine, parseOpenAiLine, ResultLineError } from "./results.ts";

describe("OpenAI batch result lines", () => {
  it("reads a successful line's body", () => {
    const body = { choices: [{ message: { content: "hi" } }], usage: { prompt_tokens: 3, completion_tokens: 1 } };
    expect(parseOpenAiLine(JSON.stringify({ id: "x", custom_id: "r1", response: { status_code: 200, body }, error: null }))).toEqual({ customId: "r1", ok: true, body });
  });

  it("classifies failed lines: server errors and rate limits may pass, invalid requests never", () => {
    const line = (status: number, error: object) => JSON.stringify({ custom_id: "r1", response: { status_code: status, body: { error } }, error: null });
    expect(parseOpenAiLine(line(500, { message: "boom", type: "server_error", code: null }))).toMatchObject({ ok: false, retryable: true, kind: "error", code: "server_error", message: "boom" });
    expect(parseOpenAiLine(line(429, { message: "slow down", code: "rate_limit_exceeded" }))).toMatchObject({ retryable: true, code: "rate_limit_exceeded" });
    expect(parseOpenAiLine(line(400, { message: "bad model", type: "invalid_request_error", code: "model_not_found" }))).toMatchObject({ retryable: false, code: "model_not_found" });
  });

  it("reads the error file's expired and cancelled lines as retryable", () => {
    const e = (code: string) => JSON.stringify({ custom_id: "r2", response: null, error: { code, message: "m" } });
    expect(parseOpenAiLine(e("batch_expired"))).toMatchObject({ customId: "r2", ok: false, retryable: true, kind: "expired" });
    expect(parseOpenAiLine(e("batch_cancelled"))).toMatchObject({ kind: "cancelled", retryable: true });
  });

  it("refuses lines it cannot attribute to a request", () => {
    expect(() => parseOpenAiLine("not json")).toThrow(ResultLineError);
    expect(() => parseOpenAiLine(JSON.stringify({ response: null }))).toThrow(/no custom_id/);
  });
});

describe("Anthropic batch result lines", () => {
  it("maps each result type", () => {
    const message = { content: [{ type: "text", text: "hi" }], usage: { input_tokens: 3, output_tokens: 1 } };
    expect(parseAnthropicLine({ custom_id: "a", result: { type: "succeeded", message } })).toEqual({ customId: "a", ok: true, body: message });
    expect(parseAnthropicLine(JSON.stringify({ custom_id: "a", result: { type: "errored", error: { type: "error", error: { type: "invalid_request_error", message: "temperature: too high" } } } })))
      .toMatchObject({ ok: false, retryable: false, code: "invalid_request_error", message: "temperature: too high" });
    expect(parseAnthropicLine({ custom_id: "a", result: { type: "errored", error: { type: "error", error: { type: "not_found_error", message: "model: claude-0" } } } }))
      .toMatchObject({ ok: false, retryable: false, code: "not_found_error" });
    expect(parseAnthropicLine({ custom_id: "a", result: { type: "errored", error: { type: "error", error: { type: "api_error", message: "Internal server error" } } } })).toMatchObject({ retryable: true, kind: "error" });
    expect(parseAnthropicLine({ custom_id: "a", result: { type: "canceled" } })).toMatchObject({ retryable: true, kind: "cancelled" });
    expect(parseAnthropicLine({ custom_id: "a", result: { type: "expired" } })).toMatchObject({ retryable: true, kind: "expired" });
    expect(() => parseAnthropicLine({ custom_id: "a", result: { type: "pending" } })).toThrow(/unknown result type/);
  });
});
