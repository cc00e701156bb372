import { PricingError } from "./errors.ts";
import { parseUsdPerMTok } from "./money.ts";
import type { ModelPrice, PriceCatalog } from "./types.ts";

/*
 * Fine-tuned models. OpenAI names a fine-tuned model `ft:<base>:<org>:<suffix>:<job id>` and bills
 * it at its own rates: a training price per token (training-file tokens × epochs) and inference
 * prices above the base model's. A fine-tuned id gets a catalog entry of its own, built from its
 * base model:
 *
 *   1. an override row for the base (`withFineTunePrices`) wins;
 *   2. else the published row for the base (FINE_TUNE_PUBLISHED, from OpenAI's pricing page);
 *   3. else the rule: inference at FINE_TUNE_RULE.inference × the base's input, cached-input and
 *      output prices, training at FINE_TUNE_RULE.training × the base's input price.
 *
 * The rule's factors are the medians of the published rows' ratios (inference 1.5× for gpt-4o and
 * gpt-4.1, 2× for the three small models; training 10×, 12.5×, 12.5×, 15× and 20× the input price).
 * Only OpenAI chat models can be bases: Anthropic offers no fine-tuning API, and an id whose base the
 * catalog does not know cannot be priced (findModel returns undefined, fineTunedPriceOf null).
 */

export interface FineTunePrice {
  /** Catalog id of the base model. */
  readonly base: string;
  /** Training, USD per million training tokens (tokens of the training file × epochs). */
  readonly trainingPerMTok: string;
  readonly inputPerMTok: string;
  readonly cachedInputPerMTok: string;
  readonly outputPerMTok: string;
  /** Longest training example (prompt + answer) accepted, in tokens. */
  readonly maxExampleTokens: number;
  /** Where the row comes from: OpenAI's table, the rule, or an override. */
  readonly source: "published" | "rule" | "override";
}

/** The date the published rows were read. */
export const FINE_TUNE_PRICES_CHECKED = "2026-11-26";

/**
 * OpenAI supervised fine-tuning, USD per million tokens. Source: OpenAI API pricing page,
 * "Fine-tuning" table (https://platform.openai.com/docs/pricing), read through a search index of
 * public pages: gpt-4o-mini and gpt-4o agree across several secondary copies; the gpt-4.1 family
 * rows are as last read on OpenAI's page and were not cross-checked. Training example context
 * length (65,536 tokens) is from OpenAI's and Azure OpenAI's model tables.
 */
export const FINE_TUNE_PUBLISHED: readonly FineTunePrice[] = Object.freeze(
  [
    { base: "gpt-4o", trainingPerMTok: "25.00", inputPerMTok: "3.75", cachedInputPerMTok: "1.875", outputPerMTok: "15.00" },
    { base: "gpt-4o-mini", trainingPerMTok: "3.00", inputPerMTok: "0.30", cachedInputPerMTok: "0.15", outputPerMTok: "1.20" },
    { base: "gpt-4.1", trainingPerMTok: "25.00", inputPerMTok: "3.00", cachedInputPerMTok: "0.75", outputPerMTok: "12.00" },
    { base: "gpt-4.1-mini", trainingPerMTok: "5.00", inputPerMTok: "0.80", cachedInputPerMTok: "0.20", outputPerMTok: "3.20" },
    { base: "gpt-4.1-nano", trainingPerMTok: "1.50", inputPerMTok: "0.20", cachedInputPerMTok: "0.05", outputPerMTok: "0.80" },
  ].map((r) => Object.freeze({ ...r, maxExampleTokens: 65_536, source: "published" as const })),
);

/** The rule for a base without a row: factors as exact fractions (numerator / denominator). */
export const FINE_TUNE_RULE = Object.freeze({
  inference: { num: 2n, den: 1n },
  training: { num: 25n, den: 2n },
  maxExampleTokens: 65_536,
});

const FINE_TUNED = /^ft:([^:]+):/;

/** The base model id named by a fine-tuned id (`ft:gpt-4o-mini-2024-07-18:org::abc` → `gpt-4o-mini-2024-07-18`), or null. */
export function fineTunedBaseId(model: string): string | null {
  return FINE_TUNED.exec(model.trim())?.[1] ?? null;
}

/** pico-USD per token → USD per million tokens, exactly (at most 6 decimals, at least 2). */
export function formatUsdPerMTok(pico: bigint): string {
  if (pico < 0n) throw new PricingError(`negative price ${pico}`);
  const whole = pico / 1_000_000n;
  const frac = (pico % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "").padEnd(2, "0");
  return `${whole}.${frac}`;
}

