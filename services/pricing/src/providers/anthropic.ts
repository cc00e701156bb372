import type { ModelPrice } from "../types.ts";

// Anthropic Claude API list prices, USD per million tokens.
// Source: https://platform.claude.com/docs/en/about-claude/pricing ("Model pricing" table:
// base input, 5m cache writes, cache hits, output) and the model cards
// https://platform.claude.com/docs/en/models/<family>/overview (ids, context, max output).
// Checked: 2026-11-26. Lifecycle notes (retired / deprecated ids) are in README.md.
// Cache hits are 0.1x input and 5-minute cache writes 1.25x input for every model here; the
// Message Batches API takes 50% off every token class, cache reads and writes included.
// Context windows are the standard 200K; the 1M-context beta (Sonnet 4 / 4.5) bills a
// long-context premium above 200K input tokens that this catalog does not model.
export const anthropicModels: readonly ModelPrice[] = [
  {
    id: "claude-opus-4-5",
    provider: "anthropic",
    aliases: ["claude-opus-4-5-20251101"],
    kind: "chat",
    tier: "frontier",
    inputPerMTok: "5.00",
    cachedInputPerMTok: "0.50",
    cacheWritePerMTok: "6.25",
    outputPerMTok: "25.00",
    batchDiscount: "0.5",
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
  },
  {
    id: "claude-opus-4-1",
    provider: "anthropic",
    aliases: ["claude-opus-4-1-20250805"],
    kind: "chat",
    tier: "frontier",
    inputPerMTok: "15.00",
    cachedInputPerMTok: "1.50",
    cacheWritePerMTok: "18.75",
    outputPerMTok: "75.00",
    batchDiscount: "0.5",
    contextWindow: 200_000,
    maxOutputTokens: 32_000,
  },
  {
    id: "claude-sonnet-4-5",
    provider: "anthropic",
    aliases: ["claude-sonnet-4-5-20250929"],
    kind: "chat",
    tier: "mid",
    inputPerMTok: "3.00",
    cachedInputPerMTok: "0.30",
    cacheWritePerMTok: "3.75",
    outputPerMTok: "15.00",
    batchDiscount: "0.5",
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
  },
  {
    id: "claude-sonnet-4",
    provider: "anthropic",
    aliases: ["claude-sonnet-4-20250514", "claude-sonnet-4-0"],
    kind: "chat",
    tier: "mid",
    inputPerMTok: "3.00",
    cachedInputPerMTok: "0.30",
    cacheWritePerMTok: "3.75",
    outputPerMTok: "15.00",
    batchDiscount: "0.5",
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
  },
  {
    id: "claude-haiku-4-5",
    provider: "anthropic",
    aliases: ["claude-haiku-4-5-20251001"],
    kind: "chat",
    tier: "small",
    inputPerMTok: "1.00",
    cachedInputPerMTok: "0.10",
    cacheWritePerMTok: "1.25",
    outputPerMTok: "5.00",
    batchDiscount: "0.5",
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
  },
  {
    id: "claude-3-5-haiku",
    provider: "anthropic",
    aliases: ["claude-3-5-haiku-20241022", "claude-3-5-haiku-latest"],
    kind: "chat",
    tier: "small",
    inputPerMTok: "0.80",
    cachedInputPerMTok: "0.08",
    cacheWritePerMTok: "1.00",
    outputPerMTok: "4.00",
    batchDiscount: "0.5",
    contextWindow: 200_000,
    maxOutputTokens: 8_192,
  },
];
