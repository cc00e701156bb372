import { describe, expect, it } from "vitest";
import { EmulatorOptionsSchema, type BatchTiming } from "./config.ts";
import type { ProviderHttpError } from "./errors.ts";
import { FileStore } from "./files.ts";
import { validateBatchInput } from "./openai-batches.ts";
import { createEmulatorState } from "./state.ts";

const timing: BatchTiming = { validatingMs: 100, inProgressMs: 1000, finalizingMs: 100, expire: false, lineErrorRate: 0 };

function setup(limits: Record<string, number> = {}) {
  const state = createEmulatorState(EmulatorOptionsSchema.parse({ limits }));
  return { files: state.files, store: state.openAiBatches };
}

const chatLine = (customId: string, model = "gpt-4o-mini", content = `question ${customId}`) =>
  JSON.stringify({ custom_id: customId, method: "POST", url: "/v1/chat/completions", body: { model, messages: [{ role: "user", content }], max_tokens: 20 } });

const upload = (files: FileStore, lines: string[], purpose = "batch") =>
  files.add({ filename: "in.jsonl", purpose, content: Buffer.from(`${lines.join("\n")}\n`) }, 0).id;

const parseJsonl = (files: FileStore, id: string | null) =>
  id === null
    ? []
    : files
        .get(id)!
        .content.toString()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { id: string; custom_id: string; response: { status_code: number; body: Record<string, unknown> } | null; error: { code: string } | null });

describe("validateBatchInput", () => {
  const limits = { maxRequests: 3, maxFileBytes: 10_000 };
  const check = (text: string) => validateBatchInput(Buffer.from(text), "/v1/chat/completions", limits).errors;

  it("reports invalid JSON, missing and duplicate custom_id and URL mismatches with line numbers", () => {
    expect(check(`${chatLine("a")}\nnot json\n`)).toEqual([{ code: "invalid_json_line", message: "This line is not parseable as valid JSON.", param: null, line: 2 }]);
    expect(check(JSON.stringify({ method: "POST", url: "/v1/chat/completions", body: {} }))[0]).toMatchObject({ code: "missing_required_parameter", param: "custom_id", line: 1 });
    expect(check(`${chatLine("a")}\n${chatLine("a")}`)[0]).toMatchObject({ code: "duplicate_custom_id", line: 2 });
    expect(check(JSON.stringify({ custom_id: "x", method: "POST", url: "/v1/embeddings", body: {} }))[0]).toMatchObject({ code: "url_mismatch", line: 1 });
  });

  it("enforces the request-count and size limits and rejects empty files", () => {
    expect(check([chatLine("a"), chatLine("b"), chatLine("c"), chatLine("d")].join("\n"))[0]).toMatchObject({ code: "too_many_tasks" });
    expect(validateBatchInput(Buffer.alloc(20_000, 32), "/v1/chat/completions", limits).errors[0]).toMatchObject({ code: "file_too_large" });
    expect(check("\n\n")[0]).toMatchObject({ code: "empty_file" });
    expect(check([chatLine("a"), chatLine("b")].join("\n"))).toEqual([]);
  });
});

