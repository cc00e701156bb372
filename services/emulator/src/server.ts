import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import multipart from "@fastify/multipart";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { pino, type Logger } from "pino";
import { z } from "zod";
import { createMessage, messageStream, parseCountTokensRequest, parseMessageRequest, renderAnthropicPrompt } from "./anthropic-messages.ts";
import { applyConfigPatch, EmulatorOptionsSchema, RuntimeConfigPatchSchema, type EmulatorOptionsData } from "./config.ts";
import { createEmbeddings, parseEmbeddingRequest } from "./embeddings.ts";
import {
  anthropicErrorBody,
  EmulatorNotStartedError,
  openAiError,
  openAiErrorBody,
  providerError,
  providerOfPath,
  ProviderHttpError,
  type Provider,
} from "./errors.ts";
import { FaultSpecSchema, type EndpointCategory, type FaultRule } from "./faults.ts";
import { fileNotFound, fileObject } from "./files.ts";
import { randomId } from "./hash.ts";
import { chatCompletionStream, createChatCompletion, parseChatRequest } from "./openai-chat.ts";
import { createEmulatorState, type EmulatorState } from "./state.ts";
import { encodeSse, eventDueMs, type StreamEvent } from "./stream.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Endpoint family, for fault targeting. */
    category?: EndpointCategory;
  }
}

export interface EmulatorOptions extends EmulatorOptionsData {
  /** Structured logger; silent when omitted. */
  logger?: Logger;
  /** Clock in epoch milliseconds; batch lifecycles and cache TTLs follow it. */
  clock?: () => number;
}

export interface Emulator {
  readonly app: FastifyInstance;
  /** Base URL (`http://host:port`) once started. OpenAI clients use `${url}/v1`, Anthropic clients `url`. */
  readonly url: string;
  start(port?: number): Promise<string>;
  stop(): Promise<void>;
  readonly state: EmulatorState;
}

