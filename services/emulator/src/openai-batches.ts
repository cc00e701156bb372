import type { BatchTiming } from "./config.ts";
import { openAiError, ProviderHttpError, type OpenAiErrorObject } from "./errors.ts";
import { fileNotFound, type FileStore } from "./files.ts";
import { fnv1a32, mulberry32, permutation, randomId } from "./hash.ts";
import { openAiBatchCancellable, openAiBatchPhase, type BatchTimeline, type OpenAiBatchPhase, type OpenAiBatchStatus } from "./batch-lifecycle.ts";

export const OPENAI_BATCH_ENDPOINTS = ["/v1/chat/completions", "/v1/embeddings"] as const;
export type OpenAiBatchEndpoint = (typeof OPENAI_BATCH_ENDPOINTS)[number];
const WINDOW_MS = 24 * 3600_000;
/** Validation errors reported per failed batch (the API also truncates the list). */
const MAX_REPORTED_ERRORS = 100;

export interface BatchErrorData {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

/** Runs one batch line; the server wires it to the same code as the synchronous endpoints. */
export interface OpenAiLineExecutor {
  /** Per-line checks done up front (unknown model, invalid body): failures go to the error file. */
  prepare(endpoint: OpenAiBatchEndpoint, body: Record<string, unknown>): { ok: true; request: unknown } | { ok: false; status: number; error: OpenAiErrorObject };
  /** Produces the response body; may throw ProviderHttpError for a late per-line failure. */
  execute(endpoint: OpenAiBatchEndpoint, request: unknown, now: number): object;
}

interface PreparedLine {
  customId: string;
  request: unknown;
  failure: { status: number; error: OpenAiErrorObject } | null;
  injectedFailure: boolean;
}

interface OpenAiBatchRecord {
  id: string;
  endpoint: OpenAiBatchEndpoint;
  inputFileId: string;
  completionWindow: string;
  metadata: Record<string, string> | null;
  timeline: BatchTimeline;
  validationErrors: BatchErrorData[];
  lines: PreparedLine[];
  /** Random processing order; results appear in the output files in this order. */
  order: Uint32Array;
  /** Result lines in processing order (JSONL text) and whether each one failed. */
  results: string[];
  failedPrefix: Uint32Array;
  outputFileId: string | null;
  errorFileId: string | null;
  materialized: boolean;
  /** request_counts once the batch reached a terminal status. */
  finalCounts: { completed: number; failed: number };
}

export interface OpenAiBatchObject {
  id: string;
  object: "batch";
  endpoint: string;
  errors: { object: "list"; data: BatchErrorData[] } | null;
  input_file_id: string;
  completion_window: string;
  status: OpenAiBatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
}

export interface OpenAiBatchStoreOptions {
  files: FileStore;
  executor: OpenAiLineExecutor;
  maxBatches: number;
  maxRequests: number;
  maxFileBytes: number;
  seed: number;
}

export interface CreateBatchInput {
  input_file_id?: unknown;
  endpoint?: unknown;
  completion_window?: unknown;
  metadata?: unknown;
}

const seconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

/** Parses and checks a JSONL batch input the way the Batch API's validation step does. */
export function validateBatchInput(
  content: Buffer,
  endpoint: OpenAiBatchEndpoint,
  limits: { maxRequests: number; maxFileBytes: number },
): { errors: BatchErrorData[]; lines: { customId: string; body: Record<string, unknown> }[] } {
  const errors: BatchErrorData[] = [];
  const lines: { customId: string; body: Record<string, unknown> }[] = [];
  if (content.length > limits.maxFileBytes) {
    return { errors: [{ code: "file_too_large", message: `The input file is larger than the ${limits.maxFileBytes} byte limit for batches.`, param: null, line: null }], lines };
  }
  const rawLines = content.toString("utf8").split("\n");
  while (rawLines.length > 0 && rawLines[rawLines.length - 1]!.trim() === "") rawLines.pop();
  if (rawLines.length === 0) return { errors: [{ code: "empty_file", message: "The batch input file is empty.", param: null, line: null }], lines };
  if (rawLines.length > limits.maxRequests) {
    return {
      errors: [{ code: "too_many_tasks", message: `The batch input file contains ${rawLines.length} requests, more than the limit of ${limits.maxRequests}.`, param: null, line: null }],
      lines,
    };
  }
  const seen = new Set<string>();
  rawLines.forEach((raw, i) => {
    const line = i + 1;
    const report = (code: string, message: string, param: string | null = null) => {
      if (errors.length < MAX_REPORTED_ERRORS) errors.push({ code, message, param, line });
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      report("invalid_json_line", "This line is not parseable as valid JSON.");
      return;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      report("invalid_json_line", "This line is not a JSON object.");
      return;
    }
    const entry = parsed as Record<string, unknown>;
    const customId = entry["custom_id"];
    if (typeof customId !== "string" || customId.length === 0) {
      report("missing_required_parameter", "Missing required parameter: 'custom_id'.", "custom_id");
      return;
    }
    if (seen.has(customId)) {
      report("duplicate_custom_id", "The custom_id for this request is a duplicate of another request. The custom_id parameter must be unique for each request in a batch.", "custom_id");
      return;
    }
    seen.add(customId);
    if (entry["method"] !== "POST") {
      report(entry["method"] === undefined ? "missing_required_parameter" : "invalid_method", "The method for each request must be 'POST'.", "method");
      return;
    }
    if (entry["url"] !== endpoint) {
      report("url_mismatch", `The provided URL '${String(entry["url"])}' does not match the batch endpoint '${endpoint}'.`, "url");
      return;
    }
    const body = entry["body"];
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      report("missing_required_parameter", "Missing required parameter: 'body'.", "body");
      return;
    }
    lines.push({ customId, body: body as Record<string, unknown> });
  });
  return { errors, lines };
}

