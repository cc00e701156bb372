import { createHash } from "node:crypto";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { promptTokensIfNeeded, validateRequest } from "@costwise/lifecycle";
import { findModel, type PriceCatalog } from "@costwise/pricing";
import type { LatencyClass, LlmRequest, LlmResponse, Message } from "@costwise/schemas";
import { errorMessage, type Logger } from "@costwise/stream-runtime";
import { anthropic } from "./anthropic.ts";
import { toLlmRequest, type GatewayCall } from "./call.ts";
import type { Dialect } from "./dialect.ts";
import { GatewayError, pipelineError } from "./errors.ts";
import { hashKey, presentedKey, type KeyRing, type Tenant } from "./keys.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { openai } from "./openai.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { ReplyHub } from "./replies.ts";
import type { GatewayStore, IdempotencyRecord } from "./store.ts";

export interface GatewaySettings {
  readonly bodyLimitBytes: number;
  readonly requestTimeoutMs: number;
  readonly produceTimeoutMs: number;
  readonly drainMs: number;
  /** Base of retrieval URLs (no trailing slash). */
  readonly publicUrl: string;
}

export interface GatewayDeps {
  readonly keys: KeyRing;
  readonly limiter: RateLimiter;
  readonly hub: ReplyHub;
  readonly store: GatewayStore;
  /** Resolves once Kafka acknowledged the request. */
  readonly produce: (req: LlmRequest) => Promise<void>;
  readonly catalog: PriceCatalog;
  readonly countTokens: (messages: readonly Message[], model: string) => number;
  readonly settings: GatewaySettings;
  readonly logger: Logger;
  readonly metrics?: GatewayMetrics;
  readonly now?: () => number;
  readonly uuid?: () => string;
  /** How often a call answered by another replica polls Redis for the stored answer. */
  readonly pollMs?: number;
}

export interface Gateway {
  readonly app: FastifyInstance;
  /** Stop taking calls, give those in flight `drainMs`, answer the rest 503 (retryable), close. */
  drain(): Promise<void>;
}

declare module "fastify" {
  interface FastifyRequest {
    tenant?: Tenant;
  }
}

const ANTHROPIC_PATHS = new Set(["/v1/messages"]);

/** The dialect of a call's errors: the API of its path, else the SDK that sent it. */
function dialectOf(req: FastifyRequest): Dialect {
  const path = req.url.split("?")[0]!;
  if (ANTHROPIC_PATHS.has(path)) return anthropic;
  if (path === "/v1/chat/completions") return openai;
  return req.headers["anthropic-version"] !== undefined ? anthropic : openai;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

interface CostwiseOptions {
  readonly useCase: string;
  readonly latencyClass: LatencyClass;
  readonly cacheOff: boolean;
}

/** The optional costwise headers; the tenant is never among them (it comes from the key). */
export function costwiseOptions(req: FastifyRequest, tenant: Tenant): CostwiseOptions {
  const useCase = header(req, "x-costwise-use-case") ?? tenant.useCase;
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(useCase)) {
    throw new GatewayError("invalid_request", "x-costwise-use-case must be 1-128 letters, digits, '_', '.', ':' or '-'", { param: "x-costwise-use-case" });
  }
  const latency = (header(req, "x-costwise-latency-class") ?? "realtime").toLowerCase();
  if (latency !== "realtime" && latency !== "batch") {
    throw new GatewayError("invalid_request", `x-costwise-latency-class must be 'realtime' or 'batch', not ${JSON.stringify(latency)}`, { param: "x-costwise-latency-class" });
  }
  const cache = (header(req, "x-costwise-cache") ?? "on").toLowerCase();
  if (cache !== "on" && cache !== "off") {
    throw new GatewayError("invalid_request", `x-costwise-cache must be 'on' or 'off', not ${JSON.stringify(cache)}`, { param: "x-costwise-cache" });
  }
  return { useCase, latencyClass: latency === "batch" ? "BATCH" : "REALTIME", cacheOff: cache === "off" };
}

function timeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)))]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createGateway(deps: GatewayDeps): Gateway {
  const { keys, limiter, hub, store, settings, logger } = deps;
  const now = deps.now ?? Date.now;
  const uuid = deps.uuid ?? (() => crypto.randomUUID());
  const pollMs = deps.pollMs ?? 200;
  let draining = false;
  let inFlight = 0;

  const app = Fastify({ logger: false, bodyLimit: settings.bodyLimitBytes, return503OnClosing: false, forceCloseConnections: true });

  const sendError = (req: FastifyRequest, reply: FastifyReply, err: GatewayError, dialect = dialectOf(req)) => {
    if (err.extra.retryAfterS !== undefined) reply.header("retry-after", String(err.extra.retryAfterS));
    // The SDKs retry on x-should-retry: true; a retry of an idempotent call returns the first answer.
    if (err.status >= 500) reply.header("x-should-retry", "true");
    deps.metrics?.calls.inc({ api: dialect.api, status: String(err.status) });
    return reply.code(err.status).type("application/json").send(dialect.error(err));
  };

  app.setErrorHandler((error: FastifyError, req, reply) => {
    let err: GatewayError;
    if (error instanceof GatewayError) err = error;
    else if (error.statusCode === 413) err = new GatewayError("too_large", `the request body exceeds the gateway's limit of ${settings.bodyLimitBytes} bytes`);
    else if (error.statusCode === 415) err = new GatewayError("invalid_request", `unsupported content type ${JSON.stringify(req.headers["content-type"] ?? "")}: send application/json`);
    else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) err = new GatewayError("invalid_request", `We could not parse the JSON body of your request: ${error.message}`);
    else {
      logger.error({ err: errorMessage(error), url: req.url }, "gateway fault");
      err = new GatewayError("internal", "the gateway failed to handle the call");
    }
    return sendError(req, reply, err);
  });

  app.setNotFoundHandler((req, reply) => sendError(req, reply, new GatewayError("not_found", `no route ${req.method} ${req.url.split("?")[0]}`)));

  app.addHook("onRequest", async (req, reply) => {
    if (req.url === "/health") return;
    if (draining) return sendError(req, reply, new GatewayError("unavailable", "the gateway replica is shutting down; retry the call"));
    const key = presentedKey(req.headers);
    if (key === null) return sendError(req, reply, new GatewayError("authentication", "missing API key: send it as 'Authorization: Bearer <key>' or as 'x-api-key'"));
    const tenant = keys.lookup(key);
    if (!tenant) return sendError(req, reply, new GatewayError("authentication", "invalid API key"));
    const limited = limiter.take(tenant.keyHash, { ratePerMinute: tenant.ratePerMinute, burst: tenant.burst });
    if (!limited.ok) {
      return sendError(req, reply, new GatewayError("rate_limit", `rate limit of this API key reached; retry in ${limited.retryAfterS} s`, { retryAfterS: limited.retryAfterS }));
    }
    req.tenant = tenant;
    inFlight++;
    reply.raw.once("close", () => inFlight--);
  });

  app.get("/health", async () => ({ status: draining ? "draining" : "ok", replica: hub.replicaId }));

  const chatModels = deps.catalog.models.filter((m) => m.kind === "chat");
  app.get("/v1/models", async (req) => {
    if (req.headers["anthropic-version"] !== undefined) {
      const data = chatModels.filter((m) => m.provider === "anthropic").map((m) => ({ type: "model", id: m.id, display_name: m.id, created_at: "1970-01-01T00:00:00Z" }));
      return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
    }
    return { object: "list", data: chatModels.map((m) => ({ id: m.id, object: "model", created: 0, owned_by: m.provider })) };
  });
  app.get<{ Params: { id: string } }>("/v1/models/:id", async (req) => {
    const m = findModel(deps.catalog, req.params.id);
    if (!m || m.kind !== "chat") throw new GatewayError("not_found", `The model '${req.params.id}' does not exist`, { param: "model", code: "model_not_found" });
    if (req.headers["anthropic-version"] !== undefined) return { type: "model", id: m.id, display_name: m.id, created_at: "1970-01-01T00:00:00Z" };
    return { id: m.id, object: "model", created: 0, owned_by: m.provider };
  });

  /** The answer, from memory when this replica owns the call, else from Redis once its owner stored it. */
  async function awaitResponse(requestId: string, durable: boolean, waitMs: number, waiter?: { response: Promise<LlmResponse>; cancel: () => void }): Promise<LlmResponse> {
    const w = waiter ?? (hub.owns(requestId) ? hub.expect(requestId, durable) : undefined);
    let done = false;
    const poll = async (): Promise<LlmResponse> => {
      // Only a call this replica does not own (or owned before a restart) needs Redis.
      for (;;) {
        const stored = await store.getResult(requestId).catch(() => null);
        if (stored) return stored;
        if (done) return new Promise<never>(() => undefined);
        await sleep(pollMs);
      }
    };
    const sources = w ? (waiter ? [w.response] : [w.response, poll()]) : [poll()];
    try {
      return await timeout(Promise.race(sources), waitMs, () => new GatewayError("timeout", `no answer within ${waitMs} ms; the call goes on: retry with the same Idempotency-Key to get its answer`));
    } finally {
      done = true;
      w?.cancel();
    }
  }

  function respond(req: FastifyRequest, reply: FastifyReply, dialect: Dialect, call: Pick<GatewayCall, "model" | "maxTokens" | "stream" | "streamUsage">, resp: LlmResponse, started: number) {
    reply.header("x-costwise-request-id", resp.request_id).header("x-costwise-served-by", resp.served_by);
    if (resp.status !== "OK") return sendError(req, reply, pipelineError(resp.error_code, resp.error), dialect);
    deps.metrics?.calls.inc({ api: dialect.api, status: "200" });
    deps.metrics?.seconds.observe({ api: dialect.api, served_by: resp.served_by }, (now() - started) / 1000);
    if (call.stream) return reply.code(200).header("cache-control", "no-cache").type("text/event-stream; charset=utf-8").send(dialect.stream(resp, call));
    return reply.code(200).type("application/json").send(dialect.completion(resp, call));
  }

  const deferredBody = (requestId: string, status: "queued" | "pending") => ({
    id: requestId, object: "costwise.deferred_request", status, latency_class: "batch", url: `${settings.publicUrl}/v1/costwise/requests/${encodeURIComponent(requestId)}`,
  });

  async function chat(dialect: Dialect, req: FastifyRequest, reply: FastifyReply) {
    const started = now();
    const tenant = req.tenant!;
    const call = dialect.parse(req.body);
    const opts = costwiseOptions(req, tenant);
    if (opts.latencyClass === "BATCH" && call.stream) throw new GatewayError("invalid_request", "stream is not available with x-costwise-latency-class: batch (the answer comes hours later)", { param: "stream" });
    const requestId = hub.newRequestId(uuid());
    const request = toLlmRequest(call, {
      requestId, tenant: tenant.tenant, useCase: opts.useCase, latencyClass: opts.latencyClass, cacheOff: opts.cacheOff, api: dialect.api,
      replicaId: hub.replicaId, now: started, deadlineMs: opts.latencyClass === "BATCH" ? null : started + settings.requestTimeoutMs,
    });
    // The pipeline's own checks, before anything reaches Kafka: a call that cannot succeed is refused here.
    const checked = validateRequest({ request, model: call.model, catalog: deps.catalog, promptTokens: promptTokensIfNeeded(request.messages, request.max_tokens, deps.countTokens) });
    if (!checked.ok) throw pipelineError(checked.rejection.code, checked.rejection.reason);

    const idempotencyKey = header(req, "idempotency-key");
    let record: IdempotencyRecord | undefined;
    let keyHash = "";
    if (idempotencyKey !== undefined) {
      if (idempotencyKey.length === 0 || idempotencyKey.length > 255) throw new GatewayError("invalid_request", "Idempotency-Key must be 1-255 characters", { param: "Idempotency-Key" });
      keyHash = hashKey(idempotencyKey);
      const fingerprint = createHash("sha256").update(JSON.stringify([dialect.api, req.body, opts])).digest("hex");
      record = { requestId, fingerprint, state: "producing", at: started };
      const claim = await store.claim(tenant.tenant, keyHash, record, settings.produceTimeoutMs * 2);
      if (!claim.claimed) {
        const first = claim.existing;
        if (first.fingerprint !== fingerprint) throw new GatewayError("invalid_request", "this Idempotency-Key was already used with a different request", { param: "Idempotency-Key", code: "idempotency_key_reused" });
        reply.header("x-costwise-idempotent-replay", "true");
        if (opts.latencyClass === "BATCH") return reply.code(202).header("x-costwise-request-id", first.requestId).send(deferredBody(first.requestId, "pending"));
        const resp = await awaitResponse(first.requestId, true, settings.requestTimeoutMs - (now() - started));
        return respond(req, reply, dialect, call, resp, started);
      }
    }

    if (opts.latencyClass === "BATCH") {
      // Remembered before the produce: the retrieval URL must work as soon as the caller has it.
      await store.putDeferred({ requestId, tenant: tenant.tenant, api: dialect.api, model: call.model, maxTokens: call.maxTokens, at: started });
    }
    const waiter = opts.latencyClass === "BATCH" ? undefined : hub.expect(requestId, record !== undefined);
    try {
      await timeout(deps.produce(request), settings.produceTimeoutMs, () => new Error(`Kafka did not acknowledge within ${settings.produceTimeoutMs} ms`));
    } catch (err) {
      waiter?.cancel();
      if (record) await store.release(tenant.tenant, keyHash).catch(() => undefined);
      logger.warn({ requestId, err: errorMessage(err) }, "produce failed");
      throw new GatewayError("unavailable", "the pipeline is unavailable (the request could not be queued); retry the call");
    }
    if (record) {
      await store.markProduced(tenant.tenant, keyHash, record).catch((err: unknown) => logger.warn({ requestId, err: errorMessage(err) }, "idempotency record not marked produced"));
    }
    if (opts.latencyClass === "BATCH") {
      deps.metrics?.calls.inc({ api: dialect.api, status: "202" });
      const body = deferredBody(requestId, "queued");
      return reply.code(202).header("x-costwise-request-id", requestId).header("location", body.url).send(body);
    }
    reply.header("x-costwise-request-id", requestId);
    const resp = await awaitResponse(requestId, record !== undefined, settings.requestTimeoutMs - (now() - started), waiter);
    return respond(req, reply, dialect, call, resp, started);
  }

  app.post("/v1/chat/completions", (req, reply) => chat(openai, req, reply));
  app.post("/v1/messages", (req, reply) => chat(anthropic, req, reply));

  app.get<{ Params: { id: string } }>("/v1/costwise/requests/:id", async (req, reply) => {
    const rec = await store.getDeferred(req.params.id);
    // Another tenant's request is as unknown as a request that never was.
    if (!rec || rec.tenant !== req.tenant!.tenant) throw new GatewayError("not_found", `no deferred request ${req.params.id} for this API key`);
    const dialect = rec.api === "anthropic" ? anthropic : openai;
    const resp = await store.getResult(rec.requestId);
    if (!resp) return reply.code(202).header("x-costwise-request-id", rec.requestId).send(deferredBody(rec.requestId, "pending"));
    return respond(req, reply, dialect, { model: rec.model, maxTokens: rec.maxTokens, stream: false, streamUsage: false }, resp, now());
  });

  return {
    app,
    async drain() {
      draining = true;
      const until = now() + settings.drainMs;
      while (inFlight > 0 && now() < until) await sleep(50);
      const failed = hub.failAll(new GatewayError("unavailable", "the gateway replica restarted before the answer arrived; the call goes on: retry with the same Idempotency-Key to get its answer"));
      if (failed > 0) logger.warn({ failed }, "calls answered 503 at shutdown");
      // Their 503s are written before the sockets close.
      for (const flushUntil = now() + 2_000; inFlight > 0 && now() < flushUntil; ) await sleep(20);
      await app.close();
    },
  };
}
