import type { FastifyInstance } from "fastify";
import { ListQuerySchema, type RouteContext } from "./context.ts";

/** OpenAI `/v1/fine_tuning/jobs`: create, list, retrieve, cancel, events; the lifecycle lives in the fine-tuning store. */
export function registerFineTuningRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { state } = ctx;

  app.post("/v1/fine_tuning/jobs", { config: { category: "batches" } }, async (request) => state.fineTuning.create(request.body, state.config.fineTuning, state.now()));

  app.get("/v1/fine_tuning/jobs", { config: { category: "batches" } }, async (request) => {
    const query = ListQuerySchema.parse(request.query);
    return state.fineTuning.list({ after: query.after, limit: query.limit }, state.now());
  });

  app.get<{ Params: { id: string } }>("/v1/fine_tuning/jobs/:id", { config: { category: "batches" } }, async (request) => state.fineTuning.retrieve(request.params.id, state.now()));

  app.post<{ Params: { id: string } }>("/v1/fine_tuning/jobs/:id/cancel", { config: { category: "batches" } }, async (request) => state.fineTuning.cancel(request.params.id, state.now()));

  app.get<{ Params: { id: string } }>("/v1/fine_tuning/jobs/:id/events", { config: { category: "batches" } }, async (request) => {
    const query = ListQuerySchema.parse(request.query);
    return state.fineTuning.events(request.params.id, { after: query.after, limit: query.limit }, state.now());
  });
}
