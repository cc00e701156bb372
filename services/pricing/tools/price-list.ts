import { parseUsdPerMTok } from "../src/money.ts";
import type { ModelPrice, PriceCatalog } from "../src/types.ts";

/**
 * One entry of LiteLLM's community price list (`model_prices_and_context_window.json`, shipped
 * inside the `litellm` package on PyPI): USD per token as floats, optional per-class variants.
 */
export interface PriceListEntry {
  litellm_provider?: string;
  mode?: string;
  input_cost_per_token?: number;
  output_cost_per_token?: number;
  cache_read_input_token_cost?: number;
  cache_creation_input_token_cost?: number;
  cache_creation_input_token_cost_above_1hr?: number;
  input_cost_per_token_batches?: number;
  max_input_tokens?: number;
  max_output_tokens?: number;
  deprecation_date?: string;
  [key: string]: unknown;
}

export type PriceList = Record<string, PriceListEntry>;

/** A float USD/token as an exact decimal USD/MTok string with at most 6 places (the catalog's format). */
export function perMTok(usdPerToken: number): string {
  const micro = Math.round(usdPerToken * 1e12); // pico-USD per token = micro-USD per MTok
  const whole = Math.trunc(micro / 1e6);
  const frac = String(Math.abs(micro % 1e6)).padStart(6, "0").replace(/0+$/, "").padEnd(2, "0");
  return `${whole}.${frac}`;
}

export interface PriceDifference {
  readonly model: string;
  readonly field: string;
  readonly catalog: string;
  readonly priceList: string;
}

const same = (ours: string | null, theirs: number | undefined, fallback: string): boolean =>
  theirs === undefined || parseUsdPerMTok(ours ?? fallback) === parseUsdPerMTok(perMTok(theirs));

function entryFor(list: PriceList, m: ModelPrice): [string, PriceListEntry] | undefined {
  for (const id of [m.id, ...m.aliases]) {
    const e = list[id];
    if (e && (e.litellm_provider === m.provider || e.litellm_provider === undefined)) return [id, e];
  }
  return undefined;
}

/** Field-by-field differences between the catalog and a price list, for every catalog model the list has. */
export function comparePrices(cat: PriceCatalog, list: PriceList): { differences: PriceDifference[]; notListed: string[] } {
  const differences: PriceDifference[] = [];
  const notListed: string[] = [];
  for (const m of cat.models) {
    const found = entryFor(list, m);
    if (!found) {
      notListed.push(m.id);
      continue;
    }
    const [, e] = found;
    const check = (field: string, ours: string | null, theirs: number | undefined, fallback = m.inputPerMTok) => {
      if (!same(ours, theirs, fallback)) differences.push({ model: m.id, field, catalog: ours ?? `(= input ${fallback})`, priceList: perMTok(theirs!) });
    };
    check("inputPerMTok", m.inputPerMTok, e.input_cost_per_token);
    check("outputPerMTok", m.outputPerMTok, e.output_cost_per_token);
    check("cachedInputPerMTok", m.cachedInputPerMTok, e.cache_read_input_token_cost);
    if (m.provider === "anthropic") {
      check("cacheWritePerMTok", m.cacheWritePerMTok, e.cache_creation_input_token_cost);
      const oneHour = m.cacheWrite1hPerMTok ?? perMTok((Number(parseUsdPerMTok(m.inputPerMTok)) * 2) / 1e12);
      check("cacheWrite1hPerMTok", oneHour, e.cache_creation_input_token_cost_above_1hr);
    }
    if (e.input_cost_per_token !== undefined && e.input_cost_per_token_batches !== undefined && e.input_cost_per_token > 0) {
      const discount = 1 - e.input_cost_per_token_batches / e.input_cost_per_token;
      if (Math.abs(discount - Number(m.batchDiscount)) > 1e-9) {
        differences.push({ model: m.id, field: "batchDiscount", catalog: m.batchDiscount, priceList: discount.toFixed(4) });
      }
    }
  }
  return { differences, notListed };
}

/** Chat models of the catalog's providers that the list has and the catalog does not (dated snapshots and regional ids left out). */
export function missingModels(cat: PriceCatalog, list: PriceList): string[] {
  const known = new Set(cat.models.flatMap((m) => [m.id, ...m.aliases].map((x) => x.toLowerCase())));
  return Object.entries(list)
    .filter(([id, e]) => (e.litellm_provider === "openai" || e.litellm_provider === "anthropic") && e.mode === "chat")
    .map(([id]) => id)
    .filter((id) => !id.includes("/") && !/\d{4}-?\d{2}-?\d{2}|\d{8}|-latest$/.test(id) && !known.has(id.toLowerCase()))
    .sort();
}

/** A catalog entry for a listed model, as TypeScript to review and paste into src/providers/<provider>.ts. */
export function entrySnippet(id: string, e: PriceListEntry): string {
  const provider = e.litellm_provider === "anthropic" ? "anthropic" : "openai";
  const p = (v: number | undefined) => (v === undefined ? "null" : JSON.stringify(perMTok(v)));
  const batch = e.input_cost_per_token && e.input_cost_per_token_batches ? (1 - e.input_cost_per_token_batches / e.input_cost_per_token).toString() : "0.5";
  return [
    "  {",
    `    id: ${JSON.stringify(id)},`,
    `    provider: ${JSON.stringify(provider)},`,
    "    aliases: [],",
    `    kind: "chat",`,
    `    tier: "mid", // set by capability, not by price`,
    `    inputPerMTok: ${p(e.input_cost_per_token)},`,
    `    cachedInputPerMTok: ${p(e.cache_read_input_token_cost)},`,
    `    cacheWritePerMTok: ${provider === "anthropic" ? p(e.cache_creation_input_token_cost) : "null"},`,
    `    outputPerMTok: ${p(e.output_cost_per_token)},`,
    `    batchDiscount: ${JSON.stringify(batch)},`,
    `    contextWindow: ${e.max_input_tokens ?? 0},`,
    `    maxOutputTokens: ${e.max_output_tokens ?? 0},`,
    "  },",
  ].join("\n");
}
