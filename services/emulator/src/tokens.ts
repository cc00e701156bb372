import { decode, encode } from "gpt-tokenizer/encoding/o200k_base";
import { LRUCache } from "lru-cache";

// Prompts may legitimately contain strings such as "<|endoftext|>"; providers count them as
// plain text, so special-token parsing is disabled.
const ENCODE_OPTIONS = { disallowedSpecial: new Set<string>() };

export interface TokenizerOptions {
  /** Upper bound on the number of tokens kept in the memo (bounds memory). */
  maxCachedTokens: number;
}

/**
 * The o200k_base tokenizer (gpt-4o, gpt-4.1, gpt-5 and o-series) with a memo keyed by text.
 * Conversations re-send the same system prompt and history on every turn, so memoising by
 * text removes nearly all tokenisation work from the hot path.
 */
export class Tokenizer {
  private readonly memo: LRUCache<string, readonly number[]>;

  constructor(options: TokenizerOptions) {
    this.memo = new LRUCache<string, readonly number[]>({
      maxSize: options.maxCachedTokens,
      sizeCalculation: (tokens, key) => tokens.length + Math.ceil(key.length / 4) + 1,
    });
  }

  encode(text: string): readonly number[] {
    if (text.length === 0) return [];
    const hit = this.memo.get(text);
    if (hit) return hit;
    const tokens = encode(text, ENCODE_OPTIONS);
    this.memo.set(text, tokens);
    return tokens;
  }

  count(text: string): number {
    return this.encode(text).length;
  }

  decode(tokens: readonly number[]): string {
    return decode(tokens);
  }

  clear(): void {
    this.memo.clear();
  }
}