/** OpenAI Files + Batch API state: lifecycle is derived from time on every read. */
export class OpenAiBatchStore {
  private readonly batches = new Map<string, OpenAiBatchRecord>();

  constructor(private readonly options: OpenAiBatchStoreOptions) {}

  create(input: CreateBatchInput, timing: BatchTiming, now: number): OpenAiBatchObject {
    const inputFileId = input.input_file_id;
    if (typeof inputFileId !== "string" || inputFileId.length === 0) {
      throw openAiError(400, "Missing required parameter: 'input_file_id'.", { param: "input_file_id", code: "missing_required_parameter" });
    }
    const endpoint = input.endpoint;
    if (typeof endpoint !== "string") {
      throw openAiError(400, "Missing required parameter: 'endpoint'.", { param: "endpoint", code: "missing_required_parameter" });
    }
    if (!(OPENAI_BATCH_ENDPOINTS as readonly string[]).includes(endpoint)) {
      throw openAiError(400, `Invalid value: '${endpoint}'. Supported values are: ${OPENAI_BATCH_ENDPOINTS.map((e) => `'${e}'`).join(", ")}.`, {
        param: "endpoint",
        code: "invalid_value",
      });
    }
    if (input.completion_window !== "24h") {
      throw openAiError(400, `Invalid value: '${String(input.completion_window)}'. Supported values are: '24h'.`, { param: "completion_window", code: "invalid_value" });
    }
    const metadata = parseMetadata(input.metadata);
    const file = this.options.files.get(inputFileId);
    if (!file) throw fileNotFound(inputFileId);
    if (file.purpose !== "batch") {
      throw openAiError(400, `The input file must have purpose 'batch', but ${inputFileId} has purpose '${file.purpose}'.`, { param: "input_file_id" });
    }
    this.evictIfFull(now);
    const id = `batch_${randomId("", 32).toLowerCase()}`;
    const rng = mulberry32((this.options.seed ^ fnv1a32(id)) >>> 0);
    const checked = validateBatchInput(file.content, endpoint as OpenAiBatchEndpoint, this.options);
    const validationFailed = checked.errors.length > 0;
    const lines: PreparedLine[] = validationFailed
      ? []
      : checked.lines.map(({ customId, body }) => {
          const prepared = this.options.executor.prepare(endpoint as OpenAiBatchEndpoint, body);
          const injectedFailure = rng() < timing.lineErrorRate;
          return prepared.ok
            ? { customId, request: prepared.request, failure: null, injectedFailure }
            : { customId, request: null, failure: { status: prepared.status, error: prepared.error }, injectedFailure: false };
        });
    const record: OpenAiBatchRecord = {
      id,
      endpoint: endpoint as OpenAiBatchEndpoint,
      inputFileId,
      completionWindow: "24h",
      metadata,
      timeline: {
        createdAt: now,
        validatingMs: timing.validatingMs,
        inProgressMs: timing.inProgressMs,
        finalizingMs: timing.finalizingMs,
        total: lines.length,
        validationFailed,
        expire: timing.expire,
        cancelRequestedAt: null,
      },
      validationErrors: checked.errors,
      lines,
      order: permutation(lines.length, rng),
      results: [],
      failedPrefix: new Uint32Array(lines.length + 1),
      outputFileId: null,
      errorFileId: null,
      materialized: false,
      finalCounts: { completed: 0, failed: 0 },
    };
    this.batches.set(id, record);
    return this.view(record, now);
  }

