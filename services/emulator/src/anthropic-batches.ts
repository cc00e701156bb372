import { anthropicBatchPhase, type AnthropicBatchPhase, type AnthropicProcessingStatus, type BatchTimeline } from "./batch-lifecycle.ts";
import type { BatchTiming } from "./config.ts";
import { anthropicError, ProviderHttpError, type AnthropicErrorObject } from "./errors.ts";
import { fnv1a32, mulberry32, permutation, randomId } from "./hash.ts";

const WINDOW_MS = 24 * 3600_000;
const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;

/** Runs one batch request; the server wires it to the same code as `POST /v1/messages`. */
export interface AnthropicLineExecutor {
  /** Request checks that Anthropic performs asynchronously: failures become `errored` results. */
  prepare(params: Record<string, unknown>): { ok: true; request: unknown } | { ok: false; error: AnthropicErrorObject };
  execute(request: unknown, now: number): object;
}

interface PreparedRequest {
  customId: string;
  request: unknown;
  failure: AnthropicErrorObject | null;
}

interface AnthropicBatchRecord {
  id: string;
  timeline: BatchTimeline;
  requests: PreparedRequest[];
  order: Uint32Array;
  /** Result lines in processing order, and how many of the first k errored. */
  results: string[];
  erroredPrefix: Uint32Array;
  /** Final JSONL once ended. */
  resultsJsonl: string | null;
  finalCounts: AnthropicRequestCounts | null;
}

export interface AnthropicRequestCounts {
  processing: number;
  succeeded: number;
  errored: number;
  canceled: number;
  expired: number;
}

export interface AnthropicBatchObject {
  id: string;
  type: "message_batch";
  processing_status: AnthropicProcessingStatus;
  request_counts: AnthropicRequestCounts;
  ended_at: string | null;
  created_at: string;
  expires_at: string;
  archived_at: null;
  cancel_initiated_at: string | null;
  results_url: string | null;
}

export interface AnthropicBatchStoreOptions {
  executor: AnthropicLineExecutor;
  maxBatches: number;
  maxRequests: number;
  seed: number;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Anthropic Message Batches state: lifecycle is derived from time on every read. */
export class AnthropicBatchStore {
  private readonly batches = new Map<string, AnthropicBatchRecord>();

  constructor(private readonly options: AnthropicBatchStoreOptions) {}

  create(body: unknown, timing: BatchTiming, now: number, baseUrl: string): AnthropicBatchObject {
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw anthropicError(400, "requests: Field required");
    const requests = (body as Record<string, unknown>)["requests"];
    if (requests === undefined) throw anthropicError(400, "requests: Field required");
    if (!Array.isArray(requests)) throw anthropicError(400, "requests: Input should be a valid list");
    if (requests.length === 0) throw anthropicError(400, "requests: List should have at least 1 item after validation, not 0");
    if (requests.length > this.options.maxRequests) {
      throw anthropicError(400, `requests: List should have at most ${this.options.maxRequests} items after validation, not ${requests.length}`);
    }
    const seen = new Set<string>();
    const entries = requests.map((entry: unknown, i) => {
      if (typeof entry !== "object" || entry === null) throw anthropicError(400, `requests.${i}: Input should be a valid dictionary`);
      const { custom_id: customId, params } = entry as Record<string, unknown>;
      if (typeof customId !== "string") throw anthropicError(400, `requests.${i}.custom_id: Field required`);
      if (!CUSTOM_ID.test(customId)) throw anthropicError(400, `requests.${i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`);
      if (seen.has(customId)) throw anthropicError(400, `Duplicate custom_id "${customId}" in requests: each request in a batch must have a unique custom_id.`);
      seen.add(customId);
      if (typeof params !== "object" || params === null || Array.isArray(params)) throw anthropicError(400, `requests.${i}.params: Field required`);
      return { customId, params: params as Record<string, unknown> };
    });
    this.evictIfFull(now);
    const id = randomId("msgbatch_01", 22);
    const rng = mulberry32((this.options.seed ^ fnv1a32(id)) >>> 0);
    const prepared: PreparedRequest[] = entries.map(({ customId, params }) => {
      const outcome = this.options.executor.prepare(params);
      if (!outcome.ok) return { customId, request: null, failure: outcome.error };
      if (rng() < timing.lineErrorRate) return { customId, request: null, failure: { type: "api_error", message: "Internal server error" } };
      return { customId, request: outcome.request, failure: null };
    });
    const record: AnthropicBatchRecord = {
      id,
      timeline: {
        createdAt: now,
        validatingMs: timing.validatingMs,
        inProgressMs: timing.inProgressMs,
        finalizingMs: timing.finalizingMs,
        total: prepared.length,
        validationFailed: false,
        expire: timing.expire,
        cancelRequestedAt: null,
      },
      requests: prepared,
      order: permutation(prepared.length, rng),
      results: [],
      erroredPrefix: new Uint32Array(prepared.length + 1),
      resultsJsonl: null,
      finalCounts: null,
    };
    this.batches.set(id, record);
    return this.view(record, now, baseUrl);
  }

