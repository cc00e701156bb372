import { sql, sqlIdentifier } from "@costwise/infra";
import type { ModelPrice } from "@costwise/pricing";
import { seededRandom } from "@costwise/seeded";
import { mapLimit } from "@costwise/stream-runtime";
import type { LlmResponse, Message } from "@costwise/schemas";
import type { PendingPrompt } from "./capture.ts";
import { DistillInputError } from "./errors.ts";
import type { QueryFn } from "./export.ts";
import type { UseCaseDistillPolicy } from "./policy.ts";
import { DISTILL_TABLES, shadowCompare, type DistillShadowRow, type ShadowDeps } from "./shadow.ts";
import { readiness } from "./status.ts";
import { wilsonInterval, type Interval } from "./wilson.ts";

/** One prompt with the frontier answer it got: a captured sample, or a line of a replay file. */
export interface EvalItem {
  readonly requestId: string;
  readonly tenant: string;
  /** epoch ms of the original request. */
  readonly ts: number;
  readonly messages: readonly Message[];
  readonly frontierAnswer: string;
  readonly frontierModel: string;
  readonly frontierInputTokens: number;
  readonly frontierOutputTokens: number;
  readonly promptHash: string;
}

interface EvalSampleRow { request_id: string; tenant: string; ts_ms: string; message_roles: string[]; message_contents: string[]; completion: string; model: string; input_tokens: number; output_tokens: number; prompt_hash: string }

/** The use case's most recent captured samples (newest first), leaving out prompts in `exclude` (the training set). */
export async function fetchEvalItems(q: QueryFn, database: string, s: { useCase: string; tenant?: string | undefined; since: Date; limit: number; exclude: ReadonlySet<string> }): Promise<EvalItem[]> {
  const table = sqlIdentifier(`${database}.${DISTILL_TABLES.samples}`);
  const tenant = s.tenant === undefined ? "" : sql` AND tenant = ${s.tenant}`;
  // Over-fetch by the excluded count: the training prompts are filtered here, not in SQL (the list can be long).
  const rows = await q<EvalSampleRow>(
    sql`SELECT request_id, tenant, toString(toUInt64(ts) * 1000) AS ts_ms, message_roles, message_contents, completion, model, input_tokens, output_tokens, prompt_hash
      FROM ${table} FINAL WHERE use_case = ${s.useCase} AND ts >= ${s.since}` + tenant + ` ORDER BY ts DESC, request_id LIMIT ${Math.max(1, s.limit + s.exclude.size)}`,
  );
  const seen = new Set<string>();
  const out: EvalItem[] = [];
  for (const r of rows) {
    if (s.exclude.has(r.prompt_hash) || seen.has(r.prompt_hash)) continue;
    seen.add(r.prompt_hash);
    out.push({
      requestId: r.request_id, tenant: r.tenant, ts: Number(r.ts_ms), messages: r.message_roles.map((role, i) => ({ role, content: r.message_contents[i] ?? "" })),
      frontierAnswer: r.completion, frontierModel: r.model, frontierInputTokens: r.input_tokens, frontierOutputTokens: r.output_tokens, promptHash: r.prompt_hash,
    });
    if (out.length >= s.limit) break;
  }
  return out;
}

/**
 * A replay file: chat fine-tuning JSONL (`{"messages":[…, {"role":"assistant", …}]}`, as `distill
 * export` writes its validation file), the last assistant message being the frontier answer.
 * Optional `request_id` and `tenant` keys are kept.
 */
export function parseReplay(text: string, file: string, opts: { tenant: string; now: number; hash: (messages: readonly Message[]) => string }): EvalItem[] {
  const out: EvalItem[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let doc: { messages?: unknown; request_id?: unknown; tenant?: unknown };
    try {
      doc = JSON.parse(line) as typeof doc;
    } catch {
      throw new DistillInputError(`${file}:${i + 1}: not valid JSON`);
    }
    const messages = doc.messages;
    if (!Array.isArray(messages) || messages.length < 2 || !messages.every((m) => m && typeof m.role === "string" && typeof m.content === "string")) {
      throw new DistillInputError(`${file}:${i + 1}: expected {"messages":[…]} with string roles and contents`);
    }
    const last = messages[messages.length - 1] as Message;
    if (last.role !== "assistant") throw new DistillInputError(`${file}:${i + 1}: the last message must be the frontier model's (assistant) answer`);
    const prompt = messages.slice(0, -1) as Message[];
    const hash = opts.hash(prompt);
    out.push({
      requestId: typeof doc.request_id === "string" ? doc.request_id : `replay-${hash.slice(0, 24)}`, tenant: typeof doc.tenant === "string" ? doc.tenant : opts.tenant, ts: opts.now,
      messages: prompt, frontierAnswer: last.content, frontierModel: "", frontierInputTokens: 0, frontierOutputTokens: 0, promptHash: hash,
    });
  });
  if (out.length === 0) throw new DistillInputError(`${file}: no examples`);
  return out;
}

