import Anthropic from "@anthropic-ai/sdk";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createEmulator, type Emulator } from "./index.ts";

// The official SDKs, pointed at the emulator exactly as costwise points them at it: if these
// parse every answer without special casing, so will costwise's provider adapters.
let emulator: Emulator;
let url: string;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  emulator = createEmulator({ batch: { validatingMs: 50, inProgressMs: 300, finalizingMs: 50 } });
  url = await emulator.start(0);
  openai = new OpenAI({ apiKey: "test", baseURL: `${url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: "test", baseURL: url, maxRetries: 0 });
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(async () => {
  await fetch(`${url}/_emulator/reset`, { method: "POST" });
  await fetch(`${url}/_emulator/config`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ batch: { validatingMs: 50, inProgressMs: 300, finalizingMs: 50 } }),
  });
});

async function armFault(spec: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/_emulator/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(spec) });
  expect(res.status).toBe(201);
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("OpenAI SDK against the emulator", () => {
  it("creates chat completions deterministically, with usage", async () => {
    const params = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "How can I reduce my LLM costs?" }], max_tokens: 60 };
    const first = await openai.chat.completions.create(params);
    const second = await openai.chat.completions.create(params);
    expect(first.id).toMatch(/^chatcmpl-/);
    expect(first.model).toBe("gpt-4o-mini");
    expect(first.choices[0]!.message.role).toBe("assistant");
    expect(first.choices[0]!.message.content).toMatch(/^Regarding how can I reduce my LLM costs:/);
    expect(second.choices[0]!.message.content).toBe(first.choices[0]!.message.content);
    expect(first.usage!.prompt_tokens).toBeGreaterThan(8);
    expect(first.usage!.total_tokens).toBe(first.usage!.prompt_tokens + first.usage!.completion_tokens);
    expect(first._request_id).toMatch(/^req_/);
  });

  it("reports cached prompt tokens when a long prefix repeats", async () => {
    const system = "You are the costwise assistant. Follow the policy carefully. ".repeat(120);
    const ask = (q: string) =>
      openai.chat.completions.create({ model: "gpt-4.1-mini", messages: [{ role: "system", content: system }, { role: "user", content: q }] });
    const cold = await ask("First question");
    const warm = await ask("Second question");
    expect(cold.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    expect(warm.usage!.prompt_tokens_details!.cached_tokens).toBeGreaterThanOrEqual(1024);
    expect(warm.usage!.prompt_tokens_details!.cached_tokens).toBeLessThanOrEqual(warm.usage!.prompt_tokens);
  });

  it("streams chat completions with a final usage chunk", async () => {
    const stream = await openai.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Stream me an answer" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toMatch(/^Regarding stream me an answer:/);
    expect(finish).toBe("stop");
    expect(usage!.completion_tokens).toBeGreaterThan(0);
    const plain = await openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "Stream me an answer" }] });
    expect(text).toBe(plain.choices[0]!.message.content);
  });

  it("creates embeddings (the SDK's default base64 encoding and explicit dimensions)", async () => {
    const response = await openai.embeddings.create({ model: "text-embedding-3-small", input: ["cheap llm inference", "reduce llm inference cost", "a cat on a mat"] });
    expect(response.data).toHaveLength(3);
    const [a, b, c] = response.data.map((d) => d.embedding);
    expect(a).toHaveLength(1536);
    const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
    expect(dot(a!, a!)).toBeCloseTo(1, 4);
    expect(dot(a!, b!)).toBeGreaterThan(dot(a!, c!));
    expect(response.usage.prompt_tokens).toBeGreaterThan(0);
    const small = await openai.embeddings.create({ model: "text-embedding-3-large", input: "hello", dimensions: 256, encoding_format: "float" });
    expect(small.data[0]!.embedding).toHaveLength(256);
  });

  it("runs a batch through files.create → batches.create → retrieve → files.content", async () => {
    const lines = Array.from({ length: 12 }, (_, i) =>
      JSON.stringify({ custom_id: `q-${i}`, method: "POST", url: "/v1/chat/completions", body: { model: "gpt-4o-mini", messages: [{ role: "user", content: `Question ${i}` }], max_tokens: 30 } }),
    );
    lines.push(JSON.stringify({ custom_id: "q-bad", method: "POST", url: "/v1/chat/completions", body: { model: "gpt-0", messages: [{ role: "user", content: "x" }] } }));
    const file = await openai.files.create({ file: await toFile(Buffer.from(lines.join("\n")), "batch.jsonl"), purpose: "batch" });
    expect(file).toMatchObject({ object: "file", purpose: "batch", filename: "batch.jsonl" });
    expect((await openai.files.retrieve(file.id)).bytes).toBe(Buffer.byteLength(lines.join("\n")));

    const batch = await openai.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h", metadata: { run: "int" } });
    expect(batch.status).toBe("validating");
    const done = await until(() => openai.batches.retrieve(batch.id), (b) => b.status === "completed");
    expect(done.request_counts).toEqual({ total: 13, completed: 12, failed: 1 });
    expect(done.metadata).toEqual({ run: "int" });

    const output = (await (await openai.files.content(done.output_file_id!)).text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(output.map((l: { custom_id: string }) => l.custom_id).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `q-${i}`).sort());
    expect(output[0].response.body.object).toBe("chat.completion");
    const errors = (await (await openai.files.content(done.error_file_id!)).text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(errors).toEqual([expect.objectContaining({ custom_id: "q-bad", response: expect.objectContaining({ status_code: 404 }) })]);

    const listed = await openai.batches.list({ limit: 10 });
    expect(listed.data.map((b) => b.id)).toContain(batch.id);
    expect((await openai.files.delete(file.id)).deleted).toBe(true);
  });

  it("cancels a batch and reports a failed batch for invalid input", async () => {
    await fetch(`${url}/_emulator/config`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ batch: { inProgressMs: 5_000 } }) });
    const line = JSON.stringify({ custom_id: "only", method: "POST", url: "/v1/chat/completions", body: { model: "gpt-4o", messages: [{ role: "user", content: "x" }] } });
    const file = await openai.files.create({ file: await toFile(Buffer.from(line), "one.jsonl"), purpose: "batch" });
    const batch = await openai.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    const cancelling = await openai.batches.cancel(batch.id);
    expect(cancelling.status).toBe("cancelling");
    expect((await until(() => openai.batches.retrieve(batch.id), (b) => b.status === "cancelled")).cancelled_at).not.toBeNull();

    const bad = await openai.files.create({ file: await toFile(Buffer.from(`${line}\n${line}`), "dup.jsonl"), purpose: "batch" });
    const failing = await openai.batches.create({ input_file_id: bad.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    const failed = await until(() => openai.batches.retrieve(failing.id), (b) => b.status === "failed");
    expect(failed.errors!.data![0]).toMatchObject({ code: "duplicate_custom_id", line: 2 });
  });

  it("maps errors to the SDK's error classes", async () => {
    await expect(openai.chat.completions.create({ model: "gpt-nope", messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(openai.chat.completions.create({ model: "gpt-4o", messages: [] })).rejects.toBeInstanceOf(OpenAI.BadRequestError);

    await armFault({ kind: "429", count: 1, retryAfterSeconds: 7, paths: ["chat"] });
    const limited = await openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers.get("retry-after")).toBe("7");
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).code).toBe("rate_limit_exceeded");

    await armFault({ kind: "500", count: 1 });
    await expect(openai.embeddings.create({ model: "text-embedding-3-small", input: "x" })).rejects.toBeInstanceOf(OpenAI.InternalServerError);

    await armFault({ kind: "malformed", count: 1 });
    await expect(openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] })).rejects.toThrow();

    await armFault({ kind: "timeout", count: 1, timeoutMs: 30_000 });
    const slow = new OpenAI({ apiKey: "test", baseURL: `${url}/v1`, maxRetries: 0, timeout: 300 });
    await expect(slow.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);

    const stats = (await (await fetch(`${url}/_emulator/stats`)).json()) as { faultsInjected: Record<string, number> };
    expect(stats.faultsInjected).toMatchObject({ "429:chat": 1, "500:embeddings": 1, "malformed:chat": 1, "timeout:chat": 1 });
  });

  it("retries 429s itself when the SDK's retries are enabled, honouring retry-after-ms", async () => {
    await armFault({ kind: "429", count: 2, retryAfterSeconds: 0.05 });
    const retrying = new OpenAI({ apiKey: "test", baseURL: `${url}/v1`, maxRetries: 2 });
    const completion = await retrying.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] });
    expect(completion.object).toBe("chat.completion");
  });
});

describe("Anthropic SDK against the emulator", () => {
  it("creates messages with disjoint usage classes", async () => {
    const message = await anthropic.messages.create({ model: "claude-sonnet-4-5", max_tokens: 40, messages: [{ role: "user", content: "What is prompt caching?" }] });
    expect(message.id).toMatch(/^msg_/);
    expect(message.type).toBe("message");
    expect(message.content[0]).toMatchObject({ type: "text" });
    expect((message.content[0] as Anthropic.TextBlock).text).toMatch(/^Regarding what is prompt caching:/);
    expect(["end_turn", "max_tokens"]).toContain(message.stop_reason);
    expect(message.usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(message._request_id).toMatch(/^req_/);
  });

  it("writes then reads the prompt cache for blocks marked with cache_control", async () => {
    const system: Anthropic.TextBlockParam[] = [
      { type: "text", text: "You answer questions about the attached handbook." },
      { type: "text", text: "Handbook section on budgets and spending limits. ".repeat(150), cache_control: { type: "ephemeral" } },
    ];
    const ask = (q: string) => anthropic.messages.create({ model: "claude-sonnet-4-5", max_tokens: 32, system, messages: [{ role: "user", content: q }] });
    const first = await ask("What is the budget?");
    const second = await ask("Who approves spending?");
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(1024);
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(second.usage.cache_creation_input_tokens).toBe(0);
    const counted = await anthropic.messages.countTokens({ model: "claude-sonnet-4-5", system, messages: [{ role: "user", content: "Who approves spending?" }] });
    expect(second.usage.input_tokens + (second.usage.cache_read_input_tokens ?? 0)).toBe(counted.input_tokens);
  });

  it("streams messages through the SDK's MessageStream", async () => {
    const stream = anthropic.messages.stream({ model: "claude-haiku-4-5", max_tokens: 50, messages: [{ role: "user", content: "Stream a reply" }] });
    let text = "";
    stream.on("text", (delta) => {
      text += delta;
    });
    const final = await stream.finalMessage();
    expect(text).toBe((final.content[0] as Anthropic.TextBlock).text);
    expect(final.usage.output_tokens).toBeGreaterThan(0);
    expect(final.usage.input_tokens).toBeGreaterThan(0);
    const plain = await anthropic.messages.create({ model: "claude-haiku-4-5", max_tokens: 50, messages: [{ role: "user", content: "Stream a reply" }] });
    expect(text).toBe((plain.content[0] as Anthropic.TextBlock).text);
  });

  it("maps errors to the SDK's error classes", async () => {
    await expect(anthropic.messages.create({ model: "claude-0", max_tokens: 5, messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await armFault({ kind: "429", count: 1, retryAfterSeconds: 3, paths: ["messages"] });
    const limited = await anthropic.messages.create({ model: "claude-haiku-4-5", max_tokens: 5, messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).headers?.get("retry-after")).toBe("3");
  });

  it("runs message batches: create → retrieve → results, and cancel", async () => {
    const requests = Array.from({ length: 8 }, (_, i) => ({
      custom_id: `m-${i}`,
      params: { model: "claude-haiku-4-5", max_tokens: 24, messages: [{ role: "user" as const, content: `Batch question ${i}` }] },
    }));
    requests.push({ custom_id: "m-bad", params: { model: "claude-0", max_tokens: 24, messages: [{ role: "user" as const, content: "x" }] } });
    const batch = await anthropic.messages.batches.create({ requests });
    expect(batch.processing_status).toBe("in_progress");
    const ended = await until(() => anthropic.messages.batches.retrieve(batch.id), (b) => b.processing_status === "ended");
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 8, errored: 1, canceled: 0, expired: 0 });
    expect(ended.results_url).toBe(`${url}/v1/messages/batches/${batch.id}/results`);

    const results: Anthropic.Messages.MessageBatchIndividualResponse[] = [];
    for await (const entry of await anthropic.messages.batches.results(batch.id)) results.push(entry);
    expect(results.map((r) => r.custom_id).sort()).toEqual([...requests.map((r) => r.custom_id)].sort());
    const bad = results.find((r) => r.custom_id === "m-bad")!;
    expect(bad.result).toMatchObject({ type: "errored", error: { type: "error", error: { type: "not_found_error" } } });
    const good = results.find((r) => r.custom_id === "m-0")!;
    expect(good.result.type).toBe("succeeded");

    const listed = await anthropic.messages.batches.list({ limit: 5 });
    expect(listed.data.map((b) => b.id)).toContain(batch.id);

    await fetch(`${url}/_emulator/config`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ batch: { inProgressMs: 5_000 } }) });
    const slow = await anthropic.messages.batches.create({ requests: requests.slice(0, 3) });
    const canceling = await anthropic.messages.batches.cancel(slow.id);
    expect(canceling.processing_status).toBe("canceling");
    const canceled = await until(() => anthropic.messages.batches.retrieve(slow.id), (b) => b.processing_status === "ended");
    expect(canceled.request_counts.canceled).toBe(3);
    const kinds: string[] = [];
    for await (const entry of await anthropic.messages.batches.results(slow.id)) kinds.push(entry.result.type);
    expect(kinds).toEqual(["canceled", "canceled", "canceled"]);
  });
});
