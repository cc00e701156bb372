export type Provider = "openai" | "anthropic";

/**
 * One model's list prices. Prices are decimal strings in USD per million tokens, exactly as the
 * provider publishes them, so a reviewer can diff them against the pricing page; they are parsed
 * once into integer pico-USD per token (see money.ts) and never touched as floats.
 */
export interface ModelPrice {
  id: string;
  provider: Provider;
  /** Other names the API accepts or reports for the same prices (dated snapshots, `-latest`). */
  aliases: readonly string[];
  kind: "chat" | "embedding";
  /** Coarse capability class for the router; not a price bucket. */
  tier: "frontier" | "mid" | "small";
  inputPerMTok: string;
  /** OpenAI "cached input" / Anthropic "cache hits"; null → cached tokens bill at the input price. */
  cachedInputPerMTok: string | null;
  /** Anthropic 5-minute cache write; null → cache-write tokens bill at the input price. */
  cacheWritePerMTok: string | null;
  /**
   * Anthropic 1-hour cache write. Absent → 2x the input price for Anthropic models (the
   * provider's published multiplier for every model), the 5-minute write price otherwise.
   */
  cacheWrite1hPerMTok?: string | null;
  outputPerMTok: string;
  /** Fraction of the realtime price that the provider's batch API takes off, e.g. "0.5". */
  batchDiscount: string;
  contextWindow: number;
  maxOutputTokens: number;
  /**
   * A long-context tier: when a call's prompt (all input classes) is above `aboveInputTokens`,
   * every token of that call bills at these prices instead (the providers price the whole call
   * at the higher tier, not only the tokens past the boundary).
   */
  longContext?: LongContextTier | null;
  /**
   * Whether the model takes image input. Absent → true (every current chat model here does);
   * false makes a request with image parts a clear error before any call.
   */
  vision?: boolean;
  /**
   * True for a model that is in no price list but was served anyway: its prices are zero and
   * its cost records say `unpriced`, so the tokens are kept for re-pricing later.
   */
  unpriced?: boolean;
}

export interface LongContextTier {
  aboveInputTokens: number;
  inputPerMTok: string;
  cachedInputPerMTok: string | null;
  cacheWritePerMTok: string | null;
  cacheWrite1hPerMTok?: string | null;
  outputPerMTok: string;
}

/**
 * What to do with a model the catalog has no price for: `reject` it (an error before any call) or
 * `serve` it, recording its tokens with cost `unpriced` instead of a silent $0.
 */
export type UnpricedPolicy = "serve" | "reject";

export interface PriceCatalog {
  version: string;
  models: readonly ModelPrice[];
  /** Absent → `reject`. See `withUnpricedPolicy`. */
  unpriced?: UnpricedPolicy;
}
