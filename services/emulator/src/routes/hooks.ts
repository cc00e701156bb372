import type { FastifyInstance, FastifyReply } from "fastify";
import type { ParsedEmulatorOptions } from "../config.ts";
import { anthropicErrorBody, openAiError, openAiErrorBody, providerError, providerOfPath, ProviderHttpError, type Provider } from "../errors.ts";
import type { EndpointCategory, FaultRule } from "../faults.ts";
import { randomId } from "../hash.ts";
import type { EmulatorState } from "../state.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Endpoint family, for fault targeting. */
    category?: EndpointCategory;
  }
}

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
 * The phases every provider request goes through: a request id header, fault injection before
 * the handler, per-endpoint stats after it, and errors and unknown routes in the provider's shape.
 */
export function installRequestHooks(
  app: FastifyInstance,
  deps: { state: EmulatorState; options: ParsedEmulatorOptions; hold: (reply: FastifyReply, ms: number) => Promise<void> },
): void {
  const { state, options } = deps;

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
      await deps.hold(reply, rule.timeoutMs ?? state.config.timeoutMs);
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
      const e = openAiError(400, `File is too large: the limit for batch input files is ${options.limits.openAiBatchMaxFileBytes} bytes.`, { param: "file" });
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
}
