import { createEmulator, DEFAULT_OPENAI_CHAT_MODELS, type Emulator, type StatsSnapshot } from "@costwise/emulator";
import { catalog, withUnpricedPolicy } from "@costwise/pricing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { providersConfigSchema } from "./config.ts";
import { ProviderTimeoutError, ProviderUnavailableError, UnknownModelError } from "./errors.ts";
import { createProviders } from "./providers.ts";
import { countChatTokens } from "./tokens.ts";
import type { Providers } from "./types.ts";

// The provider emulator runs in-process, so each test arms its own faults and reads the
// emulator's own counters; the SDKs talk to it over real HTTP exactly as in production.
let emulator: Emulator;
let url: string;
const inFlight = { openai: 0, anthropic: 0 };
const peak = { openai: 0, anthropic: 0 };

beforeAll(async () => {
  emulator = createEmulator();
  // Concurrency is measured where it matters: requests open at the server at the same time.
  const providerOf = (path: string) => (path.startsWith("/v1/messages") ? "anthropic" : "openai");
  emulator.app.addHook("onRequest", async (request) => {
    if (request.url.startsWith("/_emulator")) return;
    const p = providerOf(request.url);
    inFlight[p]++;
    peak[p] = Math.max(peak[p], inFlight[p]);
  });
  emulator.app.addHook("onResponse", async (request) => {
    if (!request.url.startsWith("/_emulator")) inFlight[providerOf(request.url)]--;
  });
  url = await emulator.start(0);
});

afterAll(async () => {
  await emulator.stop();
});

const open: Providers[] = [];
beforeEach(async () => {
  await admin("POST", "/_emulator/reset");
  await admin("POST", "/_emulator/config", { ttftMs: 0 });
  peak.openai = peak.anthropic = 0;
});
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

async function admin(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.ok).toBe(true);
  return res.json();
}
const fault = (spec: Record<string, unknown>) => admin("POST", "/_emulator/faults", spec);
const stats = (): Promise<StatsSnapshot> => admin("GET", "/_emulator/stats");

const logs: { level: string; msg?: string; o: object }[] = [];
const logger = {
  warn: (o: object, msg?: string) => logs.push({ level: "warn", o, msg }),
  info: (o: object, msg?: string) => logs.push({ level: "info", o, msg }),
  debug: (o: object, msg?: string) => logs.push({ level: "debug", o, msg }),
};

function make(env: Record<string, string> = {}): Providers {
  const config = providersConfigSchema.parse({
    EMULATOR_URL: url,
    PROVIDER_RETRY_INITIAL_MS: "20",
    PROVIDER_RETRY_MAX_MS: "50",
    ...env,
  });
  const p = createProviders(config, { catalog, logger });
  open.push(p);
  return p;
}

const question = [
  { role: "system", content: "You are a concise assistant for a cost-optimisation team." },
  { role: "user", content: "How do I cut the cost of my LLM calls?" },
];

