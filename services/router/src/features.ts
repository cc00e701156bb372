import { fnv1a32 } from "./hash.ts";
import type { RouteInput } from "./input.ts";

/**
 * Request features for the classifier: hashed word unigrams and bigrams (the "what is it about"
 * signal) plus a few dense, human-readable signals of length, structure and task type (the
 * "how hard is it" prior that transfers across domains). Bump FEATURE_VERSION whenever anything
 * here changes meaning: a trained model records the version it was trained with and refuses to
 * load against another.
 */
export const FEATURE_VERSION = 1;

/** Keyword families: general signals of task type, not tuned to any evaluation set. */
export const KEYWORDS = {
  math: ["calculate", "compute", "solve", "equation", "integral", "derivative", "probability", "percent", "percentage", "average", "ratio", "sum", "product", "total", "remainder", "prove", "theorem", "matrix", "polynomial", "fraction", "how many", "how much", "area", "volume", "speed", "rate", "cost", "profit", "minimum", "maximum", "expected value"],
  code: ["code", "function", "python", "javascript", "typescript", "java", "c++", "sql", "program", "implement", "algorithm", "bug", "debug", "compile", "regex", "class", "method", "api", "script", "array", "string", "recursion", "complexity", "html", "css"],
  reasoning: ["why", "explain", "reason", "reasoning", "step by step", "logic", "puzzle", "riddle", "infer", "deduce", "suppose", "assume", "paradox", "therefore", "implies", "consequence", "argument", "evaluate", "analyze", "analyse", "compare"],
  extraction: ["extract", "list all", "identify", "json", "table", "csv", "yaml", "format", "parse", "structured", "key-value", "return the", "output the"],
  creative: ["write", "poem", "story", "essay", "blog", "email", "letter", "imagine", "compose", "limerick", "haiku", "slogan", "rewrite", "rephrase", "pretend", "role", "character"],
  lookup: ["what is", "who is", "who was", "when did", "where is", "define", "definition", "meaning of", "which of the following"],
  constraint: ["in fewer than", "exactly", "must", "at least", "at most", "no more than", "words", "bullet", "sentences", "paragraphs", "only"],
} as const satisfies Record<string, readonly string[]>;

export type KeywordFamily = keyof typeof KEYWORDS;

export const DENSE_FEATURES = [
  "log_chars_last", "log_chars_user", "user_turns", "has_context", "log_context_chars", "log_system_chars",
  "digit_ratio", "log_math_symbols", "log_code_markers", "question_marks", "log_newlines", "option_lines",
  "kw_math", "kw_code", "kw_reasoning", "kw_extraction", "kw_creative", "kw_lookup", "kw_constraint", "log_max_tokens",
] as const;
export type DenseFeature = (typeof DENSE_FEATURES)[number];

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)?|[^\s\p{L}\p{N}]/gu;
const NUMBER = /^\p{N}+$/u;
const MATH_SYMBOL = /[=+\-*/^%<>×÷√∑∫π]/g;
const CODE_MARKER = /```|[{};]|=>|\bdef |\bfunction\b|\breturn\b|\bimport\b|\bclass\b/g;
const OPTION_LINE = /^\s*(?:\(?[A-Ha-h][.)]|[A-H]:)\s+\S/gm;

function countMatches(text: string, re: RegExp): number {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text) !== null) n++;
  return n;
}

/** Word tokens, lower-cased; numbers collapse to their digit count so "17" and "42" look alike. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(WORD)) {
    const t = m[0];
    out.push(NUMBER.test(t) ? `<num${Math.min(t.length, 6)}>` : t);
  }
  return out;
}

function keywordHits(lower: string, words: ReadonlySet<string>, family: readonly string[]): number {
  let hits = 0;
  for (const k of family) {
    if (k.includes(" ") || !/^[\p{L}\p{N}]+$/u.test(k) ? lower.includes(k) : words.has(k)) hits++;
  }
  return hits;
}

/** Counts of each keyword family in a text (multi-word and symbol keywords by substring, words by token). */
export function keywordSignals(text: string): Record<KeywordFamily, number> {
  const lower = text.toLowerCase();
  const words = new Set(tokenize(lower));
  const out = {} as Record<KeywordFamily, number>;
  for (const [family, list] of Object.entries(KEYWORDS) as [KeywordFamily, readonly string[]][]) out[family] = keywordHits(lower, words, list);
  return out;
}

/** The dense signals, unscaled, in DENSE_FEATURES order. */
export function denseFeatures(input: RouteInput): Float64Array {
  const text = input.userText;
  const kw = keywordSignals(text);
  const digits = countMatches(text, /\p{N}/gu);
  const values: Record<DenseFeature, number> = {
    log_chars_last: Math.log1p(input.lastUser.length),
    log_chars_user: Math.log1p(text.length),
    user_turns: input.userTurns,
    has_context: input.contextChunks > 0 ? 1 : 0,
    log_context_chars: Math.log1p(input.contextChars),
    log_system_chars: Math.log1p(input.systemChars),
    digit_ratio: text.length === 0 ? 0 : digits / text.length,
    log_math_symbols: Math.log1p(countMatches(text, MATH_SYMBOL)),
    log_code_markers: Math.log1p(countMatches(text, CODE_MARKER)),
    question_marks: Math.min(5, countMatches(text, /\?/g)),
    log_newlines: Math.log1p(countMatches(text, /\n/g)),
    option_lines: Math.min(8, countMatches(text, OPTION_LINE)),
    kw_math: kw.math,
    kw_code: kw.code,
    kw_reasoning: kw.reasoning,
    kw_extraction: kw.extraction,
    kw_creative: kw.creative,
    kw_lookup: kw.lookup,
    kw_constraint: kw.constraint,
    log_max_tokens: input.maxTokens === null ? 0 : Math.log1p(input.maxTokens),
  };
  return Float64Array.from(DENSE_FEATURES, (k) => values[k]);
}

/** A sparse binary bag of hashed unigrams and bigrams, L2-normalised: indices sorted, each once. */
export interface HashedBag {
  readonly indices: Uint32Array;
  /** The one value every present index has (1/sqrt(count)). */
  readonly value: number;
}

const BIGRAM_SEED = 0x5bd1e995;

export function hashedBag(text: string, hashBits: number): HashedBag {
  const mask = (1 << hashBits) - 1;
  const tokens = tokenize(text);
  const seen = new Set<number>();
  for (let i = 0; i < tokens.length; i++) {
    seen.add(fnv1a32(tokens[i]!) & mask);
    if (i > 0) seen.add(fnv1a32(`${tokens[i - 1]!} ${tokens[i]!}`, BIGRAM_SEED) & mask);
  }
  const indices = Uint32Array.from(seen).sort();
  return { indices, value: indices.length === 0 ? 0 : 1 / Math.sqrt(indices.length) };
}

export interface Features {
  readonly bag: HashedBag;
  readonly dense: Float64Array;
}

export function extractFeatures(input: RouteInput, hashBits: number): Features {
  return { bag: hashedBag(input.userText, hashBits), dense: denseFeatures(input) };
}
