import { catalog, findModel } from "@costwise/pricing";
import { z } from "zod";
import { sha256 } from "./hash.ts";
import { generateReply } from "./text.ts";
import type { Tokenizer } from "./tokens.ts";

// Recorded-answer mode: a client loads ground truth (public data with known right answers) and
// the emulator answers each request it recognises with the answer that data records for what the
// request has become by the time it reaches the provider: the model the router chose, the context
// the compression stage left. Only the emulator and the grader that loaded the data see it.

/** One recorded model outcome of a router row. */
const OutcomeSchema = z
  .object({
    /** The model the data recorded this outcome for (shown in synthetic answers). */
    model: z.string().min(1),
    score: z.number().finite(),
    /** The model's recorded answer text, when the data has one (GSM8K). */
    response: z.string().nullish(),
    /** Length of the recorded answer: the synthetic text is made this long. */
    response_chars: z.number().int().nonnegative(),
  })
  .strict();

const turns = z.array(z.string().min(1)).min(1, "turns: the request's user messages, in order (the last is the question)");

export const RecordedEntrySchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("router"), id: z.string().min(1), turns, strong: OutcomeSchema, weak: OutcomeSchema }).strict(),
  z.object({ kind: z.literal("cache"), id: z.string().min(1), turns, intent: z.string().min(1), oos: z.boolean().default(false) }).strict(),
  z.object({ kind: z.literal("compress"), id: z.string().min(1), turns, answers: z.array(z.string().min(1)).min(1) }).strict(),
]);
export type RecordedEntry = z.infer<typeof RecordedEntrySchema>;
export type RecordedEntryInput = z.input<typeof RecordedEntrySchema>;

/** Body of `POST /_emulator/recorded`. */
export const RecordedLoadSchema = z
  .object({
    entries: z.array(RecordedEntrySchema),
    /** Models that get the strong (frontier) outcome, overriding the price catalog's class. */
    strongModels: z.array(z.string().min(1)).default([]),
    /** Models that get the weak (cheap) outcome, overriding the price catalog's class. */
    weakModels: z.array(z.string().min(1)).default([]),
    /** Forget earlier entries first. */
    replace: z.boolean().default(false),
  })
  .strict();
export type RecordedLoad = z.input<typeof RecordedLoadSchema>;

/**
 * The content key of a request: its user messages, normalised (NFKC, lower case, `’` as `'`,
 * whitespace collapsed) and hashed. It survives what the pipeline does: the router changes only
 * the model, and the compression stage changes only the context, which the executor renders in
 * front of the last user message (`…\n\nQuestion: <question>`; see `questionCandidates`).
 */
export function contentKey(userTurns: readonly string[]): string {
  return sha256(userTurns.map(normaliseText).join("\u241e")).toString("hex").slice(0, 32);
}

export function normaliseText(text: string): string {
  return text.normalize("NFKC").replace(/[\u2018\u2019]/g, "'").toLowerCase().replace(/\s+/g, " ").trim();
}

const QUESTION_MARK = "\n\nQuestion: ";

/** The last user message as sent, or the question after the rendered context block. */
function questionCandidates(last: string): string[] {
  const at = last.lastIndexOf(QUESTION_MARK);
  return at < 0 ? [last] : [last, last.slice(at + QUESTION_MARK.length)];
}

/** Which recorded outcome a model gets. */
export type ModelClass = "strong" | "weak";

/**
 * The price class of a model: the catalog's `frontier` and `mid` tiers are the strong models the
 * callers ask for (gpt-4o, claude-sonnet-4-5), `small` the cheap tier the router moves work to
 * (gpt-4o-mini, claude-haiku-4-5, gpt-4.1-nano). Explicit lists override it; a model the catalog
 * does not know is strong.
 */
export function modelClass(model: string, strong: ReadonlySet<string>, weak: ReadonlySet<string>): ModelClass {
  if (strong.has(model)) return "strong";
  if (weak.has(model)) return "weak";
  return findModel(catalog, model)?.tier === "small" ? "weak" : "strong";
}

/** The reader's reply when no gold answer is left in the context it received. */
export const NOT_IN_CONTEXT = "The provided context does not contain the answer to this question.";

const INTENT_PREFIX = "[intent: ";
const OOS_PREFIX = "[out of scope: ";

/** The first line of a cache row's answer: the intent it answers (or the out-of-scope query it answers). */
export function intentLine(entry: { id: string; intent: string; oos?: boolean }): string {
  return entry.oos ? `${OOS_PREFIX}${entry.id}]` : `${INTENT_PREFIX}${entry.intent}]`;
}

/** What a cache-row answer says it answers: `{intent}` or `{oosId}`, or null when it is no such answer. */
export function statedIntent(text: string): { intent: string } | { oosId: string } | null {
  const line = text.split("\n", 1)[0] ?? "";
  if (line.startsWith(INTENT_PREFIX) && line.endsWith("]")) return { intent: line.slice(INTENT_PREFIX.length, -1) };
  if (line.startsWith(OOS_PREFIX) && line.endsWith("]")) return { oosId: line.slice(OOS_PREFIX.length, -1) };
  return null;
}