describe("providers against the emulator", () => {
  it("answers an OpenAI chat call with content and the usage the provider billed", async () => {
    const r = await make().chat({ model: "gpt-4o-mini", messages: question, maxTokens: 60, temperature: 0.2 });
    expect(r.content.length).toBeGreaterThan(0);
    expect(r).toMatchObject({ model: "gpt-4o-mini", provider: "openai", attempts: 1, fellBackFrom: null });
    expect(["stop", "length"]).toContain(r.finishReason);
    expect(r.usage.inputTokens).toBe(countChatTokens(question, "gpt-4o-mini"));
    expect(r.usage.outputTokens).toBeGreaterThan(0);
    expect(r.usage.outputTokens).toBeLessThanOrEqual(60);
    const s = await stats();
    expect(s.byModel["gpt-4o-mini"]).toMatchObject({ requests: 1, inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens });
  });

  it("answers an Anthropic chat call, with system messages sent as `system`", async () => {
    const r = await make().chat({ model: "claude-haiku-4-5", messages: question, temperature: 0.2 });
    expect(r.content.length).toBeGreaterThan(0);
    expect(r).toMatchObject({ model: "claude-haiku-4-5", provider: "anthropic", attempts: 1, fellBackFrom: null, finishReason: "stop" });
    expect(r.usage.inputTokens).toBe(countChatTokens(question, "claude-haiku-4-5"));
    expect(r.usage.cachedInputTokens).toBe(0);
    const s = await stats();
    expect(s.byModel["claude-haiku-4-5"]).toMatchObject({ requests: 1, inputTokens: r.usage.inputTokens, outputTokens: r.usage.outputTokens });
  });

  it("sends reasoning models max_completion_tokens and no temperature (the API refuses both otherwise)", async () => {
    const r = await make().chat({ model: "gpt-5-mini", messages: question, maxTokens: 50, temperature: 0.2 });
    expect(r.content.length).toBeGreaterThan(0);
    expect(r.usage.outputTokens).toBeLessThanOrEqual(50);
  });

  it("retries a 429 storm, honouring retry-after: 0, and succeeds on the fourth attempt", async () => {
    await fault({ kind: "429", count: 3, retryAfterSeconds: 0 });
    // A backoff of 5 s would show if the provider's hint were ignored.
    const started = Date.now();
    const r = await make({ PROVIDER_RETRY_INITIAL_MS: "5000", PROVIDER_RETRY_MAX_MS: "5000" }).chat({ model: "gpt-4o", messages: question });
    expect(r.attempts).toBe(4);
    expect(r.content.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await stats()).faultsInjected).toEqual({ "429:chat": 3 });
  });

  it("retries an Anthropic 429 storm the same way", async () => {
    await fault({ kind: "429", count: 2, retryAfterSeconds: 0, paths: ["messages"] });
    const r = await make().chat({ model: "claude-sonnet-4-5", messages: question });
    expect(r.attempts).toBe(3);
  });

  it("answers with the fallback model when the requested one keeps failing with 500", async () => {
    await fault({ kind: "500", count: 4, paths: ["chat"] });
    const r = await make({ FALLBACK_MODELS: "gpt-4o=gpt-4o-mini" }).chat({ model: "gpt-4o", messages: question });
    expect(r).toMatchObject({ model: "gpt-4o-mini", provider: "openai", fellBackFrom: "gpt-4o", attempts: 5 });
    expect(r.content.length).toBeGreaterThan(0);
    expect(r.usage.inputTokens).toBe(countChatTokens(question, "gpt-4o-mini"));
    expect(logs.some((l) => l.level === "warn" && (l.o as { fallbackModel?: string }).fallbackModel === "gpt-4o-mini")).toBe(true);
  });

  it("falls back across providers when one is down for good", async () => {
    await fault({ kind: "500", rate: 1, paths: ["messages"] });
    const r = await make({ FALLBACK_MODELS: "claude-sonnet-4-5=gpt-4o-mini", PROVIDER_MAX_ATTEMPTS: "3" }).chat({
      model: "claude-sonnet-4-5",
      messages: question,
    });
    expect(r).toMatchObject({ model: "gpt-4o-mini", provider: "openai", fellBackFrom: "claude-sonnet-4-5", attempts: 4 });
  });

  it("throws the last transient error when a persistent 500 has no fallback", async () => {
    await fault({ kind: "500", rate: 1, paths: ["chat"] });
    const err = await make({ PROVIDER_MAX_ATTEMPTS: "3" })
      .chat({ model: "gpt-4o", messages: question })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect((err as ProviderUnavailableError).status).toBe(500);
    expect((await stats()).faultsInjected).toEqual({ "500:chat": 3 });
  });

  it("retries a malformed body", async () => {
    await fault({ kind: "malformed", count: 1 });
    const r = await make().chat({ model: "gpt-4o-mini", messages: question });
    expect(r.attempts).toBe(2);
    expect(r.content.length).toBeGreaterThan(0);
  });

  it("rejects an unknown model without any HTTP call", async () => {
    const p = make();
    await expect(p.chat({ model: "gpt-7-turbo", messages: question })).rejects.toBeInstanceOf(UnknownModelError);
    expect((await stats()).requests).toBe(0);
  });

  it("calls a model the catalog does not list under the serve policy, with its real token counts", async () => {
    // A provider that already serves a model the price catalog has not caught up with.
    const newer = createEmulator({ openAiModels: [...DEFAULT_OPENAI_CHAT_MODELS, "gpt-6-nova"] });
    const newerUrl = await newer.start(0);
    try {
      const config = providersConfigSchema.parse({ EMULATOR_URL: newerUrl, UNPRICED_MODELS: "serve" });
      const p = createProviders(config, { catalog: withUnpricedPolicy(catalog, config.UNPRICED_MODELS), logger });
      open.push(p);
      const r = await p.chat({ model: "gpt-6-nova", messages: question });
      expect(r).toMatchObject({ model: "gpt-6-nova", provider: "openai" });
      expect(r.usage.inputTokens).toBeGreaterThan(0);
      expect(r.usage.outputTokens).toBeGreaterThan(0);
      // Under reject the same model never reaches the provider.
      const strict = createProviders(providersConfigSchema.parse({ EMULATOR_URL: newerUrl, UNPRICED_MODELS: "reject" }), { catalog, logger });
      open.push(strict);
      await expect(strict.chat({ model: "gpt-6-nova", messages: question })).rejects.toBeInstanceOf(UnknownModelError);
    } finally {
      await newer.stop();
    }
  });

  it("keeps at most the configured number of requests open per provider", async () => {
    await admin("POST", "/_emulator/config", { ttftMs: 150 });
    const p = make({ OPENAI_CONCURRENCY: "3", ANTHROPIC_CONCURRENCY: "2" });
    const calls = [
      ...Array.from({ length: 12 }, (_, i) => p.chat({ model: "gpt-4o-mini", messages: [{ role: "user", content: `q${i}` }] })),
      ...Array.from({ length: 6 }, (_, i) => p.chat({ model: "claude-haiku-4-5", messages: [{ role: "user", content: `q${i}` }] })),
    ];
    const results = await Promise.all(calls);
    expect(results).toHaveLength(18);
    expect(peak).toEqual({ openai: 3, anthropic: 2 });
    // Queued calls wait for a slot: 12 calls through 3 slots take at least 4 rounds of 150 ms.
    expect(Math.max(...results.slice(0, 12).map((r) => r.latencyMs))).toBeGreaterThanOrEqual(550);
  });

  it("times out each attempt at PROVIDER_TIMEOUT_MS and throws ProviderTimeoutError after the retries", async () => {
    await fault({ kind: "timeout", count: 3, timeoutMs: 10_000 });
    const started = Date.now();
    const err = await make({ PROVIDER_TIMEOUT_MS: "300", PROVIDER_MAX_ATTEMPTS: "3" })
      .chat({ model: "gpt-4o", messages: question })
      .catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(ProviderTimeoutError);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5000);
    expect((await stats()).faultsInjected).toEqual({ "timeout:chat": 3 });
  });

  it("embeds a batch of texts in input order with the billed token count", async () => {
    const p = make();
    const input = ["cheap models first", "cache the prompt prefix", "batch what can wait"];
    const r = await p.embed({ model: "text-embedding-3-small", input, dimensions: 256 });
    expect(r.vectors).toHaveLength(3);
    for (const v of r.vectors) expect(v).toHaveLength(256);
    const again = await p.embed({ model: "text-embedding-3-small", input: [input[2]!], dimensions: 256 });
    expect(again.vectors[0]).toEqual(r.vectors[2]);
    const s = await stats();
    expect(r.usage.inputTokens).toBeGreaterThan(0);
    expect(s.byModel["text-embedding-3-small"]!.inputTokens).toBe(r.usage.inputTokens + again.usage.inputTokens);
  });
});

