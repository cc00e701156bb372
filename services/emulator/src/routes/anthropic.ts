import type { FastifyInstance } from "fastify";
import { createMessage, messageStream, parseCountTokensRequest, parseMessageRequest, renderAnthropicPrompt } from "../anthropic-messages.ts";
import type { RouteContext } from "./context.ts";

/** `POST /v1/messages` and `POST /v1/messages/count_tokens`. */
export function registerAnthropicRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { state } = ctx;

  app.post("/v1/messages", { config: { category: "messages" } }, async (request, reply) => {
    const messageRequest = parseMessageRequest(request.body, state.anthropicModels);
    const message = createMessage(messageRequest, {
      tokenizer: state.tokenizer, promptCache: state.anthropicCache, now: state.now(), serviceTier: "standard", modelAgreement: state.config.modelAgreement, recorded: state.recorded,
    });
    const usage = message.usage;
    state.stats.recordUsage(messageRequest.model, {
      inputTokens: usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens,
      cachedInputTokens: usage.cache_read_input_tokens,
      cacheCreationInputTokens: usage.cache_creation_input_tokens,
      outputTokens: usage.output_tokens,
    });
    if (messageRequest.stream) return ctx.sendStream(reply, messageStream(message), usage.output_tokens);
    await ctx.generationDelay(usage.output_tokens);
    return message;
  });

  app.post("/v1/messages/count_tokens", { config: { category: "messages" } }, async (request) => {
    const countRequest = parseCountTokensRequest(request.body, state.anthropicModels);
    return { input_tokens: renderAnthropicPrompt(countRequest, state.tokenizer).tokens };
  });
}
