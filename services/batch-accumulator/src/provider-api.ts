import { Readable } from "node:stream";
import { createInterface } from "node:readline";
import type Anthropic from "@anthropic-ai/sdk";
import type { Provider, Usage } from "@costwise/pricing";
import { billedAnthropicUsage, billedOpenAIUsage, mapSdkError, parseAnthropicMessage, parseOpenAIChat } from "@costwise/providers";
import { toFile, type OpenAI } from "openai";
import { OPENAI_BATCH_ENDPOINT } from "./lines.ts";
import { parseAnthropicLine, parseOpenAiLine, ResultLineError, type LineResult } from "./results.ts";

/** A batch line's answer: the text, its billing, and (when the model made them) its tool calls. */
export interface ParsedAnswer {
  content: string;
  usage: Usage;
  finishReason?: string;
  toolCalls?: { id: string; name: string; arguments: string }[];
  refusal?: string | null;
}

/** Metadata key under which our batch id travels with an OpenAI batch (finds it again after a crash). */
export const METADATA_KEY = "costwise_batch_id";

export type BatchOutcome = "completed" | "expired" | "cancelled" | "failed";

/** A provider batch as polled. */
export interface ProviderBatchState {
  readonly ended: boolean;
  /** The provider's own status word (validating, in_progress, ended, ...). */
  readonly providerStatus: string;
  readonly outcome: BatchOutcome | null;
  readonly counts: Readonly<Record<string, number>>;
  readonly outputFileId: string | null;
  readonly errorFileId: string | null;
  /** Why a batch failed as a whole (OpenAI input validation). */
  readonly error: string | null;
}

/**
 * The provider side of a batch's lifecycle, over the official SDK clients from @costwise/providers.
 * Every call maps SDK errors into the runtime's vocabulary: TransientError (retry later) or
 * PoisonMessageError (the provider refused what we sent).
 */
export interface BatchApi {
  readonly provider: Provider;
  /** OpenAI takes the lines as an uploaded file first; Anthropic in the create call. */
  readonly usesFile: boolean;
  upload(batchId: string, lines: readonly string[]): Promise<string>;
  create(input: { batchId: string; lines: readonly string[]; fileId: string | null }): Promise<string>;
  /**
   * A batch created for `batchId` whose id we never stored (crash between the create call and the
   * write). OpenAI: by metadata. Anthropic has no metadata: the oldest batch created after `since`
   * with exactly `count` requests that no other record claims.
   */
  find(input: { batchId: string; since: number; count: number; isKnown: (providerBatchId: string) => Promise<boolean> }): Promise<string | null>;
  retrieve(providerBatchId: string): Promise<ProviderBatchState>;
  /** Result lines in file order; a line that cannot be read is reported to `onBadLine` and skipped. */
  results(providerBatchId: string, state: ProviderBatchState, onBadLine?: (err: unknown) => void): AsyncIterable<LineResult>;
  cancel(providerBatchId: string): Promise<void>;
  /** Content and usage of a successful line's body; throws when the body is unusable. */
  parse(body: unknown, model: string): ParsedAnswer;
  /** The usage a successful line's body bills even when `parse` finds it unusable; null when it states none. */
  billed(body: unknown): Usage | null;
}

function mapped(provider: Provider, usingEmulator: boolean) {
  return async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw mapSdkError(err, { provider, model: what, usingEmulator, secrets: [] });
    }
  };
}

function readable(parse: () => LineResult, onBadLine: ((err: unknown) => void) | undefined): LineResult | null {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof ResultLineError)) throw err;
    onBadLine?.(err);
    return null;
  }
}

async function* linesOf(res: Response): AsyncGenerator<string> {
  if (!res.body) return;
  const rl = createInterface({ input: Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>), crlfDelay: Infinity });
  for await (const line of rl) if (line.trim() !== "") yield line;
}

const OPENAI_ENDED: Record<string, BatchOutcome> = { completed: "completed", expired: "expired", cancelled: "cancelled", failed: "failed" };

