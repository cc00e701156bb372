import { mulberry32 } from "./hash.ts";
import type { Tokenizer } from "./tokens.ts";

// Neutral sentences about engineering trade-offs: they read like an assistant's answer in a
// demo without pretending to answer the actual question.
const SENTENCES: readonly string[] = [
  "The short answer depends on which constraint matters most to you.",
  "A good first step is to measure the current behaviour before changing anything.",
  "In most production systems the cost is dominated by a small number of hot paths.",
  "It helps to separate what must happen synchronously from what can wait.",
  "Caching repeated work is usually the cheapest improvement available.",
  "Smaller models handle routine requests well, while harder cases justify a larger one.",
  "Batching requests that are not time-sensitive can halve their price.",
  "Keep the stable part of a prompt at the beginning so that it can be reused.",
  "Every optimisation should be checked against a quality metric, not only against cost.",
  "There is rarely a single right answer, but there are clearly wrong ones.",
  "Start with the simplest option that could work and revisit it with data.",
  "Latency and cost often pull in opposite directions, so decide which one leads.",
  "Logging each call with its token counts makes the bill explainable.",
  "A budget per team or feature turns surprises into alerts.",
  "Retries with exponential backoff absorb most transient provider errors.",
  "Long conversations grow expensive because the history is sent on every turn.",
  "Summarising old turns keeps the context short without losing the thread.",
  "Structured outputs reduce the tokens spent on formatting instructions.",
  "If the same question arrives often, answering it from a cache is both faster and cheaper.",
  "Semantic similarity helps, but a strict threshold avoids returning the wrong answer.",
  "Test the change on a representative sample before rolling it out widely.",
  "Document the assumptions, because they are what will change first.",
  "Monitoring the error rate alongside spend catches regressions early.",
  "The details matter less than having a feedback loop that shows the effect.",
  "A clear owner for each prompt keeps them from drifting apart.",
  "Compressing verbose context can save a large share of input tokens.",
  "Rate limits are easier to respect when requests are spread evenly over time.",
  "Idempotent requests make retries safe and simplify recovery.",
  "Most of the benefit usually comes from the first two or three changes.",
  "Plan for the provider to be slow or unavailable at the worst possible moment.",
  "Write the result down so that the next decision starts from evidence.",
  "Consider the full lifecycle, including how the data will be read later.",
  "When in doubt, prefer the option that is easier to undo.",
  "Costs scale with usage, so small savings per call add up quickly.",
  "A fallback path keeps the product working when the preferred model fails.",
  "Precise instructions shorten answers without making them less useful.",
  "Reviewing a week of traffic often reveals duplicated requests.",
  "Separate experiments from production traffic so that the numbers stay clean.",
  "Shorter outputs are cheaper, and they are often easier to read as well.",
  "Keep an eye on the tail latency, not only on the average.",
];

export type ReplyFinish = "stop" | "length" | "stop_sequence";

export interface Reply {
  text: string;
  /** Tokens generated, as the provider would bill them. */
  outputTokens: number;
  finish: ReplyFinish;
  /** The stop sequence that ended generation, when `finish` is "stop_sequence". */
  stopSequence: string | null;
}

export interface ReplyInput {
  /** Seed derived from the request; the same seed always gives the same reply. */
  seed: number;
  /** The question being answered (usually the last user message). */
  question: string;
  /** Output cap from the request (`max_tokens` / `max_completion_tokens`), if any. */
  maxTokens?: number | undefined;
  stopSequences?: readonly string[] | undefined;
}

export const MIN_REPLY_TOKENS = 12;
export const MAX_REPLY_TOKENS = 420;
const QUESTION_WORDS = 8;

/** "Regarding <first words of the question>:" — keeps replies recognisably tied to the prompt. */
export function replyHeading(question: string): string {
  const words = question.replace(/\s+/g, " ").trim().split(" ").filter((w) => w.length > 0);
  if (words.length === 0) return "Regarding your request:";
  // "What is X" reads as "Regarding what is X"; acronyms and names ("LLM", "I") keep their case.
  const first = words[0]!;
  if (/^\p{Lu}\p{Ll}/u.test(first)) words[0] = first[0]!.toLowerCase() + first.slice(1);
  const head = words.slice(0, QUESTION_WORDS).join(" ").replace(/[\s.,;:!?…]+$/u, "");
  const ellipsis = words.length > QUESTION_WORDS ? "…" : "";
  return `Regarding ${head.length > 0 ? head : "your request"}${ellipsis}:`;
}

/** Natural (uncapped) length of the reply for a seed, in tokens. */
export function naturalReplyTokens(seed: number): number {
  const rng = mulberry32(seed ^ 0x9e3779b9);
  // Skewed towards short answers, as real chat traffic is.
  const r = rng();
  return MIN_REPLY_TOKENS + Math.floor(r * r * (MAX_REPLY_TOKENS - MIN_REPLY_TOKENS));
}

/**
 * Deterministic, plausible assistant text for a request seed: a heading that quotes the
 * question, then sentences drawn from a fixed corpus until the natural length is reached,
 * then the request's output cap and stop sequences are applied exactly as a provider would.
 */
export function generateReply(input: ReplyInput, tokenizer: Tokenizer): Reply {
  const target = naturalReplyTokens(input.seed);
  const rng = mulberry32(input.seed);
  let text = replyHeading(input.question);
  // Every sentence starts with a space and ends with punctuation, so o200k's pre-tokenizer
  // splits at the joins and the reply's tokens are the concatenation of the parts' tokens:
  // no need to re-encode the whole reply on every request.
  const heading = tokenizer.encode(text);
  const parts: (readonly number[])[] = [heading];
  let outputTokens = heading.length;
  while (outputTokens < target) {
    const sentence = ` ${SENTENCES[Math.floor(rng() * SENTENCES.length)]!}`;
    const sentenceTokens = tokenizer.encode(sentence);
    text += sentence;
    parts.push(sentenceTokens);
    outputTokens += sentenceTokens.length;
  }
  let finish: ReplyFinish = "stop";
  if (input.maxTokens !== undefined && outputTokens > input.maxTokens) {
    const kept: number[] = [];
    for (const part of parts) {
      for (const token of part) {
        if (kept.length === input.maxTokens) break;
        kept.push(token);
      }
    }
    text = tokenizer.decode(kept);
    outputTokens = kept.length;
    finish = "length";
  }
  let stopSequence: string | null = null;
  if (input.stopSequences && input.stopSequences.length > 0) {
    let cut = -1;
    for (const sequence of input.stopSequences) {
      if (sequence.length === 0) continue;
      const at = text.indexOf(sequence);
      if (at >= 0 && (cut < 0 || at < cut)) {
        cut = at;
        stopSequence = sequence;
      }
    }
    if (cut >= 0) {
      text = text.slice(0, cut);
      // The stop sequence itself was generated (and billed) before generation halted.
      outputTokens = Math.min(outputTokens, tokenizer.count(text) + tokenizer.count(stopSequence!));
      finish = "stop_sequence";
    }
  }
  return { text, outputTokens, finish, stopSequence };
}

/**
 * Splits text into streaming deltas of roughly one word each (a word keeps its leading
 * whitespace), so concatenating the deltas gives back the text exactly.
 */
export function streamDeltas(text: string): string[] {
  const parts: string[] = [...(text.match(/\s*\S+/g) ?? [])];
  const joined = parts.join("");
  if (joined.length < text.length) parts.push(text.slice(joined.length));
  return parts;
}
