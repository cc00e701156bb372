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
  outputPerMTok: string;
  /** Fraction of the realtime price that the provider's batch API takes off, e.g. "0.5". */
  batchDiscount: string;
  contextWindow: number;
  maxOutputTokens: number;
}

export interface PriceCatalog {
  version: string;
  models: readonly ModelPrice[];
}
