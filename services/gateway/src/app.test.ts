import { afterEach, describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import type { LlmRequest, LlmResponse } from "@costwise/schemas";
import { silentLogger } from "@costwise/stream-runtime";
import { createGateway, type Gateway } from "./app.ts";
import { hashKey, KeyRing } from "./keys.ts";
import { RateLimiter } from "./rate-limit.ts";
import { ReplyHub } from "./replies.ts";
import { memoryStore } from "./store.ts";

const KEY = "cwk-test-one";
const KEY2 = "cwk-test-two";

const answer = (req: LlmRequest, over: Partial<LlmResponse> = {}): LlmResponse => ({
  request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, status: "OK", content: `answer to ${req.messages.at(-1)!.content}`, error: null, error_code: null,
  model: req.model, provider: "openai", served_by: "REALTIME", input_tokens: 5, cached_input_tokens: 0, output_tokens: 4, cost_usd: 0, latency_ms: 1,
  cache_source_request_id: null, created_at: req.created_at, ...over,
});

/** The gateway over an in-memory pipeline: `reply` decides what the pipeline answers (undefined: nothing, yet). */
function setup(opts: { reply?: (req: LlmRequest) => LlmResponse | undefined; burst?: number; timeoutMs?: number; produceFails?: boolean } = {}) {
  const hub = new ReplyHub("r1");
  const store = memoryStore();
  const produced: LlmRequest[] = [];
  let n = 0;
  const gateway = createGateway({
    keys: new KeyRing({ keys: [{ sha256: hashKey(KEY), tenant: "acme", use_case: "support" }, { sha256: hashKey(KEY2), tenant: "globex", use_case: "default", burst: opts.burst ?? 100, rate_per_minute: 60 }] }),
    limiter: new RateLimiter({ ratePerMinute: 600, burst: 100 }),
    hub, store, catalog, logger: silentLogger,
    countTokens: (messages) => messages.reduce((s, m) => s + m.content.length, 0),
    uuid: () => `u${++n}`,
    pollMs: 5,
    produce: async (req) => {
      if (opts.produceFails) throw new Error("broker down");
      produced.push(req);
      const resp = (opts.reply ?? answer)(req);
      // The reply consumer, as main.ts wires it: deliver, and store what nobody reads from memory.
      if (resp) setTimeout(() => void (hub.deliver(resp).store && store.putResult(resp)), 1);
    },
    settings: { bodyLimitBytes: 10_000, requestTimeoutMs: opts.timeoutMs ?? 2_000, produceTimeoutMs: 500, drainMs: 50, publicUrl: "http://gw.test" },
  });
  return { gateway, hub, store, produced };
}

const openaiCall = (body: object, headers: Record<string, string> = {}) => ({
  method: "POST" as const, url: "/v1/chat/completions", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json", ...headers }, payload: JSON.stringify(body),
});
const anthropicCall = (body: object, headers: Record<string, string> = {}) => ({
  method: "POST" as const, url: "/v1/messages", headers: { "x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json", ...headers }, payload: JSON.stringify(body),
});
const chat = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] };

let open: Gateway | undefined;
afterEach(async () => {
  await open?.app.close();
  open = undefined;
});
const use = (s: ReturnType<typeof setup>) => ((open = s.gateway), s);

