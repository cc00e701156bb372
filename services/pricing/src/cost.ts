import { catalog } from "./catalog.ts";
import { InvalidUsageError } from "./errors.ts";
import { PPM, divRoundHalfUp, parseFractionPpm, parseUsdPerMTok, picoToNano, toSafeNumber } from "./money.ts";
import type { ModelPrice, Provider } from "./types.ts";

/** Token counts of one call. `inputTokens` is ALL prompt tokens, cached and cache-write included. */
export interface Usage {
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  outputTokens: number;
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
  cacheWriteNanoUsd: number;
  outputNanoUsd: number;
  batchDiscountNanoUsd: number;
  totalNanoUsd: number;
}

interface Rates {
  input: bigint;
  cachedInput: bigint;
  cacheWrite: bigint;
  output: bigint;
  batchDiscountPpm: bigint;
}

// Prices are strings in the data; parse each model once and reuse (catalog models are frozen).
const ratesCache = new WeakMap<ModelPrice, Rates>();

function ratesOf(price: ModelPrice): Rates {
  let rates = ratesCache.get(price);
  if (!rates) {
    const input = parseUsdPerMTok(price.inputPerMTok);
    rates = {
      input,
      cachedInput: price.cachedInputPerMTok === null ? input : parseUsdPerMTok(price.cachedInputPerMTok),
      cacheWrite: price.cacheWritePerMTok === null ? input : parseUsdPerMTok(price.cacheWritePerMTok),
      output: parseUsdPerMTok(price.outputPerMTok),
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
  if (cached + cacheWrite > input) {
    throw new InvalidUsageError(
      `cached (${cached}) + cache-write (${cacheWrite}) tokens exceed input tokens (${input})`,
    );
  }
  const rates = ratesOf(price);

  const uncachedPico = (input - cached - cacheWrite) * rates.input;
  const cachedPico = cached * rates.cachedInput;
  const cacheWritePico = cacheWrite * rates.cacheWrite;
  const outputPico = output * rates.output;

  const lines = [uncachedPico, cachedPico, cacheWritePico, outputPico].map(picoToNano);
  const [uncachedNano = 0n, cachedNano = 0n, cacheWriteNano = 0n, outputNano = 0n] = lines;
  const realtimeNano = uncachedNano + cachedNano + cacheWriteNano + outputNano;

  // The discount is its own line, computed from the exact pico total so it is rounded once.
  const exactPico = uncachedPico + cachedPico + cacheWritePico + outputPico;
  const discountNano =
    mode === "batch" ? divRoundHalfUp(exactPico * rates.batchDiscountPpm, PPM * 1_000n) : 0n;

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
  };
}

/** OpenAI counts cached tokens INSIDE prompt_tokens and bills no cache writes. */
export function usageFromOpenAI(u: {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
}): Usage {
  return {
    inputTokens: u.prompt_tokens,
    cachedInputTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
    cacheWriteInputTokens: 0,
    outputTokens: u.completion_tokens,
  };
}

/** Anthropic reports three disjoint input classes; our inputTokens is their sum. */
export function usageFromAnthropic(u: {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}): Usage {
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const cacheCreation = u.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: u.input_tokens + cacheRead + cacheCreation,
    cachedInputTokens: cacheRead,
    cacheWriteInputTokens: cacheCreation,
    outputTokens: u.output_tokens,
  };
}
