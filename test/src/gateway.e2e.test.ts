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
    expect(sent.messages.map(({ role, content }) => ({ role, content }))).toEqual([{ role: "system", content: "Be brief." }, { role: "user", content: `${run} openai: what is a cache?` }]);
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

    const legacy = await oa.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: marker }], functions: [{ name: "f", parameters: { type: "object" } }] })
      .catch((e: unknown) => e);
    expect(legacy).toBeInstanceOf(OpenAI.BadRequestError);
    expect((legacy as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("functions");
    // A tool schema that is not JSON Schema is the pipeline's own refusal, made before anything is produced.
    const badSchema = await oa.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: marker }], tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { a: { type: "strin" } } } } }] })
      .catch((e: unknown) => e);
    expect(badSchema).toBeInstanceOf(OpenAI.BadRequestError);
    expect((badSchema as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("invalid_schema");
    const anTools = await an.messages
      .create({ model: "claude-haiku-4-5", max_tokens: 10, messages: [{ role: "user", content: marker }], tools: [{ type: "bash_20250124", name: "bash" }] })
      .catch((e: unknown) => e);
    expect(anTools).toBeInstanceOf(Anthropic.BadRequestError);
    const badImage = await an.messages
      .create({ model: "claude-haiku-4-5", max_tokens: 10, messages: [{ role: "user", content: [{ type: "text", text: marker }, { type: "image", source: { type: "url", url: "http://insecure.test/a.png" } }] }] })
      .catch((e: unknown) => e);
    expect(badImage).toBeInstanceOf(Anthropic.BadRequestError);
    expect((badImage as Error).message).toMatch(/scheme 'http' is not allowed/);

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

  it("carries a tool call round trip and a JSON-schema answer through both SDKs, also streamed", async () => {
    const weather = { type: "object", properties: { city: { type: "string" }, days: { type: "integer", minimum: 1, maximum: 5 } }, required: ["city", "days"], additionalProperties: false };
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [{ type: "function", function: { name: "get_weather", description: "Weather forecast for a city", parameters: weather, strict: true } }];
    const question = `${run} tools: what is the weather in Lisbon?`;
    const { data: first, response } = await oa.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: question }], tools, tool_choice: "required" }).withResponse();
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    const call = first.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call.type).toBe("function");
    expect(call.function.name).toBe("get_weather");
    const args = JSON.parse(call.function.arguments) as { city: string; days: number };
    expect(typeof args.city).toBe("string");
    expect(args.days >= 1 && args.days <= 5).toBe(true);
    const sent = produced.find((r) => r.request_id === response.headers.get("x-costwise-request-id"))!;
    expect(sent.tools).toEqual([{ name: "get_weather", description: "Weather forecast for a city", parameters: JSON.stringify(weather), strict: true }]);
    expect(sent.tool_choice).toEqual({ mode: "required", name: null });

    // The tool's result goes back; the model answers in text.
    const second = await oa.chat.completions.create({
      model: "gpt-4o-mini", tools,
      messages: [{ role: "user", content: question }, first.choices[0]!.message, { role: "tool", tool_call_id: call.id, content: JSON.stringify({ forecast: "sunny" }) }],
    });
    expect(second.choices[0]!.finish_reason).toBe("stop");
    expect(second.choices[0]!.message.content!.length).toBeGreaterThan(0);

    // Streamed tool calls, assembled by the SDK's own helper.
    const streamed = await oa.chat.completions.stream({ model: "gpt-4o-mini", messages: [{ role: "user", content: `${question} (stream)` }], tools, tool_choice: "required" }).finalChatCompletion();
    const streamedCall = streamed.choices[0]!.message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(JSON.parse(streamedCall.function.arguments)).toHaveProperty("city");

    const json = await oa.chat.completions.create({
      model: "gpt-4o-mini", messages: [{ role: "user", content: `${run} json: forecast for Porto` }],
      response_format: { type: "json_schema", json_schema: { name: "forecast", schema: weather, strict: true } },
    });
    const parsed = JSON.parse(json.choices[0]!.message.content!) as Record<string, unknown>;
    expect(Object.keys(parsed).sort()).toEqual(["city", "days"]);

    const anTools = [{ name: "get_weather", description: "Weather forecast for a city", input_schema: weather as Anthropic.Messages.Tool.InputSchema }];
    const msg = await an.messages.create({ model: "claude-haiku-4-5", max_tokens: 512, messages: [{ role: "user", content: question }], tools: anTools, tool_choice: { type: "any" } });
    expect(msg.stop_reason).toBe("tool_use");
    const use = msg.content.find((b) => b.type === "tool_use")!;
    expect(use).toMatchObject({ type: "tool_use", name: "get_weather" });
    expect((use as Anthropic.Messages.ToolUseBlock).input).toHaveProperty("city");
    const reply = await an.messages.create({
      model: "claude-haiku-4-5", max_tokens: 512, tools: anTools,
      messages: [{ role: "user", content: question }, { role: "assistant", content: msg.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: (use as Anthropic.Messages.ToolUseBlock).id, content: "sunny" }] }],
    });
    expect(reply.stop_reason).toBe("end_turn");
    const final = await an.messages.stream({ model: "claude-haiku-4-5", max_tokens: 512, messages: [{ role: "user", content: `${question} (anthropic stream)` }], tools: anTools, tool_choice: { type: "tool", name: "get_weather" } }).finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    expect((final.content.find((b) => b.type === "tool_use") as Anthropic.Messages.ToolUseBlock).input).toHaveProperty("days");
  }, 120_000);

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
    expect(out.tool_call).toMatchObject({ finish_reason: "tool_calls", name: "get_weather" });
    expect(out.tool_call!.has_city).toBe(true);
    expect(out.json_schema).toEqual({ keys: ["city", "days"] });
    expect(out.anthropic_tool).toMatchObject({ stop_reason: "tool_use", name: "get_weather", has_city: true });
  }, 900_000);
});