describe("the gateway's HTTP layer", () => {
  it("turns a call into an LlmRequest of the key's tenant and answers with the request id and who served it", async () => {
    const { gateway, produced } = use(setup());
    const res = await gateway.app.inject(openaiCall({ ...chat, temperature: 0 }, { "x-costwise-use-case": "faq", "x-costwise-cache": "off", "x-costwise-tenant": "someone-else" }));
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-costwise-request-id"]).toBe("gw.r1.u1");
    expect(res.headers["x-costwise-served-by"]).toBe("REALTIME");
    expect(res.json().choices[0].message.content).toBe("answer to hello");
    expect(produced).toHaveLength(1);
    expect(produced[0]).toMatchObject({ request_id: "gw.r1.u1", tenant: "acme", use_case: "faq", model: "gpt-4o-mini", temperature: 0, latency_class: "REALTIME", tags: { gateway: "r1", api: "openai", cache: "off" } });
    expect(produced[0]!.deadline_ms).toBe(produced[0]!.created_at + 2_000);
  });

  it("refuses missing and wrong keys with 401 in each provider's shape, before reading the body", async () => {
    const { gateway, produced } = use(setup());
    const none = await gateway.app.inject({ ...openaiCall(chat), headers: { "content-type": "application/json" } });
    expect(none.statusCode).toBe(401);
    expect(none.json().error).toMatchObject({ type: "invalid_request_error", code: "invalid_api_key" });
    const wrong = await gateway.app.inject(anthropicCall({ ...chat, max_tokens: 5 }, { "x-api-key": "nope" }));
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({ type: "error", error: { type: "authentication_error", message: "invalid API key" } });
    expect(produced).toHaveLength(0);
  });

  it("refuses malformed JSON, oversize bodies, unknown models and bad costwise headers without producing", async () => {
    const { gateway, produced } = use(setup());
    const malformed = await gateway.app.inject({ ...openaiCall(chat), payload: '{"model": ' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.type).toBe("invalid_request_error");
    const big = await gateway.app.inject(anthropicCall({ model: "claude-haiku-4-5", max_tokens: 5, messages: [{ role: "user", content: "x".repeat(20_000) }] }));
    expect(big.statusCode).toBe(413);
    expect(big.json().error.type).toBe("request_too_large");
    const unknown = await gateway.app.inject(openaiCall({ ...chat, model: "gpt-imaginary" }));
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toMatchObject({ type: "invalid_request_error", code: "model_not_found", param: "model" });
    const unknownAn = await gateway.app.inject(anthropicCall({ model: "claude-imaginary", max_tokens: 5, messages: [{ role: "user", content: "x" }] }));
    expect(unknownAn.json().error.type).toBe("not_found_error");
    const tooLong = await gateway.app.inject(openaiCall({ ...chat, max_tokens: 10_000_000 }));
    expect(tooLong.statusCode).toBe(400);
    const header = await gateway.app.inject(openaiCall(chat, { "x-costwise-latency-class": "urgent" }));
    expect(header.statusCode).toBe(400);
    expect(header.json().error.param).toBe("x-costwise-latency-class");
    const route = await gateway.app.inject({ method: "POST", url: "/v1/completions", headers: { authorization: `Bearer ${KEY}` } });
    expect(route.statusCode).toBe(404);
    expect(produced).toHaveLength(0);
  });

  it("rate-limits per key with 429 and retry-after, other keys unaffected", async () => {
    const { gateway } = use(setup({ burst: 2 }));
    const as2 = (h: Record<string, string> = {}) => gateway.app.inject(openaiCall(chat, { authorization: `Bearer ${KEY2}`, ...h }));
    expect((await as2()).statusCode).toBe(200);
    expect((await as2()).statusCode).toBe(200);
    const limited = await as2();
    expect(limited.statusCode).toBe(429);
    expect(limited.headers["retry-after"]).toBe("1");
    expect(limited.json().error).toMatchObject({ type: "requests", code: "rate_limit_exceeded" });
    expect((await gateway.app.inject(openaiCall(chat))).statusCode).toBe(200);
  });

  it("answers a retried Idempotency-Key with the first answer and produces once; another body under the key is refused", async () => {
    const { gateway, produced } = use(setup());
    const first = await gateway.app.inject(openaiCall(chat, { "idempotency-key": "k-1" }));
    const again = await gateway.app.inject(openaiCall(chat, { "idempotency-key": "k-1" }));
    expect(again.statusCode).toBe(200);
    expect(again.headers["x-costwise-request-id"]).toBe(first.headers["x-costwise-request-id"]);
    expect(again.headers["x-costwise-idempotent-replay"]).toBe("true");
    expect(again.json().choices[0].message.content).toBe(first.json().choices[0].message.content);
    expect(produced).toHaveLength(1);
    const other = await gateway.app.inject(openaiCall({ ...chat, messages: [{ role: "user", content: "bye" }] }, { "idempotency-key": "k-1" }));
    expect(other.statusCode).toBe(400);
    expect(other.json().error.code).toBe("idempotency_key_reused");
    // Keys are per tenant: the same key of another tenant is another call.
    await gateway.app.inject(openaiCall(chat, { "idempotency-key": "k-1", authorization: `Bearer ${KEY2}` }));
    expect(produced).toHaveLength(2);
  });

  it("streams the answer as server-sent events in the dialect of the endpoint", async () => {
    const { gateway } = use(setup());
    const res = await gateway.app.inject(anthropicCall({ model: "claude-haiku-4-5", max_tokens: 50, stream: true, messages: [{ role: "user", content: "hello" }] }));
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(res.headers["x-costwise-served-by"]).toBe("REALTIME");
    expect(res.body.startsWith("event: message_start\n")).toBe(true);
    expect(res.body.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
  });

  it("turns a pipeline ERROR into the provider's error with the request id", async () => {
    const { gateway } = use(setup({ reply: (req) => answer(req, { status: "ERROR", content: null, error: "provider unavailable after 5 attempts", error_code: "PROVIDER_ERROR" }) }));
    const res = await gateway.app.inject(openaiCall(chat));
    expect(res.statusCode).toBe(502);
    expect(res.headers["x-costwise-request-id"]).toBe("gw.r1.u1");
    expect(res.json().error).toMatchObject({ type: "server_error", message: "provider unavailable after 5 attempts" });
  });

  it("answers a batch call 202 with a retrieval URL only its tenant can read, then the answer", async () => {
    let pending: LlmRequest | undefined;
    const { gateway, hub, store, produced } = use(setup({ reply: (req) => ((pending = req), undefined) }));
    const res = await gateway.app.inject(openaiCall(chat, { "x-costwise-latency-class": "batch" }));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ id: "gw.r1.u1", object: "costwise.deferred_request", status: "queued", latency_class: "batch", url: "http://gw.test/v1/costwise/requests/gw.r1.u1" });
    expect(produced[0]!.latency_class).toBe("BATCH");
    expect(produced[0]!.deadline_ms).toBeNull();
    const get = (key: string) => gateway.app.inject({ method: "GET", url: "/v1/costwise/requests/gw.r1.u1", headers: { authorization: `Bearer ${key}` } });
    expect((await get(KEY)).statusCode).toBe(202);
    expect((await get(KEY2)).statusCode).toBe(404);
    // Hours later: the owner's reply consumer has no waiter for it, so it stores the answer.
    expect(hub.deliver(answer(pending!, { served_by: "BATCH" })).store).toBe(true);
    await store.putResult(answer(pending!, { served_by: "BATCH" }));
    const done = await get(KEY);
    expect(done.statusCode).toBe(200);
    expect(done.headers["x-costwise-served-by"]).toBe("BATCH");
    expect(done.json().object).toBe("chat.completion");
    const streamed = await gateway.app.inject(openaiCall({ ...chat, stream: true }, { "x-costwise-latency-class": "batch" }));
    expect(streamed.statusCode).toBe(400);
  });

  it("times out with a retryable 504, and a Kafka failure is a retryable 503 that frees the Idempotency-Key", async () => {
    const slow = use(setup({ reply: () => undefined, timeoutMs: 100 }));
    const res = await slow.gateway.app.inject(openaiCall(chat));
    expect(res.statusCode).toBe(504);
    expect(res.headers["x-should-retry"]).toBe("true");
    expect(slow.hub.waiting).toBe(0);
    await slow.gateway.app.close();
    const down = use(setup({ produceFails: true }));
    const failed = await down.gateway.app.inject(anthropicCall({ model: "claude-haiku-4-5", max_tokens: 5, messages: [{ role: "user", content: "x" }] }, { "idempotency-key": "k-9" }));
    expect(failed.statusCode).toBe(503);
    expect(failed.json().error.type).toBe("overloaded_error");
    expect((await down.store.claim("acme", hashKey("k-9"), { requestId: "x", fingerprint: "f", state: "producing", at: Date.now() }, 1_000)).claimed).toBe(true);
  });

  it("on drain, answers the calls still waiting 503, which the SDKs retry", async () => {
    const { gateway, hub } = use(setup({ reply: () => undefined }));
    const url = await gateway.app.listen({ port: 0, host: "127.0.0.1" });
    const waiting = fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body: JSON.stringify(chat) });
    while (hub.waiting === 0) await new Promise((r) => setTimeout(r, 10));
    await gateway.drain();
    const res = await waiting;
    expect(res.status).toBe(503);
    expect(res.headers.get("x-should-retry")).toBe("true");
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/retry with the same Idempotency-Key/);
    open = undefined;
  });

  it("lists the catalogue's chat models in the shape of the SDK that asks", async () => {
    const { gateway } = use(setup());
    const oa = (await gateway.app.inject({ method: "GET", url: "/v1/models", headers: { authorization: `Bearer ${KEY}` } })).json();
    expect(oa.object).toBe("list");
    expect(oa.data.map((m: { id: string }) => m.id)).toContain("gpt-4o-mini");
    expect(oa.data.map((m: { id: string }) => m.id)).not.toContain("text-embedding-3-small");
    const an = (await gateway.app.inject({ method: "GET", url: "/v1/models", headers: { "x-api-key": KEY, "anthropic-version": "2023-06-01" } })).json();
    expect(an.data.every((m: { type: string; id: string }) => m.type === "model" && m.id.startsWith("claude"))).toBe(true);
  });
});