  retrieve(id: string, now: number): OpenAiBatchObject {
    return this.view(this.require(id), now);
  }

  cancel(id: string, now: number): OpenAiBatchObject {
    const record = this.require(id);
    if (!openAiBatchCancellable(record.timeline, now)) {
      const status = openAiBatchPhase(record.timeline, now).status;
      if (status === "cancelling" || status === "cancelled") return this.view(record, now);
      throw openAiError(409, `Cannot cancel a batch with status '${status}'.`, { code: "batch_not_cancellable" });
    }
    record.timeline = { ...record.timeline, cancelRequestedAt: now };
    return this.view(record, now);
  }

  /** Newest first, cursor-paginated by `after` like the API. */
  list(params: { after?: string | undefined; limit?: number | undefined }, now: number): { object: "list"; data: OpenAiBatchObject[]; first_id: string | null; last_id: string | null; has_more: boolean } {
    const all = [...this.batches.values()].reverse();
    const start = params.after ? all.findIndex((b) => b.id === params.after) + 1 : 0;
    const limit = Math.min(Math.max(params.limit ?? 20, 1), 100);
    const page = all.slice(start, start + limit).map((record) => this.view(record, now));
    return { object: "list", data: page, first_id: page[0]?.id ?? null, last_id: page[page.length - 1]?.id ?? null, has_more: start + limit < all.length };
  }

  /**
   * Computes up to `budget` result lines ahead of time for batches still running, so that
   * finishing a large batch does not compute every line in one request. Returns lines done.
   */
  work(budget: number, now: number): number {
    let done = 0;
    for (const record of this.batches.values()) {
      if (done >= budget) break;
      if (record.materialized || record.timeline.cancelRequestedAt !== null) continue;
      const target = Math.min(record.lines.length, record.results.length + (budget - done));
      done += target - record.results.length;
      this.computeUpTo(record, target, now);
    }
    return done;
  }

  /** Whether any batch still has lines to compute ahead. */
  hasPendingWork(): boolean {
    for (const record of this.batches.values()) {
      if (!record.materialized && record.timeline.cancelRequestedAt === null && record.results.length < record.lines.length) return true;
    }
    return false;
  }

  clear(): void {
    this.batches.clear();
  }

  get size(): number {
    return this.batches.size;
  }

  private require(id: string): OpenAiBatchRecord {
    const record = this.batches.get(id);
    if (!record) throw openAiError(404, `No batch found with id '${id}'.`, { param: "batch_id" });
    return record;
  }

  private evictIfFull(now: number): void {
    if (this.batches.size < this.options.maxBatches) return;
    for (const record of this.batches.values()) {
      if (openAiBatchPhase(record.timeline, now).terminal) {
        this.batches.delete(record.id);
        return;
      }
    }
    throw openAiError(429, `Too many unfinished batches (limit ${this.options.maxBatches}); wait for some to finish.`, { type: "requests", code: "rate_limit_exceeded" });
  }

  private computeUpTo(record: OpenAiBatchRecord, count: number, now: number): void {
    for (let k = record.results.length; k < count; k++) {
      const line = record.lines[record.order[k]!]!;
      const { text, failed } = this.runLine(record, line, now);
      record.results.push(text);
      record.failedPrefix[k + 1] = record.failedPrefix[k]! + (failed ? 1 : 0);
    }
  }

  private runLine(record: OpenAiBatchRecord, line: PreparedLine, now: number): { text: string; failed: boolean } {
    const id = randomId("batch_req_", 24);
    const requestId = randomId("", 32).toLowerCase();
    const failure = (status: number, error: OpenAiErrorObject) => ({
      text: JSON.stringify({ id, custom_id: line.customId, response: { status_code: status, request_id: requestId, body: { error } }, error: null }),
      failed: true,
    });
    if (line.failure) return failure(line.failure.status, line.failure.error);
    if (line.injectedFailure) {
      return failure(500, { message: "The server had an error processing your request. Sorry about that!", type: "server_error", param: null, code: null });
    }
    try {
      const body = this.options.executor.execute(record.endpoint, line.request, now);
      return { text: JSON.stringify({ id, custom_id: line.customId, response: { status_code: 200, request_id: requestId, body }, error: null }), failed: false };
    } catch (error) {
      if (error instanceof ProviderHttpError && "message" in error.body.error && "param" in error.body.error) {
        return failure(error.statusCode, error.body.error);
      }
      throw error;
    }
  }

