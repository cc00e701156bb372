import type { FastifyInstance, FastifyReply } from "fastify";
import type { z } from "zod";
import { applyConfigPatch, RuntimeConfigPatchSchema } from "../config.ts";
import { FaultSpecSchema } from "../faults.ts";
import { RecordedLoadSchema } from "../recorded.ts";
import type { RouteContext } from "./context.ts";

const adminError = (reply: FastifyReply, error: z.ZodError) =>
  reply.code(400).send({ error: { message: error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ") } });

/** The admin API under `/_emulator`: health, runtime config, faults, recorded answers, stats, reset. */
export function registerAdminRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { state } = ctx;

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

  // Ground truth goes in and never comes back out: GET answers with counts only.
  app.post("/_emulator/recorded", { bodyLimit: ctx.options.limits.chatBodyBytes }, async (request, reply) => {
    const body = RecordedLoadSchema.safeParse(request.body);
    if (!body.success) return adminError(reply, body.error);
    const loaded = state.recorded.load(body.data);
    request.log.info(loaded, "recorded answers loaded");
    return reply.code(201).send(loaded);
  });

  app.get("/_emulator/recorded", async () => state.recorded.snapshot());

  app.delete("/_emulator/recorded", async () => {
    const cleared = state.recorded.size;
    state.recorded.clear();
    return { cleared };
  });

  app.get("/_emulator/stats", async () => ({
    ...state.stats.snapshot(),
    activeFaults: state.faults.list().length,
    promptCacheEntries: state.openAiCache.size,
    files: { count: state.files.list().length, bytes: state.files.totalBytes },
    batches: { openai: state.openAiBatches.size, anthropic: state.anthropicBatches.size },
    fineTuningJobs: state.fineTuning.size,
    recorded: state.recorded.snapshot(),
  }));

  app.post("/_emulator/reset", async (request) => {
    state.reset();
    request.log.info("emulator state reset");
    return { ok: true };
  });
}