  retrieve(id: string, now: number, baseUrl: string): AnthropicBatchObject {
    return this.view(this.require(id), now, baseUrl);
  }

  cancel(id: string, now: number, baseUrl: string): AnthropicBatchObject {
    const record = this.require(id);
    const phase = anthropicBatchPhase(record.timeline, now);
    if (phase.status === "ended") throw anthropicError(400, `Message batch ${id} has already ended and cannot be canceled.`);
    if (phase.status === "in_progress") record.timeline = { ...record.timeline, cancelRequestedAt: now };
    return this.view(record, now, baseUrl);
  }

  delete(id: string, now: number): { id: string; type: "message_batch_deleted" } {
    const record = this.require(id);
    if (anthropicBatchPhase(record.timeline, now).status !== "ended") {
      throw anthropicError(400, `Message batch ${id} cannot be deleted while it is still processing; cancel it first.`);
    }
    this.batches.delete(id);
    return { id, type: "message_batch_deleted" };
  }

  /** JSONL results; only available once the batch has ended. */
  results(id: string, now: number): string {
    const record = this.require(id);
    const phase = anthropicBatchPhase(record.timeline, now);
    if (phase.status !== "ended") throw anthropicError(400, `Message batch ${id} has not finished processing (processing_status: ${phase.status}).`);
    this.materialize(record, phase, now);
    return record.resultsJsonl ?? "";
  }

