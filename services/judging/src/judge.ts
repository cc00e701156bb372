import { cosine } from "@costwise/embeddings";
import { costOf, findModel, type ModelPrice, type PriceCatalog, type Usage } from "@costwise/pricing";

/** The one provider call the judges need (see @costwise/providers `chat`). */
export interface ChatPort {
  chat(req: {
    model: string;
    messages: readonly { role: string; content: string }[];
    maxTokens?: number | null;
    temperature?: number | null;
    requestId?: string;
    signal?: AbortSignal;
  }): Promise<{ content: string; model: string; usage: Usage; finishReason?: string }>;
}

/** Unit vectors for texts, with what each cost (the `Embedder` of @costwise/embeddings fits). */
export interface TextEmbedder {
  embed(texts: readonly string[]): Promise<readonly { readonly vector: Float32Array; readonly costNanoUsd?: number }[]>;
}

export const JUDGE_METHODS = ["exact", "structured", "embedding", "llm"] as const;
export type JudgeMethod = (typeof JUDGE_METHODS)[number];

/** Which answer a pairwise judge found better; "tie" when equal or when the two orders disagree. */
export type Preference = "cheap" | "frontier" | "tie";

export interface Judgement {
  /** 0..1; null when the judge could not decide (its answer was unreadable). */
  readonly agreement: number | null;
  /** The cheap answer is as good as the frontier's: agreement for the shadow check. */
  readonly agreed: boolean | null;
  /** Integer nano-USD spent by the judge itself (LLM calls, embeddings by API); 0 for local judges. */
  readonly costNanoUsd: number;
  readonly error: string | null;
  /** The llm judge only: its verdict after both orders. */
  readonly preference?: Preference | null;
}

const normalise = (s: string) => s.normalize("NFKC").trim().replace(/\s+/g, " ").replace(/[.!]+$/, "").toLowerCase();

/** 1 when the answers are the same text up to case, spacing and a final full stop. */
export function exactAgreement(a: string, b: string): number {
  return normalise(a) === normalise(b) ? 1 : 0;
}

function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(typeof v === "string" ? normalise(v) : v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(text);
  try {
    return { ok: true, value: JSON.parse(m ? m[1]! : text) };
  } catch {
    return { ok: false };
  }
}

/**
 * Structured match: equal JSON values (key order, case of string values and spacing ignored) when
 * both answers are JSON, else equal labels (first line, quotes and trailing punctuation ignored).
 */
