import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";

/** OpenAI caches prompts of at least 1024 tokens, in steps of 128 tokens. */
export const OPENAI_CACHE_MIN_TOKENS = 1024;
export const OPENAI_CACHE_STEP_TOKENS = 128;

export interface PrefixCacheOptions {
  maxEntries: number;
  ttlMs: number;
}

/**
 * Emulates OpenAI's automatic prompt caching: every 128-token boundary (from 1024 on) of a
 * prompt is remembered by the hash of the prefix up to it; a later prompt of the same model
 * that shares a remembered prefix reports the longest such prefix as `cached_tokens`.
 * Entries expire after `ttlMs` without use and the map is bounded (LRU).
 */
export class OpenAiPrefixCache {
  private readonly entries: LRUCache<string, { expiresAt: number }>;

  constructor(private readonly options: PrefixCacheOptions) {
    this.entries = new LRUCache({ max: options.maxEntries });
  }

  /** Returns the cached-token count for this prompt and records its prefixes. */
  lookupAndStore(model: string, sequence: Uint32Array, now: number): number {
    if (sequence.length < OPENAI_CACHE_MIN_TOKENS) return 0;
    const bytes = Buffer.from(sequence.buffer, sequence.byteOffset, sequence.byteLength);
    const hash = createHash("sha256").update(model).update("\u0000");
    const keys: { key: string; tokens: number }[] = [];
    let hashed = 0;
    for (let boundary = OPENAI_CACHE_MIN_TOKENS; boundary <= sequence.length; boundary += OPENAI_CACHE_STEP_TOKENS) {
      hash.update(bytes.subarray(hashed * 4, boundary * 4));
      hashed = boundary;
      keys.push({ key: hash.copy().digest("base64"), tokens: boundary });
    }
    let cached = 0;
    for (const { key, tokens } of keys) {
      const entry = this.entries.get(key);
      if (entry && entry.expiresAt > now) cached = tokens;
    }
    const expiresAt = now + this.options.ttlMs;
    for (const { key } of keys) this.entries.set(key, { expiresAt });
    return cached;
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

export type CacheTtl = "5m" | "1h";

export const ANTHROPIC_TTL_MS: Readonly<Record<CacheTtl, number>> = {
  "5m": 5 * 60_000,
  "1h": 60 * 60_000,
};

/** A `cache_control` marker: the prompt prefix up to and including the marked block. */
export interface CacheBreakpoint {
  /** Hash of the prefix (includes the model). */
  key: string;
  /** Length of the prefix in tokens. */
  tokens: number;
  ttl: CacheTtl;
}

export interface AnthropicCacheUsage {
  /** Input tokens neither read from nor written to the cache. */
  inputTokens: number;
  cacheReadInputTokens: number;
  cacheCreationInputTokens: number;
  ephemeral5mInputTokens: number;
  ephemeral1hInputTokens: number;
}

/**
 * Emulates Anthropic's explicit prompt caching. The three input classes are disjoint:
 * the longest breakpoint prefix already cached is read, the tokens from there to the last
 * (cacheable) breakpoint are written, and the rest is ordinary input. Prefixes shorter than
 * the model's minimum are not cached at all, without error, as the API does.
 */
export class AnthropicPromptCache {
  private readonly entries: LRUCache<string, { expiresAt: number }>;

  constructor(maxEntries: number) {
    this.entries = new LRUCache({ max: maxEntries });
  }

  apply(totalTokens: number, breakpoints: readonly CacheBreakpoint[], minCacheableTokens: number, now: number): AnthropicCacheUsage {
    const eligible = breakpoints
      .filter((bp) => bp.tokens >= minCacheableTokens)
      .sort((a, b) => a.tokens - b.tokens);
    let read = 0;
    for (const bp of eligible) {
      const entry = this.entries.get(bp.key);
      if (entry && entry.expiresAt > now) read = Math.max(read, bp.tokens);
    }
    let written5m = 0;
    let written1h = 0;
    let covered = read;
    for (const bp of eligible) {
      if (bp.tokens <= covered) continue;
      const segment = bp.tokens - covered;
      if (bp.ttl === "1h") written1h += segment;
      else written5m += segment;
      covered = bp.tokens;
    }
    for (const bp of eligible) {
      // Reads refresh the entry's lifetime, as they do on the real service.
      const current = this.entries.get(bp.key);
      const expiresAt = Math.max(now + ANTHROPIC_TTL_MS[bp.ttl], current?.expiresAt ?? 0);
      this.entries.set(bp.key, { expiresAt });
    }
    const creation = written5m + written1h;
    return {
      inputTokens: totalTokens - read - creation,
      cacheReadInputTokens: read,
      cacheCreationInputTokens: creation,
      ephemeral5mInputTokens: written5m,
      ephemeral1hInputTokens: written1h,
    };
  }

  clear(): void {
    this.entries.clear();
  }
}
