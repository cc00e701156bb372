import { UnknownModelError } from "./errors.ts";
import { anthropicModels } from "./providers/anthropic.ts";
import { openaiModels } from "./providers/openai.ts";
import { fineTunedModel } from "./fine-tuning.ts";
import type { ModelPrice, PriceCatalog, Provider, UnpricedPolicy } from "./types.ts";

// Frozen so that a price cannot change under a cached parse (cost.ts memoises per object).
function freezeModel(model: ModelPrice): ModelPrice {
  return Object.freeze({ ...model, aliases: Object.freeze([...model.aliases]) });
}

/** The current catalog. Bump `version` (the date prices were checked) whenever a price changes. */
export const catalog: PriceCatalog = Object.freeze({
  version: "2026-12-02",
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
    (wanted.startsWith("ft:") ? fineTuned(cat, trimmed) : undefined) ??
    (cat.unpriced === "serve" ? unpricedModel(trimmed) : undefined)
  );
}

// The providers' public naming: OpenAI chat/reasoning/embedding families and Anthropic's claude-*.
const OPENAI_ID = /^(gpt-|chatgpt-|o\d|codex-|ft:|text-embedding-)/i;
const ANTHROPIC_ID = /^claude-/i;
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** The provider a model id belongs to by its provider's naming, or undefined when neither claims it. */
export function providerOfModelId(model: string): Provider | undefined {
  if (!MODEL_ID.test(model)) return undefined;
  if (ANTHROPIC_ID.test(model)) return "anthropic";
  if (OPENAI_ID.test(model)) return "openai";
  return undefined;
}

const unpricedCache = new Map<string, ModelPrice | null>();

/**
 * A stand-in price for a model no catalog entry covers: zero prices, `unpriced: true`, limits left
 * to the provider (which knows them). Served only under the `serve` policy, so its calls are
 * recorded with their tokens and flagged instead of being costed silently at $0.
 */
export function unpricedModel(model: string): ModelPrice | undefined {
  const id = model.trim();
  let found = unpricedCache.get(id);
  if (found === undefined) {
    const provider = providerOfModelId(id);
    found = provider
      ? freezeModel({
          id, provider, aliases: [], kind: /embedding/i.test(id) ? "embedding" : "chat",
          // Treated as the strong tier: the caller chose it, and nothing may route down "to" it.
          tier: "frontier",
          inputPerMTok: "0", cachedInputPerMTok: null, cacheWritePerMTok: null, outputPerMTok: "0", batchDiscount: "0.5",
          contextWindow: Number.MAX_SAFE_INTEGER, maxOutputTokens: Number.MAX_SAFE_INTEGER, unpriced: true,
        })
      : null;
    if (unpricedCache.size < 1_000) unpricedCache.set(id, found);
  }
  return found ?? undefined;
}

/** The same catalog (same prices, same version) with the given policy for unknown models. */
export function withUnpricedPolicy(cat: PriceCatalog, policy: UnpricedPolicy): PriceCatalog {
  if ((cat.unpriced ?? "reject") === policy) return cat;
  return Object.freeze({ ...cat, unpriced: policy });
}

export function requireModel(cat: PriceCatalog, model: string): ModelPrice {
  const found = findModel(cat, model);
  if (!found) throw new UnknownModelError(model);
  return found;
}