describe("tools and structured output through both official SDKs", () => {
  const schema = { type: "object", properties: { city: { type: "string" }, days: { type: "integer", minimum: 1, maximum: 3 } }, required: ["city", "days"] };
  const tools = [{ name: "get_weather", description: "Weather forecast for a city", parameters: JSON.stringify(schema), strict: null }];

  it.each(["gpt-4o-mini", "claude-haiku-4-5"])("%s: a tool call, its result answered in text, and a JSON-schema answer", async (model) => {
    const p = make();
    const question = { role: "user", content: "What is the weather in Oslo?" };
    const first = await p.chat({ model, messages: [question], tools, toolChoice: { mode: "required", name: null }, maxTokens: 300 });
    expect(first.finishReason).toBe("tool_calls");
    expect(first.toolCalls).toHaveLength(1);
    const call = first.toolCalls[0]!;
    expect(call.name).toBe("get_weather");
    expect(Object.keys(JSON.parse(call.arguments)).sort()).toEqual(["city", "days"]);
    const second = await p.chat({ model, messages: [question, { role: "assistant", content: "", tool_calls: [call] }, { role: "tool", content: "sunny, 21C", tool_call_id: call.id }], tools, maxTokens: 1000 });
    expect(second.finishReason).toBe("stop");
    expect(second.toolCalls).toEqual([]);
    expect(second.content.length).toBeGreaterThan(0);
    const json = await p.chat({ model, messages: [{ role: "user", content: "Forecast for Bergen" }], responseFormat: { type: "json_schema", name: "forecast", schema: JSON.stringify(schema), strict: true }, maxTokens: 300 });
    expect(json.finishReason).toBe("stop");
    expect(Object.keys(JSON.parse(json.content)).sort()).toEqual(["city", "days"]);
  });
});
