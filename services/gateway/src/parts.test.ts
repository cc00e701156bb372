import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "@costwise/stream-runtime";
import type { LlmResponse } from "@costwise/schemas";
import { hashKey, KeyRing, newKey, presentedKey } from "./keys.ts";
import { RateLimiter } from "./rate-limit.ts";
import { ReplyHub } from "./replies.ts";

describe("API keys", () => {
  it("finds the tenant of a key from its sha256 only, and reads keys from both SDKs' headers", () => {
    const key = newKey();
    expect(key).toMatch(/^cwk-[A-Za-z0-9_-]{43}$/);
    const ring = new KeyRing({ keys: [{ sha256: hashKey(key), tenant: "acme", use_case: "support", rate_per_minute: 10 }] });
    expect(ring.lookup(key)).toEqual({ tenant: "acme", useCase: "support", keyHash: hashKey(key), ratePerMinute: 10, burst: undefined });
    expect(ring.lookup(`${key}x`)).toBeNull();
    expect(presentedKey({ authorization: `Bearer ${key}` })).toBe(key);
    expect(presentedKey({ "x-api-key": key })).toBe(key);
    expect(presentedKey({ authorization: "Basic abc" })).toBeNull();
  });

  it("loads the keys file, refusing one with a clear-text key or a duplicate", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cw-keys-"));
    const file = path.join(dir, "keys.json");
    writeFileSync(file, JSON.stringify({ keys: [{ sha256: hashKey("a"), tenant: "t" }] }));
    expect(KeyRing.load(file).lookup("a")?.useCase).toBe("default");
    writeFileSync(file, JSON.stringify({ keys: [{ sha256: "cwk-plain-text-key", tenant: "t" }] }));
    expect(() => KeyRing.load(file)).toThrow(ConfigError);
    writeFileSync(file, JSON.stringify({ keys: [{ sha256: hashKey("a"), tenant: "t" }, { sha256: hashKey("a"), tenant: "u" }] }));
    expect(() => KeyRing.load(file)).toThrow(/same key twice/);
    expect(() => KeyRing.load(path.join(dir, "missing.json"))).toThrow(/cannot read/);
  });
});

describe("the per-key token bucket", () => {
  it("allows a burst, then the refill rate, and says when the next token comes", () => {
    let t = 0;
    const limiter = new RateLimiter({ ratePerMinute: 60, burst: 3 }, () => t);
    expect([1, 2, 3].map(() => limiter.take("k").ok)).toEqual([true, true, true]);
    expect(limiter.take("k")).toEqual({ ok: false, retryAfterS: 1 });
    expect(limiter.take("other").ok).toBe(true);
    t += 1_000;
    expect(limiter.take("k").ok).toBe(true);
    expect(limiter.take("k").ok).toBe(false);
    t += 60_000;
    expect([1, 2, 3, 4].map(() => limiter.take("k").ok)).toEqual([true, true, true, false]);
    expect(limiter.take("slow", { ratePerMinute: 1, burst: 1 }).ok).toBe(true);
    expect(limiter.take("slow", { ratePerMinute: 1, burst: 1 })).toEqual({ ok: false, retryAfterS: 60 });
  });
});

describe("the reply hub", () => {
  const resp = (id: string): LlmResponse => ({
    request_id: id, tenant: "t", use_case: "u", status: "OK", content: "x", error: null, error_code: null, model: "m", provider: "p", served_by: "REALTIME",
    input_tokens: 1, cached_input_tokens: 0, output_tokens: 1, cost_usd: 0, latency_ms: 0, cache_source_request_id: null, created_at: 0,
  });

  it("owns exactly the keys it minted, even when another replica's id extends its own", () => {
    const hub = new ReplyHub("a");
    const id = hub.newRequestId("123");
    expect(id).toBe("gw.a.123");
    expect(hub.ownsKey(Buffer.from(id))).toBe(true);
    expect(hub.ownsKey(Buffer.from(new ReplyHub("a-b").newRequestId("123")))).toBe(false);
    expect(hub.ownsKey(Buffer.from("gw.a."))).toBe(false);
    expect(hub.ownsKey(null)).toBe(false);
  });

  it("resolves every waiter of a response, and asks to store what no durable reader holds in memory", async () => {
    const hub = new ReplyHub("a");
    const plain = hub.expect("gw.a.1", false);
    expect(hub.deliver(resp("gw.a.1"))).toEqual({ delivered: 1, store: false });
    expect((await plain.response).request_id).toBe("gw.a.1");
    const first = hub.expect("gw.a.2", true);
    const retry = hub.expect("gw.a.2", true);
    expect(hub.waiting).toBe(2);
    expect(hub.deliver(resp("gw.a.2"))).toEqual({ delivered: 2, store: true });
    await Promise.all([first.response, retry.response]);
    // No waiter (it timed out, or the replica restarted): kept for a retry.
    expect(hub.deliver(resp("gw.a.3"))).toEqual({ delivered: 0, store: true });
    const gone = hub.expect("gw.a.4", false);
    gone.cancel();
    expect(hub.waiting).toBe(0);
    const failing = hub.expect("gw.a.5", false);
    expect(hub.failAll(new Error("restart"))).toBe(1);
    await expect(failing.response).rejects.toThrow("restart");
  });
});

describe("the gateway's configuration", () => {
  it("listens where stack.env's GATEWAY_URL says unless a port is given, and names the replica after host and port", async () => {
    const { loadGatewayConfig } = await import("./config.ts");
    const fromUrl = loadGatewayConfig({ GATEWAY_KEYS_FILE: "k.json", GATEWAY_URL: "http://127.0.0.1:18123" });
    expect(fromUrl.GATEWAY_PORT).toBe(18123);
    expect(fromUrl.GATEWAY_PUBLIC_URL).toBe("http://127.0.0.1:18123");
    expect(fromUrl.GATEWAY_REPLICA_ID).toMatch(/^[A-Za-z0-9_-]+-18123$/);
    const explicit = loadGatewayConfig({ GATEWAY_KEYS_FILE: "k.json", GATEWAY_URL: "http://127.0.0.1:18123", GATEWAY_PORT: "7000", GATEWAY_REPLICA_ID: "gw-0" });
    expect([explicit.GATEWAY_PORT, explicit.GATEWAY_PUBLIC_URL, explicit.GATEWAY_REPLICA_ID]).toEqual([7000, "http://127.0.0.1:7000", "gw-0"]);
    expect(() => loadGatewayConfig({})).toThrow(/GATEWAY_KEYS_FILE/);
    expect(() => loadGatewayConfig({ GATEWAY_KEYS_FILE: "k", GATEWAY_REPLICA_ID: "a.b" })).toThrow(/GATEWAY_REPLICA_ID/);
  });
});
