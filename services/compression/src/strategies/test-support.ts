import type { ContextChunk } from "@costwise/schemas";
import { countTextTokens } from "@costwise/providers";
import { splitSentences } from "../text.ts";
import { tokenMeter } from "../tokens.ts";

/** The meter the service uses for GPT-4o requests. */
export const meter = () => tokenMeter((t) => countTextTokens(t, "gpt-4o"));

export const chunk = (id: string, text: string, score = 1): ContextChunk => ({ id, text, score });

const spaced = (s: string) => s.replace(/\s+/g, " ").trim();

/**
 * True when `compressed` is a subsequence of `original`'s whole sentences, in order (nothing cut,
 * nothing added). Whitespace is compared collapsed: normalising it is a strategy of its own.
 */
export function isSentenceSubsequence(original: string, compressed: string): boolean {
  let rest = spaced(compressed);
  for (const s of splitSentences(original)) {
    const t = spaced(s.text);
    if (t !== "" && rest.startsWith(t)) rest = rest.slice(t.length).trimStart();
  }
  return rest === "";
}

/** Output ids are input ids, in input order. */
export function idsInOrder(input: readonly ContextChunk[], output: readonly ContextChunk[]): boolean {
  const ids = input.map((c) => c.id);
  let last = -1;
  for (const c of output) {
    const i = ids.indexOf(c.id);
    if (i <= last) return false;
    last = i;
  }
  return true;
}
