import type { FastifyInstance } from "fastify";
import { openAiError } from "../errors.ts";
import { fileNotFound, fileObject } from "../files.ts";
import { ListQuerySchema, type RouteContext } from "./context.ts";

const OPENAI_PURPOSES = new Set(["assistants", "batch", "fine-tune", "vision", "user_data", "evals"]);

/** OpenAI `/v1/files`: multipart upload, list, retrieve, content, delete. */
export function registerFileRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { state } = ctx;

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
}
