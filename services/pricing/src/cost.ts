import { catalog } from "./catalog.ts";
import { InvalidUsageError } from "./errors.ts";
import { PPM, divRoundHalfUp, parseFractionPpm, parseUsdPerMTok, picoToNano, toSafeNumber } from "./money.ts";
import type { LongContextTier, ModelPrice, Provider } from "./types.ts";

/** Token counts of one call. `inputTokens` is ALL prompt tokens, cached and cache-write included. */
export interface Usage {
  inputTokens: number;
  cachedInputTokens: number;
  /** All cache writes, both lifetimes; the 1-hour ones are also counted in `cacheWrite1hInputTokens`. */
  cacheWriteInputTokens: number;
  outputTokens: number;
  /** The part of `cacheWriteInputTokens` written with the 1-hour lifetime (Anthropic). */
  cacheWrite1hInputTokens?: number;
  /**
   * The part of `outputTokens` the model spent reasoning. Both providers bill reasoning as output
   * and include it in their output count, so it is priced once, inside `outputTokens`; it is kept
   * apart only to be reported.
   */
  reasoningTokens?: number;
}

export type PricingMode = "realtime" | "batch";

/**
 * Lines are at realtime list price; `batchDiscountNanoUsd` is what batch mode saved and
 * `totalNanoUsd` = lines - discount, exactly. All amounts are integer nano-USD.
 */
export interface CostBreakdown {
  model: string;
  provider: Provider;
  mode: PricingMode;
  catalogVersion: string;
  uncachedInputNanoUsd: number;
  cachedInputNanoUsd: number;
  /** 5-minute and 1-hour cache writes together. */
  cacheWriteNanoUsd: number;
  outputNanoUsd: number;
  batchDiscountNanoUsd: number;
  totalNanoUsd: number;
  /** Which price tier billed the call: the long-context tier applies to the whole call. */
  tier: "standard" | "long_context";
}

interface TierRates {
  input: bigint;
  cachedInput: bigint;
  cacheWrite: bigint;
  cacheWrite1h: bigint;
  output: bigint;
}

interface Rates {
  standard: TierRates;
  longContext: (TierRates & { aboveInputTokens: bigint }) | null;
  batchDiscountPpm: bigint;
}

type TierPrices = Pick<ModelPrice, "inputPerMTok" | "cachedInputPerMTok" | "cacheWritePerMTok" | "cacheWrite1hPerMTok" | "outputPerMTok">;

function tierRates(p: TierPrices | LongContextTier, provider: Provider): TierRates {
  const input = parseUsdPerMTok(p.inputPerMTok);
  const cacheWrite = p.cacheWritePerMTok === null ? input : parseUsdPerMTok(p.cacheWritePerMTok);
  // Anthropic prices every 1-hour write at 2x base input; without that class a write is a write.
  const cacheWrite1h =
    p.cacheWrite1hPerMTok != null ? parseUsdPerMTok(p.cacheWrite1hPerMTok) : provider === "anthropic" ? input * 2n : cacheWrite;
  return {
    input,
    cachedInput: p.cachedInputPerMTok === null ? input : parseUsdPerMTok(p.cachedInputPerMTok),
    cacheWrite,
    cacheWrite1h,
    output: parseUsdPerMTok(p.outputPerMTok),
  };
}

// Prices are strings in the data; parse each model once and reuse (catalog models are frozen).
const ratesCache = new WeakMap<ModelPrice, Rates>();

function ratesOf(price: ModelPrice): Rates {
  let rates = ratesCache.get(price);
  if (!rates) {
    const lc = price.longContext ?? null;
    if (lc && (!Number.isSafeInteger(lc.aboveInputTokens) || lc.aboveInputTokens <= 0)) {
      throw new InvalidUsageError(`${price.id}: long-context tier boundary must be a positive integer`);
    }
    rates = {
      standard: tierRates(price, price.provider),
      longContext: lc ? { ...tierRates(lc, price.provider), aboveInputTokens: BigInt(lc.aboveInputTokens) } : null,
      batchDiscountPpm: parseFractionPpm(price.batchDiscount),
    };
    if (Object.isFrozen(price)) ratesCache.set(price, rates);
  }
  return rates;
}

function tokens(n: number, field: keyof Usage): bigint {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new InvalidUsageError(`${field} must be a non-negative integer, got ${n}`);
  }
  return BigInt(n);
}

