import { z } from "zod";

/**
 * "gpt-4o=gpt-4o-mini, claude-sonnet-4-5=claude-haiku-4-5" → { "gpt-4o": "gpt-4o-mini", ... }.
 * Keys are lower-cased so lookups match the catalog's case-insensitive model names.
 */
export function parseFallbackModels(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of spec.split(",")) {
    const pair = raw.trim();
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const from = eq < 0 ? "" : pair.slice(0, eq).trim();
    const to = eq < 0 ? "" : pair.slice(eq + 1).trim();
    if (from === "" || to === "" || to.includes("=")) {
      throw new Error(`expected "model=fallback", got "${pair}"`);
    }
    const key = from.toLowerCase();
    if (key === to.toLowerCase()) throw new Error(`"${from}" cannot fall back to itself`);
    if (key in out) throw new Error(`"${from}" has more than one fallback`);
    out[key] = to;
  }
  return out;
}

const fallbackModels = z
  .union([z.string(), z.record(z.string())])
  .default("")
  .transform((v, ctx): Record<string, string> => {
    try {
      const spec = typeof v === "string" ? v : Object.entries(v).map(([k, m]) => `${k}=${m}`).join(",");
      return parseFallbackModels(spec);
    } catch (err) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
      return z.NEVER;
    }
  });

const positiveInt = z.coerce.number().int().positive();

/** Environment of the provider layer; merge it into a service's own schema and parse once at start-up. */
export const providersConfigSchema = z.object({
  OPENAI_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  /** Overrides the endpoint whether or not a key is set (proxies, gateways, the emulator elsewhere). */
  OPENAI_BASE_URL: z.string().url().optional(),
  ANTHROPIC_BASE_URL: z.string().url().optional(),
  /** Where calls go for a provider that has no key. */
  EMULATOR_URL: z.string().url().default("http://127.0.0.1:18090"),
  OPENAI_CONCURRENCY: positiveInt.default(64),
  ANTHROPIC_CONCURRENCY: positiveInt.default(32),
  /** Per attempt, not per call. */
  PROVIDER_TIMEOUT_MS: positiveInt.default(60_000),
  /** Attempts per model, the first included. */
  PROVIDER_MAX_ATTEMPTS: positiveInt.default(4),
  PROVIDER_RETRY_INITIAL_MS: positiveInt.default(500),
  PROVIDER_RETRY_MAX_MS: positiveInt.default(8_000),
  FALLBACK_MODELS: fallbackModels,
  /**
   * A model the price catalog does not list: `serve` calls it anyway and records its tokens with
   * the cost flagged `unpriced` (a metric and an alert say so); `reject` answers ERROR UNKNOWN_MODEL.
   */
  UNPRICED_MODELS: z.enum(["serve", "reject"]).default("serve"),
  /**
   * Anthropic prompt-cache breakpoints: `auto` marks stable prefixes (tools, system, earlier turns)
   * once their reuse within the cache lifetime pays for the write premium, `always` marks every
   * cacheable one, `off` none. OpenAI caches prefixes by itself.
   */
  PROMPT_CACHE: z.enum(["auto", "off", "always"]).default("auto"),
});

export type ProvidersConfig = z.infer<typeof providersConfigSchema>;
