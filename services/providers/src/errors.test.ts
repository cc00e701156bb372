import Anthropic from "@anthropic-ai/sdk";
import type { Provider } from "@costwise/pricing";
import { PoisonMessageError, TransientError } from "@costwise/stream-runtime";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import {
  AuthenticationError,
  InvalidRequestError,
  ModelNotFoundError,
  MalformedResponseError,
  ProviderError,
  ProviderTimeoutError,
  ProviderUnavailableError,
  RateLimitError,
  mapSdkError,
  parseRetryAfter,
  type MapContext,
} from "./errors.ts";

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-11-26T12:00:00Z");
  const h = (init: Record<string, string>) => new Headers(init);

  it("prefers retry-after-ms, which carries sub-second precision", () => {
    expect(parseRetryAfter(h({ "retry-after-ms": "1500", "retry-after": "9" }), now)).toBe(1500);
    expect(parseRetryAfter(h({ "retry-after-ms": "12.2" }), now)).toBe(13);
  });

  it("reads retry-after as seconds", () => {
    expect(parseRetryAfter(h({ "retry-after": "2" }), now)).toBe(2000);
    expect(parseRetryAfter(h({ "retry-after": "0.5" }), now)).toBe(500);
  });

  it("honours zero, meaning retry at once", () => {
    expect(parseRetryAfter(h({ "retry-after": "0" }), now)).toBe(0);
    expect(parseRetryAfter(h({ "retry-after-ms": "0" }), now)).toBe(0);
  });

  it("reads retry-after as an HTTP date relative to now", () => {
    expect(parseRetryAfter(h({ "retry-after": "Thu, 26 Nov 2026 12:00:30 GMT" }), now)).toBe(30_000);
  });

  it("ignores hints outside 0..60 s, in the past, or unparsable", () => {
    expect(parseRetryAfter(h({ "retry-after": "61" }), now)).toBeUndefined();
    expect(parseRetryAfter(h({ "retry-after": "60" }), now)).toBe(60_000);
    expect(parseRetryAfter(h({ "retry-after": "-1" }), now)).toBeUndefined();
    expect(parseRetryAfter(h({ "retry-after": "Thu, 26 Nov 2026 11:59:00 GMT" }), now)).toBeUndefined();
    expect(parseRetryAfter(h({ "retry-after": "soon" }), now)).toBeUndefined();
    expect(parseRetryAfter(h({ "retry-after-ms": "soon", "retry-after": "3" }), now)).toBe(3000);
    expect(parseRetryAfter(h({}), now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

const SECRET = "sk-test-0123456789abcdefSECRET";

function ctx(provider: Provider, usingEmulator = false): MapContext {
  return { provider, model: provider === "openai" ? "gpt-4o" : "claude-haiku-4-5", usingEmulator, secrets: [SECRET] };
}

const sdks = { openai: OpenAI, anthropic: Anthropic } as const;

describe.each(["openai", "anthropic"] as const)("mapSdkError (%s SDK)", (provider) => {
  const sdk = sdks[provider];
  const apiError = (status: number, headers: Record<string, string> = {}, message = "boom") =>
    sdk.APIError.generate(status, { error: { message, type: "x" } }, undefined, new Headers(headers));

  it("maps 429 to RateLimitError with the retry-after hint, retryable", () => {
    const sdkErr = apiError(429, { "retry-after": "3" });
    expect(sdkErr).toBeInstanceOf(sdk.RateLimitError);
    const err = mapSdkError(sdkErr, ctx(provider));
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toBeInstanceOf(TransientError);
    const e = err as RateLimitError;
    expect(e.retryAfterMs).toBe(3000);
    expect(e.status).toBe(429);
    expect(e.provider).toBe(provider);
    expect(e.model).toBe(ctx(provider).model);
    expect(e.name).toBe("RateLimitError");
  });

  it("maps a 429 without a usable hint to RateLimitError without retryAfterMs", () => {
    const e = mapSdkError(apiError(429, { "retry-after": "3600" }), ctx(provider)) as RateLimitError;
    expect(e).toBeInstanceOf(RateLimitError);
    expect(e.retryAfterMs).toBeUndefined();
  });

  it.each([500, 502, 503, 529])("maps %i to ProviderUnavailableError", (status) => {
    const e = mapSdkError(apiError(status, { "retry-after-ms": "250" }), ctx(provider));
    expect(e).toBeInstanceOf(ProviderUnavailableError);
    expect((e as ProviderError).status).toBe(status);
    expect((e as ProviderError).retryAfterMs).toBe(250);
  });

  it("maps 408 to a timeout and 409 to unavailable (both retried, as the SDKs do)", () => {
    expect(mapSdkError(apiError(408), ctx(provider))).toBeInstanceOf(ProviderTimeoutError);
    expect(mapSdkError(apiError(409), ctx(provider))).toBeInstanceOf(ProviderUnavailableError);
  });

  it("maps connection timeouts and connection failures", () => {
    const t = mapSdkError(new sdk.APIConnectionTimeoutError(), ctx(provider));
    expect(t).toBeInstanceOf(ProviderTimeoutError);
    expect(t).toBeInstanceOf(ProviderError);
    const c = mapSdkError(new sdk.APIConnectionError({ message: "Connection error." }), ctx(provider));
    expect(c).toBeInstanceOf(ProviderUnavailableError);
    expect(c).not.toBeInstanceOf(ProviderTimeoutError);
  });

  it("maps an unparsable JSON body to MalformedResponseError", () => {
    let syntax: unknown;
    try {
      JSON.parse("{\"choices\": [");
    } catch (err) {
      syntax = err;
    }
    expect(mapSdkError(syntax, ctx(provider))).toBeInstanceOf(MalformedResponseError);
  });

  it.each([400, 404, 413, 422])("maps %i to a non-retryable InvalidRequestError", (status) => {
    const e = mapSdkError(apiError(status, {}, "model does not exist"), ctx(provider));
    expect(e).toBeInstanceOf(InvalidRequestError);
    expect(e).toBeInstanceOf(PoisonMessageError);
    expect(e).not.toBeInstanceOf(TransientError);
    expect((e as InvalidRequestError).status).toBe(status);
    expect((e as Error).message).toContain("model does not exist");
  });

  it("maps 404 on a chat call to ModelNotFoundError, still a final InvalidRequestError", () => {
    const e = mapSdkError(apiError(404, {}, "The model `gpt-9` does not exist"), ctx(provider));
    expect(e).toBeInstanceOf(ModelNotFoundError);
    expect(e).toBeInstanceOf(InvalidRequestError);
    expect(mapSdkError(apiError(400, {}, "bad"), ctx(provider))).not.toBeInstanceOf(ModelNotFoundError);
  });

  it.each([401, 403])("maps %i to AuthenticationError naming the env var, never the key", (status) => {
    const e = mapSdkError(apiError(status, {}, `Incorrect API key provided: ${SECRET}`), ctx(provider));
    expect(e).toBeInstanceOf(AuthenticationError);
    expect(e).toBeInstanceOf(PoisonMessageError);
    const a = e as AuthenticationError;
    expect(a.message).toContain(provider === "openai" ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY");
    expect(a.status).toBe(status);
    expect(JSON.stringify({ ...a, message: a.message, stack: a.stack })).not.toContain(SECRET);
    expect(String(a.cause ?? "")).not.toContain(SECRET);
  });

  it("says the emulator refused when no key is configured", () => {
    const e = mapSdkError(apiError(401), ctx(provider, true)) as AuthenticationError;
    expect(e.message).toMatch(/is not set/);
    expect(e.message).toMatch(/emulator/);
  });

  it("redacts a configured key echoed in any other provider message", () => {
    const e = mapSdkError(apiError(400, {}, `bad header ${SECRET}`), ctx(provider)) as Error;
    expect(e).toBeInstanceOf(InvalidRequestError);
    expect(e.message).not.toContain(SECRET);
    expect(e.message).toContain("[REDACTED]");
  });

  it("passes caller aborts and unrelated errors through unchanged", () => {
    const abort = new sdk.APIUserAbortError();
    expect(mapSdkError(abort, ctx(provider))).toBe(abort);
    const bug = new TypeError("x is undefined");
    expect(mapSdkError(bug, ctx(provider))).toBe(bug);
  });
});

it("classifies by the SDK the call was made with, not by message text", () => {
  const anthropic429 = Anthropic.APIError.generate(429, { error: { message: "rate" } }, undefined, new Headers());
  // An Anthropic error seen through the OpenAI mapping is not an OpenAI APIError: left alone.
  expect(mapSdkError(anthropic429, ctx("openai"))).toBe(anthropic429);
  const fake = new Error("429 Too Many Requests");
  expect(mapSdkError(fake, ctx("openai"))).toBe(fake);
});
