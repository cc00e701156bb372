import { createRequire } from "node:module";
import { countTokens as countO200k } from "gpt-tokenizer/encoding/o200k_base";
import { LRUCache } from "lru-cache";
import { ANTHROPIC_SYSTEM_SEPARATOR } from "./anthropic-chat.ts";
import type { ChatMessage } from "./types.ts";

// User text that happens to spell a special token ("<|endoftext|>") is ordinary text to the API.
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** OpenAI's chat format: <|start|>{role}<|message|>{content}<|end|> costs 3 tokens beyond role and content. */
export const TOKENS_PER_MESSAGE = 3;
/** Every reply is primed with <|start|>assistant<|message|>. */
export const TOKENS_PER_REPLY = 3;

// Embeddings v3/ada-002 and the GPT-4/3.5 generation use cl100k_base; GPT-4o, GPT-4.1, GPT-5 and the
// o-series use o200k_base. Claude's tokenizer is not public: o200k_base is used as an approximation
// (Anthropic's own count_tokens endpoint is the exact answer when one is needed).
const CL100K_MODELS = /^(text-embedding-|gpt-3\.5|gpt-4(-|$))/i;
const CLAUDE_MODELS = /^claude-/i;

// cl100k's rank table costs ~30 MB of heap and current chat models never need it: load it on first use.
type Count = typeof countO200k;
let cl100k: Count | undefined;
const countCl100k: Count = (text, opts) => {
  cl100k ??= (createRequire(import.meta.url)("gpt-tokenizer/cjs/encoding/cl100k_base") as { countTokens: Count }).countTokens;
  return cl100k(text, opts);
};

// The same long texts are counted again and again: a use case's system prompt on every request,
// RAG chunks that many questions retrieve, and the chunks and sentences compression re-measures
// while it tries candidates. Looking a text up costs a hash of it; counting it costs a regex split
// and a rank lookup per piece, many times more. Short texts are counted directly (the memo would
// only churn), and the memo is bounded by the characters it holds.
export const MEMO_MIN_CHARS = 64;
const MEMO_MAX_CHARS = 4_000_000;

function memoised(counter: Count): (text: string) => number {
  const memo = new LRUCache<string, number>({ maxSize: MEMO_MAX_CHARS, sizeCalculation: (_, text) => text.length });
  return (text) => {
    if (text.length < MEMO_MIN_CHARS || text.length > MEMO_MAX_CHARS) return counter(text, PLAIN_TEXT);
    let n = memo.get(text);
    if (n === undefined) memo.set(text, (n = counter(text, PLAIN_TEXT)));
    return n;
  };
}

const o200k = memoised(countO200k);
const cl100kMemo = memoised(countCl100k);

function counterFor(model: string | undefined): (text: string) => number {
  return model !== undefined && CL100K_MODELS.test(model.trim()) ? cl100kMemo : o200k;
}

/** Tokens in `text` with the model's tokenizer (o200k_base when no model is given). */
export function countTextTokens(text: string, model?: string): number {
  return counterFor(model)(text);
}

/**
 * Prompt tokens of a chat request as the provider bills them.
 * OpenAI (the cookbook's formula for current models): per message 3 + role + content, plus 3 for
 * the reply primer. Claude: system and developer messages become the `system` text (joined as
 * they are sent) counted without framing, each other message costs 3 + content, the reply 3, all
 * over o200k_base. That is an approximation, the same one the provider emulator bills with.
 */
export function countChatTokens(messages: readonly ChatMessage[], model: string): number {
  const count = counterFor(model);
  let total = TOKENS_PER_REPLY;
  if (CLAUDE_MODELS.test(model.trim())) {
    const system: string[] = [];
    for (const m of messages) {
      if (m.role === "system" || m.role === "developer") system.push(m.content);
      else total += TOKENS_PER_MESSAGE + count(m.content);
    }
    if (system.length > 0) total += count(system.join(ANTHROPIC_SYSTEM_SEPARATOR));
    return total;
  }
  for (const m of messages) total += TOKENS_PER_MESSAGE + count(m.role) + count(m.content);
  return total;
}