  /** Newest first; `after_id`/`before_id` cursors as in the API. */
  list(params: { limit?: number | undefined; after_id?: string | undefined; before_id?: string | undefined }, now: number, baseUrl: string) {
    const all = [...this.batches.values()].reverse();
    const limit = Math.min(Math.max(params.limit ?? 20, 1), 1000);
    let start = 0;
    let end = all.length;
    if (params.after_id) start = all.findIndex((b) => b.id === params.after_id) + 1;
    if (params.before_id) {
      end = Math.max(0, all.findIndex((b) => b.id === params.before_id));
      start = Math.max(0, end - limit);
    }
    const slice = all.slice(start, Math.min(end, start + limit));
    const data = slice.map((record) => this.view(record, now, baseUrl));
    const hasMore = params.before_id ? start > 0 : start + limit < end;
    return { data, has_more: hasMore, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
  }

  work(budget: number, now: number): number {
    let done = 0;
    for (const record of this.batches.values()) {
      if (done >= budget) break;
      if (record.resultsJsonl !== null || record.timeline.cancelRequestedAt !== null) continue;
      const target = Math.min(record.requests.length, record.results.length + (budget - done));
      done += target - record.results.length;
      this.computeUpTo(record, target, now);
    }
    return done;
  }

  hasPendingWork(): boolean {
    for (const record of this.batches.values()) {
      if (record.resultsJsonl === null && record.timeline.cancelRequestedAt === null && record.results.length < record.requests.length) return true;
    }
    return false;
  }

  clear(): void {
    this.batches.clear();
  }

  get size(): number {
    return this.batches.size;
  }

  private require(id: string): AnthropicBatchRecord {
    const record = this.batches.get(id);
    if (!record) throw anthropicError(404, `Message batch ${id} not found.`);
    return record;
  }

  private evictIfFull(now: number): void {
    if (this.batches.size < this.options.maxBatches) return;
    for (const record of this.batches.values()) {
      if (anthropicBatchPhase(record.timeline, now).status === "ended") {
        this.batches.delete(record.id);
        return;
      }
    }
    throw anthropicError(429, `Too many unfinished message batches (limit ${this.options.maxBatches}); wait for some to end.`);
  }

  private computeUpTo(record: AnthropicBatchRecord, count: number, now: number): void {
    for (let k = record.results.length; k < count; k++) {
      const request = record.requests[record.order[k]!]!;
      const errored = (error: AnthropicErrorObject) =>
        JSON.stringify({ custom_id: request.customId, result: { type: "errored", error: { type: "error", error } } });
      let line: string;
      let failed = true;
      if (request.failure) {
        line = errored(request.failure);
      } else {
        try {
          const message = this.options.executor.execute(request.request, now);
          line = JSON.stringify({ custom_id: request.customId, result: { type: "succeeded", message } });
          failed = false;
        } catch (error) {
          if (!(error instanceof ProviderHttpError) || !("type" in error.body) || error.body.type !== "error") throw error;
          line = errored(error.body.error);
        }
      }
      record.results.push(line);
      record.erroredPrefix[k + 1] = record.erroredPrefix[k]! + (failed ? 1 : 0);
    }
  }

  private materialize(record: AnthropicBatchRecord, phase: AnthropicBatchPhase, now: number): void {
    if (record.resultsJsonl !== null) return;
    this.computeUpTo(record, phase.processed, now);
    const lines = record.results.slice(0, phase.processed);
    const remainder = phase.remainder === "expired" ? "expired" : "canceled";
    for (let k = phase.processed; k < record.requests.length; k++) {
      lines.push(JSON.stringify({ custom_id: record.requests[record.order[k]!]!.customId, result: { type: remainder } }));
    }
    const errored = record.erroredPrefix[phase.processed]!;
    const unfinished = record.requests.length - phase.processed;
    record.finalCounts = {
      processing: 0,
      succeeded: phase.processed - errored,
      errored,
      canceled: remainder === "canceled" ? unfinished : 0,
      expired: remainder === "expired" ? unfinished : 0,
    };
    record.resultsJsonl = lines.length > 0 ? `${lines.join("\n")}\n` : "";
    record.results = [];
    record.requests = record.requests.map((r) => ({ customId: r.customId, request: null, failure: null }));
  }

  private view(record: AnthropicBatchRecord, now: number, baseUrl: string): AnthropicBatchObject {
    const phase = anthropicBatchPhase(record.timeline, now);
    let counts: AnthropicRequestCounts;
    if (phase.status === "ended") {
      this.materialize(record, phase, now);
      counts = record.finalCounts!;
    } else {
      this.computeUpTo(record, phase.processed, now);
      const errored = record.erroredPrefix[phase.processed]!;
      counts = { processing: record.requests.length - phase.processed, succeeded: phase.processed - errored, errored, canceled: 0, expired: 0 };
    }
    return {
      id: record.id,
      type: "message_batch",
      processing_status: phase.status,
      request_counts: counts,
      ended_at: iso(phase.endedAt),
      created_at: iso(record.timeline.createdAt)!,
      expires_at: iso(record.timeline.createdAt + WINDOW_MS)!,
      archived_at: null,
      cancel_initiated_at: iso(phase.cancelInitiatedAt),
      results_url: phase.status === "ended" ? `${baseUrl}/v1/messages/batches/${record.id}/results` : null,
    };
  }
}