export function structuredAgreement(a: string, b: string): number {
  const ja = parseJson(a), jb = parseJson(b);
  if (ja.ok && jb.ok) return canonicalJson(ja.value) === canonicalJson(jb.value) ? 1 : 0;
  const label = (s: string) => normalise((s.trim().split("\n")[0] ?? "").replace(/^["'`]+|["'`]+$/g, ""));
  return label(a) === label(b) ? 1 : 0;
}

/**
 * Cosine similarity of the two answers' sentence embeddings, and what embedding them cost.
 * Identical texts are 1 without a model run.
 */
export async function embeddingAgreement(embedder: TextEmbedder, a: string, b: string): Promise<{ similarity: number; costNanoUsd: number }> {
  if (normalise(a) === normalise(b)) return { similarity: 1, costNanoUsd: 0 };
  const [va, vb] = await embedder.embed([a, b]);
  if (!va || !vb) throw new Error("embedder returned fewer vectors than texts");
  return { similarity: cosine(va.vector, vb.vector), costNanoUsd: (va.costNanoUsd ?? 0) + (vb.costNanoUsd ?? 0) };
}

/** Versioned with the judge: changing the wording changes every verdict. */
export const PAIRWISE_PROMPT_VERSION = 1;
export const PAIRWISE_SYSTEM = [
  "You are an impartial judge comparing two answers to the same request.",
  "Judge correctness first, then completeness and whether the answer does what the request asks; ignore length and style.",
  "Reply A if answer A is better, B if answer B is better, or TIE if they are equally good (for example both correct, or both wrong).",
  "Reply with A, B or TIE only.",
].join("\n");

/** The first word of a pairwise verdict: "a", "b", "tie", or null when there is none. */
export function parsePreference(text: string): "a" | "b" | "tie" | null {
  const m = /^[\s*"'`([]*(?:answer\s+)?(a|b|tie|equal)\b/i.exec(text);
  if (!m) return null;
  const w = m[1]!.toLowerCase();
  return w === "equal" ? "tie" : (w as "a" | "b" | "tie");
}

export function pairwiseMessages(request: string, a: string, b: string): { role: string; content: string }[] {
  const cut = (s: string) => (s.length > 4000 ? `${s.slice(0, 4000)}\n[… cut]` : s);
  return [
    { role: "system", content: PAIRWISE_SYSTEM },
    { role: "user", content: `<request>\n${cut(request)}\n</request>\n<answer_a>\n${cut(a)}\n</answer_a>\n<answer_b>\n${cut(b)}\n</answer_b>` },
  ];
}

export interface PairwiseOptions {
  readonly chat: ChatPort;
  readonly model: ModelPrice;
  readonly catalog: PriceCatalog;
  readonly requestId?: string;
  readonly signal?: AbortSignal;
}

export interface PairwiseResult {
  /** "first" / "second": which of the two answers passed in is better; null when a verdict was unreadable. */
  readonly winner: "first" | "second" | "tie" | null;
  /** The two raw verdicts: first answer shown as A, then as B. */
  readonly verdicts: readonly [string, string];
  readonly costNanoUsd: number;
}

/**
 * Ask the judge model twice, with the answers in both orders, so that a judge that favours
 * whichever answer it reads first cannot decide: when the orders disagree the verdict is a tie.
 * Both calls are priced from the catalog (the model the provider reports, else the one asked).
 */
export async function pairwisePreference(request: string, first: string, second: string, o: PairwiseOptions): Promise<PairwiseResult> {
  const call = (a: string, b: string) =>
    o.chat.chat({
      model: o.model.id, maxTokens: 4, temperature: 0, messages: pairwiseMessages(request, a, b),
      ...(o.requestId ? { requestId: o.requestId } : {}), ...(o.signal ? { signal: AbortSignal.any([o.signal]) } : {}),
    });
  const [ab, ba] = await Promise.all([call(first, second), call(second, first)]);
  const cost = [ab, ba].reduce((sum, r) => sum + costOf(findModel(o.catalog, r.model) ?? o.model, r.usage).totalNanoUsd, 0);
  const v1 = parsePreference(ab.content);
  const v2 = parsePreference(ba.content);
  const verdicts = [ab.content, ba.content] as const;
  if (v1 === null || v2 === null) return { winner: null, verdicts, costNanoUsd: cost };
  // Map the swapped order back: "a" in the second call means the second answer.
  const w1 = v1 === "a" ? "first" : v1 === "b" ? "second" : "tie";
  const w2 = v2 === "a" ? "second" : v2 === "b" ? "first" : "tie";
  return { winner: w1 === w2 ? w1 : "tie", verdicts, costNanoUsd: cost };
}

export interface JudgeOptions {
  readonly method: JudgeMethod;
  /** embedding: similarity at or above which the answers agree. */
  readonly similarity: number;
  /** llm: the (cheap) model that compares the answers. */
  readonly judgeModel: ModelPrice | null;
  readonly chat: ChatPort;
  readonly catalog: PriceCatalog;
  /** embedding: the sentence model (the cache's local all-MiniLM-L6-v2 in the services). */
  readonly embedder?: TextEmbedder | null;
  readonly request: string;
  readonly requestId: string;
  readonly signal?: AbortSignal;
}

/**
 * Is the cheap answer as good as the frontier answer? By the route's judge:
 * - exact / structured: the same text, or the same JSON value or label;
 * - embedding: cosine of sentence embeddings at or above `similarity`;
 * - llm: a pairwise, position-swapped comparison by `judgeModel`: agreed unless the frontier
 *   answer wins in both orders (a tie, or orders that disagree, count as agreement).
 */
export async function judgeAnswers(cheap: string, frontier: string, o: JudgeOptions): Promise<Judgement> {
  switch (o.method) {
    case "exact": {
      const a = exactAgreement(cheap, frontier);
      return { agreement: a, agreed: a === 1, costNanoUsd: 0, error: null };
    }
    case "structured": {
      const a = structuredAgreement(cheap, frontier);
      return { agreement: a, agreed: a === 1, costNanoUsd: 0, error: null };
    }
    case "embedding": {
      if (!o.embedder) return { agreement: null, agreed: null, costNanoUsd: 0, error: "no sentence embedder for the embedding judge" };
      const { similarity, costNanoUsd } = await embeddingAgreement(o.embedder, cheap, frontier);
      return { agreement: similarity, agreed: similarity >= o.similarity, costNanoUsd, error: null };
    }
    case "llm": {
      if (!o.judgeModel) return { agreement: null, agreed: null, costNanoUsd: 0, error: "the llm judge has no judge model" };
      const r = await pairwisePreference(o.request, cheap, frontier, { chat: o.chat, model: o.judgeModel, catalog: o.catalog, requestId: o.requestId, ...(o.signal ? { signal: o.signal } : {}) });
      if (r.winner === null) return { agreement: null, agreed: null, costNanoUsd: r.costNanoUsd, error: `judge ${o.judgeModel.id} gave no A/B/TIE verdict`, preference: null };
      const preference: Preference = r.winner === "first" ? "cheap" : r.winner === "second" ? "frontier" : "tie";
      const agreed = preference !== "frontier";
      return { agreement: agreed ? 1 : 0, agreed, costNanoUsd: r.costNanoUsd, error: null, preference };
    }
  }
}
