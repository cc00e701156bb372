import type { Provider } from "@costwise/pricing";

/**
 * What one provider batch may hold (OpenAI Batch API: 50,000 requests and 200 MB per input file;
 * Anthropic Message Batches: 100,000 requests and 256 MB per create request). Bytes are counted
 * as the provider receives them: JSONL lines plus newlines, or the JSON body of the create call.
 */
export const PROVIDER_BATCH_LIMITS: Readonly<Record<Provider, { readonly maxRequests: number; readonly maxBytes: number }>> = {
  // Decimal megabytes: the smaller reading of "MB", so a full batch is accepted whichever the provider means.
  openai: { maxRequests: 50_000, maxBytes: 200_000_000 },
  anthropic: { maxRequests: 100_000, maxBytes: 256_000_000 },
};

/** Room kept for the create call's JSON envelope (`{"requests":[...]}`) around the lines. */
export const ENVELOPE_BYTES = 64;

export interface BatchLimits {
  readonly maxRequests: number;
  readonly maxBytes: number;
}

/** The configured caps, never above what the provider accepts. */
export function effectiveLimits(provider: Provider, configured: BatchLimits): BatchLimits {
  const hard = PROVIDER_BATCH_LIMITS[provider];
  return { maxRequests: Math.min(hard.maxRequests, configured.maxRequests), maxBytes: Math.min(hard.maxBytes, configured.maxBytes) };
}