export function openAiBatchApi(client: OpenAI, opts: { usingEmulator: boolean }): BatchApi {
  const call = mapped("openai", opts.usingEmulator);
  return {
    provider: "openai",
    usesFile: true,
    async upload(batchId, lines) {
      const body = Buffer.from(`${lines.join("\n")}\n`);
      const file = await call("files.create", async () => client.files.create({ file: await toFile(body, `${batchId}.jsonl`, { type: "application/jsonl" }), purpose: "batch" }));
      return file.id;
    },
    async create({ batchId, fileId }) {
      if (!fileId) throw new Error("OpenAI batches need an uploaded input file");
      const b = await call("batches.create", () =>
        client.batches.create({ input_file_id: fileId, endpoint: OPENAI_BATCH_ENDPOINT, completion_window: "24h", metadata: { [METADATA_KEY]: batchId } }),
      );
      return b.id;
    },
    async find({ batchId, since }) {
      return call("batches.list", async () => {
        // Newest first: stop once batches are older than the submission (a minute of clock skew allowed).
        for await (const b of client.batches.list({ limit: 100 })) {
          if (b.created_at * 1000 < since - 60_000) break;
          if (b.metadata?.[METADATA_KEY] === batchId) return b.id;
        }
        return null;
      });
    },
    async retrieve(id) {
      const b = await call("batches.retrieve", () => client.batches.retrieve(id));
      const outcome = OPENAI_ENDED[b.status] ?? null;
      const counts = b.request_counts ?? { total: 0, completed: 0, failed: 0 };
      return {
        ended: outcome !== null,
        providerStatus: b.status,
        outcome,
        counts: { total: counts.total, completed: counts.completed, failed: counts.failed },
        outputFileId: b.output_file_id ?? null,
        errorFileId: b.error_file_id ?? null,
        error: b.errors?.data?.length ? b.errors.data.slice(0, 3).map((e) => `${e.code ?? "error"}: ${e.message ?? ""}${e.line ? ` (line ${e.line})` : ""}`).join("; ") : null,
      };
    },
    async *results(_id, state, onBadLine) {
      for (const fileId of [state.outputFileId, state.errorFileId]) {
        if (!fileId) continue;
        const res = await call("files.content", () => client.files.content(fileId));
        for await (const line of linesOf(res)) {
          const parsed = readable(() => parseOpenAiLine(line), onBadLine);
          if (parsed) yield parsed;
        }
      }
    },
    async cancel(id) {
      await call("batches.cancel", () => client.batches.cancel(id));
    },
    parse: (body, model) => parseOpenAIChat(body, model),
    billed: billedOpenAIUsage,
  };
}

export function anthropicBatchApi(client: Anthropic, opts: { usingEmulator: boolean }): BatchApi {
  const call = mapped("anthropic", opts.usingEmulator);
  return {
    provider: "anthropic",
    usesFile: false,
    upload() {
      return Promise.reject(new Error("Anthropic message batches take their requests inline"));
    },
    async create({ lines }) {
      const requests = lines.map((l) => JSON.parse(l) as Anthropic.Messages.BatchCreateParams.Request);
      const b = await call("messages.batches.create", () => client.messages.batches.create({ requests }));
      return b.id;
    },
    async find({ since, count, isKnown }) {
      return call("messages.batches.list", async () => {
        let found: string | null = null;
        for await (const b of client.messages.batches.list({ limit: 100 })) {
          if (Date.parse(b.created_at) < since - 60_000) break;
          const c = b.request_counts;
          const total = c.processing + c.succeeded + c.errored + c.canceled + c.expired;
          // Newest first, so the last match is the oldest candidate: the one created right after `since`.
          if (total === count && Date.parse(b.created_at) >= since - 5_000 && !(await isKnown(b.id))) found = b.id;
        }
        return found;
      });
    },
    async retrieve(id) {
      const b = await call("messages.batches.retrieve", () => client.messages.batches.retrieve(id));
      const ended = b.processing_status === "ended";
      const c = b.request_counts;
      const outcome: BatchOutcome | null = !ended ? null : b.cancel_initiated_at ? "cancelled" : c.expired > 0 ? "expired" : "completed";
      return {
        ended,
        providerStatus: b.processing_status,
        outcome,
        counts: { processing: c.processing, succeeded: c.succeeded, errored: c.errored, canceled: c.canceled, expired: c.expired },
        outputFileId: null,
        errorFileId: null,
        error: null,
      };
    },
    async *results(id, _state, onBadLine) {
      const decoder = await call("messages.batches.results", () => client.messages.batches.results(id));
      for await (const line of decoder) {
        const parsed = readable(() => parseAnthropicLine(line), onBadLine);
        if (parsed) yield parsed;
      }
    },
    async cancel(id) {
      await call("messages.batches.cancel", () => client.messages.batches.cancel(id));
    },
    parse: (body, model) => parseAnthropicMessage(body, model),
    billed: billedAnthropicUsage,
  };
}
