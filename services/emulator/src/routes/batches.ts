import type { FastifyInstance } from "fastify";
import { ListQuerySchema, type RouteContext } from "./context.ts";

/** OpenAI `/v1/batches` and Anthropic `/v1/messages/batches`; the lifecycles live in the batch stores. */
export function registerBatchRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { state, options } = ctx;

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

  app.post("/v1/messages/batches", { config: { category: "batches" }, bodyLimit: options.limits.anthropicBatchMaxBytes }, async (request) =>
    state.anthropicBatches.create(request.body, state.config.batch, state.now(), ctx.baseUrlOf(request)),
  );

  app.get("/v1/messages/batches", { config: { category: "batches" } }, async (request) => {
    const query = ListQuerySchema.parse(request.query);
    return state.anthropicBatches.list({ limit: query.limit, after_id: query.after_id, before_id: query.before_id }, state.now(), ctx.baseUrlOf(request));
  });

  app.get<{ Params: { id: string } }>("/v1/messages/batches/:id", { config: { category: "batches" } }, async (request) =>
    state.anthropicBatches.retrieve(request.params.id, state.now(), ctx.baseUrlOf(request)),
  );

  app.get<{ Params: { id: string } }>("/v1/messages/batches/:id/results", { config: { category: "batches" } }, async (request, reply) => {
    const jsonl = state.anthropicBatches.results(request.params.id, state.now());
    return reply.header("content-type", "application/x-jsonl").send(jsonl);
  });

  app.post<{ Params: { id: string } }>("/v1/messages/batches/:id/cancel", { config: { category: "batches" } }, async (request) =>
    state.anthropicBatches.cancel(request.params.id, state.now(), ctx.baseUrlOf(request)),
  );

  app.delete<{ Params: { id: string } }>("/v1/messages/batches/:id", { config: { category: "batches" } }, async (request) =>
    state.anthropicBatches.delete(request.params.id, state.now()),
  );
}
