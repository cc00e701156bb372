import { modelClass } from "@costwise/emulator";
import type { LlmResponse } from "@costwise/schemas";
import type { Grade } from "./grade.ts";
import { mean, pairedRatioInterval } from "./stats.ts";
import type { ReplayItem } from "./workload.ts";

/** The columns of one `llm_calls` row the report reads (ClickHouse returns 64-bit integers as strings). */
export interface CallRow {
  request_id: string;
  status: string;
  served_by: string;
  model_used: string | null;
  cost_nanousd: string | number;
  overhead_cost_nanousd: string | number;
  baseline_cost_nanousd: string | number;
  saving_cache_nanousd: string | number;
  saving_routing_nanousd: string | number;
  saving_compression_nanousd: string | number;
  saving_batch_nanousd: string | number;
  /** Provider prompt caching (absent from rows written before the column existed). */
  saving_prompt_cache_nanousd?: string | number;
  context_tokens_before: string | number;
  context_tokens_after: string | number;
}

export interface Graded {
  readonly item: ReplayItem;
  readonly response: LlmResponse;
  readonly call: CallRow;
  readonly grade: Grade;
}

export interface GroupSummary {
  use_case: string;
  requests: number;
  errors: number;
  naive_cost_usd: number;
  cost_usd: number;
  overhead_usd: number;
  /** (naive − cost − overhead) / naive. */
  cost_cut: number | null;
  saving_usd: { cache: number; routing: number; compression: number; batch: number; prompt_cache: number };
  naive_quality: number;
  quality: number;
  quality_ratio: number | null;
  quality_ratio_ci95: [number, number] | null;
  cache_hits: number;
  cache_hit_rate: number;
  cache_wrong_answers: number;
  /** Wrong answers among cache hits. */
  cache_wrong_answer_rate: number | null;
  /** Requests answered through a provider batch. */
  batched: number;
  /** Share of model-answered requests answered by a strong-class model. */
  strong_call_share: number | null;
  context_tokens_before: number;
  context_tokens_removed: number;
  /** Share of requests with context whose answer survived compression (graded right). */
  answers_retained: number | null;
  naive_answers_retained: number | null;
}

const nano = (v: string | number): bigint => BigInt(v);
const usd = (n: bigint): number => Number(n) / 1e9;

export class AccountingError extends Error {
  override readonly name = "AccountingError";
}

/** Summary of a set of graded requests; throws when the per-technique savings do not add up exactly. */
export function summarise(rows: readonly Graded[], opts: { seed?: number } = {}): GroupSummary {
  let baseline = 0n, cost = 0n, overhead = 0n;
  const saving = { cache: 0n, routing: 0n, compression: 0n, batch: 0n, promptCache: 0n };
  let hits = 0, wrongHits = 0, batched = 0, modelCalls = 0, strongCalls = 0, before = 0, after = 0, withContext = 0, retained = 0, naiveRetained = 0, errors = 0;
  for (const r of rows) {
    const c = r.call;
    baseline += nano(c.baseline_cost_nanousd);
    cost += nano(c.cost_nanousd);
    overhead += nano(c.overhead_cost_nanousd);
    saving.cache += nano(c.saving_cache_nanousd);
    saving.routing += nano(c.saving_routing_nanousd);
    saving.compression += nano(c.saving_compression_nanousd);
    saving.batch += nano(c.saving_batch_nanousd);
    saving.promptCache += nano(c.saving_prompt_cache_nanousd ?? 0);
    if (r.response.status !== "OK") errors++;
    if (c.served_by === "BATCH") batched++;
    if (c.served_by.startsWith("CACHE")) {
      hits++;
      if (r.grade.grade < r.item.naiveGrade) wrongHits++;
    } else if (r.response.status === "OK" && c.model_used) {
      modelCalls++;
      if (modelClass(c.model_used, new Set(), new Set()) === "strong") strongCalls++;
    }
    if (r.item.request.context.length > 0) {
      withContext++;
      before += Number(c.context_tokens_before);
      after += Number(c.context_tokens_after);
      retained += r.grade.grade;
      naiveRetained += r.item.naiveGrade;
    }
  }
  const savedTotal = saving.cache + saving.routing + saving.compression + saving.batch + saving.promptCache;
  if (savedTotal !== baseline - cost - overhead) {
    throw new AccountingError(`savings by technique (${savedTotal} nano-USD) do not add up to naive − cost − overhead (${baseline - cost - overhead} nano-USD)`);
  }
  const method = rows.map((r) => r.grade.grade);
  const naive = rows.map((r) => r.item.naiveGrade);
  const q = mean(method);
  const nq = mean(naive);
  return {
    use_case: [...new Set(rows.map((r) => r.item.useCase))].sort().join(","),
    requests: rows.length,
    errors,
    naive_cost_usd: usd(baseline),
    cost_usd: usd(cost),
    overhead_usd: usd(overhead),
    cost_cut: baseline > 0n ? Number(baseline - cost - overhead) / Number(baseline) : null,
    saving_usd: { cache: usd(saving.cache), routing: usd(saving.routing), compression: usd(saving.compression), batch: usd(saving.batch), prompt_cache: usd(saving.promptCache) },
    naive_quality: nq,
    quality: q,
    quality_ratio: nq > 0 ? q / nq : null,
    quality_ratio_ci95: pairedRatioInterval(method, naive, { seed: opts.seed ?? 1 }),
    cache_hits: hits,
    cache_hit_rate: rows.length > 0 ? hits / rows.length : 0,
    cache_wrong_answers: wrongHits,
    cache_wrong_answer_rate: hits > 0 ? wrongHits / hits : null,
    batched,
    strong_call_share: modelCalls > 0 ? strongCalls / modelCalls : null,
    context_tokens_before: before,
    context_tokens_removed: before - after,
    answers_retained: withContext > 0 ? retained / withContext : null,
    naive_answers_retained: withContext > 0 ? naiveRetained / withContext : null,
  };
}

/** Per data kind (dataset) and in total. */
export function summariseAll(rows: readonly Graded[], seed = 1): { total: GroupSummary; byKind: Record<string, GroupSummary> } {
  const byKind: Record<string, GroupSummary> = {};
  const datasets = [...new Set(rows.map((r) => r.item.dataset))].sort();
  for (const d of datasets) byKind[d] = summarise(rows.filter((r) => r.item.dataset === d), { seed });
  return { total: summarise(rows, { seed }), byKind };
}
