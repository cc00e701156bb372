import { costOf, findModel, type ModelPrice, type PriceCatalog } from "@costwise/pricing";
import { fnv1a32 } from "../hash.ts";
import { tokenize } from "../features.ts";
import type { JudgeMethod } from "../policy.ts";
import type { ChatPort } from "../strategies/llm.ts";

export interface Judgement {
  /** 0..1; null when the judge could not decide (its answer was unreadable). */
  readonly agreement: number | null;
  readonly agreed: boolean | null;
  readonly costNanoUsd: number;
  readonly error: string | null;
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

const EMBED_BITS = 14;

function hashedVector(text: string): Map<number, number> {
  const mask = (1 << EMBED_BITS) - 1;
  const v = new Map<number, number>();
  const t = tokenize(text).filter((w) => /[\p{L}\p{N}<]/u.test(w));
  for (let i = 0; i < t.length; i++) {
    const u = fnv1a32(t[i]!) & mask;
    v.set(u, (v.get(u) ?? 0) + 1);
    if (i > 0) {
      const b = fnv1a32(`${t[i - 1]!} ${t[i]!}`, 7) & mask;
      v.set(b, (v.get(b) ?? 0) + 0.5);
    }
  }
  return v;
}

/**
 * Cosine similarity of hashed word-unigram and bigram count vectors: a lexical stand-in for a
 * sentence embedding that costs microseconds and no model. Two paraphrases with little word
 * overlap score low, so floors for this judge are set lower than for a semantic model.
 */
export function embeddingSimilarity(a: string, b: string): number {
  const va = hashedVector(a), vb = hashedVector(b);
  let dot = 0, na = 0, nb = 0;
  for (const [k, x] of va) {
    na += x * x;
    const y = vb.get(k);
    if (y !== undefined) dot += x * y;
  }
  for (const y of vb.values()) nb += y * y;
  return na === 0 || nb === 0 ? (na === nb ? 1 : 0) : dot / Math.sqrt(na * nb);
}

export const LLM_JUDGE_SYSTEM = [
  "You compare two answers to the same request.",
  "Reply YES if they agree in substance (same facts, same decision, same result; wording may differ), NO otherwise.",
  "Reply with YES or NO only.",
].join("\n");

export function parseVerdict(text: string): boolean | null {
  const m = /^[\s*"'`]*(yes|no)\b/i.exec(text);
  return m ? m[1]!.toLowerCase() === "yes" : null;
}

export interface JudgeOptions {
  readonly method: JudgeMethod;
  /** embedding: similarity at or above which the answers agree. */
  readonly similarity: number;
  readonly judgeModel: ModelPrice | null;
  readonly chat: ChatPort;
  readonly catalog: PriceCatalog;
  readonly request: string;
  readonly requestId: string;
  readonly signal?: AbortSignal;
}

/** Compare the cheap and the frontier answer with the route's judge. */
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
      const s = embeddingSimilarity(cheap, frontier);
      return { agreement: s, agreed: s >= o.similarity, costNanoUsd: 0, error: null };
    }
    case "llm": {
      const model = o.judgeModel!;
      const res = await o.chat.chat({
        model: model.id, maxTokens: 3, temperature: 0, requestId: o.requestId, ...(o.signal ? { signal: o.signal } : {}),
        messages: [
          { role: "system", content: LLM_JUDGE_SYSTEM },
          { role: "user", content: `<request>\n${o.request.slice(0, 4000)}\n</request>\n<answer_a>\n${cheap.slice(0, 4000)}\n</answer_a>\n<answer_b>\n${frontier.slice(0, 4000)}\n</answer_b>` },
        ],
      });
      const cost = costOf(findModel(o.catalog, res.model) ?? model, res.usage).totalNanoUsd;
      const v = parseVerdict(res.content);
      return v === null
        ? { agreement: null, agreed: null, costNanoUsd: cost, error: `judge ${model.id} gave no YES/NO verdict` }
        : { agreement: v ? 1 : 0, agreed: v, costNanoUsd: cost, error: null };
    }
  }
}