/** Prices one call. Integer arithmetic throughout; each line is rounded half-up once. */
export function costOf(
  price: ModelPrice,
  usage: Usage,
  mode: PricingMode = "realtime",
  catalogVersion: string = catalog.version,
): CostBreakdown {
  const input = tokens(usage.inputTokens, "inputTokens");
  const cached = tokens(usage.cachedInputTokens, "cachedInputTokens");
  const cacheWrite = tokens(usage.cacheWriteInputTokens, "cacheWriteInputTokens");
  const output = tokens(usage.outputTokens, "outputTokens");
  const cacheWrite1h = tokens(usage.cacheWrite1hInputTokens ?? 0, "cacheWrite1hInputTokens");
  const reasoning = tokens(usage.reasoningTokens ?? 0, "reasoningTokens");
  if (cached + cacheWrite > input) {
    throw new InvalidUsageError(
      `cached (${cached}) + cache-write (${cacheWrite}) tokens exceed input tokens (${input})`,
    );
  }
  if (cacheWrite1h > cacheWrite) {
    throw new InvalidUsageError(`1-hour cache writes (${cacheWrite1h}) exceed cache writes (${cacheWrite})`);
  }
  if (reasoning > output) {
    throw new InvalidUsageError(`reasoning tokens (${reasoning}) exceed output tokens (${output})`);
  }
  const all = ratesOf(price);
  const long = all.longContext !== null && input > all.longContext.aboveInputTokens;
  const rates = long && all.longContext ? all.longContext : all.standard;

  const uncachedPico = (input - cached - cacheWrite) * rates.input;
  const cachedPico = cached * rates.cachedInput;
  const cacheWritePico = (cacheWrite - cacheWrite1h) * rates.cacheWrite + cacheWrite1h * rates.cacheWrite1h;
  const outputPico = output * rates.output;

  const lines = [uncachedPico, cachedPico, cacheWritePico, outputPico].map(picoToNano);
  const [uncachedNano = 0n, cachedNano = 0n, cacheWriteNano = 0n, outputNano = 0n] = lines;
  const realtimeNano = uncachedNano + cachedNano + cacheWriteNano + outputNano;

  // The discount is its own line, computed from the exact pico total so it is rounded once.
  const exactPico = uncachedPico + cachedPico + cacheWritePico + outputPico;
  const discountNano =
    mode === "batch" ? divRoundHalfUp(exactPico * all.batchDiscountPpm, PPM * 1_000n) : 0n;

  return {
    model: price.id,
    provider: price.provider,
    mode,
    catalogVersion,
    uncachedInputNanoUsd: toSafeNumber(uncachedNano, "uncached input cost"),
    cachedInputNanoUsd: toSafeNumber(cachedNano, "cached input cost"),
    cacheWriteNanoUsd: toSafeNumber(cacheWriteNano, "cache write cost"),
    outputNanoUsd: toSafeNumber(outputNano, "output cost"),
    batchDiscountNanoUsd: toSafeNumber(discountNano, "batch discount"),
    totalNanoUsd: toSafeNumber(realtimeNano - discountNano, "total cost"),
    tier: long ? "long_context" : "standard",
  };
}

/**
 * OpenAI counts cached tokens INSIDE prompt_tokens, reasoning tokens INSIDE completion_tokens,
 * and bills no cache writes.
 */
export function usageFromOpenAI(u: {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
}): Usage {
  const reasoning = u.completion_tokens_details?.reasoning_tokens ?? 0;
  return {
    inputTokens: u.prompt_tokens,
    cachedInputTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
    cacheWriteInputTokens: 0,
    outputTokens: u.completion_tokens,
    ...(reasoning > 0 ? { reasoningTokens: reasoning } : {}),
  };
}

/** Anthropic reports three disjoint input classes; our inputTokens is their sum. */
export function usageFromAnthropic(u: {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  /** The split of cache_creation_input_tokens by lifetime, when the API reports it. */
  cache_creation?: { ephemeral_5m_input_tokens?: number | null; ephemeral_1h_input_tokens?: number | null } | null;
}): Usage {
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const split = u.cache_creation;
  const cacheCreation =
    u.cache_creation_input_tokens ?? (split ? (split.ephemeral_5m_input_tokens ?? 0) + (split.ephemeral_1h_input_tokens ?? 0) : 0);
  // Extended-thinking tokens are inside output_tokens (Anthropic bills them as output) and the
  // API does not report them apart, so reasoningTokens stays unknown (0) here.
  const oneHour = Math.min(cacheCreation, split?.ephemeral_1h_input_tokens ?? 0);
  return {
    inputTokens: u.input_tokens + cacheRead + cacheCreation,
    cachedInputTokens: cacheRead,
    cacheWriteInputTokens: cacheCreation,
    outputTokens: u.output_tokens,
    ...(oneHour > 0 ? { cacheWrite1hInputTokens: oneHour } : {}),
  };
}