const scale = (usdPerMTok: string, f: { num: bigint; den: bigint }): string => {
  const pico = parseUsdPerMTok(usdPerMTok) * f.num;
  // Round half up to a whole pico-USD per token: the catalog's resolution.
  return formatUsdPerMTok((2n * pico + f.den) / (2n * f.den));
};

/** The rule's row for a base model (see FINE_TUNE_RULE). */
export function ruleFineTunePrice(base: ModelPrice): FineTunePrice {
  const inf = FINE_TUNE_RULE.inference;
  return {
    base: base.id,
    trainingPerMTok: scale(base.inputPerMTok, FINE_TUNE_RULE.training),
    inputPerMTok: scale(base.inputPerMTok, inf),
    cachedInputPerMTok: scale(base.cachedInputPerMTok ?? base.inputPerMTok, inf),
    outputPerMTok: scale(base.outputPerMTok, inf),
    maxExampleTokens: FINE_TUNE_RULE.maxExampleTokens,
    source: "rule",
  };
}

const overridesOf = new WeakMap<PriceCatalog, readonly FineTunePrice[]>();

/**
 * A catalog whose fine-tuned prices for the given bases are `rows` (an enterprise contract, a
 * price change not yet in the data). Rows are validated; the catalog's models are shared.
 */
export function withFineTunePrices(cat: PriceCatalog, rows: readonly Omit<FineTunePrice, "source">[]): PriceCatalog {
  const checked = rows.map((r) => {
    for (const p of [r.trainingPerMTok, r.inputPerMTok, r.cachedInputPerMTok, r.outputPerMTok]) parseUsdPerMTok(p);
    if (!Number.isSafeInteger(r.maxExampleTokens) || r.maxExampleTokens <= 0) throw new PricingError(`maxExampleTokens of ${r.base} must be a positive integer`);
    return Object.freeze({ ...r, source: "override" as const });
  });
  const next: PriceCatalog = Object.freeze({ version: `${cat.version}+ft-overrides`, models: cat.models });
  overridesOf.set(next, Object.freeze([...(overridesOf.get(cat) ?? []), ...checked]));
  return next;
}

function baseModel(cat: PriceCatalog, id: string): ModelPrice | undefined {
  const wanted = id.trim().toLowerCase();
  const m = cat.models.find((x) => x.id.toLowerCase() === wanted || x.aliases.some((a) => a.toLowerCase() === wanted));
  return m && m.provider === "openai" && m.kind === "chat" ? m : undefined;
}

/**
 * The fine-tuning prices of a base model (an id or alias of an OpenAI chat model), or null when
 * the catalog cannot price fine-tuning it.
 */
export function fineTunePriceOf(cat: PriceCatalog, base: string): FineTunePrice | null {
  const m = baseModel(cat, base);
  if (!m) return null;
  const match = (r: FineTunePrice) => r.base === m.id || m.aliases.includes(r.base);
  return (overridesOf.get(cat) ?? []).findLast(match) ?? FINE_TUNE_PUBLISHED.find(match) ?? ruleFineTunePrice(m);
}

/** The base model of a fine-tuned id, or null when the id is not `ft:` or its base cannot be priced. */
export function fineTunedBase(cat: PriceCatalog, model: string): ModelPrice | null {
  const id = fineTunedBaseId(model);
  return id === null ? null : (baseModel(cat, id) ?? null);
}

/**
 * The catalog entry of a fine-tuned id: the base model's limits and tier under the fine-tuned
 * id, at the fine-tuned inference prices. Null when the id's base cannot be priced.
 */
export function fineTunedModel(cat: PriceCatalog, model: string): ModelPrice | null {
  const base = fineTunedBase(cat, model);
  if (!base) return null;
  const ft = fineTunePriceOf(cat, base.id)!;
  return Object.freeze({
    ...base, id: model.trim(), aliases: Object.freeze([]),
    inputPerMTok: ft.inputPerMTok, cachedInputPerMTok: ft.cachedInputPerMTok, outputPerMTok: ft.outputPerMTok,
  });
}

/** Training cost in nano-USD of `trainedTokens` billable training tokens (OpenAI's `trained_tokens` already counts every epoch). */
export function trainingCostNanoUsd(price: FineTunePrice, trainedTokens: number): number {
  if (!Number.isSafeInteger(trainedTokens) || trainedTokens < 0) throw new PricingError(`trained tokens must be a non-negative integer, got ${trainedTokens}`);
  const pico = BigInt(trainedTokens) * parseUsdPerMTok(price.trainingPerMTok);
  const nano = (pico + 500n) / 1000n;
  if (nano > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`training cost ${nano} nano-USD exceeds Number.MAX_SAFE_INTEGER`);
  return Number(nano);
}
