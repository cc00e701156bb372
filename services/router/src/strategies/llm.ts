import type { RouteInput } from "../input.ts";

/** The one provider call the LLM-as-router and the shadow judge need (defined with the judges). */
export type { ChatPort } from "@costwise/judging";

/** Versioned with the router: changing the wording changes every score, so it is not configurable per file. */
export const LLM_ROUTER_PROMPT_VERSION = 1;
export const LLM_ROUTER_SYSTEM = [
  "You route requests between a small, cheap language model and a large, expensive one.",
  "Rate how hard the request below is for the small model to answer well, from 1 to 5:",
  "1 = trivial (greeting, lookup, classification, short rewrite); 3 = ordinary explanation or summary;",
  "5 = needs the large model (multi-step math, non-trivial code, careful reasoning, strict long output).",
  "Reply with the digit only.",
].join("\n");

export function llmRouterMessages(input: RouteInput, maxChars: number): { role: string; content: string }[] {
  const text = input.userText.length > maxChars ? `${input.userText.slice(0, maxChars)}\n[… cut]` : input.userText;
  const ctx = input.contextChunks > 0 ? `\n(The request comes with ${input.contextChunks} retrieved context passages.)` : "";
  return [
    { role: "system", content: LLM_ROUTER_SYSTEM },
    { role: "user", content: `<request>\n${text}\n</request>${ctx}` },
  ];
}

/** The difficulty 1..5 in the routing model's answer, or null when it gave none. */
export function parseDifficulty(answer: string): number | null {
  const m = /^[\s*"'`([]*(?:difficulty|rating|score)?\s*[:=]?\s*([1-5])(?![\d.])/i.exec(answer);
  return m ? Number(m[1]) : null;
}

/** Difficulty 1..5 → score 0..1. */
export const difficultyScore = (d: number) => (d - 1) / 4;

/**
 * A per-call child of a long-lived signal (the runtime's shutdown signal). The provider SDKs add
 * an abort listener to the signal they get and do not remove it, so passing the shared signal
 * leaks one listener per call; the child is dropped with the call, and aborting the parent still
 * aborts it.
 */
export function callSignal(signal: AbortSignal | undefined): AbortSignal | undefined {
  return signal ? AbortSignal.any([signal]) : undefined;
}
