import { UnknownModelError } from "./errors.ts";
import { anthropicModels } from "./providers/anthropic.ts";
import { openaiModels } from "./providers/openai.ts";
import { fineTunedModel } from "./fine-tuning.ts";
import type { ModelPrice, PriceCatalog } from "./types.ts";

// Frozen so that a price cannot change under a cached parse (cost.ts memoises per object).
function freezeModel(model: ModelPrice): ModelPrice {
  return Object.freeze({ ...model, aliases: Object.freeze([...model.aliases]) });
}

/** The current catalog. Bump `version` (the date prices were checked) whenever a price changes. */
export const catalog: PriceCatalog = Object.freeze({
  version: "2026-11-26",
  models: Object.freeze([...openaiModels, ...anthropicModels].map(freezeModel)),
});

const fineTunedCache = new WeakMap<PriceCatalog, Map<string, ModelPrice | null>>();

/**
 * A fine-tuned OpenAI model (`ft:gpt-4o-mini-2024-07-18:org::abc`) has its own entry: the base
 * model's limits at the fine-tuned prices (fine-tuning.ts: override, published row or rule).
 */
function fineTuned(cat: PriceCatalog, model: string): ModelPrice | undefined {
  let byId = fineTunedCache.get(cat);
  if (!byId) fineTunedCache.set(cat, (byId = new Map()));
  let found = byId.get(model);
  if (found === undefined) byId.set(model, (found = fineTunedModel(cat, model)));
  return found ?? undefined;
}

/** Finds a model by canonical id or alias, ignoring case and surrounding whitespace; see fineTuned for ft: ids. */
export function findModel(cat: PriceCatalog, model: string): ModelPrice | undefined {
  const trimmed = model.trim();
  const wanted = trimmed.toLowerCase();
  return (
    cat.models.find((m) => m.id.toLowerCase() === wanted || m.aliases.some((a) => a.toLowerCase() === wanted)) ??
    (wanted.startsWith("ft:") ? fineTuned(cat, trimmed) : undefined)
  );
}

export function requireModel(cat: PriceCatalog, model: string): ModelPrice {
  const found = findModel(cat, model);
  if (!found) throw new UnknownModelError(model);
  return found;
}
