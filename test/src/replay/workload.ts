import { contentKey, modelClass, type RecordedEntryInput } from "@costwise/emulator";
import { newRequest, type LlmRequest, type Message } from "@costwise/schemas";
import { ReplayDataError, type DataRow, type RouterRow } from "./data.ts";
import { seededRandom as rng, shuffle } from "@costwise/seeded";

export { rng, shuffle };

export const REPLAY_TENANT = "replay";

/**
 * Use case per data kind (fixed names), the model its callers ask for, its output cap and its
 * latency class. Support chat, the assistant and knowledge-base answers have a user waiting
 * (REALTIME). Worked math solutions are produced ahead of use (answer keys, tutoring content),
 * so their callers send them as BATCH with no deadline, and costwise may use the providers'
 * batch APIs for them.
 */
export const USE_CASES = {
  cache: { useCase: "support-chat", model: "gpt-4o", maxTokens: 256, latencyClass: "REALTIME" },
  math: { useCase: "math-answers", model: "gpt-4o", maxTokens: 1024, latencyClass: "BATCH" },
  general: { useCase: "general-assistant", model: "gpt-4o", maxTokens: 2048, latencyClass: "REALTIME" },
  compress: { useCase: "kb-answers", model: "claude-sonnet-4-5", maxTokens: 300, latencyClass: "REALTIME" },
} as const;

const SUPPORT_SYSTEM = "You are the support assistant of an online bank. Answer the customer's question in two or three sentences.";
const MATH_SYSTEM = "Solve the problem step by step. End with a last line of the form '#### <answer>'.";
const KB_SYSTEM = "Answer from the provided context only.";
const EARLIER_ANSWER = "(the assistant's answer to the first question)";

/** Without a suggested pair (router_zeroeval_gsm8k), the data README's gpt-4o pair. */
export const DEFAULT_PAIR = { strong: "gpt-4o-2024-08-06", weak: "gpt-4o-mini" } as const;

/** One replayed request: the request, the ground truth the emulator gets, and the naive grade. */
export interface ReplayItem {
  readonly id: string;
  readonly source: DataRow;
  /** Data kind as reported: the dataset file's name (e.g. cache_banking77). */
  readonly dataset: string;
  readonly useCase: string;
  readonly request: LlmRequest;
  readonly truth: RecordedEntryInput;
  /** Grade of the naive deployment: caller's model, uncached, full context. */
  readonly naiveGrade: number;
}

/** Normalised 0..1 quality of a recorded score. */
export function normaliseScore(score: number, scoreType: string, where: string): number {
  if (scoreType === "binary_correct") return score > 0 ? 1 : 0;
  if (scoreType === "judge_1_10") return Math.min(1, Math.max(0, (score - 1) / 9));
  if (score >= 0 && score <= 1) return score;
  throw new ReplayDataError(`${where}: score ${score} of type ${scoreType} cannot be normalised to 0..1`);
}

export interface RouterOutcomes {
  strong: { model: string; score: number; grade: number; response: string | null; chars: number };
  weak: { model: string; score: number; grade: number; response: string | null; chars: number };
}

export function routerOutcomes(row: RouterRow, where: string): RouterOutcomes {
  const pair = row.strong_model && row.weak_model ? { strong: row.strong_model, weak: row.weak_model } : DEFAULT_PAIR;
  const get = (model: string) => {
    const m = row.models[model];
    if (!m || m.score === null) throw new ReplayDataError(`${where} (row ${row.id}): no recorded score for model ${model}`);
    const response = m.response ?? null;
    const chars = m.response_chars ?? response?.length;
    if (chars === undefined) throw new ReplayDataError(`${where} (row ${row.id}): model ${model} has neither response nor response_chars`);
    return { model, score: m.score, grade: normaliseScore(m.score, row.score_type, `${where} (row ${row.id})`), response, chars };
  };
  return { strong: get(pair.strong), weak: get(pair.weak) };
}

const userTurns = (messages: readonly Message[]) => messages.filter((m) => m.role === "user").map((m) => m.content);

