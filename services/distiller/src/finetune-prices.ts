import { findModel, type ModelPrice, type PriceCatalog } from "@costwise/pricing";

/**
 * OpenAI supervised fine-tuning prices, USD per million tokens, per base model: the training
 * price (billed on training-file tokens × epochs) and the inference prices of the resulting
 * fine-tuned model, which OpenAI bills above the base model's.
 *
 * Source: OpenAI API pricing page, "Fine-tuning" table (https://platform.openai.com/docs/pricing).
 * Checked 2026-11-26 through a search index of public pages, not the live site: gpt-4o-mini
 * ($3.00 training; $0.30 / $0.15 cached / $1.20) and gpt-4o ($25.00; $3.75 / $1.875 / $15.00) agree
 * across several secondary copies (tokonomics.ca, pecollective.com); the gpt-4.1 family rows are
 * as last read on OpenAI's page and were not cross-checked: treat them as unconfirmed.
 * Training example context length (65,536 tokens) is from OpenAI's and Azure OpenAI's model tables.
 * Anthropic offers no public fine-tuning API, so no Anthropic model is listed.
 */
export interface FineTunePrice {
  /** Catalog id of the base model. */
  readonly base: string;
  readonly trainingPerMTok: string;
  readonly inputPerMTok: string;
  readonly cachedInputPerMTok: string;
  readonly outputPerMTok: string;
  /** Longest training example (prompt + answer) OpenAI accepts, in tokens. */
  readonly maxExampleTokens: number;
}

export const FINE_TUNE_PRICES_CHECKED = "2026-11-26";

export const fineTunePrices: readonly FineTunePrice[] = [
  { base: "gpt-4o", trainingPerMTok: "25.00", inputPerMTok: "3.75", cachedInputPerMTok: "1.875", outputPerMTok: "15.00", maxExampleTokens: 65_536 },
  { base: "gpt-4o-mini", trainingPerMTok: "3.00", inputPerMTok: "0.30", cachedInputPerMTok: "0.15", outputPerMTok: "1.20", maxExampleTokens: 65_536 },
  { base: "gpt-4.1", trainingPerMTok: "25.00", inputPerMTok: "3.00", cachedInputPerMTok: "0.75", outputPerMTok: "12.00", maxExampleTokens: 65_536 },
  { base: "gpt-4.1-mini", trainingPerMTok: "5.00", inputPerMTok: "0.80", cachedInputPerMTok: "0.20", outputPerMTok: "3.20", maxExampleTokens: 65_536 },
  { base: "gpt-4.1-nano", trainingPerMTok: "1.50", inputPerMTok: "0.20", cachedInputPerMTok: "0.05", outputPerMTok: "0.80", maxExampleTokens: 65_536 },
];

const FINE_TUNED = /^ft:([^:]+):/;

/** The base model of a fine-tuned id (`ft:gpt-4o-mini-2024-07-18:org::id` → gpt-4o-mini), or null for any other id. */
export function fineTunedBase(catalog: PriceCatalog, model: string): ModelPrice | null {
  const m = FINE_TUNED.exec(model.trim());
  if (!m) return null;
  const base = findModel(catalog, m[1]!);
  return base && base.kind === "chat" && base.provider === "openai" ? base : null;
}

export function fineTunePriceOf(catalog: PriceCatalog, baseModel: string): FineTunePrice | null {
  const base = findModel(catalog, baseModel);
  return base ? (fineTunePrices.find((p) => p.base === base.id) ?? null) : null;
}

/**
 * The price a model's calls are billed at: a fine-tuned id at the fine-tuned inference prices of
 * its base (when listed above), any other id at its catalog price. null when it cannot be priced.
 */
export function inferencePriceOf(catalog: PriceCatalog, model: string): ModelPrice | null {
  let byId = priced.get(catalog);
  if (!byId) priced.set(catalog, (byId = new Map()));
  let p = byId.get(model);
  if (p === undefined) byId.set(model, (p = priceFor(catalog, model)));
  return p;
}

// Memoised per catalog: costOf caches parsed rates per price object.
const priced = new WeakMap<PriceCatalog, Map<string, ModelPrice | null>>();

function priceFor(catalog: PriceCatalog, model: string): ModelPrice | null {
  const base = fineTunedBase(catalog, model);
  if (base) {
    const ft = fineTunePrices.find((p) => p.base === base.id);
    if (!ft) return { ...base, id: model.trim(), aliases: [] };
    return { ...base, id: model.trim(), aliases: [], inputPerMTok: ft.inputPerMTok, cachedInputPerMTok: ft.cachedInputPerMTok, outputPerMTok: ft.outputPerMTok };
  }
  const m = findModel(catalog, model);
  return m && m.kind === "chat" ? m : null;
}