const OPENAI_PURPOSES = new Set(["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]);
/** Lines computed ahead per background tick, per provider: keeps each tick to a few ms. */
const BATCH_WORK_PER_TICK = 200;
const BATCH_TICK_MS = 25;

const ListQuerySchema = z.object({
  limit: z.coerce.number().int().optional(),
  after: z.string().optional(),
  after_id: z.string().optional(),
  before_id: z.string().optional(),
  purpose: z.string().optional(),
});

function faultBody(provider: Provider, rule: FaultRule): { status: number; body: unknown } {
  switch (rule.kind) {
    case "429":
      return provider === "anthropic"
        ? { status: 429, body: anthropicErrorBody(429, "Number of requests has exceeded your per-minute rate limit. Please try again later.") }
        : { status: 429, body: openAiErrorBody("Rate limit reached for requests. Please try again later.", { type: "requests", code: "rate_limit_exceeded" }) };
    case "500":
      return provider === "anthropic"
        ? { status: 500, body: anthropicErrorBody(500, "Internal server error") }
        : { status: 500, body: openAiErrorBody("The server had an error while processing your request. Sorry about that!", { type: "server_error" }) };
    case "503":
      return provider === "anthropic"
        ? { status: 503, body: anthropicErrorBody(503, "Overloaded") }
        : { status: 503, body: openAiErrorBody("The engine is currently overloaded, please try again later.", { type: "server_error" }) };
    default:
      return provider === "anthropic"
        ? { status: 504, body: anthropicErrorBody(504, "Request timed out before a response was produced.") }
        : { status: 504, body: openAiErrorBody("Gateway timeout: the request took too long to process.", { type: "server_error" }) };
  }
}

function wantsStream(body: unknown): boolean {
  return typeof body === "object" && body !== null && (body as Record<string, unknown>)["stream"] === true;
}

/**
 * Builds the emulator: a fastify app speaking the OpenAI and Anthropic wire formats, plus an
 * admin API under `/_emulator`. Nothing listens until `start()`.
 */
export function createEmulator(options: EmulatorOptions = {}): Emulator {
  const { logger, clock, ...data } = options;
  const parsed = EmulatorOptionsSchema.parse(data);
  const state = createEmulatorState(parsed, clock);
  const held = new Set<() => void>();
  let ticker: NodeJS.Timeout | undefined;
  let listeningUrl: string | undefined;

  const app: FastifyInstance = Fastify({
    loggerInstance: (logger ?? pino({ level: "silent" })) as FastifyBaseLogger,
    // Per-request logs would dominate the cost of a request at thousands per second.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: parsed.limits.chatBodyBytes,
    forceCloseConnections: true,
  });

  app.register(multipart, { limits: { fileSize: parsed.limits.openAiBatchMaxFileBytes, files: 1, fields: 16 } });

  const baseUrlOf = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

  /** Waits for the configured time-to-first-token plus per-token generation time. */
  const generationDelay = async (outputTokens: number) => {
    const ms = state.config.ttftMs + state.config.perOutputTokenMs * outputTokens;
    if (ms > 0) await sleep(ms);
  };

  const sendStream = (reply: FastifyReply, events: StreamEvent[], outputTokens: number) => {
    reply.header("content-type", "text/event-stream; charset=utf-8").header("cache-control", "no-cache");
    const { ttftMs, perOutputTokenMs } = state.config;
    if (ttftMs === 0 && perOutputTokenMs === 0) return reply.send(events.map(encodeSse).join(""));
    const started = performance.now();
    async function* paced() {
      for (const event of events) {
        const wait = eventDueMs(event.progress, outputTokens, ttftMs, perOutputTokenMs) - (performance.now() - started);
        if (wait >= 1) await sleep(wait);
        yield encodeSse(event);
      }
    }
    return reply.send(Readable.from(paced()));
  };

  /** Holds a request unanswered until `ms` pass, the client goes away, or the emulator stops. */
  const hold = (reply: FastifyReply, ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        reply.raw.off("close", done);
        held.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      reply.raw.once("close", done);
      held.add(done);
    });

  app.addHook("onRequest", async (request, reply) => {
    if (request.url.startsWith("/_emulator")) return;
    const id = `req_${randomId("", 24)}`;
    reply.header(providerOfPath(request.url) === "anthropic" ? "request-id" : "x-request-id", id);
  });

  app.addHook("onResponse", async (request, reply) => {
    if (request.url.startsWith("/_emulator")) return;
    state.stats.recordResponse(`${request.method} ${request.routeOptions.url ?? "(unmatched)"}`, reply.statusCode);
  });

  app.addHook("preHandler", async (request, reply) => {
    const category = request.routeOptions.config.category;
    if (!category) return;
    const rule = state.faults.pick(category);
    if (!rule) return;
    state.stats.recordFault(rule.kind, category);
    const provider = providerOfPath(request.url);
    request.log.debug({ fault: rule.kind, category, url: request.url }, "injecting fault");
    if (rule.kind === "malformed") {
      if (wantsStream(request.body)) {
        return reply.code(200).header("content-type", "text/event-stream; charset=utf-8").send('data: {"id": "broken", "choices": [{"delta": {"content": "tru\n\n');
      }
      return reply.code(200).header("content-type", "application/json").send('{"id": "broken", "object": "chat.completion", "choices": [{"index": 0, "message": {"content": "tru');
    }
    if (rule.kind === "timeout") {
      await hold(reply, rule.timeoutMs ?? state.config.timeoutMs);
      if (reply.raw.destroyed || request.raw.destroyed) {
        reply.hijack();
        return reply;
      }
    }
    const { status, body } = faultBody(provider, rule);
    if (rule.kind === "429") {
      reply.header("retry-after", String(Math.ceil(rule.retryAfterSeconds))).header("retry-after-ms", String(Math.round(rule.retryAfterSeconds * 1000)));
    }
    return reply.code(status).send(body);
  });

  app.setErrorHandler((error: unknown, request, reply) => {
    const provider = providerOfPath(request.url);
    if (error instanceof ProviderHttpError) {
      request.log.debug({ status: error.statusCode, url: request.url, message: error.message }, "request rejected");
      return reply.code(error.statusCode).headers(error.headers).send(error.body);
    }
    const err = error as { statusCode?: number; code?: string; message?: string };
    const status = typeof err.statusCode === "number" ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err: error, url: request.url }, "emulator error");
    let message = err.message ?? "Internal error";
    if (err.code === "FST_ERR_CTP_INVALID_JSON_BODY" || (status === 400 && err.code === undefined && /JSON/.test(message))) {
      message =
        provider === "anthropic"
          ? "There was an issue with the request body: the JSON could not be parsed."
          : "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)";
    } else if (status === 413 && provider === "anthropic") {
      message = "Request exceeds the maximum allowed number of bytes.";
    } else if (err.code === "FST_REQ_FILE_TOO_LARGE") {
      const e = openAiError(400, `File is too large: the limit for batch input files is ${parsed.limits.openAiBatchMaxFileBytes} bytes.`, { param: "file" });
      return reply.code(e.statusCode).send(e.body);
    }
    const shaped = providerError(provider, status >= 400 ? status : 500, message);
    return reply.code(shaped.statusCode).send(shaped.body);
  });

  app.setNotFoundHandler((request, reply) => {
    const provider = providerOfPath(request.url);
    const e = provider === "anthropic" ? providerError("anthropic", 404, "Not Found") : openAiError(404, `Invalid URL (${request.method} ${request.url.split("?")[0]})`);
    return reply.code(404).send(e.body);
  });

  // ---------------------------------------------------------------- OpenAI
  app.post("/v1/chat/completions", { config: { category: "chat" } }, async (request, reply) => {
    const chat = parseChatRequest(request.body, state.openAiModels);
    const completion = createChatCompletion(chat, { tokenizer: state.tokenizer, promptCache: state.openAiCache, now: state.now(), modelAgreement: state.config.modelAgreement });
    const usage = completion.usage;
    state.stats.recordUsage(chat.model, {
      inputTokens: usage.prompt_tokens,
      cachedInputTokens: usage.prompt_tokens_details.cached_tokens,
      cacheCreationInputTokens: 0,
      outputTokens: usage.completion_tokens,
    });
    if (chat.stream) return sendStream(reply, chatCompletionStream(completion, chat.stream_options?.include_usage === true), usage.completion_tokens);
    await generationDelay(usage.completion_tokens);
    return completion;
  });

  app.post("/v1/embeddings", { config: { category: "embeddings" } }, async (request) => {
    const embeddingRequest = parseEmbeddingRequest(request.body, parsed.embeddingModels);
    const response = createEmbeddings(embeddingRequest, parsed.embeddingModels, state.tokenizer);
    state.stats.recordUsage(embeddingRequest.model, { inputTokens: response.usage.prompt_tokens, cachedInputTokens: 0, cacheCreationInputTokens: 0, outputTokens: 0 });
    if (state.config.ttftMs > 0) await sleep(state.config.ttftMs);
    return response;
  });

  app.post("/v1/files", { config: { category: "batches" } }, async (request) => {
    if (!request.isMultipart()) {
      throw openAiError(400, "Invalid Content-Type header: expected multipart/form-data.", { param: "file" });
    }
    let purpose: string | undefined;
    let upload: { filename: string; content: Buffer } | undefined;
    for await (const part of request.parts()) {
      if (part.type === "file") upload = { filename: part.filename, content: await part.toBuffer() };
      else if (part.fieldname === "purpose") purpose = String(part.value);
    }
    if (purpose === undefined) throw openAiError(400, "Missing required parameter: 'purpose'.", { param: "purpose", code: "missing_required_parameter" });
    if (!OPENAI_PURPOSES.has(purpose)) {
      throw openAiError(400, `Invalid value for 'purpose': '${purpose}'. Supported values are: ${[...OPENAI_PURPOSES].map((p) => `'${p}'`).join(", ")}.`, { param: "purpose", code: "invalid_value" });
    }
    if (!upload) throw openAiError(400, "Missing required parameter: 'file'.", { param: "file", code: "missing_required_parameter" });
    return fileObject(state.files.add({ filename: upload.filename, purpose, content: upload.content }, state.now()));
  });

  app.get("/v1/files", { config: { category: "batches" } }, async (request) => {
    const query = ListQuerySchema.parse(request.query);
    const all = state.files.list(query.purpose);
    const start = query.after ? all.findIndex((f) => f.id === query.after) + 1 : 0;
    const limit = Math.min(Math.max(query.limit ?? 10_000, 1), 10_000);
    const data = all.slice(start, start + limit).map(fileObject);
    return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: start + limit < all.length };
  });

  app.get<{ Params: { id: string } }>("/v1/files/:id", { config: { category: "batches" } }, async (request) => {
    const file = state.files.get(request.params.id);
    if (!file) throw fileNotFound(request.params.id);
    return fileObject(file);
  });

  app.get<{ Params: { id: string } }>("/v1/files/:id/content", { config: { category: "batches" } }, async (request, reply) => {
    const file = state.files.get(request.params.id);
    if (!file) throw fileNotFound(request.params.id);
    return reply.header("content-type", "application/octet-stream").send(file.content);
  });

  app.delete<{ Params: { id: string } }>("/v1/files/:id", { config: { category: "batches" } }, async (request) => {
    if (!state.files.delete(request.params.id)) throw fileNotFound(request.params.id);
    return { id: request.params.id, object: "file", deleted: true };
  });

  app.post("/v1/batches", { config: { category: "batches" } }, async (request) => {
    const body = typeof request.body === "object" && request.body !== null ? (request.body as Record<string, unknown>) : {};
    return state.openAiBatches.create(body, state.config.batch, state.now());
  });

  app.get("/v1/batches", { config: { category: "batches" } }, async (request) => {
    const query = ListQuerySchema.parse(request.query);
    return state.openAiBatches.list({ after: query.after, limit: query.limit }, state.now());
  });

  app.get<{ Params: { id: string } }>("/v1/batches/:id", { config: { category: "batches" } }, async (request) =>
    state.openAiBatches.retrieve(request.params.id, state.now()),
  );

  app.post<{ Params: { id: string } }>("/v1/batches/:id/cancel", { config: { category: "batches" } }, async (request) =>
    state.openAiBatches.cancel(request.params.id, state.now()),
  );

  app.get("/v1/models", async (request) => {
    if (request.headers["anthropic-version"] !== undefined) {
      const data = [...state.anthropicModels].map((id) => ({ type: "model", id, display_name: id, created_at: "2025-01-01T00:00:00Z" }));
      return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
    }
    const ids = [...state.openAiModels, ...Object.keys(parsed.embeddingModels)];
    return { object: "list", data: ids.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "system" })) };
  });

  app.get<{ Params: { id: string } }>("/v1/models/:id", async (request) => {
    const { id } = request.params;
    if (request.headers["anthropic-version"] !== undefined) {
      if (!state.anthropicModels.has(id)) throw new ProviderHttpError(404, anthropicErrorBody(404, `model: ${id}`));
      return { type: "model", id, display_name: id, created_at: "2025-01-01T00:00:00Z" };
    }
    if (!state.openAiModels.has(id) && parsed.embeddingModels[id] === undefined) {
      throw openAiError(404, `The model '${id}' does not exist`, { param: "model", code: "model_not_found" });
    }
    return { id, object: "model", created: 1_700_000_000, owned_by: "system" };
  });

  // ------------------------------------------------------------- Anthropic
  app.post("/v1/messages", { config: { category: "messages" } }, async (request, reply) => {
    const messageRequest = parseMessageRequest(request.body, state.anthropicModels);
    const message = createMessage(messageRequest, { tokenizer: state.tokenizer, promptCache: state.anthropicCache, now: state.now(), serviceTier: "standard", modelAgreement: state.config.modelAgreement });
    const usage = message.usage;
    state.stats.recordUsage(messageRequest.model, {
      inputTokens: usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens,
      cachedInputTokens: usage.cache_read_input_tokens,
      cacheCreationInputTokens: usage.cache_creation_input_tokens,
      outputTokens: usage.output_tokens,
    });
    if (messageRequest.stream) return sendStream(reply, messageStream(message), usage.output_tokens);
    await generationDelay(usage.output_tokens);
    return message;
  });

  app.post("/v1/messages/count_tokens", { config: { category: "messages" } }, async (request) => {
    const countRequest = parseCountTokensRequest(request.body, state.anthropicModels);
    return { input_tokens: renderAnthropicPrompt(countRequest, state.tokenizer).tokens };
  });

  app.post("/v1/messages/batches", { config: { category: "batches" }, bodyLimit: parsed.limits.anthropicBatchMaxBytes }, async (request) =>
    state.anthropicBatches.create(request.body, state.config.batch, state.now(), baseUrlOf(request)),
  );

  app.get("/v1/messages/batches", { config: { category: "batches" } }, async (request) => {
    const query = ListQuerySchema.parse(request.query);
    return state.anthropicBatches.list({ limit: query.limit, after_id: query.after_id, before_id: query.before_id }, state.now(), baseUrlOf(request));
  });

  app.get<{ Params: { id: string } }>("/v1/messages/batches/:id", { config: { category: "batches" } }, async (request) =>
    state.anthropicBatches.retrieve(request.params.id, state.now(), baseUrlOf(request)),
  );

  app.get<{ Params: { id: string } }>("/v1/messages/batches/:id/results", { config: { category: "batches" } }, async (request, reply) => {
    const jsonl = state.anthropicBatches.results(request.params.id, state.now());
    return reply.header("content-type", "application/x-jsonl").send(jsonl);
  });

  app.post<{ Params: { id: string } }>("/v1/messages/batches/:id/cancel", { config: { category: "batches" } }, async (request) =>
    state.anthropicBatches.cancel(request.params.id, state.now(), baseUrlOf(request)),
  );

  app.delete<{ Params: { id: string } }>("/v1/messages/batches/:id", { config: { category: "batches" } }, async (request) =>
    state.anthropicBatches.delete(request.params.id, state.now()),
  );

  // ------------------------------------------------------------------ admin
  const adminError = (reply: FastifyReply, error: z.ZodError) =>
    reply.code(400).send({ error: { message: error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ") } });

  app.get("/_emulator/health", async () => ({ ok: true }));

  app.get("/_emulator/config", async () => state.config);

  app.post("/_emulator/config", async (request, reply) => {
    const patch = RuntimeConfigPatchSchema.safeParse(request.body ?? {});
    if (!patch.success) return adminError(reply, patch.error);
    state.config = applyConfigPatch(state.config, patch.data);
    request.log.info({ config: state.config }, "emulator config changed");
    return state.config;
  });

  app.get("/_emulator/faults", async () => ({ faults: state.faults.list() }));

  app.post("/_emulator/faults", async (request, reply) => {
    const spec = FaultSpecSchema.safeParse(request.body);
    if (!spec.success) return adminError(reply, spec.error);
    const rule = state.faults.add(spec.data);
    request.log.info({ fault: rule }, "fault armed");
    return reply.code(201).send(rule);
  });

  app.delete("/_emulator/faults", async () => {
    const cleared = state.faults.list().length;
    state.faults.clear();
    return { cleared };
  });

  app.get("/_emulator/stats", async () => ({
    ...state.stats.snapshot(),
    activeFaults: state.faults.list().length,
    promptCacheEntries: state.openAiCache.size,
    files: { count: state.files.list().length, bytes: state.files.totalBytes },
    batches: { openai: state.openAiBatches.size, anthropic: state.anthropicBatches.size },
  }));

  app.post("/_emulator/reset", async (request) => {
    state.reset();
    request.log.info("emulator state reset");
    return { ok: true };
  });

  const tick = () => {
    const now = state.now();
    if (state.openAiBatches.hasPendingWork()) state.openAiBatches.work(BATCH_WORK_PER_TICK, now);
    if (state.anthropicBatches.hasPendingWork()) state.anthropicBatches.work(BATCH_WORK_PER_TICK, now);
  };

  return {
    app,
    state,
    get url(): string {
      if (listeningUrl === undefined) throw new EmulatorNotStartedError();
      return listeningUrl;
    },
    async start(port?: number): Promise<string> {
      await app.listen({ host: parsed.host, port: port ?? parsed.port });
      const address = app.server.address();
      const actualPort = typeof address === "object" && address !== null ? address.port : (port ?? parsed.port);
      const host = parsed.host.includes(":") ? `[${parsed.host}]` : parsed.host === "0.0.0.0" ? "127.0.0.1" : parsed.host;
      listeningUrl = `http://${host}:${actualPort}`;
      // Computes batch results ahead of their deadline; unref so it never keeps the process alive.
      ticker = setInterval(tick, BATCH_TICK_MS);
      ticker.unref();
      return listeningUrl;
    },
    async stop(): Promise<void> {
      if (ticker) clearInterval(ticker);
      ticker = undefined;
      for (const release of [...held]) release();
      await app.close();
      listeningUrl = undefined;
    },
  };
}
