import { spawnSync } from "node:child_process";
import path from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "@costwise/infra";
import { topics, type LlmRequest } from "@costwise/schemas";
import { KafkaTestClient } from "@costwise/stream-runtime/testing";
import { ensurePythonSdks, gatewayKeys, startGatewayPipeline, type GatewayPipeline } from "./gateway-harness.ts";
import { emulator, runId, stackEnv } from "./harness.ts";

const BODY_LIMIT = 256 * 1024;

/** The official SDKs, unchanged but for the base URL, against the gateway in front of the real pipeline. */
describe("the HTTP gateway end to end", () => {
  const env = stackEnv();
  const { key, key2 } = gatewayKeys(process.env);
  const run = runId("gw");
  const emu = emulator(env.EMULATOR_URL!);
  const produced: LlmRequest[] = [];
  let kafka: KafkaTestClient;
  let gw: GatewayPipeline;
  let oa: OpenAI;
  let an: Anthropic;

  beforeAll(async () => {
    await emu.clearFaults();
    await emu.config({ ttftMs: 0, perOutputTokenMs: 0 });
    kafka = KafkaTestClient.connect(env as { KAFKA_BROKERS: string; SCHEMA_REGISTRY_URL: string });
    await kafka.subscribe<LlmRequest>(topics.requests, (r) => void produced.push(r.value));
    // A short drain, so that a call still waiting at shutdown is answered 503 (the restart test), and a
    // small body limit, so that the oversize body is fully written before the 413 comes back (a body
    // larger than the socket buffers can end in EPIPE on the client, racing the answer).
    gw = await startGatewayPipeline({ ...env, GATEWAY_KEYS_FILE: gatewayKeys(process.env).keysFile }, run, {
      logPrefix: "test-gw",
      extraEnv: { GATEWAY_DRAIN_MS: "300", GATEWAY_BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
    oa = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0, timeout: 60_000 });
    an = new Anthropic({ baseURL: gw.url, apiKey: key, maxRetries: 0, timeout: 60_000 });
  });

  afterAll(async () => {
    await emu.config({ ttftMs: 0 }).catch(() => undefined);
    await gw?.stop();
    await kafka?.close();
  });

  it("answers an OpenAI chat completion with the pipeline's response, its request id and who served it", async () => {
    const { data, response } = await oa.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: `${run} openai: what is a cache?` }], max_tokens: 100 })
      .withResponse();
    expect(data.object).toBe("chat.completion");
    expect(data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
    const id = response.headers.get("x-costwise-request-id")!;
    expect(id.startsWith(`gw.${gw.replicaId}.`)).toBe(true);
    expect(response.headers.get("x-costwise-served-by")).toBe("REALTIME");
    const sent = produced.find((r) => r.request_id === id)!;
    expect(sent.tenant).toBe("demo");
    expect(sent.messages).toEqual([{ role: "system", content: "Be brief." }, { role: "user", content: `${run} openai: what is a cache?` }]);
    expect(sent.max_tokens).toBe(100);
  });

  it("answers an Anthropic message, and GET /v1/models lists the catalogue to both SDKs", async () => {
    const msg = await an.messages.create({ model: "claude-haiku-4-5", max_tokens: 1024, system: "Be brief.", messages: [{ role: "user", content: `${run} anthropic: what is a router?` }] });
    expect(msg.type).toBe("message");
    expect(msg.content[0]!.type).toBe("text");
    expect((msg.content[0] as { text: string }).text.length).toBeGreaterThan(0);
    expect(msg.stop_reason).toBe("end_turn");
    const models = [];
    for await (const m of oa.models.list()) models.push(m.id);
    expect(models).toContain("gpt-4o-mini");
    const claude = [];
    for await (const m of an.models.list()) claude.push(m.id);
    expect(claude).toContain("claude-haiku-4-5");
  });

  it("streams the answer as OpenAI chunks and as Anthropic events", async () => {
    const stream = await oa.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: `${run} stream: explain batching in three sentences` }], stream: true, stream_options: { include_usage: true } });
    const parts: string[] = [];
    let finish: string | null = null;
    let usage = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) parts.push(chunk.choices[0].delta.content);
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
      if (chunk.usage) usage = chunk.usage.completion_tokens;
    }
    expect(parts.length).toBeGreaterThan(1);
    expect(finish).toBe("stop");
    expect(usage).toBeGreaterThan(0);

    const events: string[] = [];
    const s = an.messages.stream({ model: "claude-haiku-4-5", max_tokens: 200, messages: [{ role: "user", content: `${run} stream: explain caching in three sentences` }] });
    s.on("streamEvent", (e) => void events.push(e.type));
    const final = await s.finalMessage();
    expect((final.content[0] as { text: string }).text.length).toBeGreaterThan(0);
    expect(events[0]).toBe("message_start");
    expect(events.at(-1)).toBe("message_stop");
    expect(events.filter((e) => e === "content_block_delta").length).toBeGreaterThan(1);
  });

  it("refuses a wrong key (401), an unknown model (404) and unsupported parameters (400), producing nothing", async () => {
    const marker = `${run}-rejected`;
    const bad = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "not-a-key", maxRetries: 0 });
    await expect(bad.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: marker }] })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const badAn = new Anthropic({ baseURL: gw.url, apiKey: "not-a-key", maxRetries: 0 });
    const anErr = await badAn.messages.create({ model: "claude-haiku-4-5", max_tokens: 10, messages: [{ role: "user", content: marker }] }).catch((e: unknown) => e);
    expect(anErr).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((anErr as InstanceType<typeof Anthropic.AuthenticationError>).status).toBe(401);

    const notFound = await oa.chat.completions.create({ model: "gpt-9-imaginary", messages: [{ role: "user", content: marker }] }).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(OpenAI.NotFoundError);
    expect((notFound as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");

    const tools = await oa.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: marker }], tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }] })
      .catch((e: unknown) => e);
    expect(tools).toBeInstanceOf(OpenAI.BadRequestError);
    expect((tools as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("tools");
    const anTools = await an.messages
      .create({ model: "claude-haiku-4-5", max_tokens: 10, messages: [{ role: "user", content: marker }], tools: [{ name: "f", input_schema: { type: "object" } }] })
      .catch((e: unknown) => e);
    expect(anTools).toBeInstanceOf(Anthropic.BadRequestError);

    const malformed = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: `{"model": "gpt-4o-mini", "messages": [` });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    const huge = await fetch(`${gw.url}/v1/messages`, {
      method: "POST", headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: "claude-haiku-4-5", max_tokens: 10, messages: [{ role: "user", content: `${marker} ${"x".repeat(BODY_LIMIT + 1024)}` }] }),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: { type: string } }).error.type).toBe("request_too_large");

    await new Promise((r) => setTimeout(r, 2_000));
    expect(produced.filter((r) => r.messages.some((m) => m.content.includes(marker)))).toEqual([]);
  });

  it("never lets two tenants share a cache entry, while one tenant's repeat is served from the cache", async () => {
    const other = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key2, maxRetries: 0, timeout: 60_000 });
    // Temperature 0: the cache serves only requests whose answer does not depend on sampling.
    const ask = (client: OpenAI) => client.chat.completions.create({ model: "gpt-4o-mini", temperature: 0, messages: [{ role: "user", content: `${run}: what is the capital of Portugal?` }] }).withResponse();
    const first = await ask(oa);
    expect(first.response.headers.get("x-costwise-served-by")).toBe("REALTIME");
    // The cache learns the answer from llm.responses: the repeat is a hit once that arrived.
    let servedBy = "";
    for (let i = 0; i < 30 && !servedBy.startsWith("CACHE"); i++) {
      await new Promise((r) => setTimeout(r, 500));
      servedBy = (await ask(oa)).response.headers.get("x-costwise-served-by") ?? "";
    }
    expect(servedBy).toBe("CACHE_EXACT");
    const fromOther = await ask(other);
    expect(fromOther.response.headers.get("x-costwise-served-by")).toBe("REALTIME");
    const sent = produced.find((r) => r.request_id === fromOther.response.headers.get("x-costwise-request-id"))!;
    expect(sent.tenant).toBe("demo-2");
    // x-costwise-cache: off bypasses the cache even for the tenant that has the entry.
    const bypass = await oa.chat.completions
      .create({ model: "gpt-4o-mini", temperature: 0, messages: [{ role: "user", content: `${run}: what is the capital of Portugal?` }] }, { headers: { "x-costwise-cache": "off" } })
      .withResponse();
    expect(bypass.response.headers.get("x-costwise-served-by")).toBe("REALTIME");
  });

  it("answers a retried Idempotency-Key with the first call's answer, also after the replica restarted mid-call", async () => {
    const body = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: `${run}: idempotent call` }] };
    const idem = { headers: { "Idempotency-Key": `${run}-k1`, "x-costwise-cache": "off" } };
    const a = await oa.chat.completions.create(body, idem).withResponse();
    const b = await oa.chat.completions.create(body, idem).withResponse();
    expect(b.response.headers.get("x-costwise-request-id")).toBe(a.response.headers.get("x-costwise-request-id"));
    expect(b.data.choices[0]!.message.content).toBe(a.data.choices[0]!.message.content);
    const reused = await oa.chat.completions.create({ ...body, max_tokens: 5 }, idem).catch((e: unknown) => e);
    expect(reused).toBeInstanceOf(OpenAI.BadRequestError);

    // A slow provider; the replica is stopped while the call waits, and comes back.
    await emu.config({ ttftMs: 4_000 });
    const slow = { headers: { "Idempotency-Key": `${run}-k2`, "x-costwise-cache": "off" } };
    const slowBody = { ...body, messages: [{ role: "user" as const, content: `${run}: slow idempotent call` }] };
    const pending = oa.chat.completions.create(slowBody, slow).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 1_000));
    const stopping = gw.stopGateway("SIGTERM");
    const err = await pending;
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(503);
    await stopping;
    await emu.config({ ttftMs: 0 });
    await gw.startGateway();
    const retried = await oa.chat.completions.create(slowBody, slow).withResponse();
    expect(retried.data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(produced.filter((r) => r.messages[0]!.content === `${run}: slow idempotent call`)).toHaveLength(1);
    expect(retried.response.headers.get("x-costwise-request-id")).toBe(produced.find((r) => r.messages[0]!.content === `${run}: slow idempotent call`)!.request_id);
  }, 120_000);

  it("answers a batch call 202 with a retrieval URL that later returns the provider-shaped answer", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-costwise-latency-class": "batch", "x-costwise-cache": "off" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: `${run}: a batch call` }] }),
    });
    expect(res.status).toBe(202);
    const deferred = (await res.json()) as { id: string; url: string; status: string };
    expect(deferred.status).toBe("queued");
    for (const until = Date.now() + 10_000; !produced.some((r) => r.request_id === deferred.id) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
    expect(produced.find((r) => r.request_id === deferred.id)?.latency_class).toBe("BATCH");
    const forOther = await fetch(deferred.url, { headers: { authorization: `Bearer ${key2}` } });
    expect(forOther.status).toBe(404);
    let body: { object?: string; choices?: { message: { content: string } }[] } = {};
    let servedBy: string | null = null;
    for (const until = Date.now() + 90_000; Date.now() < until; ) {
      const got = await fetch(deferred.url, { headers: { authorization: `Bearer ${key}` } });
      if (got.status === 200) {
        body = (await got.json()) as typeof body;
        servedBy = got.headers.get("x-costwise-served-by");
        break;
      }
      expect(got.status).toBe(202);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(body.object).toBe("chat.completion");
    expect(body.choices![0]!.message.content.length).toBeGreaterThan(0);
    expect(servedBy).toBe("BATCH");
  }, 120_000);

  it("works with the official Python SDKs", () => {
    const python = ensurePythonSdks();
    const r = spawnSync(python, [path.join(repoRoot, "test/python/gateway_sdk_check.py")], {
      env: { ...process.env, GATEWAY_URL: gw.url, GATEWAY_KEY: key, RUN: run }, encoding: "utf8", timeout: 120_000,
    });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, Record<string, unknown>>;
    expect(String(out.openai!.content).length).toBeGreaterThan(0);
    expect(String(out.openai!.request_id).startsWith(`gw.${gw.replicaId}.`)).toBe(true);
    expect(out.openai!.served_by).toBe("REALTIME");
    expect(out.openai_stream!.chunks as number).toBeGreaterThan(1);
    expect(String(out.anthropic!.content).length).toBeGreaterThan(0);
    expect(String(out.anthropic_stream!.content).length).toBeGreaterThan(0);
    expect(out.wrong_key).toEqual({ status: 401, type: "invalid_request_error" });
    expect(out.tools).toEqual({ status: 400, param: "tools" });
  }, 900_000);
});
