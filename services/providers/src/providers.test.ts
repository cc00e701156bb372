import { catalog } from "@costwise/pricing";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { providersConfigSchema } from "./config.ts";
import { AuthenticationError, InvalidRequestError, ProvidersClosedError, ProviderUnavailableError, UnknownModelError } from "./errors.ts";
import { createProviders } from "./providers.ts";
import type { Providers } from "./types.ts";

// An in-process HTTP server standing in for a provider: these tests are about what this layer
// sends and how it reacts, not about the emulator's behaviour.
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: any;
}
type Reply = { status: number; body: unknown; headers?: Record<string, string> };

async function fakeProvider(reply: (req: Seen, n: number) => Reply | Promise<Reply>) {
  const seen: Seen[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", async () => {
      const s: Seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: raw ? JSON.parse(raw) : null };
      seen.push(s);
      const r = await reply(s, seen.length);
      res.writeHead(r.status, { "content-type": "application/json", ...r.headers });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const openaiOk = (content = "pong") => ({
  status: 200,
  body: {
    id: "c1",
    object: "chat.completion",
    model: "gpt-4o-2024-08-06",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 },
  },
});

function captureLogger() {
  const lines: unknown[] = [];
  const log = (level: string) => (o: object, m?: string) => lines.push({ level, ...o, msg: m });
  return { lines, logger: { warn: log("warn"), info: log("info"), debug: log("debug") } };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function make(env: Record<string, string>, logger = captureLogger().logger): Providers {
  const p = createProviders(providersConfigSchema.parse({ PROVIDER_RETRY_INITIAL_MS: "1", PROVIDER_RETRY_MAX_MS: "2", ...env }), {
    catalog,
    logger,
  });
  cleanups.push(() => p.close());
  return p;
}

describe("createProviders", () => {
  it("without keys, sends both providers to the emulator with a placeholder key", async () => {
    const srv = await fakeProvider((req) =>
      req.url.startsWith("/v1/messages")
        ? { status: 200, body: { content: [{ type: "text", text: "hi" }], stop_reason: "end_turn", usage: { input_tokens: 5, output_tokens: 1 } } }
        : openaiOk(),
    );
    cleanups.push(srv.close);
    const p = make({ EMULATOR_URL: srv.url });
    await p.chat({ model: "gpt-4o", messages: [{ role: "user", content: "ping" }] });
    await p.chat({ model: "claude-haiku-4-5", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "ping" }] });
    expect(srv.seen.map((s) => s.url)).toEqual(["/v1/chat/completions", "/v1/messages"]);
    expect(srv.seen[0]!.headers.authorization).toBe("Bearer costwise-emulator");
    expect(srv.seen[1]!.headers["x-api-key"]).toBe("costwise-emulator");
    expect(srv.seen[1]!.body).toMatchObject({ system: "Be brief.", max_tokens: 4096, messages: [{ role: "user", content: "ping" }] });
    // maxRetries: 0 and this layer's own retries: the SDK adds no retry header of its own.
    expect(srv.seen[0]!.headers["x-stainless-retry-count"]).toBe("0");
  });

  it("never puts the API key in logs or errors, even when the provider echoes it", async () => {
    const SECRET = "sk-proj-SECRET0123456789abcdef";
    const srv = await fakeProvider((req, n) => {
      const echoed = `Incorrect API key provided: ${String(req.headers.authorization)}`;
      return n < 3 ? { status: 500, body: { error: { message: echoed } } } : { status: 401, body: { error: { message: echoed } } };
    });
    cleanups.push(srv.close);
    const { lines, logger } = captureLogger();
    const p = make({ OPENAI_API_KEY: SECRET, OPENAI_BASE_URL: `${srv.url}/v1` }, logger);
    const err = await p.chat({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(srv.seen[0]!.headers.authorization).toBe(`Bearer ${SECRET}`); // the real key is used...
    expect(err).toBeInstanceOf(AuthenticationError); // ...and 401 is not retried further
    expect(srv.seen).toHaveLength(3);
    const e = err as Error;
    expect(e.message).toContain("OPENAI_API_KEY");
    expect(`${e.message}\n${e.stack}\n${JSON.stringify(e)}\n${String(e.cause)}`).not.toContain(SECRET);
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it("rejects an unknown model before any HTTP call", async () => {
    const srv = await fakeProvider(() => openaiOk());
    cleanups.push(srv.close);
    const p = make({ EMULATOR_URL: srv.url });
    await expect(p.chat({ model: "gpt-9-ultra", messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(UnknownModelError);
    await expect(p.embed({ model: "nope", input: ["x"] })).rejects.toBeInstanceOf(UnknownModelError);
    expect(srv.seen).toHaveLength(0);
  });

  it("throws a 400 at once, without retry or fallback", async () => {
    const srv = await fakeProvider(() => ({ status: 400, body: { error: { message: "bad temperature" } } }));
    cleanups.push(srv.close);
    const p = make({ EMULATOR_URL: srv.url, FALLBACK_MODELS: "gpt-4o=gpt-4o-mini" });
    const err = await p.chat({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as InvalidRequestError).status).toBe(400);
    expect(srv.seen).toHaveLength(1);
  });

  it("falls back for a dated alias of the configured model", async () => {
    const srv = await fakeProvider((req) => (req.body.model === "gpt-4o-mini" ? openaiOk("from mini") : { status: 503, body: {} }));
    cleanups.push(srv.close);
    const p = make({ EMULATOR_URL: srv.url, FALLBACK_MODELS: "gpt-4o=gpt-4o-mini", PROVIDER_MAX_ATTEMPTS: "2" });
    const r = await p.chat({ model: "gpt-4o-2024-08-06", messages: [{ role: "user", content: "x" }] });
    expect(r).toMatchObject({ content: "from mini", model: "gpt-4o-mini", fellBackFrom: "gpt-4o-2024-08-06", attempts: 3 });
  });

  it("throws the last transient error when there is no fallback", async () => {
    const srv = await fakeProvider(() => ({ status: 503, body: { error: { message: "overloaded" } } }));
    cleanups.push(srv.close);
    const p = make({ EMULATOR_URL: srv.url, PROVIDER_MAX_ATTEMPTS: "3" });
    const err = await p.chat({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(srv.seen).toHaveLength(3);
  });

  it("refuses embeddings for chat and Anthropic models, and embeds in input order", async () => {
    const srv = await fakeProvider((req) => ({
      status: 200,
      body: {
        object: "list",
        // The SDK asks for base64 (little-endian float32) unless told otherwise, and decodes it.
        data: (req.body.input as string[])
          .map((_, i) => {
            const v = [i, 1];
            const embedding = req.body.encoding_format === "base64" ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v;
            return { object: "embedding", index: i, embedding };
          })
          .reverse(),
        usage: { prompt_tokens: 6, total_tokens: 6 },
      },
    }));
    cleanups.push(srv.close);
    const p = make({ EMULATOR_URL: srv.url });
    await expect(p.embed({ model: "claude-haiku-4-5", input: ["x"] })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(p.embed({ model: "gpt-4o", input: ["x"] })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(p.chat({ model: "text-embedding-3-small", messages: [] })).rejects.toBeInstanceOf(InvalidRequestError);
    expect(srv.seen).toHaveLength(0);
    const r = await p.embed({ model: "text-embedding-3-small", input: ["a", "b", "c"], dimensions: 2 });
    expect(r.vectors).toEqual([[0, 1], [1, 1], [2, 1]]);
    expect(r.usage.inputTokens).toBe(6);
    expect(srv.seen[0]!.body).toMatchObject({ model: "text-embedding-3-small", input: ["a", "b", "c"], dimensions: 2 });
  });

  it("rejects with the caller's abort reason, not a provider error", async () => {
    const srv = await fakeProvider(() => ({ status: 503, body: {} }));
    cleanups.push(srv.close);
    const p = make({ EMULATOR_URL: srv.url, PROVIDER_RETRY_INITIAL_MS: "30000", PROVIDER_RETRY_MAX_MS: "30000" });
    const ac = new AbortController();
    const reason = new Error("shutdown");
    const pending = p.chat({ model: "gpt-4o", messages: [{ role: "user", content: "x" }], signal: ac.signal });
    setTimeout(() => ac.abort(reason), 100);
    await expect(pending).rejects.toBe(reason);
    expect(srv.seen).toHaveLength(1);
  });

  it("close() waits for calls in flight, then refuses new ones", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const srv = await fakeProvider(async () => {
      await gate;
      return openaiOk();
    });
    cleanups.push(srv.close);
    const p = make({ EMULATOR_URL: srv.url });
    const call = p.chat({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] });
    while (srv.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    let closed = false;
    const closing = p.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(closed).toBe(false);
    await expect(p.chat({ model: "gpt-4o", messages: [] })).rejects.toBeInstanceOf(ProvidersClosedError);
    release();
    await expect(call).resolves.toMatchObject({ content: "pong" });
    await closing;
    expect(closed).toBe(true);
  });
});
