import * as chrono from "chrono-node";
import nlp from "compromise";
import { LRUCache } from "lru-cache";

/**
 * The salient-detail guard. Sentence embeddings place "refund order 123" and "refund order 456"
 * (or "I want to cancel" and "I don't want to cancel") next to each other, so a semantic hit is
 * refused unless the details that change an answer agree: numbers, order/account ids, amounts and
 * currencies, dates and times, emails, URLs, named entities, negation, and the operation asked
 * for (create/add/set versus remove/cancel/turn off).
 */
export const SALIENT_KINDS = ["number", "id", "amount", "date", "email", "url", "entity", "negation", "action"] as const;
export type SalientKind = (typeof SALIENT_KINDS)[number];

/** Bump when extraction changes: entries store their query's details with this version and are re-extracted when it differs. */
export const SALIENT_VERSION = 1;

export interface SalientDetails {
  /** Sorted, unique `kind:value` strings. */
  readonly items: readonly string[];
  /** The query is negated (not, no, never, n't, without, ...). */
  readonly negated: boolean;
}

export type GuardVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const CURRENCIES: Record<string, string> = {
  $: "usd", usd: "usd", dollar: "usd", dollars: "usd", bucks: "usd",
  "€": "eur", eur: "eur", euro: "eur", euros: "eur",
  "£": "gbp", gbp: "gbp", pound: "gbp", pounds: "gbp", quid: "gbp", pence: "gbp",
  "¥": "jpy", jpy: "jpy", yen: "jpy",
  "₹": "inr", inr: "inr", rupee: "inr", rupees: "inr",
  chf: "chf", franc: "chf", francs: "chf", cad: "cad", aud: "aud",
  cent: "cent", cents: "cent",
};
const CUR_WORD = "usd|eur|gbp|jpy|inr|chf|cad|aud|dollars?|bucks|euros?|pounds?|quid|pence|yen|rupees?|francs?|cents?";
const NUM = String.raw`\d[\d,]*(?:\.\d+)?`;

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu;
const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"']+/giu;
const AMOUNT_SYMBOL = new RegExp(String.raw`([$€£¥₹])\s?(${NUM})`, "gu");
const AMOUNT_AFTER = new RegExp(String.raw`(${NUM})\s?(${CUR_WORD})\b`, "giu");
const AMOUNT_BEFORE = new RegExp(String.raw`\b(usd|eur|gbp|jpy|inr|chf|cad|aud)\s?(${NUM})`, "giu");
const CURRENCY_ONLY = new RegExp(String.raw`[$€£¥₹]|\b(?:${CUR_WORD})\b`, "giu");
const ORDINAL_DIGITS = /\b(\d+)(?:st|nd|rd|th)\b/giu;
// Tokens that mix letters and digits (AB-1234, 7f3c9e) or digit groups joined by dashes (123-456-789).
const ID = /\b(?:(?=[\p{L}\p{N}-]*\p{N})(?=[\p{L}\p{N}-]*\p{L})[\p{L}\p{N}][\p{L}\p{N}-]{1,}|\d+(?:-\d+)+)\b/gu;
// "#123" and "123" name the same order.
const HASH_NUMBER = /#(?=\d)/gu;
const NUMBER = new RegExp(String.raw`(?<![\p{L}\p{N}.])${NUM}`, "gu");
const NEGATION = /\b(?:not|no|never|none|nothing|nobody|nowhere|neither|nor|cannot|without)\b|\p{L}n['’]t\b/iu;

const WORD_NUMBERS: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18,
  nineteen: 19, twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90,
  hundred: 100, thousand: 1000, million: 1_000_000, billion: 1_000_000_000,
  first: 1, second: 2, third: 3, fourth: 4, fifth: 5, sixth: 6, seventh: 7, eighth: 8, ninth: 9, tenth: 10,
  once: 1, twice: 2, dozen: 12,
};
// Opposite operations on the same thing embed close together ("set an alarm" / "remove the alarm"):
// a query that asks to create or to remove must meet a cached query that asked the same.
const ACTIONS: Record<string, RegExp> = {
  create: /\b(?:add(?:s|ed|ing)?|creat(?:e|es|ed|ing)|make|makes|making|set|sets|setting|put|puts|putting|schedul(?:e|es|ed|ing)|book(?:s|ed|ing)?|reserv(?:e|es|ed|ing)|enabl(?:e|es|ed|ing)|activat(?:e|es|ed|ing)|turn(?:s|ed|ing)? on|switch(?:es|ed|ing)? on|subscrib(?:e|es|ed|ing)|increas(?:e|es|ed|ing)|rais(?:e|es|ed|ing)|insert(?:s|ed|ing)?)\b/iu,
  remove: /\b(?:remov(?:e|es|ed|ing)|delet(?:e|es|ed|ing)|cancel(?:s|led|ed|ling|ing)?|disabl(?:e|es|ed|ing)|deactivat(?:e|es|ed|ing)|clear(?:s|ed|ing)?|eras(?:e|es|ed|ing)|turn(?:s|ed|ing)? off|switch(?:es|ed|ing)? off|unsubscrib(?:e|es|ed|ing)|decreas(?:e|es|ed|ing)|lower(?:s|ed|ing)?|reduc(?:e|es|ed|ing)|terminat(?:e|es|ed|ing)|stop(?:s|ped|ping)?)\b/iu,
};

const WORD_NUMBER = new RegExp(String.raw`\b(?:${Object.keys(WORD_NUMBERS).join("|")})\b`, "giu");