  private materialize(record: OpenAiBatchRecord, phase: OpenAiBatchPhase, now: number): void {
    record.materialized = true;
    if (record.timeline.validationFailed) return;
    this.computeUpTo(record, phase.processed, now);
    const output: string[] = [];
    const errors: string[] = [];
    for (let k = 0; k < phase.processed; k++) {
      const failed = record.failedPrefix[k + 1]! > record.failedPrefix[k]!;
      (failed ? errors : output).push(record.results[k]!);
    }
    const unfinished =
      phase.status === "expired"
        ? { code: "batch_expired", message: "This request could not be executed before the completion window expired." }
        : { code: "batch_cancelled", message: "This request was not executed because the batch was cancelled." };
    for (let k = phase.processed; k < record.lines.length; k++) {
      const line = record.lines[record.order[k]!]!;
      errors.push(JSON.stringify({ id: randomId("batch_req_", 24), custom_id: line.customId, response: null, error: unfinished }));
    }
    if (output.length > 0) {
      record.outputFileId = this.options.files.add({ filename: "batch_output.jsonl", purpose: "batch_output", content: Buffer.from(`${output.join("\n")}\n`) }, now).id;
    }
    if (errors.length > 0) {
      record.errorFileId = this.options.files.add({ filename: "batch_error.jsonl", purpose: "batch_output", content: Buffer.from(`${errors.join("\n")}\n`) }, now).id;
    }
    // Requests that did not finish count as failed: they are reported in the error file.
    record.finalCounts = { completed: output.length, failed: errors.length };
    // Per-line results now live in the files; drop the working copies.
    record.results = [];
    record.lines = [];
  }

  private view(record: OpenAiBatchRecord, now: number): OpenAiBatchObject {
    const phase = openAiBatchPhase(record.timeline, now);
    if (phase.terminal && !record.materialized) this.materialize(record, phase, now);
    const total = record.timeline.total;
    let completed = 0;
    let failed = 0;
    if (record.materialized) {
      ({ completed, failed } = record.finalCounts);
    } else if (phase.status !== "validating") {
      this.computeUpTo(record, phase.processed, now);
      failed = record.failedPrefix[phase.processed]!;
      completed = phase.processed - failed;
    }
    const showTotal = phase.status === "validating" || phase.status === "failed" ? 0 : total;
    return {
      id: record.id,
      object: "batch",
      endpoint: record.endpoint,
      errors: record.validationErrors.length > 0 && phase.status === "failed" ? { object: "list", data: record.validationErrors } : null,
      input_file_id: record.inputFileId,
      completion_window: record.completionWindow,
      status: phase.status,
      output_file_id: record.outputFileId,
      error_file_id: record.errorFileId,
      created_at: Math.floor(record.timeline.createdAt / 1000),
      in_progress_at: seconds(phase.inProgressAt),
      expires_at: Math.floor((record.timeline.createdAt + WINDOW_MS) / 1000),
      finalizing_at: seconds(phase.finalizingAt),
      completed_at: seconds(phase.completedAt),
      failed_at: seconds(phase.failedAt),
      expired_at: seconds(phase.expiredAt),
      cancelling_at: seconds(phase.cancellingAt),
      cancelled_at: seconds(phase.cancelledAt),
      request_counts: { total: showTotal, completed: showTotal === 0 ? 0 : completed, failed: showTotal === 0 ? 0 : failed },
      metadata: record.metadata,
    };
  }
}

function parseMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "object" || Array.isArray(value)) throw openAiError(400, "Invalid type for 'metadata': expected an object.", { param: "metadata", code: "invalid_type" });
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 16) throw openAiError(400, "Invalid 'metadata': too many properties. Expected an object with at most 16 properties.", { param: "metadata", code: "object_above_max_properties" });
  for (const [key, v] of entries) {
    if (key.length > 64) throw openAiError(400, `Invalid 'metadata': key '${key}' is longer than 64 characters.`, { param: "metadata", code: "invalid_value" });
    if (typeof v !== "string" || v.length > 512) throw openAiError(400, `Invalid 'metadata.${key}': expected a string of at most 512 characters.`, { param: `metadata.${key}`, code: "invalid_value" });
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