/** Percentile bootstrap interval of the mean of 0/1 outcomes (seeded, so a rerun prints the same interval). */
export function bootstrapInterval(outcomes: readonly (0 | 1)[], opts: { resamples?: number; seed?: number } = {}): Interval | null {
  const n = outcomes.length;
  if (n === 0) return null;
  const rnd = seededRandom(opts.seed ?? 20_26);
  const b = opts.resamples ?? 2_000;
  const means = new Float64Array(b);
  for (let k = 0; k < b; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += outcomes[Math.floor(rnd() * n)]!;
    means[k] = s / n;
  }
  means.sort();
  return { lower: means[Math.floor(0.025 * (b - 1))]!, upper: means[Math.ceil(0.975 * (b - 1))]! };
}

export interface ModelScore {
  readonly model: string;
  readonly compared: number;
  /** Comparisons dropped: the provider refused the call. */
  readonly refused: number;
  readonly decided: number;
  readonly agreed: number;
  readonly agreement: number | null;
  readonly wilson: Interval | null;
  readonly bootstrap: Interval | null;
  readonly meanSimilarity: number | null;
  /** What the candidate calls and the judge cost (nano-USD), charged as shadow overhead. */
  readonly costNanoUsd: number;
}

export interface EvalSummary {
  readonly useCase: string;
  readonly source: string;
  readonly items: number;
  readonly scorer: string;
  readonly candidate: ModelScore;
  /** The base model without fine-tuning, on the same items (null with --no-baseline). */
  readonly baseline: ModelScore | null;
  readonly target: { readonly minSamples: number; readonly minAgreementLower: number };
  readonly meets: boolean;
  readonly reason: string;
}

/** Answer every item with `model` in shadow, judged against the frontier answer by the use case's scorer. */
export async function scoreModel(items: readonly EvalItem[], uc: UseCaseDistillPolicy, model: ModelPrice, deps: ShadowDeps & { concurrency: number; signal?: AbortSignal }): Promise<{ score: ModelScore; rows: DistillShadowRow[] }> {
  const results = await mapLimit(items, deps.concurrency, async (it) => {
    const prompt: PendingPrompt = {
      request_id: it.requestId, tenant: it.tenant, use_case: uc.useCase, created_at: it.ts, messages: [...it.messages], model: it.frontierModel || null, route: null,
      maxTokens: null, temperature: null, quality: null, capture: false, shadow: true,
    };
    const answer: LlmResponse = {
      request_id: it.requestId, tenant: it.tenant, use_case: uc.useCase, status: "OK", content: it.frontierAnswer, error: null, error_code: null, model: it.frontierModel || null,
      provider: "openai", served_by: "REALTIME", input_tokens: it.frontierInputTokens, cached_input_tokens: 0, output_tokens: it.frontierOutputTokens, cost_usd: 0, latency_ms: 0,
      cache_source_request_id: null, created_at: it.ts,
    };
    return shadowCompare(prompt, answer, uc, deps, deps.signal, model);
  });
  const rows = results.flatMap((r) => ("row" in r ? [r.row] : []));
  const decided = rows.filter((r) => r.decided === 1);
  const outcomes = decided.map((r) => r.agreed);
  const agreed = outcomes.filter((x) => x === 1).length;
  return {
    rows,
    score: {
      model: model.id, compared: rows.length, refused: results.length - rows.length, decided: decided.length, agreed,
      agreement: decided.length ? agreed / decided.length : null, wilson: wilsonInterval(agreed, decided.length), bootstrap: bootstrapInterval(outcomes),
      meanSimilarity: decided.length ? decided.reduce((a, r) => a + r.agreement, 0) / decided.length : null,
      costNanoUsd: rows.reduce((a, r) => a + r.candidate_cost_nanousd + r.judge_cost_nanousd, 0),
    },
  };
}

/** The verdict on a candidate's score: the use case's readiness bar (decided comparisons, Wilson lower bound). */
export function verdictOf(score: ModelScore, uc: UseCaseDistillPolicy): { meets: boolean; reason: string } {
  const v = readiness(score.decided, score.agreed, uc.readiness);
  return { meets: v.ready, reason: v.ready ? `Wilson 95% lower bound ${score.wilson!.lower.toFixed(3)} ≥ ${uc.readiness.minAgreementLower} over ${score.decided} comparisons` : v.reason };
}
