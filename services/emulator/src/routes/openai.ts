import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import { createEmbeddings, parseEmbeddingRequest } from "../embeddings.ts";
import { anthropicErrorBody, openAiError, ProviderHttpError } from "../errors.ts";
import { chatCompletionStream, createChatCompletion, parseChatRequest } from "../openai-chat.ts";
import { EMULATOR_ORG } from "../fine-tuning.ts";
import type { RouteContext } from "./context.ts";

/** `POST /v1/chat/completions`, `POST /v1/embeddings`, `GET /v1/models[/:id]` (both providers' shapes). */
export function registerOpenAiRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { state, options } = ctx;

  app.post("/v1/chat/completions", { config: { category: "chat" } }, async (request, reply) => {
    const now = state.now();
    // Fine-tuned models exist once their job succeeded; until then they are unknown, as on the API.
    const chat = parseChatRequest(request.body, { has: (m) => state.openAiModels.has(m) || (m.startsWith("ft:") && state.fineTuning.model(m, now) !== undefined) });
    const served = chat.model.startsWith("ft:") ? state.fineTuning.model(chat.model, now) : undefined;
    const completion = createChatCompletion(chat, {
      tokenizer: state.tokenizer, promptCache: state.openAiCache, now, modelAgreement: state.config.modelAgreement, recorded: state.recorded,
      trained: served ? (messages, cap) => state.fineTuning.trainedReply(served, messages, cap) : null,
    });
    const usage = completion.usage;
    state.stats.recordUsage(chat.model, {
      inputTokens: usage.prompt_tokens,
      cachedInputTokens: usage.prompt_tokens_details.cached_tokens,
      cacheCreationInputTokens: 0,
      outputTokens: usage.completion_tokens,
    });
    if (chat.stream) return ctx.sendStream(reply, chatCompletionStream(completion, chat.stream_options?.include_usage === true), usage.completion_tokens);
    await ctx.generationDelay(usage.completion_tokens);
    return completion;
  });

  app.post("/v1/embeddings", { config: { category: "embeddings" } }, async (request) => {
    const embeddingRequest = parseEmbeddingRequest(request.body, options.embeddingModels);
    const response = createEmbeddings(embeddingRequest, options.embeddingModels, state.tokenizer);
    state.stats.recordUsage(embeddingRequest.model, { inputTokens: response.usage.prompt_tokens, cachedInputTokens: 0, cacheCreationInputTokens: 0, outputTokens: 0 });
    if (state.config.ttftMs > 0) await sleep(state.config.ttftMs);
    return response;
  });

  app.get("/v1/models", async (request) => {
    if (request.headers["anthropic-version"] !== undefined) {
      const data = [...state.anthropicModels].map((id) => ({ type: "model", id, display_name: id, created_at: "2025-01-01T00:00:00Z" }));
      return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
    }
    const ids = [...state.openAiModels, ...Object.keys(options.embeddingModels)];
    const fineTuned = state.fineTuning.servedModels(state.now()).map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: `org-${EMULATOR_ORG}` }));
    return { object: "list", data: [...ids.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "system" })), ...fineTuned] };
  });

  app.get<{ Params: { id: string } }>("/v1/models/:id", async (request) => {
    const { id } = request.params;
    if (request.headers["anthropic-version"] !== undefined) {
      if (!state.anthropicModels.has(id)) throw new ProviderHttpError(404, anthropicErrorBody(404, `model: ${id}`));
      return { type: "model", id, display_name: id, created_at: "2025-01-01T00:00:00Z" };
    }
    if (id.startsWith("ft:") && state.fineTuning.model(id, state.now())) return { id, object: "model", created: 1_700_000_000, owned_by: `org-${EMULATOR_ORG}` };
    if (!state.openAiModels.has(id) && options.embeddingModels[id] === undefined) {
      throw openAiError(404, `The model '${id}' does not exist`, { param: "model", code: "model_not_found" });
    }
    return { id, object: "model", created: 1_700_000_000, owned_by: "system" };
  });
}
