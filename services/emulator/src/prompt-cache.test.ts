import { describe, expect, it } from "vitest";
import { AnthropicPromptCache, OpenAiPrefixCache } from "./prompt-cache.ts";

const sequence = (length: number, salt = 0) => Uint32Array.from({ length }, (_, i) => (i * 7 + salt) % 50_000);

describe("OpenAiPrefixCache", () => {
  it("reports the longest remembered 128-token boundary of a shared prefix", () => {
    const cache = new OpenAiPrefixCache({ maxEntries: 100, ttlMs: 1000 });
    expect(cache.lookupAndStore("m", sequence(1500), 0)).toBe(0);
    expect(cache.lookupAndStore("m", sequence(1500), 1)).toBe(1408);
    // Same first 1300 tokens, different tail: the prefix up to 1280 is shared.
    const divergent = sequence(2000);
    divergent.fill(1, 1300);
    expect(cache.lookupAndStore("m", divergent, 2)).toBe(1280);
  });

  it("does not cache prompts under 1024 tokens and keeps models apart", () => {
    const cache = new OpenAiPrefixCache({ maxEntries: 100, ttlMs: 1000 });
    cache.lookupAndStore("m", sequence(1023), 0);
    expect(cache.lookupAndStore("m", sequence(1023), 1)).toBe(0);
    cache.lookupAndStore("a", sequence(1024), 0);
    expect(cache.lookupAndStore("b", sequence(1024), 1)).toBe(0);
    expect(cache.lookupAndStore("a", sequence(1024), 1)).toBe(1024);
  });

  it("is bounded: old prefixes are evicted once the entry limit is reached", () => {
    const cache = new OpenAiPrefixCache({ maxEntries: 3, ttlMs: 10_000 });
    cache.lookupAndStore("m", sequence(1024, 1), 0);
    for (let salt = 2; salt < 6; salt++) cache.lookupAndStore("m", sequence(1024, salt), 0);
    expect(cache.size).toBe(3);
    expect(cache.lookupAndStore("m", sequence(1024, 1), 1)).toBe(0);
  });
});

describe("AnthropicPromptCache", () => {
  const bp = (key: string, tokens: number, ttl: "5m" | "1h" = "5m") => ({ key, tokens, ttl });

  it("writes on first use and reads afterwards; the three input classes are disjoint", () => {
    const cache = new AnthropicPromptCache(100);
    const first = cache.apply(3000, [bp("sys", 2500)], 1024, 0);
    expect(first).toEqual({ inputTokens: 500, cacheReadInputTokens: 0, cacheCreationInputTokens: 2500, ephemeral5mInputTokens: 2500, ephemeral1hInputTokens: 0 });
    const second = cache.apply(3100, [bp("sys", 2500)], 1024, 1000);
    expect(second).toMatchObject({ inputTokens: 600, cacheReadInputTokens: 2500, cacheCreationInputTokens: 0 });
  });

  it("reads the longest cached breakpoint and writes only the part after it", () => {
    const cache = new AnthropicPromptCache(100);
    cache.apply(2000, [bp("tools", 1500)], 1024, 0);
    const usage = cache.apply(5000, [bp("tools", 1500), bp("history", 4000)], 1024, 10);
    expect(usage).toMatchObject({ inputTokens: 1000, cacheReadInputTokens: 1500, cacheCreationInputTokens: 2500 });
  });

  it("ignores breakpoints below the model minimum, silently", () => {
    const cache = new AnthropicPromptCache(100);
    expect(cache.apply(900, [bp("short", 800)], 1024, 0)).toMatchObject({ inputTokens: 900, cacheCreationInputTokens: 0 });
    expect(cache.apply(900, [bp("short", 800)], 1024, 1)).toMatchObject({ inputTokens: 900, cacheReadInputTokens: 0 });
  });

  it("expires entries after 5 minutes (or 1 hour) without use, and reads refresh them", () => {
    const cache = new AnthropicPromptCache(100);
    cache.apply(2000, [bp("a", 1500)], 1024, 0);
    expect(cache.apply(2000, [bp("a", 1500)], 1024, 4 * 60_000).cacheReadInputTokens).toBe(1500);
    expect(cache.apply(2000, [bp("a", 1500)], 1024, 8 * 60_000).cacheReadInputTokens).toBe(1500);
    expect(cache.apply(2000, [bp("a", 1500)], 1024, 14 * 60_000).cacheReadInputTokens).toBe(0);
    const long = cache.apply(2000, [bp("b", 1500, "1h")], 1024, 0);
    expect(long.ephemeral1hInputTokens).toBe(1500);
    expect(cache.apply(2000, [bp("b", 1500, "1h")], 1024, 50 * 60_000).cacheReadInputTokens).toBe(1500);
  });
});
