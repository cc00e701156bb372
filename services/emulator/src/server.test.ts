import { afterEach, describe, expect, it } from "vitest";
import { createEmulator, type Emulator } from "./server.ts";

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

const chatBody = { model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello there" }], max_tokens: 20 };
const messageBody = { model: "claude-haiku-4-5", max_tokens: 20, messages: [{ role: "user", content: "Hello there" }] };

function make(options: Parameters<typeof createEmulator>[0] = {}) {
  emulator = createEmulator(options);
  return emulator.app;
}

describe("emulator HTTP surface (in-memory transport)", () => {
  it("answers chat completions with a request id header and records stats per endpoint and model", async () => {
    const app = make();
    const ok = await app.inject({ method: "POST", url: "/v1/chat/completions", payload: chatBody });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers["x-request-id"]).toMatch(/^req_/);
    const missing = await app.inject({ method: "POST", url: "/v1/chat/completions", payload: { ...chatBody, model: "gpt-0" } });
    expect(missing.statusCode).toBe(404);
    const stats = (await app.inject({ method: "GET", url: "/_emulator/stats" })).json();
    expect(stats.byEndpoint["POST /v1/chat/completions"]).toEqual({ requests: 2, byStatus: { "200": 1, "404": 1 } });
    expect(stats.byModel["gpt-4o-mini"]).toMatchObject({ requests: 1, inputTokens: ok.json().usage.prompt_tokens, outputTokens: ok.json().usage.completion_tokens });
  });

  it("answers unknown routes in the provider's error shape", async () => {
    const app = make();
    expect((await app.inject({ method: "GET", url: "/v1/nope" })).json()).toEqual({
      error: { message: "Invalid URL (GET /v1/nope)", type: "invalid_request_error", param: null, code: null },
    });
    const anthropic = await app.inject({ method: "POST", url: "/v1/messages", payload: "{not json", headers: { "content-type": "application/json" } });
    expect(anthropic.statusCode).toBe(400);
    expect(anthropic.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });

  it("injects 429s with retry-after headers, scoped to the requested endpoint family", async () => {
    const app = make();
    const armed = await app.inject({ method: "POST", url: "/_emulator/faults", payload: { kind: "429", count: 1, retryAfterSeconds: 2.5, paths: ["messages"] } });
    expect(armed.statusCode).toBe(201);
    expect((await app.inject({ method: "POST", url: "/v1/chat/completions", payload: chatBody })).statusCode).toBe(200);
    const limited = await app.inject({ method: "POST", url: "/v1/messages", payload: messageBody });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers["retry-after"]).toBe("3");
    expect(limited.headers["retry-after-ms"]).toBe("2500");
    expect(limited.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    expect((await app.inject({ method: "POST", url: "/v1/messages", payload: messageBody })).statusCode).toBe(200);
    const stats = (await app.inject({ method: "GET", url: "/_emulator/stats" })).json();
    expect(stats.faultsInjected).toEqual({ "429:messages": 1 });
  });

  it("injects 500/503 in each provider's shape and malformed 200 bodies", async () => {
    const app = make();
    await app.inject({ method: "POST", url: "/_emulator/faults", payload: { kind: "500", count: 1 } });
    expect((await app.inject({ method: "POST", url: "/v1/chat/completions", payload: chatBody })).json()).toMatchObject({ error: { type: "server_error" } });
    await app.inject({ method: "POST", url: "/_emulator/faults", payload: { kind: "503", count: 1 } });
    const overloaded = await app.inject({ method: "POST", url: "/v1/messages", payload: messageBody });
    expect(overloaded.statusCode).toBe(503);
    expect(overloaded.json()).toMatchObject({ type: "error", error: { type: "overloaded_error" } });
    await app.inject({ method: "POST", url: "/_emulator/faults", payload: { kind: "malformed", count: 1 } });
    const malformed = await app.inject({ method: "POST", url: "/v1/chat/completions", payload: chatBody });
    expect(malformed.statusCode).toBe(200);
    expect(malformed.headers["content-type"]).toContain("application/json");
    expect(() => JSON.parse(malformed.body)).toThrow();
  });

  it("holds a request for timeoutMs on a timeout fault, then answers 504", async () => {
    const app = make();
    await app.inject({ method: "POST", url: "/_emulator/faults", payload: { kind: "timeout", count: 1, timeoutMs: 150 } });
    const started = performance.now();
    const response = await app.inject({ method: "POST", url: "/v1/embeddings", payload: { model: "text-embedding-3-small", input: "x" } });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(response.statusCode).toBe(504);
  });

  it("applies latency: time to first token plus a per-output-token delay, also when streaming", async () => {
    const app = make({ ttftMs: 60 });
    let started = performance.now();
    await app.inject({ method: "POST", url: "/v1/chat/completions", payload: chatBody });
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);

    const config = await app.inject({ method: "POST", url: "/_emulator/config", payload: { ttftMs: 20, perOutputTokenMs: 5 } });
    expect(config.json()).toMatchObject({ ttftMs: 20, perOutputTokenMs: 5 });
    started = performance.now();
    const streamed = await app.inject({ method: "POST", url: "/v1/messages", payload: { ...messageBody, stream: true } });
    expect(performance.now() - started).toBeGreaterThanOrEqual(20 + 5 * 20 - 10);
    expect(streamed.headers["content-type"]).toContain("text/event-stream");
    expect(streamed.body).toContain("event: message_stop");
  });

  it("validates admin input and resets to the initial configuration", async () => {
    const app = make({ batch: { inProgressMs: 10 } });
    expect((await app.inject({ method: "POST", url: "/_emulator/config", payload: { ttftMs: -1 } })).statusCode).toBe(400);
    expect((await app.inject({ method: "POST", url: "/_emulator/faults", payload: { kind: "418" } })).statusCode).toBe(400);
    await app.inject({ method: "POST", url: "/_emulator/config", payload: { batch: { expire: true } } });
    await app.inject({ method: "POST", url: "/_emulator/faults", payload: { kind: "500", rate: 0.5 } });
    expect((await app.inject({ method: "GET", url: "/_emulator/faults" })).json().faults).toHaveLength(1);
    expect((await app.inject({ method: "POST", url: "/_emulator/reset" })).json()).toEqual({ ok: true });
    expect((await app.inject({ method: "GET", url: "/_emulator/config" })).json()).toMatchObject({ batch: { inProgressMs: 10, expire: false } });
    expect((await app.inject({ method: "GET", url: "/_emulator/faults" })).json().faults).toEqual([]);
    expect((await app.inject({ method: "GET", url: "/_emulator/stats" })).json().requests).toBe(0);
  });

  it("enforces the batch file size limit on upload and the byte limit on Anthropic batches", async () => {
    const app = make({ limits: { openAiBatchMaxFileBytes: 1000, anthropicBatchMaxBytes: 2000 } });
    const form = (size: number) => {
      const data = new FormData();
      data.append("purpose", "batch");
      data.append("file", new Blob([Buffer.alloc(size, 65)]), "input.jsonl");
      return data;
    };
    const small = await app.inject({ method: "POST", url: "/v1/files", payload: form(500) });
    expect(small.statusCode).toBe(200);
    expect(small.json()).toMatchObject({ object: "file", bytes: 500, purpose: "batch", filename: "input.jsonl" });
    const big = await app.inject({ method: "POST", url: "/v1/files", payload: form(5000) });
    expect(big.statusCode).toBe(400);
    expect(big.json()).toMatchObject({ error: { type: "invalid_request_error", param: "file" } });
    const tooLarge = await app.inject({ method: "POST", url: "/v1/messages/batches", payload: { requests: [{ custom_id: "a", params: { pad: "x".repeat(3000) } }] } });
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.json()).toEqual({ type: "error", error: { type: "request_too_large", message: "Request exceeds the maximum allowed number of bytes." } });
  });

  it("lists models in each provider's format", async () => {
    const app = make({ openAiModels: ["gpt-4o"], anthropicModels: ["claude-sonnet-4-5"] });
    const openai = (await app.inject({ method: "GET", url: "/v1/models" })).json();
    expect(openai.data.map((m: { id: string }) => m.id)).toContain("gpt-4o");
    const anthropic = (await app.inject({ method: "GET", url: "/v1/models", headers: { "anthropic-version": "2023-06-01" } })).json();
    expect(anthropic.data).toEqual([{ type: "model", id: "claude-sonnet-4-5", display_name: "claude-sonnet-4-5", created_at: "2025-01-01T00:00:00Z" }]);
  });
});
