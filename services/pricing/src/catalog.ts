import { UnknownModelError } from "./errors.ts";
import { anthropicModels } from "./providers/anthropic.ts";
import { openaiModels } from "./providers/openai.ts";
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

/** Finds a model by canonical id or alias, ignoring case and surrounding whitespace. */
export function findModel(cat: PriceCatalog, model: string): ModelPrice | undefined {
  const wanted = model.trim().toLowerCase();
  return cat.models.find(
    (m) => m.id.toLowerCase() === wanted || m.aliases.some((a) => a.toLowerCase() === wanted),
  );
}

export function requireModel(cat: PriceCatalog, model: string): ModelPrice {
  const found = findModel(cat, model);
  if (!found) throw new UnknownModelError(model);
  return found;
}
