import { z } from "zod";
import type { LlmRequest } from "@costwise/schemas";
import { findModel, isoDate, LIFECYCLE, servedSuccessor, type ModelPrice, type PriceCatalog } from "@costwise/pricing";

/** The model of requests that name none and were not routed, and the cost baseline of those requests. */
export const DEFAULT_MODEL = "gpt-4o";

/**
 * The pipeline's one default-model setting. Every stage that needs a model for a request naming
 * none (tokenizer and window in compression, the call in the executor and the batch path, the
 * baseline in the cache) reads this, so the stages cannot disagree about it.
 */
export const defaultModelConfigSchema = z.object({
  COSTWISE_DEFAULT_MODEL: z.string().min(1).default(DEFAULT_MODEL),
});
export type DefaultModelConfig = z.infer<typeof defaultModelConfigSchema>;

/**
 * The environment with COSTWISE_DEFAULT_MODEL filled in from the names deployments already set:
 * a stage's own variable (e.g. BATCH_DEFAULT_MODEL) wins, then COSTWISE_DEFAULT_MODEL, then
 * EXECUTOR_DEFAULT_MODEL, which the other stages always followed.
 */
export function withDefaultModel(env: NodeJS.ProcessEnv, stageVariable?: string): NodeJS.ProcessEnv {
  const pick = (...names: (string | undefined)[]) => names.map((n) => (n ? env[n]?.trim() : undefined)).find((v) => v);
  const model = pick(stageVariable, "COSTWISE_DEFAULT_MODEL", "EXECUTOR_DEFAULT_MODEL");
  return model ? { ...env, COSTWISE_DEFAULT_MODEL: model } : env;
}

/** The model a request is sent to: the router's choice, else the caller's, else the default. */
export function targetModel(req: Pick<LlmRequest, "model" | "pipeline">, defaultModel: string | null): string | null {
  return req.pipeline?.route?.model ?? req.model ?? defaultModel;
}

/**
 * The naive call's model, which every saving is measured against: the caller's, else the default.
 * When the router moved the request off a retired model, the naive call is the one the caller
 * could still make, to the successor: a retired model's price would count the migration as a saving.
 */
export function baselineModel(req: Pick<LlmRequest, "model"> & Partial<Pick<LlmRequest, "pipeline" | "created_at">>, catalog: PriceCatalog, defaultModel: string | null): ModelPrice | null {
  const m = req.model ?? defaultModel;
  const named = m ? findModel(catalog, m) ?? null : null;
  const retired = req.pipeline?.route?.substituted_from;
  if (!named || !retired || findModel(catalog, retired)?.id !== named.id) return named;
  // The router substituted on or after the retirement date; read the chain on that date at the earliest.
  const created = isoDate(req.created_at ?? Date.now());
  const retiresOn = LIFECYCLE[named.id]?.retiresOn ?? created;
  const successor = servedSuccessor(catalog, named.id, created > retiresOn ? created : retiresOn);
  return (successor ? findModel(catalog, successor) : undefined) ?? named;
}
