import { eng as ENGLISH_STOPWORDS } from "stopword";
import { stemmer } from "stemmer";

/** One sentence of a chunk: `text` is the raw slice (trailing whitespace included) starting at `start`. */
export interface Sentence {
  readonly text: string;
  readonly start: number;
}

// V8's ICU ignores the `ss=standard` locale extension, so "Dr. " and "Jan. " end a segment. Gluing a
// segment that ends in a known abbreviation or an initial to the next one only ever makes units
// bigger: a sentence is never cut, at worst two short ones travel together.
const ABBREVIATIONS = new Set([
  "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "etc", "e.g", "i.e", "cf", "no", "nos", "vol", "fig",
  "inc", "ltd", "co", "corp", "dept", "est", "approx", "gen", "gov", "col", "lt", "sgt", "capt", "rev", "hon", "pp", "ca",
  "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n", "a.m", "p.m",
]);
const TRAILING_WORD = /([\p{L}.]+)\.\s*$/u;

const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });

function endsInAbbreviation(segment: string): boolean {
  // A line break after the period ends the sentence whatever the word was.
  if (/\.[^\S\n]*\n\s*$/.test(segment)) return false;
  const m = TRAILING_WORD.exec(segment);
  if (!m) return false;
  const word = m[1]!.toLowerCase();
  return ABBREVIATIONS.has(word) || /^\p{L}$/u.test(word);
}

/** Sentences of `text` in order; concatenating their `text` gives back the input exactly. */
export function splitSentences(text: string): Sentence[] {
  const out: Sentence[] = [];
  let pending: Sentence | null = null;
  for (const s of segmenter.segment(text)) {
    const cur: Sentence = pending ? { text: pending.text + s.segment, start: pending.start } : { text: s.segment, start: s.index };
    if (endsInAbbreviation(cur.text) && cur.start + cur.text.length < text.length) {
      pending = cur;
      continue;
    }
    pending = null;
    out.push(cur);
  }
  if (pending) out.push(pending);
  return out;
}

const STOPWORDS = new Set(ENGLISH_STOPWORDS);
const WORD_SPLIT = /[^\p{L}\p{N}]+/u;

// Stemming dominates the cost of scoring; words recur across requests, so their forms are memoised
// (bounded: the memo is dropped when full).
const TERM_MEMO_MAX = 100_000;
const termMemo = new Map<string, string | null>();

/** Lower-cased, accent-free, Porter-stemmed form of one word, or null for stopwords and empty strings. */
export function normaliseTerm(word: string): string | null {
  const hit = termMemo.get(word);
  if (hit !== undefined) return hit;
  const w = word.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
  const t = w === "" || STOPWORDS.has(w) ? null : stemmer(w);
  if (termMemo.size >= TERM_MEMO_MAX) termMemo.clear();
  termMemo.set(word, t);
  return t;
}

export const splitWords = (text: string): string[] => text.split(WORD_SPLIT).filter((w) => w !== "");

/** Content terms of `text`: words, stopwords removed, Porter-stemmed. */
export function terms(text: string): string[] {
  const out: string[] = [];
  for (const w of splitWords(text)) {
    const t = normaliseTerm(w);
    if (t !== null) out.push(t);
  }
  return out;
}

/** Word n-gram shingles of `text` (lower-cased, all words kept), for near-duplicate detection. */
export function shingles(text: string, n = 3): Set<string> {
  const words = splitWords(text.toLowerCase());
  const out = new Set<string>();
  if (words.length < n) {
    if (words.length > 0) out.add(words.join(" "));
    return out;
  }
  for (let i = 0; i + n <= words.length; i++) out.add(words.slice(i, i + n).join(" "));
  return out;
}

export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  const [small, big] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (big.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

/** Cosine similarity of two bags of terms. */
export function cosine(a: readonly string[], b: readonly string[]): number {
  const bag = (xs: readonly string[]) => {
    const m = new Map<string, number>();
    for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
    return m;
  };
  const ma = bag(a);
  const mb = bag(b);
  let dot = 0;
  for (const [t, n] of ma) dot += n * (mb.get(t) ?? 0);
  const norm = (m: Map<string, number>) => Math.sqrt([...m.values()].reduce((s, n) => s + n * n, 0));
  const d = norm(ma) * norm(mb);
  return d === 0 ? 0 : dot / d;
}