// Relative dates resolve against a fixed local noon, so the same words give the same date on every replica and day.
const REFERENCE = new Date(2000, 0, 3, 12, 0, 0);
// "now" names no moment of its own: it is the time of asking, whatever the text.
const NOT_A_DATE = /^(?:now|right now|just now)$/iu;

const num = (s: string) => String(Number(s.replace(/,/g, "")));

/** Replace matched spans by spaces so later patterns do not count them again. */
function take(text: string, re: RegExp, onMatch: (m: RegExpExecArray) => void): string {
  return text.replace(re, (...args) => {
    const match = args.slice(0, -2) as unknown as RegExpExecArray;
    onMatch(match);
    return " ".repeat(match[0].length);
  });
}

function dateKey(c: chrono.ParsedComponents): string {
  const d = `${c.get("year")}-${c.get("month")}-${c.get("day")}`;
  return c.isCertain("hour") ? `${d}T${c.get("hour")}:${c.get("minute") ?? 0}` : d;
}

/** Extract the salient details of one query. Pure; about a millisecond for a short query (entity tagging dominates). */
export function salientDetails(text: string): SalientDetails {
  const items = new Set<string>();
  const add = (kind: SalientKind, value: string) => items.add(`${kind}:${value.toLowerCase()}`);
  const negated = NEGATION.test(text);
  for (const [action, re] of Object.entries(ACTIONS)) if (re.test(text)) add("action", action);

  for (const entity of nlp(text).topics().out("array") as string[]) {
    const clean = entity.replace(/['’]s\b/giu, "").replace(/[^\p{L}\p{N}\s&-]/gu, "").trim().replace(/\s+/gu, " ");
    if (clean) add("entity", clean);
  }

  let rest = take(text, EMAIL, (m) => add("email", m[0]));
  rest = take(rest, URL_RE, (m) => add("url", m[0].replace(/[.,;:!?)\]]+$/u, "")));
  for (const r of chrono.casual.parse(rest, REFERENCE, { forwardDate: false })) {
    if (NOT_A_DATE.test(r.text.trim())) continue;
    add("date", r.end ? `${dateKey(r.start)}/${dateKey(r.end)}` : dateKey(r.start));
    rest = rest.slice(0, r.index) + " ".repeat(r.text.length) + rest.slice(r.index + r.text.length);
  }
  rest = take(rest, AMOUNT_SYMBOL, (m) => add("amount", `${CURRENCIES[m[1]!]}:${num(m[2]!)}`));
  rest = take(rest, AMOUNT_AFTER, (m) => add("amount", `${CURRENCIES[m[2]!.toLowerCase()]}:${num(m[1]!)}`));
  rest = take(rest, AMOUNT_BEFORE, (m) => add("amount", `${CURRENCIES[m[1]!.toLowerCase()]}:${num(m[2]!)}`));
  rest = take(rest, CURRENCY_ONLY, (m) => add("amount", CURRENCIES[m[0].toLowerCase()]!));
  rest = take(rest, ORDINAL_DIGITS, (m) => add("number", num(m[1]!)));
  rest = rest.replace(HASH_NUMBER, " ");
  rest = take(rest, ID, (m) => add("id", m[0]));
  rest = take(rest, NUMBER, (m) => add("number", num(m[0])));
  take(rest, WORD_NUMBER, (m) => add("number", String(WORD_NUMBERS[m[0].toLowerCase()])));

  return { items: [...items].sort(), negated };
}

/**
 * Whether a cached query's answer may serve a new query: every salient detail of the kinds
 * checked must appear on both sides. A detail on one side only also refuses ("refund my order"
 * must not get the answer written for "refund order 123", whose text may quote 123).
 */
export function compareSalient(query: SalientDetails, cached: SalientDetails, kinds: readonly SalientKind[]): GuardVerdict {
  if (kinds.length === 0) return { ok: true };
  const checked = new Set<string>(kinds);
  if (checked.has("negation") && query.negated !== cached.negated) {
    return { ok: false, reason: `negation differs (${query.negated ? "query" : "cached query"} is negated)` };
  }
  const relevant = (d: SalientDetails) => new Set(d.items.filter((i) => checked.has(i.slice(0, i.indexOf(":")))));
  const q = relevant(query);
  const c = relevant(cached);
  const onlyQuery = [...q].filter((i) => !c.has(i));
  const onlyCached = [...c].filter((i) => !q.has(i));
  if (onlyQuery.length === 0 && onlyCached.length === 0) return { ok: true };
  const parts = [onlyQuery.length ? `query has ${onlyQuery.join(", ")}` : "", onlyCached.length ? `cached query has ${onlyCached.join(", ")}` : ""];
  return { ok: false, reason: parts.filter(Boolean).join("; ") };
}

/**
 * `salientDetails` remembering the last `max` texts it was asked about. A miss computes a query's
 * details at its lookup (when a neighbour is near) and again when its answer is learned, and
 * repeated questions come back all day; the entity tagging is the costly part, and the function
 * is pure, so the second time is free. Texts longer than `maxChars` are computed every time.
 */
export function memoisedSalientDetails(max = 10_000, maxChars = 2_000): (text: string) => SalientDetails {
  const memo = new LRUCache<string, SalientDetails>({ max });
  return (text) => {
    if (text.length > maxChars) return salientDetails(text);
    let d = memo.get(text);
    if (!d) {
      const fresh = salientDetails(text);
      // Shared between callers from now on: frozen so that none can change another's copy.
      memo.set(text, (d = Object.freeze({ items: Object.freeze(fresh.items) as string[], negated: fresh.negated })));
    }
    return d;
  };
}