/** The reader's reply when the context still holds `answer`. */
export function readerAnswer(answer: string): string {
  return `The answer is ${answer}.`;
}

const FILLER = " The reasoning follows the question step by step and states the result plainly.";

/**
 * The answer text of a router outcome: the recorded response when the data has one, else a
 * synthetic text `response_chars` long that names the recorded outcome (the row, the model class,
 * the recorded model and score), so the grader can tell which outcome a response carries.
 */
export function outcomeText(rowId: string, cls: ModelClass, outcome: z.input<typeof OutcomeSchema>): string {
  if (outcome.response != null && outcome.response.length > 0) return outcome.response;
  const head = `Recorded ${cls} answer to ${rowId} by ${outcome.model} (score ${outcome.score}).`;
  let text = head;
  while (text.length < outcome.response_chars) text += FILLER;
  return text.slice(0, Math.max(outcome.response_chars, head.length));
}

export interface RecordedAnswer {
  text: string;
  kind: RecordedEntry["kind"];
}

export interface RecordedSnapshot {
  entries: number;
  byKind: Record<RecordedEntry["kind"], number>;
  answered: number;
  unmatched: number;
}

/**
 * The loaded ground truth, by content key. Bounded by what a client loads; `clear()` (or the
 * emulator's reset) forgets it.
 */
export class RecordedAnswers {
  private readonly byKey = new Map<string, RecordedEntry>();
  private strong = new Set<string>();
  private weak = new Set<string>();
  private answered = 0;
  private unmatched = 0;

  load(body: z.output<typeof RecordedLoadSchema>): { loaded: number; entries: number } {
    if (body.replace) this.clear();
    for (const m of body.strongModels) this.strong.add(m);
    for (const m of body.weakModels) this.weak.add(m);
    for (const entry of body.entries) this.byKey.set(contentKey(entry.turns), entry);
    return { loaded: body.entries.length, entries: this.byKey.size };
  }

  clear(): void {
    this.byKey.clear();
    this.strong = new Set();
    this.weak = new Set();
    this.answered = 0;
    this.unmatched = 0;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Counts only: the ground truth itself never leaves the emulator. */
  snapshot(): RecordedSnapshot {
    const byKind = { router: 0, cache: 0, compress: 0 };
    for (const e of this.byKey.values()) byKind[e.kind]++;
    return { entries: this.byKey.size, byKind, answered: this.answered, unmatched: this.unmatched };
  }

  /**
   * The recorded answer for a request, or null when nothing is loaded (normal emulation) or the
   * request is not one the data knows (counted as unmatched).
   */
  answer(request: { model: string; userTurns: readonly string[]; promptText: string; seed: number }, tokenizer: Tokenizer): RecordedAnswer | null {
    if (this.byKey.size === 0 || request.userTurns.length === 0) return null;
    const earlier = request.userTurns.slice(0, -1);
    const last = request.userTurns[request.userTurns.length - 1]!;
    let entry: RecordedEntry | undefined;
    let question = last;
    for (const candidate of questionCandidates(last)) {
      entry = this.byKey.get(contentKey([...earlier, candidate]));
      if (entry) {
        question = candidate;
        break;
      }
    }
    if (!entry) {
      this.unmatched++;
      return null;
    }
    this.answered++;
    switch (entry.kind) {
      case "router": {
        const cls = modelClass(request.model, this.strong, this.weak);
        return { kind: "router", text: outcomeText(entry.id, cls, cls === "strong" ? entry.strong : entry.weak) };
      }
      case "cache": {
        const body = generateReply({ seed: request.seed, question }, tokenizer).text;
        return { kind: "cache", text: `${intentLine(entry)}\n${body}` };
      }
      case "compress": {
        // The context the reader got: the whole prompt without the question itself, so a gold
        // answer quoted by the question does not count as retained.
        const context = normaliseText(request.promptText.split(question).join(" "));
        const kept = entry.answers.find((a) => context.includes(normaliseText(a)));
        return { kind: "compress", text: kept === undefined ? NOT_IN_CONTEXT : readerAnswer(kept) };
      }
    }
  }
}

/** A recorded text under the request's output cap, billed as the provider would. */
export function cappedReply(text: string, maxTokens: number | undefined, tokenizer: Tokenizer): { text: string; outputTokens: number; finish: "stop" | "length" } {
  const tokens = tokenizer.encode(text);
  if (maxTokens === undefined || tokens.length <= maxTokens) return { text, outputTokens: tokens.length, finish: "stop" };
  return { text: tokenizer.decode(tokens.slice(0, maxTokens)), outputTokens: maxTokens, finish: "length" };
}
