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
  version: "2026-12-02",
  models: Object.freeze([...openaiModels, ...anthropicModels].map(freezeModel)),
});

// OpenAI fine-tuned models are named ft:<base model>:<org>:<suffix>:<job id>.
const FINE_TUNED = /^ft:([^:]+):/;
const fineTunedCache = new WeakMap<PriceCatalog, Map<string, ModelPrice | null>>();

/**
 * A fine-tuned OpenAI model (`ft:gpt-4o-mini-2024-07-18:org::abc`) is priced at its base model's
 * catalog price, under its own id (so providers call the fine-tuned model). OpenAI bills
 * fine-tuned inference above the base price; that premium is not modelled here.
 */
function fineTuned(cat: PriceCatalog, model: string): ModelPrice | undefined {
  const m = FINE_TUNED.exec(model);
  if (!m) return undefined;
  let byId = fineTunedCache.get(cat);
  if (!byId) fineTunedCache.set(cat, (byId = new Map()));
  let found = byId.get(model);
  if (found === undefined) {
    const base = findModel(cat, m[1]!);
    found = base && base.provider === "openai" && base.kind === "chat" ? freezeModel({ ...base, id: model, aliases: [] }) : null;
    byId.set(model, found);
  }
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