describe("OpenAiBatchStore", () => {
  it("completes a batch: output lines in random order, unknown-model lines in the error file", () => {
    const { files, store } = setup();
    const ids = Array.from({ length: 30 }, (_, i) => `req-${i}`);
    const inputId = upload(files, [...ids.map((id) => chatLine(id)), chatLine("bad-model", "gpt-99")]);
    const created = store.create({ input_file_id: inputId, endpoint: "/v1/chat/completions", completion_window: "24h", metadata: { job: "t" } }, timing, 0);
    expect(created).toMatchObject({ object: "batch", status: "validating", request_counts: { total: 0, completed: 0, failed: 0 }, metadata: { job: "t" } });
    expect(created.id).toMatch(/^batch_/);

    expect(store.retrieve(created.id, 600)).toMatchObject({ status: "in_progress", request_counts: { total: 31 } });
    const done = store.retrieve(created.id, 1200);
    expect(done).toMatchObject({ status: "completed", request_counts: { total: 31, completed: 30, failed: 1 } });
    expect(done.completed_at).toBe(1);

    const output = parseJsonl(files, done.output_file_id);
    expect(output.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
    expect(output.map((l) => l.custom_id)).not.toEqual(ids);
    for (const line of output) {
      expect(line.id).toMatch(/^batch_req_/);
      expect(line.error).toBeNull();
      expect(line.response!.status_code).toBe(200);
      expect(line.response!.body).toMatchObject({ object: "chat.completion", model: "gpt-4o-mini" });
    }
    const errors = parseJsonl(files, done.error_file_id);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ custom_id: "bad-model", response: { status_code: 404, body: { error: { code: "model_not_found" } } }, error: null });
    expect(files.get(done.output_file_id!)!.purpose).toBe("batch_output");
  });

  it("gives the same answer in a batch as the synchronous endpoint would for the same request", () => {
    const { files, store } = setup();
    const inputId = upload(files, [chatLine("only", "gpt-4o-mini", "What is a batch?")]);
    const batch = store.create({ input_file_id: inputId, endpoint: "/v1/chat/completions", completion_window: "24h" }, timing, 0);
    const line = parseJsonl(files, store.retrieve(batch.id, 5000).output_file_id)[0]!;
    const body = line.response!.body as { choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content.startsWith("Regarding what is a batch:")).toBe(true);
  });

  it("fails the batch when the input file is invalid, listing the errors", () => {
    const { files, store } = setup();
    const inputId = upload(files, [chatLine("a"), "{oops"]);
    const batch = store.create({ input_file_id: inputId, endpoint: "/v1/chat/completions", completion_window: "24h" }, timing, 0);
    const failed = store.retrieve(batch.id, 150);
    expect(failed.status).toBe("failed");
    expect(failed.errors).toEqual({ object: "list", data: [{ code: "invalid_json_line", message: "This line is not parseable as valid JSON.", param: null, line: 2 }] });
    expect(failed.output_file_id).toBeNull();
    expect(failed.request_counts).toEqual({ total: 0, completed: 0, failed: 0 });
  });

  it("rejects bad create parameters synchronously", () => {
    const { files, store } = setup();
    const inputId = upload(files, [chatLine("a")]);
    const status = (input: Record<string, unknown>) => {
      try {
        store.create(input, timing, 0);
        return 200;
      } catch (error) {
        return (error as ProviderHttpError).statusCode;
      }
    };
    expect(status({ input_file_id: inputId, endpoint: "/v1/completions", completion_window: "24h" })).toBe(400);
    expect(status({ input_file_id: inputId, endpoint: "/v1/chat/completions", completion_window: "1h" })).toBe(400);
    expect(status({ input_file_id: "file-missing", endpoint: "/v1/chat/completions", completion_window: "24h" })).toBe(404);
    expect(status({ input_file_id: upload(files, [chatLine("a")], "assistants"), endpoint: "/v1/chat/completions", completion_window: "24h" })).toBe(400);
  });

  it("cancels: finished work is kept, the rest is reported as batch_cancelled", () => {
    const { files, store } = setup();
    const inputId = upload(files, Array.from({ length: 20 }, (_, i) => chatLine(`r${i}`)));
    const batch = store.create({ input_file_id: inputId, endpoint: "/v1/chat/completions", completion_window: "24h" }, timing, 0);
    expect(store.cancel(batch.id, 600).status).toBe("cancelling");
    const cancelled = store.retrieve(batch.id, 800);
    expect(cancelled).toMatchObject({ status: "cancelled", request_counts: { total: 20, completed: 10, failed: 10 } });
    expect(parseJsonl(files, cancelled.output_file_id)).toHaveLength(10);
    const errors = parseJsonl(files, cancelled.error_file_id);
    expect(errors.every((l) => l.error?.code === "batch_cancelled" && l.response === null)).toBe(true);
    expect(() => store.cancel(batch.id, 900)).not.toThrow();
  });

  it("expires when configured, and injects per-line failures at the configured rate", () => {
    const { files, store } = setup();
    const inputId = upload(files, Array.from({ length: 200 }, (_, i) => chatLine(`r${i}`)));
    const expiring = store.create({ input_file_id: inputId, endpoint: "/v1/chat/completions", completion_window: "24h" }, { ...timing, expire: true }, 0);
    const expired = store.retrieve(expiring.id, 5000);
    expect(expired.status).toBe("expired");
    expect(parseJsonl(files, expired.error_file_id).filter((l) => l.error?.code === "batch_expired")).toHaveLength(100);

    const flaky = store.create({ input_file_id: inputId, endpoint: "/v1/chat/completions", completion_window: "24h" }, { ...timing, lineErrorRate: 0.25 }, 0);
    const done = store.retrieve(flaky.id, 5000);
    expect(done.request_counts.failed).toBeGreaterThan(25);
    expect(done.request_counts.failed).toBeLessThan(80);
    expect(done.request_counts.completed + done.request_counts.failed).toBe(200);
    expect(parseJsonl(files, done.error_file_id).every((l) => l.response?.status_code === 500)).toBe(true);
  });

  it("runs embeddings batches and lists batches newest first with cursors", () => {
    const { files, store } = setup();
    const line = (id: string) => JSON.stringify({ custom_id: id, method: "POST", url: "/v1/embeddings", body: { model: "text-embedding-3-small", input: "hello", dimensions: 8 } });
    const inputId = upload(files, [line("e1")]);
    const a = store.create({ input_file_id: inputId, endpoint: "/v1/embeddings", completion_window: "24h" }, timing, 0);
    const b = store.create({ input_file_id: inputId, endpoint: "/v1/embeddings", completion_window: "24h" }, timing, 0);
    const out = parseJsonl(files, store.retrieve(a.id, 5000).output_file_id);
    expect((out[0]!.response!.body as { data: { embedding: number[] }[] }).data[0]!.embedding).toHaveLength(8);
    const page = store.list({ limit: 1 }, 5000);
    expect(page.data.map((x) => x.id)).toEqual([b.id]);
    expect(page.has_more).toBe(true);
    expect(store.list({ after: b.id }, 5000).data.map((x) => x.id)).toEqual([a.id]);
  });

  it("precomputes results in the background without changing what clients see", () => {
    const { files, store } = setup();
    const inputId = upload(files, Array.from({ length: 50 }, (_, i) => chatLine(`r${i}`)));
    const batch = store.create({ input_file_id: inputId, endpoint: "/v1/chat/completions", completion_window: "24h" }, timing, 0);
    expect(store.hasPendingWork()).toBe(true);
    expect(store.work(30, 0)).toBe(30);
    expect(store.retrieve(batch.id, 50).status).toBe("validating");
    store.work(100, 0);
    expect(store.hasPendingWork()).toBe(false);
    expect(store.retrieve(batch.id, 2000).request_counts).toEqual({ total: 50, completed: 50, failed: 0 });
  });
});