/** The request and ground truth of one data row. */
export function buildItem(source: DataRow, id: string, now: number): ReplayItem {
  const where = `${source.file}:${source.line}`;
  const base = { request_id: id, tenant: REPLAY_TENANT, temperature: 0, created_at: now };
  switch (source.kind) {
    case "cache": {
      const uc = USE_CASES.cache;
      const messages: Message[] = [{ role: "system", content: SUPPORT_SYSTEM }, { role: "user", content: source.row.text }];
      const request = newRequest({ ...base, use_case: uc.useCase, model: uc.model, max_tokens: uc.maxTokens, latency_class: uc.latencyClass, messages });
      const truth: RecordedEntryInput = { kind: "cache", id: source.row.id, turns: userTurns(messages), intent: source.row.intent, oos: source.row.is_oos };
      return { id, source, dataset: source.dataset, useCase: uc.useCase, request, truth, naiveGrade: 1 };
    }
    case "router": {
      const row = source.row;
      const uc = row.benchmark.toLowerCase().includes("gsm8k") ? USE_CASES.math : USE_CASES.general;
      const outcomes = routerOutcomes(row, where);
      const messages: Message[] = uc === USE_CASES.math ? [{ role: "system", content: MATH_SYSTEM }] : [];
      const earlier = row.turn > 1 ? (row.turns ?? []).slice(0, row.turn - 1) : [];
      if (earlier.length !== row.turn - 1) throw new ReplayDataError(`${where} (row ${row.id}): turn ${row.turn} needs the earlier turns in "turns"`);
      for (const t of earlier) messages.push({ role: "user", content: t }, { role: "assistant", content: EARLIER_ANSWER });
      messages.push({ role: "user", content: row.prompt });
      const request = newRequest({ ...base, use_case: uc.useCase, model: uc.model, max_tokens: uc.maxTokens, latency_class: uc.latencyClass, messages });
      const truth: RecordedEntryInput = {
        kind: "router", id: row.id, turns: userTurns(messages),
        strong: { model: outcomes.strong.model, score: outcomes.strong.score, response: outcomes.strong.response, response_chars: outcomes.strong.chars },
        weak: { model: outcomes.weak.model, score: outcomes.weak.score, response: outcomes.weak.response, response_chars: outcomes.weak.chars },
      };
      const naive = modelClass(uc.model, new Set(), new Set()) === "strong" ? outcomes.strong.grade : outcomes.weak.grade;
      return { id, source, dataset: source.dataset, useCase: uc.useCase, request, truth, naiveGrade: naive };
    }
    case "compress": {
      const row = source.row;
      const uc = USE_CASES.compress;
      const messages: Message[] = [{ role: "system", content: KB_SYSTEM }, { role: "user", content: row.question }];
      const context = row.passages.map((p, k) => ({ id: `p${k}`, text: p.text, score: 1 - k * 0.1 }));
      const request = newRequest({ ...base, use_case: uc.useCase, model: uc.model, max_tokens: uc.maxTokens, latency_class: uc.latencyClass, messages, context });
      const truth: RecordedEntryInput = { kind: "compress", id: row.id, turns: userTurns(messages), answers: row.answers };
      // The naive reader gets every passage: right when one of them holds a gold answer.
      const full = row.passages.map((p) => p.text.toLowerCase()).join("\n");
      const naive = row.answers.some((a) => full.includes(a.toLowerCase())) ? 1 : 0;
      return { id, source, dataset: source.dataset, useCase: uc.useCase, request, truth, naiveGrade: naive };
    }
  }
}

/**
 * The mixed workload: at most `perFile` rows of each file (a seeded sample), all files shuffled
 * together into one arrival order, so paraphrases and repeats the data contains arrive spread
 * out among other traffic as they would in production.
 */
export function buildWorkload(files: readonly DataRow[][], opts: { perFile?: number; seed: number; runId: string; now?: number }): { items: ReplayItem[]; excluded: ReplayItem[] } {
  const random = rng(opts.seed);
  const now = opts.now ?? Date.now();
  const picked = files.flatMap((rows) => (opts.perFile === undefined ? rows : shuffle(rows, random).slice(0, opts.perFile)));
  const order = shuffle(picked, random);
  const items: ReplayItem[] = [];
  const excluded: ReplayItem[] = [];
  const seen = new Map<string, string>();
  order.forEach((row, i) => {
    const item = buildItem(row, `${opts.runId}-${String(i).padStart(5, "0")}`, now);
    // The emulator knows one answer per question text: a second row with the same text and a
    // different label (source noise) cannot be graded fairly and is left out; a true repeat stays.
    const key = contentKey(item.truth.turns);
    const truth = comparableTruth(item.truth);
    const other = seen.get(key);
    if (other !== undefined && other !== truth) excluded.push(item);
    else {
      seen.set(key, truth);
      items.push(item);
    }
  });
  return { items, excluded };
}

/** The ground truth without the row id (out-of-scope rows keep it: each is its own answer). */
function comparableTruth(t: RecordedEntryInput): string {
  if (t.kind === "cache") return JSON.stringify([t.kind, t.intent, t.oos ? t.id : null]);
  if (t.kind === "compress") return JSON.stringify([t.kind, [...t.answers].sort()]);
  return JSON.stringify([t.kind, t.strong, t.weak]);
}
